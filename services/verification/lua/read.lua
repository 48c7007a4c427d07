-- read: one verification by id, as of Redis' clock, without writing (storage contract "cancel
-- and read (version 3)", "read"). One round trip to one slot (a pipeline's TIME could go to
-- another node of a cluster).
-- KEYS[1] vfy3:{b}:d:{client}:{dest_key}   KEYS[2] vfy3:{b}:f:{client}:{dest_key} (retained)
-- KEYS[3] vfy:ver:{id}, only on a single node (version-2 data may exist)
-- ARGV[1] the id's rand
-- Returns {now ms, packed record or "", retained "{until}|{packed}" or "", v2 fields...}.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local reply = {string.format('%d', now), redis.call('GET', KEYS[1]) or '',
  redis.call('HGET', KEYS[2], ARGV[1]) or ''}
if KEYS[3] then
  for _, value in ipairs(redis.call('HGETALL', KEYS[3])) do reply[#reply + 1] = value end
end
return reply
