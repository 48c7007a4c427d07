-- check.lua: count one check attempt and compare the code in one step (storage contract, "check").
-- KEYS[1] vfy:events
-- ARGV[1] record key prefix (vfy:ver:)   ARGV[2] pending key prefix (vfy:pending:)
-- ARGV[3] verification id, or "" for a check by destination
-- ARGV[4] dest_hash for a check by destination, or ""
-- ARGV[5] candidate code_mac   ARGV[6] max checks   ARGV[7] retention ms
-- ARGV[8] stream TTL ms        ARGV[9] events MAXLEN
-- ARGV[10] client (the caller)  ARGV[11] failed checks key prefix (vfy:rl:fail:)
-- ARGV[12] failed checks limit  ARGV[13] failed checks window ms
-- ARGV[14] conversion tally key prefix (vfy:fg:; the key is built from the record's prefix_hash)
-- ARGV[15] guard window ms   ARGV[16] guard bucket ms
-- Returns {outcome, id, to, channel, status, check_attempts, retry_after_ms}; outcome is
-- not_found, rate_limited, max_check_attempts_reached, approved or wrong.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local NOT_FOUND = {'not_found', '', '', '', '', 0, 0}
local caller = ARGV[10]

local id = ARGV[3]
if id == '' then
  -- the caller's own index first; a v1 index only when it names a v1 record (no owner)
  id = redis.call('GET', ARGV[2] .. caller .. ':' .. ARGV[4])
  if not id then
    id = redis.call('GET', ARGV[2] .. ARGV[4])
    if not id or redis.call('HEXISTS', ARGV[1] .. id, 'client') == 1 then return NOT_FOUND end
  end
end
local key = ARGV[1] .. id
local f = redis.call('HMGET', key, 'status', 'expires_at', 'to', 'channel', 'dest_hash',
  'check_attempts', 'code_mac', 'client', 'reference', 'prefix_hash')
local status, expires_at, to, channel, dest_hash = f[1], tonumber(f[2]), f[3], f[4], f[5]
local owner, reference, prefix_hash = f[8], f[9] or '', f[10] or ''
if not status then return NOT_FOUND end
-- another client's verification does not exist for this caller; a v1 record has no owner
if owner and owner ~= caller then return NOT_FOUND end

local function finalize(new_status, event_type)
  redis.call('HSET', key, 'status', new_status)
  redis.call('PEXPIRE', key, ARGV[7])
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[9], '*', 'schema', 2, 'type', event_type,
    'verification_id', id, 'channel', channel, 'dest_hash', dest_hash,
    'client', owner or '', 'reference', reference, 'occurred_at', now)
  redis.call('PEXPIRE', KEYS[1], ARGV[8])
end

-- delete whichever index names this record: the owner's, or the v1 one
local function release_pending()
  local indexes = {ARGV[2] .. dest_hash}
  if owner then indexes[2] = ARGV[2] .. owner .. ':' .. dest_hash end
  for _, pending_key in ipairs(indexes) do
    if redis.call('GET', pending_key) == id then redis.call('DEL', pending_key) end
  end
end

if status == 'pending' and now >= expires_at then
  finalize('expired', 'verification.expired')
  release_pending()
  return NOT_FOUND
end
if status ~= 'pending' and status ~= 'max_attempts_reached' then
  return NOT_FOUND
end

-- wrong codes of this caller for this destination: at the limit, refuse before comparing
local failed_key = ARGV[11] .. caller .. ':' .. dest_hash
local failed = tonumber(redis.call('GET', failed_key) or '0')
if failed >= tonumber(ARGV[12]) then
  local ttl = redis.call('PTTL', failed_key)
  if ttl < 0 then  -- a counter must never outlive its window
    redis.call('PEXPIRE', failed_key, ARGV[13])
    ttl = tonumber(ARGV[13])
  end
  return {'rate_limited', id, to, channel, status, tonumber(f[6]), ttl}
end

if status == 'max_attempts_reached' then
  return {'max_check_attempts_reached', id, to, channel, status, tonumber(f[6]),
    math.max(expires_at - now, 1000)}
end

local attempts = redis.call('HINCRBY', key, 'check_attempts', 1)
-- constant time: XOR every byte and OR the differences, never == on the strings
local stored, given = f[7], ARGV[5]
local diff = (#stored == #given) and 0 or 1
for i = 1, math.min(#stored, #given) do
  diff = bit.bor(diff, bit.bxor(string.byte(stored, i), string.byte(given, i)))
end
if diff == 0 then
  finalize('approved', 'verification.approved')
  release_pending()
  if prefix_hash ~= '' then  -- an SMS: its prefix converts (the conversion guard's tally)
    local tally = ARGV[14] .. prefix_hash
    redis.call('HINCRBY', tally, string.format('a:%d', math.floor(now / tonumber(ARGV[16]))), 1)
    redis.call('PEXPIRE', tally, ARGV[15])
  end
  return {'approved', id, to, channel, 'approved', attempts, 0}
end
if redis.call('INCR', failed_key) == 1 then
  redis.call('PEXPIRE', failed_key, ARGV[13])
end
if attempts >= tonumber(ARGV[6]) then
  finalize('max_attempts_reached', 'verification.max_attempts_reached')
  return {'wrong', id, to, channel, 'max_attempts_reached', attempts, 0}
end
return {'wrong', id, to, channel, 'pending', attempts, 0}
