-- check.lua: count one check attempt and compare the code (docs/storage-contract.md "check",
-- "check (version 3)", "Migration from version 2"). Prepended by common.lua.
-- KEYS by role (ARGV[1] lists the roles passed, in order):
--   record  vfy3:{b}:d:{client}:{dest_key}   (by to: the destination's; by id: the id's)
--   fail    vfy3:{b}:fail:{client}:{dest_key} of the verification's destination
--   events  vfy3:{b}:events of the record key's bucket
-- On a single node only (version-2 data can exist):
--   fail2 vfy:rl:fail:{client}:{dest_hash} of the destination, when the caller knows it
--   pending2 vfy:pending:{client}:{dest_hash} (by to)   record2 vfy:ver:{id} (by id)
--   events2 vfy:events
--   A v2 record found by to is read and written at vfy:ver:{id}, the id read from pending2.
-- ARGV[1] roles  ARGV[2] verification id, or "" for a check by to  ARGV[3] dest_key of the
-- record key  ARGV[4] client (the caller)  ARGV[5] candidate code_mac (64 hex, for a v2 record)
-- ARGV[6] candidate code_mac16 (for a v3 record)  ARGV[7] max checks  ARGV[8] retention ms
-- ARGV[9] failed checks limit  ARGV[10] failed checks window ms  ARGV[11] stream TTL ms
-- ARGV[12] v3 events MAXLEN  ARGV[13] v2 events MAXLEN  ARGV[14] v2 record key prefix
-- ARGV[15] v2 pending key prefix  ARGV[16] v2 failed checks key prefix
-- Returns {outcome, id, to, channel, status, check_attempts, retry_after_ms}; outcome is
-- not_found, rate_limited, max_check_attempts_reached, approved or wrong.
C.client, C.dest_key, C.retention, C.stream_ttl = ARGV[4], ARGV[3], ARGV[8], ARGV[11]
C.v3_maxlen, C.v2_maxlen, C.v2_pending_prefix = ARGV[12], ARGV[13], ARGV[15]
local NOT_FOUND = {'not_found', '', '', '', '', 0, 0}
local caller, id = ARGV[4], ARGV[2]

local function owned2(r) return r and r.client == caller and r or nil end

local r
local current = unpack3(redis.call('GET', K.record))
if id == '' then
  -- by to: the live one of the two versions, the v3 record first
  if live(current) then r = current end
  if not r and K.pending2 then
    local id2 = redis.call('GET', K.pending2)
    if id2 then r = owned2(load2(ARGV[14] .. id2)) end
  end
  r = r or current
else
  -- by id: the record the id names (another rand is another verification: a retained one is
  -- final, so not found), then the v2 record of that id
  if current and current.rand == string.sub(id, 19) then r = current end
  if not r and K.record2 then r = owned2(load2(K.record2)) end
end
if not r then return NOT_FOUND end
id = id_of(r)

if r.status == 'pending' and now >= r.expires_at then
  finalize(r, 'expired', 'verification.expired')
  return NOT_FOUND
end
if r.status ~= 'pending' and r.status ~= 'max_attempts_reached' then return NOT_FOUND end

-- wrong codes of this caller for this destination, both versions' counters summed: at the
-- limit, refuse before comparing; retry after the longer-lived counter (erring closed)
local fail2 = K.fail2
if not fail2 and r.form == 2 then fail2 = ARGV[16] .. caller .. ':' .. r.dest_hash end
local total, wait = 0, 0
for _, key in ipairs({K.fail, fail2}) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n > 0 then
    total = total + n
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then  -- a counter must never outlive its window
      redis.call('PEXPIRE', key, ARGV[10])
      ttl = tonumber(ARGV[10])
    end
    wait = math.max(wait, ttl)
  end
end
if total >= tonumber(ARGV[9]) then
  return {'rate_limited', id, r.to, r.channel, r.status, r.check_attempts, wait}
end

if r.status == 'max_attempts_reached' then
  return {'max_check_attempts_reached', id, r.to, r.channel, r.status, r.check_attempts,
    math.max(r.expires_at - now, 1000)}
end

r.check_attempts = r.check_attempts + 1
if r.form == 2 then redis.call('HINCRBY', r.key, 'check_attempts', 1) end
-- constant time: XOR every byte and OR the differences, never == on the strings
local stored, given = r.code_mac, (r.form == 3) and ARGV[6] or ARGV[5]
local diff = (#stored == #given) and 0 or 1
for i = 1, math.min(#stored, #given) do
  diff = bit.bor(diff, bit.bxor(string.byte(stored, i), string.byte(given, i)))
end
if diff == 0 then
  -- an SMS approval is tallied by the caller from the returned `to` (the tally is another slot)
  finalize(r, 'approved', 'verification.approved')
  return {'approved', id, r.to, r.channel, 'approved', r.check_attempts, 0}
end
-- a wrong code counts on the counter of its record's version
local counter = (r.form == 3) and K.fail or fail2
if redis.call('INCR', counter) == 1 then redis.call('PEXPIRE', counter, ARGV[10]) end
if r.check_attempts >= tonumber(ARGV[7]) then
  finalize(r, 'max_attempts_reached', 'verification.max_attempts_reached')
  return {'wrong', id, r.to, r.channel, 'max_attempts_reached', r.check_attempts, 0}
end
if r.form == 3 then redis.call('SET', K.record, pack3(r), 'KEEPTTL') end
return {'wrong', id, r.to, r.channel, 'pending', r.check_attempts, 0}
