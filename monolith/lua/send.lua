-- send.lua: start or resend a verification in one step (docs/storage-contract.md, "send").
-- KEYS[1] vfy:pending:{client}:{dest_hash}   KEYS[2] vfy:pending:{dest_hash} (v1 index, read only)
-- KEYS[3] vfy:rl:dest:{dest_hash}            KEYS[4] vfy:rl:client:{client}
-- KEYS[5] vfy:rl:ip:{ip_hash}                KEYS[6] vfy:rl:fail:{client}:{dest_hash}
-- KEYS[7] vfy:idem:{idem_hash}, or "" without Idempotency-Key
-- KEYS[8] vfy:ver:{new_id}                   KEYS[9] vfy:outbox
-- ARGV[1] record key prefix (vfy:ver:; an existing record's key is built from the id read)
-- ARGV[2] new id   ARGV[3] code_mac   ARGV[4] code_sealed   ARGV[5] to (normalized)
-- ARGV[6] channel  ARGV[7] locale or ""   ARGV[8] dest_hash   ARGV[9] request_hash or ""
-- ARGV[10] code TTL ms   ARGV[11] retention ms   ARGV[12] resend cooldown ms   ARGV[13] max sends
-- ARGV[14] dest limit    ARGV[15] dest window ms    ARGV[16] client limit   ARGV[17] client window ms
-- ARGV[18] IP limit      ARGV[19] IP window ms      ARGV[20] failed checks limit
-- ARGV[21] failed checks window ms   ARGV[22] idempotency TTL ms   ARGV[23] stream TTL ms
-- ARGV[24] outbox MAXLEN   ARGV[25] client   ARGV[26] reference or ""
-- Returns {outcome, retry_after_ms, json}: json is the record snapshot (created/resent) or the
-- stored idempotency value (replay); outcomes as in the contract.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

if KEYS[7] ~= '' then
  local stored = redis.call('GET', KEYS[7])
  if stored then
    local ok, previous = pcall(cjson.decode, stored)
    if ok and type(previous) == 'table' and previous['request_hash'] == ARGV[9] then
      return {'replay', 0, stored}
    end
    return {'idempotency_key_reused', 0, ''}
  end
end

-- a limit is full when its counter is >= limit; retry after the counter's PTTL
local function full_retry_ms(key, limit, window)
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(limit) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then  -- a counter must never outlive its window
      redis.call('PEXPIRE', key, window)
      ttl = tonumber(window)
    end
    return ttl
  end
  return nil
end

-- send limits in their order: destination, client, IP
local SEND_LIMITS = {{KEYS[3], ARGV[14], ARGV[15]}, {KEYS[4], ARGV[16], ARGV[17]},
  {KEYS[5], ARGV[18], ARGV[19]}}

local function full_limit_retry_ms()
  for _, limit in ipairs(SEND_LIMITS) do
    local retry = full_retry_ms(limit[1], limit[2], limit[3])
    if retry then return retry end
  end
  return nil
end

local function count_limits()
  for _, limit in ipairs(SEND_LIMITS) do
    if redis.call('INCR', limit[1]) == 1 then
      redis.call('PEXPIRE', limit[1], limit[3])
    end
  end
end

local function snapshot(key)
  local f = redis.call('HMGET', key, 'id', 'to', 'channel', 'locale', 'reference', 'status',
    'send_attempts', 'check_attempts', 'created_at', 'expires_at', 'code_sealed')
  return {id = f[1], to = f[2], channel = f[3], locale = f[4], reference = f[5] or '',
    status = f[6], send_attempts = tonumber(f[7]), check_attempts = tonumber(f[8]),
    created_at = tonumber(f[9]), expires_at = tonumber(f[10])}, f[11]
end

local function enqueue(record, code_sealed)
  redis.call('XADD', KEYS[9], 'MAXLEN', '~', ARGV[24], '*',
    'verification_id', record.id, 'channel', record.channel, 'to', record.to,
    'locale', record.locale, 'code_sealed', code_sealed,
    'send_attempt', record.send_attempts, 'enqueued_at', now)
  redis.call('PEXPIRE', KEYS[9], ARGV[23])
end

local function finish(outcome, status, record)
  local json = cjson.encode(record)
  if KEYS[7] ~= '' then
    redis.call('SET', KEYS[7], cjson.encode({request_hash = ARGV[9], status = status,
      record = record}), 'PX', ARGV[22])
  end
  return {outcome, 0, json}
end

-- the client's own index first; a v1 index only when it names a v1 record (no owner)
local function pending_id()
  local id = redis.call('GET', KEYS[1])
  if id then return id end
  id = redis.call('GET', KEYS[2])
  if id and redis.call('HEXISTS', ARGV[1] .. id, 'client') == 0 then return id end
  return nil
end

local failed_retry = full_retry_ms(KEYS[6], ARGV[20], ARGV[21])
if failed_retry then return {'rate_limited', failed_retry, ''} end

local existing = pending_id()
if existing then
  local key = ARGV[1] .. existing
  local f = redis.call('HMGET', key, 'status', 'expires_at', 'send_attempts', 'last_sent_at')
  local live = f[1] and now < tonumber(f[2])
  if live and f[1] == 'max_attempts_reached' then  -- a new send must not reset the check budget
    return {'max_check_attempts_reached', tonumber(f[2]) - now, ''}
  end
  if live and f[1] == 'pending' then
    if tonumber(f[3]) >= tonumber(ARGV[13]) then
      return {'max_send_attempts_reached', tonumber(f[2]) - now, ''}
    end
    local cooldown_ends = tonumber(f[4]) + tonumber(ARGV[12])
    if now < cooldown_ends then
      return {'resend_cooldown', cooldown_ends - now, ''}
    end
    local retry = full_limit_retry_ms()
    if retry then return {'rate_limited', retry, ''} end
    redis.call('HINCRBY', key, 'send_attempts', 1)
    redis.call('HSET', key, 'last_sent_at', now)
    count_limits()
    local record, code_sealed = snapshot(key)
    enqueue(record, code_sealed)
    return finish('resent', 200, record)
  end
end

local retry = full_limit_retry_ms()
if retry then return {'rate_limited', retry, ''} end

local expires_at = now + tonumber(ARGV[10])
redis.call('HSET', KEYS[8], 'v', 2, 'id', ARGV[2], 'client', ARGV[25], 'to', ARGV[5],
  'channel', ARGV[6], 'locale', ARGV[7], 'reference', ARGV[26], 'status', 'pending',
  'code_mac', ARGV[3], 'code_sealed', ARGV[4], 'dest_hash', ARGV[8], 'send_attempts', 1,
  'check_attempts', 0, 'created_at', now, 'expires_at', expires_at, 'last_sent_at', now)
redis.call('PEXPIRE', KEYS[8], tonumber(ARGV[10]) + tonumber(ARGV[11]))
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[10])
count_limits()
local record = {id = ARGV[2], to = ARGV[5], channel = ARGV[6], locale = ARGV[7],
  reference = ARGV[26], status = 'pending', send_attempts = 1, check_attempts = 0,
  created_at = now, expires_at = expires_at}
enqueue(record, ARGV[4])
return finish('created', 201, record)
