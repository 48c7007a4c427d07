-- idem_claim: claim an Idempotency-Key before a cluster-mode send (storage contract "Cluster
-- mode": the send script cannot reach vfy:idem:… in its slot).
-- KEYS[1] vfy:idem:{idem_hash}
-- ARGV[1] request_hash   ARGV[2] the marker's TTL ms
-- Returns {'claimed', ''}, {'replay', stored json}, {'idempotency_key_reused', ''} or
-- {'in_progress', ''} (another request with this key and body holds the marker).
local stored = redis.call('GET', KEYS[1])
if stored then
  local value = cjson.decode(stored)
  if value['request_hash'] ~= ARGV[1] then return {'idempotency_key_reused', ''} end
  if value['in_progress'] then return {'in_progress', ''} end
  return {'replay', stored}
end
redis.call('SET', KEYS[1], '{"request_hash":' .. cjson.encode(ARGV[1]) .. ',"in_progress":true}',
  'NX', 'PX', ARGV[2])
return {'claimed', ''}
