-- reserve_tally: the SMS-pumping tally guard before a cluster-mode SMS send (storage contract
-- "Cluster mode", "send (version 3)" step 5): the block, then the conversion rule (which may set
-- the block), then count the new verification in the bucket of now.
-- KEYS[1] vfy:fg:{prefix_hash}
-- ARGV[1] guard min SMS   ARGV[2] guard min approved percent   ARGV[3] guard window ms
-- ARGV[4] tally bucket ms   ARGV[5] tally buckets counted   ARGV[6] sent field prefix (s:)
-- ARGV[7] block ms   ARGV[8] block field (block)
-- Returns {'full', retry_ms} or {'reserved', field} (the field counted: refund_tally takes it).
-- tally.lua (the tally's reading and its rule) is prepended by scripts.py.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local key, block_field, sent_prefix = KEYS[1], ARGV[8], ARGV[6]
local block_ms, window = tonumber(ARGV[7]), tonumber(ARGV[3])
local current = math.floor(now / tonumber(ARGV[4]))
local sent, approved, blocked_until, dead = read_tally(key, now, tonumber(ARGV[4]),
  tonumber(ARGV[5]), sent_prefix, block_field)
if blocked_until > now then return {'full', blocked_until - now} end
if converts_too_little(sent, approved, ARGV[1], ARGV[2]) then
  redis.call('HSET', key, block_field, string.format('%d', now + block_ms))
  renew_tally_ttl(key, block_ms)
  return {'full', block_ms}
end
local field = sent_prefix .. string.format('%d', current)
redis.call('HINCRBY', key, field, 1)
if #dead > 0 then redis.call('HDEL', key, unpack(dead)) end
renew_tally_ttl(key, window)
return {'reserved', field}
