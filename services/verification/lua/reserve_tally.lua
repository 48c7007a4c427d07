-- reserve_tally: the SMS-pumping tally guard before a cluster-mode SMS send (storage contract
-- "Cluster mode", "send (version 3)" step 5): the block, then the conversion rule (which may set
-- the block), then count the new verification in the bucket of now.
-- KEYS[1] vfy:fg:{prefix_hash}
-- ARGV[1] guard min SMS   ARGV[2] guard min approved percent   ARGV[3] guard window ms
-- ARGV[4] tally bucket ms   ARGV[5] tally buckets counted   ARGV[6] sent field prefix (s:)
-- ARGV[7] block ms   ARGV[8] block field (block)
-- Returns {'full', retry_ms} or {'reserved', field} (the field counted: refund_tally takes it).
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local key, block_field, sent_prefix = KEYS[1], ARGV[8], ARGV[6]
local block_ms, window = tonumber(ARGV[7]), tonumber(ARGV[3])
local current = math.floor(now / tonumber(ARGV[4]))
local buckets = tonumber(ARGV[5])
local sent, approved, blocked_until, dead = 0, 0, 0, {}
local tally = redis.call('HGETALL', key)
for i = 1, #tally, 2 do
  local field = tally[i]
  local bucket = tonumber(string.match(field, '^%a:(%d+)$'))
  if field == block_field then
    blocked_until = tonumber(tally[i + 1]) or 0
  elseif bucket and bucket <= current - buckets then
    dead[#dead + 1] = field
  elseif bucket and bucket <= current then
    if string.sub(field, 1, #sent_prefix) == sent_prefix then
      sent = sent + tonumber(tally[i + 1])
    else
      approved = approved + tonumber(tally[i + 1])
    end
  end
end
local function renew(at_least)
  if redis.call('PTTL', key) < at_least then redis.call('PEXPIRE', key, at_least) end
end
if blocked_until > now then return {'full', blocked_until - now} end
if sent >= tonumber(ARGV[1]) and approved * 100 < sent * tonumber(ARGV[2]) then
  redis.call('HSET', key, block_field, string.format('%d', now + block_ms))
  renew(block_ms)
  return {'full', block_ms}
end
local field = sent_prefix .. string.format('%d', current)
redis.call('HINCRBY', key, field, 1)
if #dead > 0 then redis.call('HDEL', key, unpack(dead)) end
renew(window)
return {'reserved', field}
