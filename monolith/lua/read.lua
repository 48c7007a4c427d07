-- read.lua: a verification and the Redis clock in one round trip, without writing
-- (docs/storage-contract.md "read", "cancel and read (version 3)").
-- KEYS[1] vfy3:{b}:d:{client}:{dest_key}   KEYS[2] vfy3:{b}:f:{client}:{dest_key}
-- KEYS[3] vfy:ver:{id} (single node only: version-2 data can exist)
-- ARGV[1] rand (the id's characters 19-34)
-- Returns {packed record or false, retained `{retain_until_ms}|{packed}` or false, now ms,
-- the v2 record as a flat HGETALL list (empty without KEYS[3])}.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local v2 = {}
if KEYS[3] then v2 = redis.call('HGETALL', KEYS[3]) end
return {redis.call('GET', KEYS[1]), redis.call('HGET', KEYS[2], ARGV[1]),
  string.format('%d', now), v2}
