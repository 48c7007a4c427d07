-- cancel: end a pending verification (storage contract "cancel").
-- KEYS[1] vfy:ver:{id}     KEYS[2] vfy:events
-- ARGV[1] retention ms     ARGV[2] pending key prefix   ARGV[3] events MAXLEN
-- ARGV[4] stream TTL ms    ARGV[5] event schema         ARGV[6] client (the caller)
-- Returns {outcome, snapshot json}; outcome is not_found, not_pending or canceled.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local key = KEYS[1]
local f = redis.call('HMGET', key, 'id', 'to', 'channel', 'locale', 'status', 'send_attempts',
  'check_attempts', 'created_at', 'expires_at', 'dest_hash', 'client', 'reference')
local id, status, owner = f[1], f[5], f[11] or ''
-- Another client's verification does not exist for this caller (no existence leak).
if not id or (owner ~= '' and owner ~= ARGV[6]) then return {'not_found', ''} end

local function finalize(new_status, event)
  redis.call('HSET', key, 'status', new_status)
  -- Whichever index names the record: the owner's, or the v1 one for a v1 record.
  local pending_key = ARGV[2] .. f[10]
  if owner ~= '' then pending_key = ARGV[2] .. owner .. ':' .. f[10] end
  if redis.call('GET', pending_key) == id then redis.call('DEL', pending_key) end
  redis.call('PEXPIRE', key, ARGV[1])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'schema', ARGV[5], 'type', event,
    'verification_id', id, 'channel', f[3], 'dest_hash', f[10], 'client', owner,
    'reference', f[12] or '', 'occurred_at', now)
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end

if status == 'pending' and now >= tonumber(f[9]) then
  finalize('expired', 'verification.expired')
  return {'not_pending', ''}
end
if status ~= 'pending' then return {'not_pending', ''} end
finalize('canceled', 'verification.canceled')
return {'canceled', cjson.encode({id = id, to = f[2], channel = f[3], locale = f[4],
  reference = f[12] or '', status = 'canceled', send_attempts = tonumber(f[6]),
  check_attempts = tonumber(f[7]), created_at = tonumber(f[8]), expires_at = tonumber(f[9])})}
