-- refund: give back a reservation of reserve.lua after the send was refused (storage contract
-- "Cluster mode").
-- KEYS[1] the counter   (no ARGV)
-- Returns 1 when refunded, 0 when the counter is gone or at 0 (its window ended meanwhile).
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then
  redis.call('DECR', KEYS[1])
  return 1
end
return 0
