-- Bench loader: write pending verifications in the storage contract's version-3 form, as the send
-- script does for a new one: `SET vfy3:{b<bucket>}:d:{client}:{dest_key} <packed> PX code TTL +
-- retention`. The caller packs the records (bench/contract.py) with `created_at` = Redis TIME read
-- once per load; this script only writes them, 1,000 a call, so a million load in seconds.
-- KEYS[i]: the record key of the i-th verification (single node: the keys span every bucket)
-- ARGV[1]: the record TTL in ms (code TTL + retention)
-- ARGV[1 + i]: the packed record of the i-th verification
local record_ttl = ARGV[1]
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', record_ttl)
end
return #KEYS
