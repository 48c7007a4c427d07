-- check: count one attempt and compare the code MAC in constant time (storage contract "check").
-- KEYS[1] vfy:ver:{id} when ARGV[1] is 'id', vfy:pending:{dest_hash} when ARGV[1] is 'to'
-- KEYS[2] vfy:events
-- ARGV[1] 'id' or 'to'      ARGV[2] candidate code_mac    ARGV[3] max checks
-- ARGV[4] retention ms      ARGV[5] record key prefix     ARGV[6] pending key prefix
-- ARGV[7] events MAXLEN     ARGV[8] stream TTL ms         ARGV[9] event schema
-- Returns {outcome, id, to, channel, status, check_attempts[, retry_ms]}; outcome is one of
-- not_found, max_check_attempts_reached (with retry_ms), approved, wrong.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local key = KEYS[1]
if ARGV[1] == 'to' then
  local id = redis.call('GET', KEYS[1])
  if not id then return {'not_found'} end
  key = ARGV[5] .. id
end
local f = redis.call('HMGET', key, 'id', 'to', 'channel', 'status', 'expires_at', 'dest_hash',
  'code_mac', 'check_attempts')
local id, status = f[1], f[4]
if not id then return {'not_found'} end

local function finalize(new_status, event, keep_pending_index)
  redis.call('HSET', key, 'status', new_status)
  local pending_key = ARGV[6] .. f[6]
  if not keep_pending_index and redis.call('GET', pending_key) == id then
    redis.call('DEL', pending_key)
  end
  redis.call('PEXPIRE', key, ARGV[4])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'schema', ARGV[9], 'type', event,
    'verification_id', id, 'channel', f[3], 'dest_hash', f[6], 'occurred_at', now)
  redis.call('PEXPIRE', KEYS[2], ARGV[8])
end

if status == 'pending' and now >= tonumber(f[5]) then
  finalize('expired', 'verification.expired', false)
  return {'not_found'}
end
if status == 'max_attempts_reached' then
  -- Retry after the code TTL: then the pending index is gone and a new verification may start.
  return {'max_check_attempts_reached', id, f[2], f[3], status, tonumber(f[8]),
    math.max(tonumber(f[5]) - now, 0)}
end
if status ~= 'pending' then return {'not_found'} end

local attempts = redis.call('HINCRBY', key, 'check_attempts', 1)
-- Constant time: XOR every byte and OR-accumulate; never compare the strings with ==.
local stored, given = f[7], ARGV[2]
local diff = 0
if #stored ~= #given then diff = 1 end
for i = 1, math.min(#stored, #given) do
  diff = bit.bor(diff, bit.bxor(string.byte(stored, i), string.byte(given, i)))
end
if diff == 0 then
  finalize('approved', 'verification.approved', false)
  return {'approved', id, f[2], f[3], 'approved', attempts}
end
if attempts >= tonumber(ARGV[3]) then
  -- The pending index stays, so a check by `to` keeps answering 429 until the code TTL ends.
  finalize('max_attempts_reached', 'verification.max_attempts_reached', true)
  return {'wrong', id, f[2], f[3], 'max_attempts_reached', attempts}
end
return {'wrong', id, f[2], f[3], 'pending', attempts}
