-- send.lua: start or resend a verification (docs/storage-contract.md "send", "send (version 3)",
-- "Cluster mode", "Migration from version 2"). Prepended by common.lua.
-- KEYS by role (ARGV[1] lists the roles passed, in order); all in the destination's slot:
--   record    vfy3:{b}:d:{client}:{dest_key}      retained  vfy3:{b}:f:{client}:{dest_key}
--   fail      vfy3:{b}:fail:{client}:{dest_key}   outbox    vfy3:{b}:outbox
-- On a single node only (they judge and count inline; absent in cluster mode, where the reserve
-- scripts judged them and ARGV[41] carries their first `full` outcome):
--   dest vfy:rl:dest:{dest_hash}   client vfy:rl:client:{client}   ip vfy:rl:ip:{ip_hash}
--   fail2 vfy:rl:fail:{client}:{dest_hash}   pending2 vfy:pending:{client}:{dest_hash}
--   outbox2 vfy:outbox   new2 vfy:ver:{new_id} (write version 2 only)
--   idem vfy:idem:{idem_hash} (with an Idempotency-Key only)
--   prefix vfy:rl:prefix:{prefix_hash}  tally vfy:fg:{prefix_hash}  block2 vfy:fg:block:{prefix_hash}
--   sms vfy:rl:sms   (the four for an SMS only)
--   A live v2 record is read and written at vfy:ver:{id}, the id read from pending2 (single node).
-- ARGV[1] roles  ARGV[2] write version (2 or 3)  ARGV[3] new id  ARGV[4] code_mac (v2: 64 hex;
-- v3: code_mac16)  ARGV[5] code_sealed (of the write version)  ARGV[6] to  ARGV[7] channel
-- ARGV[8] locale or ""  ARGV[9] reference or ""  ARGV[10] client  ARGV[11] dest_key
-- ARGV[12] dest_hash  ARGV[13] prefix_hash or ""  ARGV[14] request_hash or ""
-- ARGV[15] code TTL ms  ARGV[16] retention ms  ARGV[17] resend cooldown ms  ARGV[18] max sends
-- ARGV[19] dest limit  ARGV[20] dest window ms  ARGV[21] client limit  ARGV[22] client window ms
-- ARGV[23] IP limit  ARGV[24] IP window ms  ARGV[25] failed checks limit
-- ARGV[26] failed checks window ms  ARGV[27] idempotency TTL ms  ARGV[28] stream TTL ms
-- ARGV[29] v3 outbox MAXLEN  ARGV[30] v2 outbox MAXLEN  ARGV[31] prefix limit
-- ARGV[32] prefix window ms  ARGV[33] guard min SMS  ARGV[34] guard min approved percent
-- ARGV[35] guard window ms  ARGV[36] guard bucket ms  ARGV[37] guard block ms
-- ARGV[38] SMS global limit  ARGV[39] SMS global window ms  ARGV[40] v2 record key prefix
-- ARGV[41] cluster mode: the reserves' first `full` outcome, or ""  ARGV[42] its retry ms
-- ARGV[43] the tally's block field name
-- Returns {outcome, retry_after_ms, json}: json is the record snapshot (created/resent) or the
-- stored idempotency value (replay).
C.client, C.dest_key, C.stream_ttl = ARGV[10], ARGV[11], ARGV[28]
local inline = K.dest ~= nil
local guarded = ARGV[13] ~= ''
local BLOCK = ARGV[43]

if K.idem then
  local stored = redis.call('GET', K.idem)
  if stored then
    local ok, previous = pcall(cjson.decode, stored)
    if ok and type(previous) == 'table' and previous['request_hash'] == ARGV[14] then
      return {'replay', 0, stored}
    end
    return {'idempotency_key_reused', 0, ''}
  end
end

-- a counter must never outlive its window: one without a TTL gets it back
local function pttl_or_window(key, window)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, window)
    ttl = tonumber(window)
  end
  return ttl
end

-- a limit is full when its counter is >= limit; retry after the counter's PTTL
local function full_retry_ms(key, limit, window)
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(limit) then return pttl_or_window(key, window) end
  return nil
end

-- failed checks: the sum of the v3 counter and (single node) the v2 one; retry after the
-- longer-lived of the counters that hold any (erring closed)
local function failed_retry_ms()
  local total, retry = 0, 0
  for _, key in ipairs({K.fail, K.fail2}) do
    local count = tonumber(redis.call('GET', key) or '0')
    if count > 0 then
      total = total + count
      retry = math.max(retry, pttl_or_window(key, ARGV[26]))
    end
  end
  if total >= tonumber(ARGV[25]) then return retry end
  return nil
