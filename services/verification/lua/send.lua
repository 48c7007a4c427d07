-- send: create a verification or resend the pending one, atomically (storage contract "send").
-- KEYS[1] vfy:pending:{client}:{dest_hash}  KEYS[2] vfy:pending:{dest_hash} (v1 index, read only)
-- KEYS[3] vfy:rl:dest:{dest_hash}           KEYS[4] vfy:rl:ip:{ip_hash}
-- KEYS[5] vfy:idem:{idem_hash}, or "" without Idempotency-Key
-- KEYS[6] vfy:ver:{new_id}                  KEYS[7] vfy:outbox
-- KEYS[8] vfy:rl:fail:{client}:{dest_hash}  KEYS[9] vfy:rl:client:{client}
-- ARGV[1] new id          ARGV[2] code_mac        ARGV[3] code_sealed   ARGV[4] to (normalized)
-- ARGV[5] channel         ARGV[6] locale or ""    ARGV[7] dest_hash     ARGV[8] request_hash or ""
-- ARGV[9] client          ARGV[10] reference or ""
-- ARGV[11] code TTL ms    ARGV[12] retention ms   ARGV[13] cooldown ms  ARGV[14] max sends
-- ARGV[15] dest limit     ARGV[16] dest window ms ARGV[17] IP limit     ARGV[18] IP window ms
-- ARGV[19] idempotency TTL ms  ARGV[20] record key prefix  ARGV[21] outbox MAXLEN
-- ARGV[22] stream TTL ms  ARGV[23] contract version
-- ARGV[24] failed checks limit  ARGV[25] failed checks window ms
-- ARGV[26] client send limit    ARGV[27] client window ms
-- The SMS-pumping guards (an SMS only: for an email ARGV[28] and KEYS[10..13] are "" and no guard
-- is judged or counted):
-- KEYS[10] vfy:rl:prefix:{prefix_hash}      KEYS[11] vfy:rl:sms
-- KEYS[12] vfy:fg:{prefix_hash} (the tally) KEYS[13] vfy:fg:block:{prefix_hash}
-- ARGV[28] prefix_hash or ""     ARGV[29] prefix limit       ARGV[30] prefix window ms
-- ARGV[31] guard min SMS         ARGV[32] guard min approved percent
-- ARGV[33] guard window ms       ARGV[34] tally bucket ms    ARGV[35] tally buckets counted
-- ARGV[36] sent field prefix     ARGV[37] block ms
-- ARGV[38] global SMS limit      ARGV[39] global SMS window ms
-- Returns {outcome, json, retry_after_ms}: json is the record snapshot (created/resent), the
-- stored idempotency JSON (replay), or "" (refusals).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local idem_key, request_hash = KEYS[5], ARGV[8]

if idem_key ~= '' then
  local stored = redis.call('GET', idem_key)
  if stored then
    if cjson.decode(stored)['request_hash'] == request_hash then
      return {'replay', stored, 0}
    end
    return {'idempotency_key_reused', '', 0}
  end
end

-- The remaining time of a counter's window, or `window` when it has no TTL.
local function retry_of(key, window)
  local pttl = redis.call('PTTL', key)
  if pttl < 0 then pttl = tonumber(window) end
  return pttl
end

-- This client's wrong checks for this destination: at the limit, no send either.
if tonumber(redis.call('GET', KEYS[8]) or '0') >= tonumber(ARGV[24]) then
  return {'rate_limited', '', retry_of(KEYS[8], ARGV[25])}
end

-- The counters every send counts: {key, limit, window ms, the outcome when full}, in the order
-- they are judged: destination, client, IP; then for an SMS the prefix, then the breaker.
local prefix_hash = ARGV[28]
local is_sms = prefix_hash ~= ''
local limits = {{KEYS[3], ARGV[15], ARGV[16], 'rate_limited'},
  {KEYS[9], ARGV[26], ARGV[27], 'rate_limited'}, {KEYS[4], ARGV[17], ARGV[18], 'rate_limited'}}
local guarded_limits = {{KEYS[10], ARGV[29], ARGV[30], 'prefix_rate_limited'},
  {KEYS[11], ARGV[38], ARGV[39], 'sms_capacity_exceeded'}}

local function full_counter(counters)
  for _, limit in ipairs(counters) do
    if tonumber(redis.call('GET', limit[1]) or '0') >= tonumber(limit[2]) then
      return limit[4], retry_of(limit[1], limit[3])
    end
  end
  return nil
end

