-- Bench loader (`--storage-version 2`): write pending SMS verifications in the version-2 form,
-- as the send script would for a new verification: the record hash, its TTL, the pending index.
-- KEYS: none. Keys are built from the ids and hashes in ARGV, as the contract's scripts do
-- (it assumes one Redis primary, cluster mode disabled).
-- ARGV[1]: now in ms (Redis TIME, read by the caller once per load)
-- ARGV[2]: code TTL in ms (the pending index's TTL; expires_at = now + it)
-- ARGV[3]: record TTL in ms (code TTL + retention)
-- ARGV[4]: the client the verifications belong to (its pending indexes: vfy:pending:{client}:{dest})
-- ARGV[5..]: 6 per verification: id, to, code_mac, code_sealed, dest_hash, prefix_hash
local now, code_ttl, record_ttl, client = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local expires_at = tostring(tonumber(now) + code_ttl)
local written = 0
-- The records are written as created (with their prefix_hash); no guard tally is written.
for i = 5, #ARGV, 6 do
  local id, to, mac, sealed, dest = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local prefix_hash = ARGV[i + 5]
  local key = 'vfy:ver:' .. id
  redis.call('HSET', key, 'v', '2', 'id', id, 'client', client, 'to', to, 'channel', 'sms',
    'locale', '', 'reference', '',
    'status', 'pending', 'code_mac', mac, 'code_sealed', sealed, 'dest_hash', dest,
    'prefix_hash', prefix_hash,
    'send_attempts', '1', 'check_attempts', '0', 'created_at', now,
    'expires_at', expires_at, 'last_sent_at', now)
  redis.call('PEXPIRE', key, record_ttl)
  redis.call('SET', 'vfy:pending:' .. client .. ':' .. dest, id, 'PX', code_ttl)
  written = written + 1
end
return written
