-- reserve: judge and count one rate-limit counter before a cluster-mode send (storage contract
-- "Cluster mode"; the send script cannot reach the counter's slot).
-- KEYS[1] the counter (vfy:rl:dest:…, vfy:rl:client:…, vfy:rl:ip:…, vfy:rl:prefix:…, vfy:rl:sms)
-- ARGV[1] limit   ARGV[2] window ms
-- Returns {'full', retry_ms} (nothing counted) or {'reserved', 0} (counted: refund on refusal).
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl < 0 then pttl = tonumber(ARGV[2]) end
  return {'full', pttl}
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {'reserved', 0}
