-- tally.lua: the conversion guard's tally of a number prefix (docs/storage-contract.md
-- "vfy:fg:{prefix_hash} fields"; version 3 keeps the block in it as a field), prepended by
-- monolith/store.py to send.lua and reserve_tally.lua, so the rule is written once.
-- No KEYS or ARGV of its own.

-- Of the tally at `key` as of `now` (buckets of `bucket_ms`, a window of `window_ms`): SMS
-- created and approvals in the counted buckets, and the dead fields (older buckets).
local function read_tally(key, now, bucket_ms, window_ms)
  local bucket = math.floor(now / bucket_ms)
  local oldest_bucket = bucket - window_ms / bucket_ms + 1
  local sent, approved, dead = 0, 0, {}
  local flat = redis.call('HGETALL', key)
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
  return sent, approved, dead
end

-- the conversion rule: at least `min_sms` created, fewer than `min_percent` % of them approved
local function converts_too_little(sent, approved, min_sms, min_percent)
  return sent >= tonumber(min_sms) and approved * 100 < sent * tonumber(min_percent)
end

-- the tally's TTL is W, and at least until a block it holds ends (never shortened)
local function renew_tally_ttl(key, at_least)
  if redis.call('PTTL', key) < tonumber(at_least) then
    redis.call('PEXPIRE', key, at_least)
  end
end
