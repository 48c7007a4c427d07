-- tally_approval: count a version-3 SMS approval in its prefix's conversion tally (storage
-- contract "check (version 3)"; the check script cannot reach the tally's slot).
-- KEYS[1] vfy:fg:{prefix_hash}
-- ARGV[1] approved field prefix (a:)   ARGV[2] tally bucket ms   ARGV[3] tally window ms
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local bucket = math.floor(now / tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[1], ARGV[1] .. string.format('%d', bucket), 1)
-- At least the window: a block in the tally may hold it longer.
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
