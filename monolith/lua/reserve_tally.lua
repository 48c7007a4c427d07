-- reserve_tally.lua: cluster mode: the conversion guard of an SMS send in the tally's own slot
-- (docs/storage-contract.md "Cluster mode", "send (version 3)" step 5): the block, then the
-- conversion rule (which may set the block), then count the send in the current bucket.
-- KEYS[1] vfy:fg:{prefix_hash}
-- ARGV[1] guard min SMS   ARGV[2] guard min approved percent   ARGV[3] guard window ms (W)
-- ARGV[4] guard bucket ms   ARGV[5] guard block ms   ARGV[6] the block field name
-- Returns {'full', retry_after_ms} (prefix_blocked) or {'reserved', field counted}.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local until_ms = tonumber(redis.call('HGET', KEYS[1], ARGV[6]) or '0')
if until_ms > now then return {'full', until_ms - now} end

local bucket_ms = tonumber(ARGV[4])
local bucket = math.floor(now / bucket_ms)
local oldest_bucket = bucket - tonumber(ARGV[3]) / bucket_ms + 1
local sent, approved, dead = 0, 0, {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  local kind, number = string.match(flat[i], '^([sa]):(-?%d+)$')
  local field_bucket = tonumber(number)
  if field_bucket and field_bucket < oldest_bucket then
    dead[#dead + 1] = flat[i]
  elseif field_bucket and field_bucket <= bucket then
    local n = tonumber(flat[i + 1]) or 0
    if kind == 's' then sent = sent + n else approved = approved + n end
  end
end

-- the tally's TTL is W, and at least until a block it holds ends
local function renew(at_least)
  if redis.call('PTTL', KEYS[1]) < tonumber(at_least) then
    redis.call('PEXPIRE', KEYS[1], at_least)
  end
end

if sent >= tonumber(ARGV[1]) and approved * 100 < sent * tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[6], string.format('%d', now + tonumber(ARGV[5])))
  renew(ARGV[5])
  return {'full', tonumber(ARGV[5])}
end
local field = string.format('s:%d', bucket)
redis.call('HINCRBY', KEYS[1], field, 1)
if #dead > 0 then redis.call('HDEL', KEYS[1], unpack(dead)) end
renew(ARGV[3])
return {'reserved', field}
