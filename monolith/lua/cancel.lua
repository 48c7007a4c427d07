-- cancel.lua: cancel a pending verification (docs/storage-contract.md, "cancel").
-- KEYS[1] vfy:ver:{id}   KEYS[2] vfy:events
-- ARGV[1] pending key prefix (vfy:pending:)   ARGV[2] retention ms
-- ARGV[3] stream TTL ms   ARGV[4] events MAXLEN   ARGV[5] client (the caller)
-- Returns {outcome, now_ms, record as a flat HGETALL list}; outcome is not_found, not_pending
-- or canceled (the record only with canceled).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local f = redis.call('HMGET', KEYS[1], 'status', 'expires_at', 'id', 'channel', 'dest_hash',
  'client', 'reference')
local status, expires_at, id, channel, dest_hash = f[1], tonumber(f[2]), f[3], f[4], f[5]
local owner, reference = f[6], f[7] or ''
if not status then return {'not_found', now, {}} end
-- another client's verification does not exist for this caller; a v1 record has no owner
if owner and owner ~= ARGV[5] then return {'not_found', now, {}} end

local function finalize(new_status, event_type)
  redis.call('HSET', KEYS[1], 'status', new_status)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  -- delete whichever index names this record: the owner's, or the v1 one
  local indexes = {ARGV[1] .. dest_hash}
  if owner then indexes[2] = ARGV[1] .. owner .. ':' .. dest_hash end
  for _, pending_key in ipairs(indexes) do
    if redis.call('GET', pending_key) == id then redis.call('DEL', pending_key) end
  end
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'schema', 2, 'type', event_type,
    'verification_id', id, 'channel', channel, 'dest_hash', dest_hash,
    'client', owner or '', 'reference', reference, 'occurred_at', now)
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end

if status == 'pending' and now >= expires_at then
  finalize('expired', 'verification.expired')
  return {'not_pending', now, {}}
end
if status ~= 'pending' then return {'not_pending', now, {}} end
finalize('canceled', 'verification.canceled')
return {'canceled', now, redis.call('HGETALL', KEYS[1])}
