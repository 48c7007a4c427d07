-- mark_verified.lua: set a verified flag on one user, if it still holds the approved destination
-- (monolith users area).
-- KEYS[1] users:{id}   (the id is the approved verification's reference)
-- ARGV[1] destination field (phone or email)   ARGV[2] the destination the approval was for
-- ARGV[3] flag field (phone_verified or email_verified)
-- Returns 1 when the user was marked, else 0. Idempotent; never recreates an expired user hash.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[3], '1')
return 1