-- The conversion tally: buckets `current - (buckets - 1)` to `current` count; older are dead.
local bucket_ms, tally_buckets = tonumber(ARGV[34]), tonumber(ARGV[35])
local current_bucket = math.floor(now / bucket_ms)
local sent_field_prefix = ARGV[36]
local dead_fields = {}
local function read_tally()
  local sent, approved = 0, 0
  local tally = redis.call('HGETALL', KEYS[12])
  for i = 1, #tally, 2 do
    local field, bucket = tally[i], tonumber(string.match(tally[i], '%d+$'))
    if bucket and bucket <= current_bucket - tally_buckets then
      dead_fields[#dead_fields + 1] = field
    elseif bucket and bucket <= current_bucket then
      if string.sub(field, 1, #sent_field_prefix) == sent_field_prefix then
        sent = sent + tonumber(tally[i + 1])
      else
        approved = approved + tonumber(tally[i + 1])
      end
    end
  end
  return sent, approved
end

-- The outcome and retry ms of the first limit or guard that refuses this send, or nil.
local function refusal()
  local outcome, retry = full_counter(limits)
  if outcome or not is_sms then return outcome, retry end
  local block_ms = tonumber(ARGV[37])
  local blocked_for = redis.call('PTTL', KEYS[13])
  if blocked_for ~= -2 then
    if blocked_for < 0 then blocked_for = block_ms end
    return 'prefix_blocked', blocked_for
  end
  local sent, approved = read_tally()
  if sent >= tonumber(ARGV[31]) and approved * 100 < sent * tonumber(ARGV[32]) then
    redis.call('SET', KEYS[13], '1', 'PX', block_ms)
    return 'prefix_blocked', block_ms
  end
  return full_counter(guarded_limits)
end

local function count(counters)
  for _, limit in ipairs(counters) do
    if redis.call('INCR', limit[1]) == 1 then
      redis.call('PEXPIRE', limit[1], limit[3])
    end
  end
end

-- Count a send that happens; only a new SMS verification counts as created in the tally.
local function count_limits(is_new)
  count(limits)
  if not is_sms then return end
  count(guarded_limits)
  if is_new then
    redis.call('HINCRBY', KEYS[12], sent_field_prefix .. string.format('%d', current_bucket), 1)
    if #dead_fields > 0 then redis.call('HDEL', KEYS[12], unpack(dead_fields)) end
    redis.call('PEXPIRE', KEYS[12], ARGV[33])
  end
end

local function enqueue(id, code_sealed, send_attempt)
  redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[21], '*',
    'verification_id', id, 'channel', ARGV[5], 'to', ARGV[4], 'locale', ARGV[6],
    'code_sealed', code_sealed, 'send_attempt', send_attempt, 'enqueued_at', now)
  redis.call('PEXPIRE', KEYS[7], ARGV[22])
end

local function finish(outcome, http_status, record)
  local snapshot = cjson.encode(record)
  if idem_key ~= '' then
    -- The snapshot JSON is spliced in verbatim so the stored record is exactly what we return.
    local stored = '{"request_hash":' .. cjson.encode(request_hash) .. ',"status":' ..
      http_status .. ',"record":' .. snapshot .. '}'
    redis.call('SET', idem_key, stored, 'PX', ARGV[19])
  end
  return {outcome, snapshot, 0}
end

-- This client's verification for the destination: its own index, else a v1 index naming a v1
-- record (no `client`: it belongs to no one).
local existing = redis.call('GET', KEYS[1])
if not existing then
  existing = redis.call('GET', KEYS[2])
  if existing then
    local owner = redis.call('HGET', ARGV[20] .. existing, 'client')
    if owner and owner ~= '' then existing = nil end
  end
end
if existing then
  local key = ARGV[20] .. existing
  local f = redis.call('HMGET', key, 'status', 'expires_at', 'send_attempts', 'last_sent_at',
    'code_sealed', 'id', 'to', 'channel', 'locale', 'check_attempts', 'created_at', 'reference')
  local expires_at = tonumber(f[2])
  if f[1] == 'max_attempts_reached' and expires_at and now < expires_at then
    -- A new verification would reset the check budget: not before this one expires.
    return {'max_check_attempts_reached', '', expires_at - now}
  end
  if f[1] == 'pending' and expires_at and now < expires_at then
    if tonumber(f[3]) >= tonumber(ARGV[14]) then
      return {'max_send_attempts_reached', '', expires_at - now}
    end
    local cooldown_ends = tonumber(f[4]) + tonumber(ARGV[13])
    if now < cooldown_ends then
      return {'resend_cooldown', '', cooldown_ends - now}
    end
    local refused, retry = refusal()
    if refused then return {refused, '', retry} end
    local send_attempts = redis.call('HINCRBY', key, 'send_attempts', 1)
    redis.call('HSET', key, 'last_sent_at', now)
    count_limits(false)
    enqueue(f[6], f[5], send_attempts)
    return finish('resent', 200, {id = f[6], to = f[7], channel = f[8], locale = f[9],
      reference = f[12] or '', status = 'pending', send_attempts = send_attempts,
      check_attempts = tonumber(f[10]), created_at = tonumber(f[11]), expires_at = expires_at})
  end
end

local refused, retry = refusal()
if refused then return {refused, '', retry} end
local id, expires_at = ARGV[1], now + tonumber(ARGV[11])
redis.call('HSET', KEYS[6], 'v', ARGV[23], 'id', id, 'client', ARGV[9], 'to', ARGV[4],
  'channel', ARGV[5], 'locale', ARGV[6], 'reference', ARGV[10], 'status', 'pending',
  'code_mac', ARGV[2], 'code_sealed', ARGV[3], 'dest_hash', ARGV[7], 'send_attempts', 1,
  'check_attempts', 0, 'prefix_hash', prefix_hash, 'created_at', now, 'expires_at', expires_at,
  'last_sent_at', now)
redis.call('PEXPIRE', KEYS[6], tonumber(ARGV[11]) + tonumber(ARGV[12]))
redis.call('SET', KEYS[1], id, 'PX', ARGV[11])
count_limits(true)
enqueue(id, ARGV[3], 1)
return finish('created', 201, {id = id, to = ARGV[4], channel = ARGV[5], locale = ARGV[6],
  reference = ARGV[10], status = 'pending', send_attempts = 1, check_attempts = 0,
  created_at = now, expires_at = expires_at})
