-- send: create a verification or resend the pending one, atomically (storage contract "send").
-- KEYS[1] vfy:pending:{dest_hash}      KEYS[2] vfy:rl:dest:{dest_hash}
-- KEYS[3] vfy:rl:ip:{ip_hash}          KEYS[4] vfy:idem:{idem_hash}, or "" without Idempotency-Key
-- KEYS[5] vfy:ver:{new_id}             KEYS[6] vfy:outbox
-- ARGV[1] new id          ARGV[2] code_mac        ARGV[3] code_sealed   ARGV[4] to (normalized)
-- ARGV[5] channel         ARGV[6] locale or ""    ARGV[7] dest_hash     ARGV[8] request_hash or ""
-- ARGV[9] code TTL ms     ARGV[10] retention ms   ARGV[11] cooldown ms  ARGV[12] max sends
-- ARGV[13] dest limit     ARGV[14] dest window ms ARGV[15] IP limit     ARGV[16] IP window ms
-- ARGV[17] idempotency TTL ms  ARGV[18] record key prefix  ARGV[19] outbox MAXLEN
-- ARGV[20] stream TTL ms  ARGV[21] contract version
-- Returns {outcome, json, retry_after_ms}: json is the record snapshot (created/resent), the
-- stored idempotency JSON (replay), or "" (refusals).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local idem_key, request_hash = KEYS[4], ARGV[8]

if idem_key ~= '' then
  local stored = redis.call('GET', idem_key)
  if stored then
    if cjson.decode(stored)['request_hash'] == request_hash then
      return {'replay', stored, 0}
    end
    return {'idempotency_key_reused', '', 0}
  end
end

-- A full limit: {key, retry ms}; the destination limit is checked first.
local function full_limit()
  local limits = {{KEYS[2], ARGV[13], ARGV[14]}, {KEYS[3], ARGV[15], ARGV[16]}}
  for _, limit in ipairs(limits) do
    local count = tonumber(redis.call('GET', limit[1]) or '0')
    if count >= tonumber(limit[2]) then
      local pttl = redis.call('PTTL', limit[1])
      if pttl < 0 then pttl = tonumber(limit[3]) end
      return pttl
    end
  end
  return nil
end

local function count_limits()
  for _, limit in ipairs({{KEYS[2], ARGV[14]}, {KEYS[3], ARGV[16]}}) do
    if redis.call('INCR', limit[1]) == 1 then
      redis.call('PEXPIRE', limit[1], limit[2])
    end
  end
end

local function enqueue(id, code_sealed, send_attempt)
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[19], '*',
    'verification_id', id, 'channel', ARGV[5], 'to', ARGV[4], 'locale', ARGV[6],
    'code_sealed', code_sealed, 'send_attempt', send_attempt, 'enqueued_at', now)
  redis.call('PEXPIRE', KEYS[6], ARGV[20])
end

local function finish(outcome, http_status, record)
  local snapshot = cjson.encode(record)
  if idem_key ~= '' then
    -- The snapshot JSON is spliced in verbatim so the stored record is exactly what we return.
    local stored = '{"request_hash":' .. cjson.encode(request_hash) .. ',"status":' ..
      http_status .. ',"record":' .. snapshot .. '}'
    redis.call('SET', idem_key, stored, 'PX', ARGV[17])
  end
  return {outcome, snapshot, 0}
end

local existing = redis.call('GET', KEYS[1])
if existing then
  local key = ARGV[18] .. existing
  local f = redis.call('HMGET', key, 'status', 'expires_at', 'send_attempts', 'last_sent_at',
    'code_sealed', 'id', 'to', 'channel', 'locale', 'check_attempts', 'created_at')
  local expires_at = tonumber(f[2])
  if f[1] == 'pending' and expires_at and now < expires_at then
    if tonumber(f[3]) >= tonumber(ARGV[12]) then
      return {'max_send_attempts_reached', '', expires_at - now}
    end
    local cooldown_ends = tonumber(f[4]) + tonumber(ARGV[11])
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
      status = 'pending', send_attempts = send_attempts, check_attempts = tonumber(f[10]),
      created_at = tonumber(f[11]), expires_at = expires_at})
  end
end

local retry = full_limit()
if retry then return {'rate_limited', '', retry} end
local id, expires_at = ARGV[1], now + tonumber(ARGV[9])
redis.call('HSET', KEYS[5], 'v', ARGV[21], 'id', id, 'to', ARGV[4], 'channel', ARGV[5],
  'locale', ARGV[6], 'status', 'pending', 'code_mac', ARGV[2], 'code_sealed', ARGV[3],
  'dest_hash', ARGV[7], 'send_attempts', 1, 'check_attempts', 0, 'created_at', now,
  'expires_at', expires_at, 'last_sent_at', now)
redis.call('PEXPIRE', KEYS[5], tonumber(ARGV[9]) + tonumber(ARGV[10]))
redis.call('SET', KEYS[1], id, 'PX', ARGV[9])
count_limits()
enqueue(id, ARGV[3], 1)
return finish('created', 201, {id = id, to = ARGV[4], channel = ARGV[5], locale = ARGV[6],
  status = 'pending', send_attempts = 1, check_attempts = 0, created_at = now,
  expires_at = expires_at})
