-- tally: the SMS-pumping guards' conversion tally of a number prefix (storage contract
-- "vfy:fg:{prefix_hash} fields", and version 3's `block` field), prepended by scripts.py to
-- send.lua (which judges it inline) and reserve_tally.lua (cluster mode): one copy of the rule.
-- No KEYS or ARGV of its own.

-- The tally at `key` as of `now`: SMS verifications created and approvals in the counted
-- buckets (`current - (buckets - 1)` to `current`, each `bucket_ms` long), when its block ends
-- (0: none) and its dead fields (older buckets, which a writer may delete). The `block` field is
-- not a bucket.
local function read_tally(key, now, bucket_ms, buckets, sent_prefix, block_field)
  local current = math.floor(now / bucket_ms)
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
  return sent, approved, blocked_until, dead
end

-- The conversion rule: at least `min_sms` created and fewer than `min_percent` % approved.
local function converts_too_little(sent, approved, min_sms, min_percent)
  return sent >= tonumber(min_sms) and approved * 100 < sent * tonumber(min_percent)
end

-- The tally's TTL: its window, or longer while a block in it lasts (never shortened).
local function renew_tally_ttl(key, at_least)
  if redis.call('PTTL', key) < tonumber(at_least) then redis.call('PEXPIRE', key, at_least) end
end
