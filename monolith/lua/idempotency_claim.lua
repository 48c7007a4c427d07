-- idempotency_claim.lua: cluster mode: claim an Idempotency-Key before the reserves and the send
-- (docs/storage-contract.md "Cluster mode", "idempotency").
-- KEYS[1] vfy:idem:{idem_hash}
-- ARGV[1] request_hash   ARGV[2] claim marker TTL ms (30000)
-- Returns {outcome, stored json}: replay (with the stored value), idempotency_key_reused,
-- in_progress (another request holds the marker) or claimed.
local stored = redis.call('GET', KEYS[1])
if stored then
  local ok, previous = pcall(cjson.decode, stored)
  if ok and type(previous) == 'table' and previous['in_progress'] then
    return {'in_progress', ''}
  end
  if ok and type(previous) == 'table' and previous['request_hash'] == ARGV[1] then
    return {'replay', stored}
  end
  return {'idempotency_key_reused', ''}
end
redis.call('SET', KEYS[1], cjson.encode({request_hash = ARGV[1], in_progress = true}), 'NX',
  'PX', ARGV[2])
return {'claimed', ''}
