-- refund_tally: give back reserve_tally's count after a refusal or a resend (storage contract
-- "Cluster mode": a resend is not a new verification).
-- KEYS[1] vfy:fg:{prefix_hash}   ARGV[1] the field reserve_tally counted
-- Returns 1 when refunded, 0 when the field is gone (its bucket died meanwhile).
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
  return 1
end
return 0
