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
-- SMS-pumping guards (docs/api.md), for an SMS only; for an email ARGV[27] and KEYS[10..13] are ""
-- and the guards are skipped:
-- KEYS[10] vfy:rl:prefix:{prefix_hash}        KEYS[11] vfy:fg:{prefix_hash} (conversion tally)
-- KEYS[12] vfy:fg:block:{prefix_hash}         KEYS[13] vfy:rl:sms (circuit breaker)
-- ARGV[27] prefix_hash or ""   ARGV[28] prefix limit   ARGV[29] prefix window ms
-- ARGV[30] guard min SMS   ARGV[31] guard min approved percent   ARGV[32] guard window ms
-- ARGV[33] guard bucket ms   ARGV[34] guard block ms   ARGV[35] SMS global limit
-- ARGV[36] SMS global window ms
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

local guarded = ARGV[27] ~= ''
local PREFIX_LIMIT = {KEYS[10], ARGV[28], ARGV[29]}
local SMS_LIMIT = {KEYS[13], ARGV[35], ARGV[36]}
local bucket_ms = tonumber(ARGV[33])
local bucket = math.floor(now / bucket_ms)
local oldest_bucket = bucket - tonumber(ARGV[32]) / bucket_ms + 1  -- the window's buckets
local dead_tally_fields = {}  -- fields of buckets that left the window, found while judging

-- SMS created and approved in the window's buckets; remembers the dead fields
local function read_tally()
  local sent, approved = 0, 0
  local flat = redis.call('HGETALL', KEYS[11])
  for i = 1, #flat, 2 do
    local kind, number = string.match(flat[i], '^([sa]):(-?%d+)$')
    local field_bucket = tonumber(number)
    if field_bucket and field_bucket < oldest_bucket then
      dead_tally_fields[#dead_tally_fields + 1] = flat[i]
    elseif field_bucket and field_bucket <= bucket then
      local count = tonumber(flat[i + 1]) or 0
      if kind == 's' then sent = sent + count else approved = approved + count end
    end
  end
  return sent, approved
end

-- the pumping guards in their order: conversion guard, prefix velocity, circuit breaker
local function guard_refusal()
  local block_ttl = redis.call('PTTL', KEYS[12])
  if block_ttl == -1 then  -- a block must never outlive its time
    redis.call('PEXPIRE', KEYS[12], ARGV[34])
    block_ttl = tonumber(ARGV[34])
  end
  if block_ttl ~= -2 then return 'prefix_blocked', block_ttl end
  local sent, approved = read_tally()
  if sent >= tonumber(ARGV[30]) and approved * 100 < sent * tonumber(ARGV[31]) then
    redis.call('SET', KEYS[12], 1, 'PX', ARGV[34])
    return 'prefix_blocked', tonumber(ARGV[34])
  end
  local retry = full_retry_ms(PREFIX_LIMIT[1], PREFIX_LIMIT[2], PREFIX_LIMIT[3])
  if retry then return 'prefix_rate_limited', retry end
  retry = full_retry_ms(SMS_LIMIT[1], SMS_LIMIT[2], SMS_LIMIT[3])
  if retry then return 'sms_capacity_exceeded', retry end
  return nil
end

-- every limit of a send (contract step 5): the outcome refusing it and the retry, or nil
local function refusal()
  local retry = full_limit_retry_ms()
  if retry then return 'rate_limited', retry end
  if guarded then return guard_refusal() end
  return nil
end

local function count(limit)
  if redis.call('INCR', limit[1]) == 1 then
    redis.call('PEXPIRE', limit[1], limit[3])
  end
end

-- only sends that happen count; a new SMS verification is also tallied for the conversion guard
local function count_limits(created)
  for _, limit in ipairs(SEND_LIMITS) do count(limit) end
  if not guarded then return end
  count(PREFIX_LIMIT)
  count(SMS_LIMIT)
  if created then
    redis.call('HINCRBY', KEYS[11], string.format('s:%d', bucket), 1)
    if #dead_tally_fields > 0 then redis.call('HDEL', KEYS[11], unpack(dead_tally_fields)) end
    redis.call('PEXPIRE', KEYS[11], ARGV[32])
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
    local refused, retry = refusal()
    if refused then return {refused, retry, ''} end
    redis.call('HINCRBY', key, 'send_attempts', 1)
    redis.call('HSET', key, 'last_sent_at', now)
    count_limits(false)
    local record, code_sealed = snapshot(key)
    enqueue(record, code_sealed)
    return finish('resent', 200, record)
  end
end

local refused, retry = refusal()
if refused then return {refused, retry, ''} end

local expires_at = now + tonumber(ARGV[10])
redis.call('HSET', KEYS[8], 'v', 2, 'id', ARGV[2], 'client', ARGV[25], 'to', ARGV[5],
  'channel', ARGV[6], 'locale', ARGV[7], 'reference', ARGV[26], 'status', 'pending',
  'code_mac', ARGV[3], 'code_sealed', ARGV[4], 'dest_hash', ARGV[8], 'send_attempts', 1,
  'check_attempts', 0, 'created_at', now, 'expires_at', expires_at, 'last_sent_at', now,
  'prefix_hash', ARGV[27])
redis.call('PEXPIRE', KEYS[8], tonumber(ARGV[10]) + tonumber(ARGV[11]))
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[10])
count_limits(true)
local record = {id = ARGV[2], to = ARGV[5], channel = ARGV[6], locale = ARGV[7],
  reference = ARGV[26], status = 'pending', send_attempts = 1, check_attempts = 0,
  created_at = now, expires_at = expires_at}
enqueue(record, ARGV[4])
return finish('created', 201, record)
