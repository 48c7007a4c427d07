-- idempotency_claim.lua: cluster mode: claim an Idempotency-Key before the reserves and the send
-- (docs/storage-contract.md "Cluster mode", "idempotency").
-- KEYS[1] vfy:idem:{idem_hash}
-- ARGV[1] request_hash   ARGV[2] claim marker TTL ms (30000)
-- Returns {outcome, stored json}: replay (with the stored value), idempotency_key_reused,
-- in_progress (another request with this key and body holds the marker) or claimed.
local stored = redis.call('GET', KEYS[1])
if stored then
  local ok, previous = pcall(cjson.decode, stored)
  if not ok or type(previous) ~= 'table' or previous['request_hash'] ~= ARGV[1] then
    return {'idempotency_key_reused', ''}  -- another body: reused, running or not
  end
  if previous['in_progress'] then return {'in_progress', ''} end
  return {'replay', stored}
end
redis.call('SET', KEYS[1], cjson.encode({request_hash = ARGV[1], in_progress = true}), 'NX',
  'PX', ARGV[2])
return {'claimed', ''}