end

local SEND_LIMITS = {{K.dest, ARGV[19], ARGV[20]}, {K.client, ARGV[21], ARGV[22]},
  {K.ip, ARGV[23], ARGV[24]}}
local PREFIX_LIMIT = {K.prefix, ARGV[31], ARGV[32]}
local SMS_LIMIT = {K.sms, ARGV[38], ARGV[39]}
local bucket_ms = tonumber(ARGV[36])
local bucket = math.floor(now / bucket_ms)
local dead_tally_fields = {}

local function read_this_tally()
  local sent, approved, dead = read_tally(K.tally, now, bucket_ms, tonumber(ARGV[35]))
  dead_tally_fields = dead
  return sent, approved
end

local function renew_tally(at_least) renew_tally_ttl(K.tally, at_least) end

-- the block: the tally's field (v3) or the v2 key; honoured either way, the longer one wins
local function block_retry_ms()
  local retry = nil
  local until_ms = tonumber(redis.call('HGET', K.tally, BLOCK) or '0')
  if until_ms > now then retry = until_ms - now end
  local ttl = redis.call('PTTL', K.block2)
  if ttl == -1 then  -- a block must never outlive its time
    redis.call('PEXPIRE', K.block2, ARGV[37])
    ttl = tonumber(ARGV[37])
  end
  if ttl >= 0 then retry = math.max(retry or 0, ttl) end
  return retry
end

local function guard_refusal()
  local retry = block_retry_ms()
  if retry then return 'prefix_blocked', retry end
  local sent, approved = read_this_tally()
  if converts_too_little(sent, approved, ARGV[33], ARGV[34]) then
    redis.call('HSET', K.tally, BLOCK, int(now + tonumber(ARGV[37])))
    renew_tally(ARGV[37])
    redis.call('SET', K.block2, 1, 'PX', ARGV[37])
    return 'prefix_blocked', tonumber(ARGV[37])
  end
  retry = full_retry_ms(PREFIX_LIMIT[1], PREFIX_LIMIT[2], PREFIX_LIMIT[3])
  if retry then return 'prefix_rate_limited', retry end
  retry = full_retry_ms(SMS_LIMIT[1], SMS_LIMIT[2], SMS_LIMIT[3])
  if retry then return 'sms_capacity_exceeded', retry end
  return nil
end

-- every limit of a send (contract step 5): the outcome refusing it and the retry, or nil
local function refusal()
  if not inline then
    if ARGV[41] ~= '' then return ARGV[41], tonumber(ARGV[42]) end
    return nil
  end
  for _, limit in ipairs(SEND_LIMITS) do
    local retry = full_retry_ms(limit[1], limit[2], limit[3])
    if retry then return 'rate_limited', retry end
  end
  if guarded then return guard_refusal() end
  return nil
end

local function count(limit)
  if redis.call('INCR', limit[1]) == 1 then redis.call('PEXPIRE', limit[1], limit[3]) end
end

-- only sends that happen count (inline; in cluster mode the reserves counted); a new SMS
-- verification is also tallied for the conversion guard
local function count_limits(created)
  if not inline then return end
  for _, limit in ipairs(SEND_LIMITS) do count(limit) end
  if not guarded then return end
  count(PREFIX_LIMIT)
  count(SMS_LIMIT)
  if created then
    redis.call('HINCRBY', K.tally, string.format('s:%d', bucket), 1)
    if #dead_tally_fields > 0 then redis.call('HDEL', K.tally, unpack(dead_tally_fields)) end
    renew_tally(ARGV[35])
  end
end

local function enqueue(r)
  if r.form == 3 then
    redis.call('XADD', K.outbox, 'MAXLEN', '~', ARGV[29], '*',
      'verification_id', id_of(r), 'channel', r.channel, 'to', r.to, 'locale', r.locale,
      'code_sealed', r.code_sealed, 'send_attempt', int(r.send_attempts),
      'enqueued_at', int(now), 'client', C.client)
    redis.call('PEXPIRE', K.outbox, ARGV[28])
  else
    redis.call('XADD', K.outbox2, 'MAXLEN', '~', ARGV[30], '*',
      'verification_id', r.id, 'channel', r.channel, 'to', r.to, 'locale', r.locale,
      'code_sealed', r.code_sealed, 'send_attempt', int(r.send_attempts),
      'enqueued_at', int(now))
    redis.call('PEXPIRE', K.outbox2, ARGV[28])
  end
end

