-- reserve.lua: cluster mode: judge and count one send limit in its own slot before the send
-- script (docs/storage-contract.md "Cluster mode"); refunded by refund.lua after a refusal.
-- KEYS[1] the counter: vfy:rl:dest:…, vfy:rl:client:…, vfy:rl:ip:…, vfy:rl:prefix:… or vfy:rl:sms
-- ARGV[1] limit   ARGV[2] window ms
-- Returns {'full', retry_after_ms} (nothing counted) or {'reserved', 0}.
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then  -- a counter must never outlive its window
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    ttl = tonumber(ARGV[2])
  end
  return {'full', ttl}
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {'reserved', 0}
