-- refund.lua: cluster mode: give back one reservation of reserve.lua or reserve_tally.lua
-- (docs/storage-contract.md "Cluster mode"); never below zero, never recreates a key.
-- KEYS[1] the counter (vfy:rl:…) or the tally (vfy:fg:{prefix_hash})
-- ARGV[1] "" for a counter, or the tally field reserved (s:{bucket})
-- Returns 1 when something was given back, else 0.
if ARGV[1] == '' then
  if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
    redis.call('DECR', KEYS[1])
    return 1
  end
  return 0
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
  return 1
end
return 0
