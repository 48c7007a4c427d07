-- tally_approval.lua: count an SMS approval in its prefix's conversion tally
-- (docs/storage-contract.md "check (version 3)": the check script returns `to`, the caller tallies).
-- KEYS[1] vfy:fg:{prefix_hash}
-- ARGV[1] guard bucket ms   ARGV[2] guard window ms (W)
-- Returns the bucket's new count.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local n = redis.call('HINCRBY', KEYS[1], string.format('a:%d', math.floor(now / tonumber(ARGV[1]))), 1)
-- at least W: a block the tally holds may keep it longer
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return n
