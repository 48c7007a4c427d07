-- mark_verified.lua: set a verified flag on every user of a destination (monolith users area).
-- KEYS[1] users:by-dest:{dest_hash}
-- ARGV[1] user key prefix (users:)   ARGV[2] flag field (phone_verified or email_verified)
-- Returns the number of users marked. Idempotent; never recreates an expired user hash, and
-- drops ids of users that are gone from the set.
local marked = 0
for _, user_id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. user_id
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, ARGV[2], '1')
    marked = marked + 1
  else
    redis.call('SREM', KEYS[1], user_id)
  end
end
return marked
