-- cancel: end a pending verification (storage contract "cancel", "cancel and read (version 3)",
-- "Migration from version 2"). record3.lua is prepended.
-- KEYS[1] vfy3:{b}:d:{client}:{dest_key}   KEYS[2] vfy3:{b}:f:{client}:{dest_key} (retained)
-- KEYS[3] vfy3:{b}:events
-- inline (ARGV[1] = 'inline', a single node: version-2 data may exist), then also:
--   KEYS[4] vfy:ver:{id}   KEYS[5] vfy:events
-- ARGV[1] 'inline' or 'cluster'   ARGV[2] client (the caller)   ARGV[3] the id's rand
-- ARGV[4] dest_key   ARGV[5] retention ms   ARGV[6] v3 events MAXLEN   ARGV[7] v2 events MAXLEN
-- ARGV[8] stream TTL ms   ARGV[9] v2 pending key prefix   ARGV[10] v3 event schema
-- ARGV[11] v2 event schema
-- Returns {outcome, snapshot json}; outcome is not_found, not_pending or canceled.
local inline, client, rand, dest_key = ARGV[1] == 'inline', ARGV[2], ARGV[3], ARGV[4]
local retention, v3_maxlen, v2_maxlen, stream_ttl = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local v2_pending_prefix, v3_schema, v2_schema = ARGV[9], ARGV[10], ARGV[11]
local record_key, retained_key, events = KEYS[1], KEYS[2], KEYS[3]

local r = unpack3(redis.call('GET', record_key))
if r and r.rand == rand then
  local id = 'VE' .. dest_key .. rand
  local function finalize(letter, event)
    r.status = letter
    redis.call('SET', record_key, pack3(r), 'PX', retention)
    redis.call('XADD', events, 'MAXLEN', '~', v3_maxlen, '*', 'schema', v3_schema,
      'type', event, 'verification_id', id, 'channel', CHANNEL_NAMES[r.channel],
      'dest_key', dest_key, 'client', client, 'reference', r.reference, 'occurred_at', now)
    redis.call('PEXPIRE', events, stream_ttl)
  end
  if r.status == 'p' and now >= r.expires_at then
    finalize('x', 'verification.expired')
    return {'not_pending', ''}
  end
  if r.status ~= 'p' then return {'not_pending', ''} end
  finalize('c', 'verification.canceled')
  return {'canceled', cjson.encode(snapshot3(id, r))}
end
-- A retained record is final.
local retained = redis.call('HGET', retained_key, rand)
if retained and tonumber(string.match(retained, '^(%d+)|')) > now then
  return {'not_pending', ''}
end
if not inline then return {'not_found', ''} end

-- Version 2's cancel of vfy:ver:{id} (the caller's own: v1 records are no longer read).
local key, v2_events = KEYS[4], KEYS[5]
local f = redis.call('HMGET', key, 'id', 'to', 'channel', 'locale', 'status', 'send_attempts',
  'check_attempts', 'created_at', 'expires_at', 'dest_hash', 'client', 'reference')
local id, status = f[1], f[5]
if not id or f[11] ~= client then return {'not_found', ''} end
local function finalize(new_status, event)
  redis.call('HSET', key, 'status', new_status)
  local pending_key = v2_pending_prefix .. client .. ':' .. f[10]
  if redis.call('GET', pending_key) == id then redis.call('DEL', pending_key) end
  redis.call('PEXPIRE', key, retention)
  redis.call('XADD', v2_events, 'MAXLEN', '~', v2_maxlen, '*', 'schema', v2_schema,
    'type', event, 'verification_id', id, 'channel', f[3], 'dest_hash', f[10],
    'client', client, 'reference', f[12] or '', 'occurred_at', now)
  redis.call('PEXPIRE', v2_events, stream_ttl)
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
