-- check: count one attempt and compare the code MAC in constant time (storage contract "check").
-- KEYS[1] vfy:ver:{id} when ARGV[1] is 'id', vfy:pending:{client}:{dest_hash} when it is 'to'
-- KEYS[2] vfy:pending:{dest_hash} (the v1 index, read only) when ARGV[1] is 'to', else ""
-- KEYS[3] vfy:events
-- ARGV[1] 'id' or 'to'      ARGV[2] candidate code_mac    ARGV[3] max checks
-- ARGV[4] retention ms      ARGV[5] record key prefix     ARGV[6] pending key prefix
-- ARGV[7] events MAXLEN     ARGV[8] stream TTL ms         ARGV[9] event schema
-- ARGV[10] client (the caller)  ARGV[11] failed checks key prefix
-- ARGV[12] failed checks limit  ARGV[13] failed checks window ms
-- ARGV[14] tally key prefix (vfy:fg:)  ARGV[15] approved field prefix  ARGV[16] tally bucket ms
-- ARGV[17] tally window ms
-- An approval of a record with a `prefix_hash` is tallied in {ARGV[14]}{prefix_hash}.
-- The failed-checks counter is {ARGV[11]}{client}:{dest_hash}: the dest_hash is the record's.
-- Returns {outcome, id, to, channel, status, check_attempts[, retry_ms]}; outcome is one of
-- not_found, rate_limited and max_check_attempts_reached (with retry_ms), approved, wrong.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local client = ARGV[10]

local key = KEYS[1]
if ARGV[1] == 'to' then
  local id = redis.call('GET', KEYS[1])
  if not id then
    -- A v1 index counts only when it names a v1 record (no `client`).
    id = redis.call('GET', KEYS[2])
    if not id then return {'not_found'} end
    local owner = redis.call('HGET', ARGV[5] .. id, 'client')
    if owner and owner ~= '' then return {'not_found'} end
  end
  key = ARGV[5] .. id
end
local f = redis.call('HMGET', key, 'id', 'to', 'channel', 'status', 'expires_at', 'dest_hash',
  'code_mac', 'check_attempts', 'client', 'reference', 'prefix_hash')
local id, status, owner = f[1], f[4], f[9] or ''
-- Another client's verification does not exist for this caller (no existence leak).
if not id or (owner ~= '' and owner ~= client) then return {'not_found'} end

local function finalize(new_status, event, keep_pending_index)
  redis.call('HSET', key, 'status', new_status)
  if not keep_pending_index then
    -- Whichever index names the record: the owner's, or the v1 one for a v1 record.
    local indexes = {ARGV[6] .. f[6]}
    if owner ~= '' then indexes = {ARGV[6] .. owner .. ':' .. f[6]} end
    for _, pending_key in ipairs(indexes) do
      if redis.call('GET', pending_key) == id then redis.call('DEL', pending_key) end
    end
  end
  redis.call('PEXPIRE', key, ARGV[4])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'schema', ARGV[9], 'type', event,
    'verification_id', id, 'channel', f[3], 'dest_hash', f[6], 'client', owner,
    'reference', f[10] or '', 'occurred_at', now)
  redis.call('PEXPIRE', KEYS[3], ARGV[8])
end

if status == 'pending' and now >= tonumber(f[5]) then
  finalize('expired', 'verification.expired', false)
  return {'not_found'}
end
if status ~= 'pending' and status ~= 'max_attempts_reached' then return {'not_found'} end

-- Checked before the code is compared: a refused check counts nothing.
local failed_key = ARGV[11] .. client .. ':' .. f[6]
if tonumber(redis.call('GET', failed_key) or '0') >= tonumber(ARGV[12]) then
  local pttl = redis.call('PTTL', failed_key)
  if pttl < 0 then pttl = tonumber(ARGV[13]) end
  return {'rate_limited', id, f[2], f[3], status, tonumber(f[8]), pttl}
end
if status == 'max_attempts_reached' then
  -- Retry after the code TTL: then the pending index is gone and a new verification may start.
  return {'max_check_attempts_reached', id, f[2], f[3], status, tonumber(f[8]),
    math.max(tonumber(f[5]) - now, 0)}
end

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
  local prefix_hash = f[11] or ''
  if prefix_hash ~= '' then
    -- The conversion guard counts the approval in the bucket of now (a v1 record has none).
    local tally_key = ARGV[14] .. prefix_hash
    local bucket = math.floor(now / tonumber(ARGV[16]))
    redis.call('HINCRBY', tally_key, ARGV[15] .. string.format('%d', bucket), 1)
    redis.call('PEXPIRE', tally_key, ARGV[17])
  end
  return {'approved', id, f[2], f[3], 'approved', attempts}
end
if redis.call('INCR', failed_key) == 1 then
  redis.call('PEXPIRE', failed_key, ARGV[13])
end
if attempts >= tonumber(ARGV[3]) then
  -- The pending index stays, so a check by `to` keeps answering 429 until the code TTL ends.
  finalize('max_attempts_reached', 'verification.max_attempts_reached', true)
  return {'wrong', id, f[2], f[3], 'max_attempts_reached', attempts}
end
return {'wrong', id, f[2], f[3], 'pending', attempts}
