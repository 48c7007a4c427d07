-- reserve_tally.lua: cluster mode: the conversion guard of an SMS send in the tally's own slot
-- (docs/storage-contract.md "Cluster mode", "send (version 3)" step 5): the block, then the
-- conversion rule (which may set the block), then count the send in the current bucket.
-- KEYS[1] vfy:fg:{prefix_hash}
-- ARGV[1] guard min SMS   ARGV[2] guard min approved percent   ARGV[3] guard window ms (W)
-- ARGV[4] guard bucket ms   ARGV[5] guard block ms   ARGV[6] the block field name
-- Returns {'full', retry_after_ms} (prefix_blocked) or {'reserved', field counted}.
-- tally.lua (the tally's reading and its rule) is prepended by monolith/store.py.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local until_ms = tonumber(redis.call('HGET', KEYS[1], ARGV[6]) or '0')
if until_ms > now then return {'full', until_ms - now} end

local bucket_ms = tonumber(ARGV[4])
local bucket = math.floor(now / bucket_ms)
local sent, approved, dead = read_tally(KEYS[1], now, bucket_ms, tonumber(ARGV[3]))
if converts_too_little(sent, approved, ARGV[1], ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[6], string.format('%d', now + tonumber(ARGV[5])))
  renew_tally_ttl(KEYS[1], ARGV[5])
  return {'full', tonumber(ARGV[5])}
end
local field = string.format('s:%d', bucket)
redis.call('HINCRBY', KEYS[1], field, 1)
if #dead > 0 then redis.call('HDEL', KEYS[1], unpack(dead)) end
renew_tally_ttl(KEYS[1], ARGV[3])
return {'reserved', field}
