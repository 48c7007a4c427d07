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

-- A full limit's retry ms, or nil: destination first, then client, then IP.
local limits = {{KEYS[3], ARGV[15], ARGV[16]}, {KEYS[9], ARGV[26], ARGV[27]},
  {KEYS[4], ARGV[17], ARGV[18]}}
local function full_limit()
  for _, limit in ipairs(limits) do
    if tonumber(redis.call('GET', limit[1]) or '0') >= tonumber(limit[2]) then
      return retry_of(limit[1], limit[3])
    end
  end
  return nil
end

local function count_limits()
  for _, limit in ipairs(limits) do
    if redis.call('INCR', limit[1]) == 1 then
      redis.call('PEXPIRE', limit[1], limit[3])
    end
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
    local retry = full_limit()
    if retry then return {'rate_limited', '', retry} end
    local send_attempts = redis.call('HINCRBY', key, 'send_attempts', 1)
    redis.call('HSET', key, 'last_sent_at', now)
    count_limits()
    enqueue(f[6], f[5], send_attempts)
    return finish('resent', 200, {id = f[6], to = f[7], channel = f[8], locale = f[9],
      reference = f[12] or '', status = 'pending', send_attempts = send_attempts,
      check_attempts = tonumber(f[10]), created_at = tonumber(f[11]), expires_at = expires_at})
  end
end

local retry = full_limit()
if retry then return {'rate_limited', '', retry} end
local id, expires_at = ARGV[1], now + tonumber(ARGV[11])
redis.call('HSET', KEYS[6], 'v', ARGV[23], 'id', id, 'client', ARGV[9], 'to', ARGV[4],
  'channel', ARGV[5], 'locale', ARGV[6], 'reference', ARGV[10], 'status', 'pending',
  'code_mac', ARGV[2], 'code_sealed', ARGV[3], 'dest_hash', ARGV[7], 'send_attempts', 1,
  'check_attempts', 0, 'created_at', now, 'expires_at', expires_at, 'last_sent_at', now)
redis.call('PEXPIRE', KEYS[6], tonumber(ARGV[11]) + tonumber(ARGV[12]))
redis.call('SET', KEYS[1], id, 'PX', ARGV[11])
count_limits()
enqueue(id, ARGV[3], 1)
return finish('created', 201, {id = id, to = ARGV[4], channel = ARGV[5], locale = ARGV[6],
  reference = ARGV[10], status = 'pending', send_attempts = 1, check_attempts = 0,
  created_at = now, expires_at = expires_at})