local function finish(outcome, status, r)
  local record = snapshot(r)
  if K.idem then
    redis.call('SET', K.idem, cjson.encode({request_hash = ARGV[14], status = status,
      record = record}), 'PX', ARGV[27])
  end
  return {outcome, 0, cjson.encode(record)}
end

local failed = failed_retry_ms()
if failed then return {'rate_limited', failed, ''} end

-- one live verification per client and destination, across versions: v3's, then v2's
local current = unpack3(redis.call('GET', K.record))
local found = live(current) and current or nil
if not found and K.pending2 then
  local id2 = redis.call('GET', K.pending2)
  if id2 then
    local r2 = load2(ARGV[40] .. id2)
    if live(r2) then found = r2 end
  end
end

if found then
  if found.status == 'max_attempts_reached' then  -- a new send must not reset the check budget
    return {'max_check_attempts_reached', found.expires_at - now, ''}
  end
  if found.send_attempts >= tonumber(ARGV[18]) then
    return {'max_send_attempts_reached', found.expires_at - now, ''}
  end
  local cooldown_ends = found.last_sent_at + tonumber(ARGV[17])
  if now < cooldown_ends then return {'resend_cooldown', cooldown_ends - now, ''} end
  local refused, retry = refusal()
  if refused then return {refused, retry, ''} end
  found.send_attempts = found.send_attempts + 1
  found.last_sent_at = now
  if found.form == 3 then
    redis.call('SET', K.record, pack3(found), 'KEEPTTL')
  else
    redis.call('HINCRBY', found.key, 'send_attempts', 1)
    redis.call('HSET', found.key, 'last_sent_at', now)
  end
  count_limits(false)
  enqueue(found)
  return finish('resent', 200, found)
end

local refused, retry = refusal()
if refused then return {refused, retry, ''} end

-- Single node: the failed-checks counter of the new record's version takes over the other
-- version's wrong codes (a check by id judges only its record's version's counter), keeping the
-- longer window.
local function fold_failed(into, from)
  if not into or not from then return end
  local moved = tonumber(redis.call('GET', from) or '0')
  if moved <= 0 then return end
  local window = redis.call('PTTL', from)
  redis.call('INCRBY', into, moved)
  if window > 0 and window > redis.call('PTTL', into) then redis.call('PEXPIRE', into, window) end
  redis.call('DEL', from)
end

local ttl, retention = tonumber(ARGV[15]), tonumber(ARGV[16])
local created = {to = ARGV[6], channel = ARGV[7], locale = ARGV[8], reference = ARGV[9],
  status = 'pending', code_mac = ARGV[4], code_sealed = ARGV[5], send_attempts = 1,
  check_attempts = 0, created_at = now, ttl = ttl, expires_at = now + ttl, last_sent_at = now}
if ARGV[2] == '3' then
  fold_failed(K.fail, K.fail2)
  if current then  -- the finished one it replaces stays readable by id for retention
    if current.status == 'pending' then current.status = 'expired' end
    local retain_until = now + retention
    local flat = redis.call('HGETALL', K.retained)
    local dead = {}
    for i = 1, #flat, 2 do
      local until_ms = tonumber(string.match(flat[i + 1], '^(%d+)|'))
      if until_ms <= now then dead[#dead + 1] = flat[i]
      else retain_until = math.max(retain_until, until_ms) end
    end
    if #dead > 0 then redis.call('HDEL', K.retained, unpack(dead)) end
    redis.call('HSET', K.retained, current.rand, int(now + retention) .. '|' .. pack3(current))
    redis.call('PEXPIRE', K.retained, retain_until - now)
  end
  created.form, created.rand = 3, string.sub(ARGV[3], 19)
  redis.call('SET', K.record, pack3(created), 'PX', ttl + retention)
else
  fold_failed(K.fail2, K.fail)
  created.form, created.id, created.client = 2, ARGV[3], ARGV[10]
  redis.call('HSET', K.new2, 'v', 2, 'id', ARGV[3], 'client', ARGV[10], 'to', ARGV[6],
    'channel', ARGV[7], 'locale', ARGV[8], 'reference', ARGV[9], 'status', 'pending',
    'code_mac', ARGV[4], 'code_sealed', ARGV[5], 'dest_hash', ARGV[12], 'send_attempts', 1,
    'check_attempts', 0, 'created_at', now, 'expires_at', now + ttl, 'last_sent_at', now,
    'prefix_hash', ARGV[13])
  redis.call('PEXPIRE', K.new2, ttl + retention)
  redis.call('SET', K.pending2, ARGV[3], 'PX', ttl)
end
count_limits(true)
enqueue(created)
return finish('created', 201, created)
