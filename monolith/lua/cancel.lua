-- cancel.lua: cancel a pending verification (docs/storage-contract.md "cancel", "cancel and read
-- (version 3)"). Prepended by common.lua.
-- KEYS by role (ARGV[1] lists the roles passed, in order):
--   record vfy3:{b}:d:{client}:{dest_key}   retained vfy3:{b}:f:{client}:{dest_key}
--   events vfy3:{b}:events                  (dest_key: the id's characters 3-18)
-- On a single node only: record2 vfy:ver:{id}   events2 vfy:events
--   (a v2 record's pending index vfy:pending:{client}:{dest_hash} is named from the record)
-- ARGV[1] roles  ARGV[2] verification id  ARGV[3] dest_key  ARGV[4] client (the caller)
-- ARGV[5] retention ms  ARGV[6] stream TTL ms  ARGV[7] v3 events MAXLEN
-- ARGV[8] v2 events MAXLEN  ARGV[9] v2 pending key prefix
-- Returns {outcome, json}: outcome not_found, not_pending or canceled (json: the record).
C.client, C.dest_key, C.retention, C.stream_ttl = ARGV[4], ARGV[3], ARGV[5], ARGV[6]
C.v3_maxlen, C.v2_maxlen, C.v2_pending_prefix = ARGV[7], ARGV[8], ARGV[9]
local rand = string.sub(ARGV[2], 19)

local r
local current = unpack3(redis.call('GET', K.record))
if current and current.rand == rand then
  r = current
else
  local retained = redis.call('HGET', K.retained, rand)
  if retained and tonumber(string.match(retained, '^(%d+)|')) > now then
    return {'not_pending', ''}  -- a retained record is final
  end
  if K.record2 then
    r = load2(K.record2)
    if r and r.client ~= ARGV[4] then r = nil end
  end
end
if not r then return {'not_found', ''} end

if r.status == 'pending' and now >= r.expires_at then
  finalize(r, 'expired', 'verification.expired')
  return {'not_pending', ''}
end
if r.status ~= 'pending' then return {'not_pending', ''} end
finalize(r, 'canceled', 'verification.canceled')
return {'canceled', cjson.encode(snapshot(r))}
