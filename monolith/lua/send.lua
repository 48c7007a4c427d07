-- send.lua: start or resend a verification in one step (docs/storage-contract.md, "send").
-- KEYS[1] vfy:pending:{dest_hash}      KEYS[2] vfy:rl:dest:{dest_hash}
-- KEYS[3] vfy:rl:ip:{ip_hash}          KEYS[4] vfy:idem:{idem_hash}, or "" without Idempotency-Key
-- KEYS[5] vfy:ver:{new_id}             KEYS[6] vfy:outbox
-- ARGV[1] record key prefix (vfy:ver:; an existing record's key is built from the id read)
-- ARGV[2] new id   ARGV[3] code_mac   ARGV[4] code_sealed   ARGV[5] to (normalized)
-- ARGV[6] channel  ARGV[7] locale or ""   ARGV[8] dest_hash   ARGV[9] request_hash or ""
-- ARGV[10] code TTL ms   ARGV[11] retention ms   ARGV[12] resend cooldown ms   ARGV[13] max sends
-- ARGV[14] dest limit    ARGV[15] dest window ms ARGV[16] IP limit   ARGV[17] IP window ms
-- ARGV[18] idempotency TTL ms   ARGV[19] stream TTL ms   ARGV[20] outbox MAXLEN
-- Returns {outcome, retry_after_ms, json}: json is the record snapshot (created/resent) or the
-- stored idempotency value (replay); outcomes as in the contract.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

if KEYS[4] ~= '' then
  local stored = redis.call('GET', KEYS[4])
  if stored then
    local ok, previous = pcall(cjson.decode, stored)
    if ok and type(previous) == 'table' and previous['request_hash'] == ARGV[9] then
      return {'replay', 0, stored}
    end
    return {'idempotency_key_reused', 0, ''}
  end
end

-- a limit is full when its counter is >= limit; retry after the counter's PTTL
local function full_limit_retry_ms()
  local limits = {{KEYS[2], ARGV[14], ARGV[15]}, {KEYS[3], ARGV[16], ARGV[17]}}
  for _, limit in ipairs(limits) do
    local count = tonumber(redis.call('GET', limit[1]) or '0')
    if count >= tonumber(limit[2]) then
      local ttl = redis.call('PTTL', limit[1])
      if ttl < 0 then  -- a counter must never outlive its window
        redis.call('PEXPIRE', limit[1], limit[3])
        ttl = tonumber(limit[3])
      end
      return ttl
    end
  end
  return nil
end

local function count_limits()
  for _, limit in ipairs({{KEYS[2], ARGV[15]}, {KEYS[3], ARGV[17]}}) do
    if redis.call('INCR', limit[1]) == 1 then
      redis.call('PEXPIRE', limit[1], limit[2])
    end
  end
end

local function snapshot(key)
  local f = redis.call('HMGET', key, 'id', 'to', 'channel', 'locale', 'status', 'send_attempts',
    'check_attempts', 'created_at', 'expires_at', 'code_sealed')
  return {id = f[1], to = f[2], channel = f[3], locale = f[4], status = f[5],
    send_attempts = tonumber(f[6]), check_attempts = tonumber(f[7]),
    created_at = tonumber(f[8]), expires_at = tonumber(f[9])}, f[10]
end

local function enqueue(record, code_sealed)
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[20], '*',
    'verification_id', record.id, 'channel', record.channel, 'to', record.to,
    'locale', record.locale, 'code_sealed', code_sealed,
    'send_attempt', record.send_attempts, 'enqueued_at', now)
  redis.call('PEXPIRE', KEYS[6], ARGV[19])
end

local function finish(outcome, status, record)
  local json = cjson.encode(record)
  if KEYS[4] ~= '' then
    redis.call('SET', KEYS[4], cjson.encode({request_hash = ARGV[9], status = status,
      record = record}), 'PX', ARGV[18])
  end
  return {outcome, 0, json}
end

local existing = redis.call('GET', KEYS[1])
if existing then
  local key = ARGV[1] .. existing
  local f = redis.call('HMGET', key, 'status', 'expires_at', 'send_attempts', 'last_sent_at')
  if f[1] == 'pending' and now < tonumber(f[2]) then
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
redis.call('HSET', KEYS[5], 'v', 1, 'id', ARGV[2], 'to', ARGV[5], 'channel', ARGV[6],
  'locale', ARGV[7], 'status', 'pending', 'code_mac', ARGV[3], 'code_sealed', ARGV[4],
  'dest_hash', ARGV[8], 'send_attempts', 1, 'check_attempts', 0, 'created_at', now,
  'expires_at', expires_at, 'last_sent_at', now)
redis.call('PEXPIRE', KEYS[5], tonumber(ARGV[10]) + tonumber(ARGV[11]))
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[10])
count_limits()
local record = {id = ARGV[2], to = ARGV[5], channel = ARGV[6], locale = ARGV[7],
  status = 'pending', send_attempts = 1, check_attempts = 0, created_at = now,
  expires_at = expires_at}
enqueue(record, ARGV[4])
return finish('created', 201, record)
