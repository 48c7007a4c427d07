-- common.lua: prepended to send.lua, check.lua and cancel.lua (monolith.store); no KEYS or ARGV
-- of its own. The clock, KEYS by role, and the two record forms (docs/storage-contract.md
-- "The packed record", "vfy:ver:{id} fields") read into one table shape:
--   {form = 3|2, rand, id (form 2), to, channel, locale, reference, status (long form),
--    code_mac, code_sealed, send_attempts, check_attempts, created_at, ttl, expires_at,
--    last_sent_at, client, dest_hash and prefix_hash (form 2), key (form 2)}
-- The script sets C (below) before it calls emit or finalize.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

-- ARGV[1] of every script names the role of each KEYS entry, comma-separated, in KEYS order:
-- a key that a call does not touch is not passed at all (no empty key names).
local K = {}
do
  local i = 0
  for role in string.gmatch(ARGV[1], '[^,]+') do
    i = i + 1
    K[role] = KEYS[i]
  end
end

local C = {}  -- client, dest_key, retention, stream_ttl, v3_maxlen, v2_maxlen, v2_pending_prefix

local STATUS_OF = {p = 'pending', a = 'approved', c = 'canceled', m = 'max_attempts_reached',
  x = 'expired'}
local LETTER_OF = {pending = 'p', approved = 'a', canceled = 'c', max_attempts_reached = 'm',
  expired = 'x'}
local CHANNEL_OF = {s = 'sms', e = 'email'}
local CHANNEL_LETTER = {sms = 's', email = 'e'}

local function int(n) return string.format('%d', n) end

local function unpack3(packed)
  if not packed then return nil end
  local pos = 1
  local function plain()
    local bar = string.find(packed, '|', pos, true)
    local stop = bar and bar - 1 or #packed
    local value = string.sub(packed, pos, stop)
    pos = stop + 2
    return value
  end
  local function prefixed()  -- `{len}:{text}`: exactly len bytes, which may hold | and :
    local colon = string.find(packed, ':', pos, true)
    local len = tonumber(string.sub(packed, pos, colon - 1))
    local value = string.sub(packed, colon + 1, colon + len)
    pos = colon + len + 2
    return value
  end
  local r = {form = 3}
  r.rand = plain()
  r.to = prefixed()
  r.channel = CHANNEL_OF[plain()]
  r.locale = prefixed()
  r.reference = prefixed()
  r.status = STATUS_OF[plain()]
  r.code_mac = plain()
  r.code_sealed = plain()
  r.send_attempts = tonumber(plain())
  r.check_attempts = tonumber(plain())
  r.created_at = tonumber(plain())
  r.ttl = tonumber(plain())
  r.last_sent_at = r.created_at + tonumber(plain())
  r.expires_at = r.created_at + r.ttl
  return r
end

local function prefixed(text) return #text .. ':' .. text end

local function pack3(r)
  return table.concat({r.rand, prefixed(r.to), CHANNEL_LETTER[r.channel], prefixed(r.locale),
    prefixed(r.reference), LETTER_OF[r.status], r.code_mac, r.code_sealed, int(r.send_attempts),
    int(r.check_attempts), int(r.created_at), int(r.ttl), int(r.last_sent_at - r.created_at)},
    '|')
end

local V2_FIELDS = {'id', 'to', 'channel', 'locale', 'reference', 'status', 'code_mac',
  'code_sealed', 'send_attempts', 'check_attempts', 'created_at', 'expires_at', 'last_sent_at',
  'client', 'dest_hash', 'prefix_hash'}

-- a version-2 record (single node only: its key may come from an id read from an index)
local function load2(key)
  local f = redis.call('HMGET', key, unpack(V2_FIELDS))
  if not f[6] then return nil end
  local r = {form = 2, key = key}
  for i, name in ipairs(V2_FIELDS) do r[name] = f[i] or '' end
  for _, name in ipairs({'send_attempts', 'check_attempts', 'created_at', 'expires_at',
      'last_sent_at'}) do
    r[name] = tonumber(r[name])
  end
  return r
end

local function id_of(r)
  if r.form == 3 then return 'VE' .. C.dest_key .. r.rand end
  return r.id
end

local function live(r)  -- a verification a send resends or refuses on
  return r and now < r.expires_at and (r.status == 'pending' or r.status == 'max_attempts_reached')
end

local function snapshot(r)
  return {id = id_of(r), to = r.to, channel = r.channel, locale = r.locale,
    reference = r.reference, status = r.status, send_attempts = r.send_attempts,
    check_attempts = r.check_attempts, created_at = r.created_at, expires_at = r.expires_at}
end

-- a status event on the stream of the record's version: the bucket's (schema 3) or vfy:events
local function emit(r, event_type)
  if r.form == 3 then
    redis.call('XADD', K.events, 'MAXLEN', '~', C.v3_maxlen, '*', 'schema', 3,
      'type', event_type, 'verification_id', id_of(r), 'channel', r.channel,
      'dest_key', C.dest_key, 'client', C.client, 'reference', r.reference,
      'occurred_at', int(now))
    redis.call('PEXPIRE', K.events, C.stream_ttl)
  else
    redis.call('XADD', K.events2, 'MAXLEN', '~', C.v2_maxlen, '*', 'schema', 2,
      'type', event_type, 'verification_id', r.id, 'channel', r.channel,
      'dest_hash', r.dest_hash, 'client', r.client, 'reference', r.reference,
      'occurred_at', int(now))
    redis.call('PEXPIRE', K.events2, C.stream_ttl)
  end
end

-- a transition that keeps the record for retention only (approved, canceled, expired,
-- max_attempts_reached), with its event; a v2 final one also releases its pending index
local function finalize(r, new_status, event_type)
  r.status = new_status
  if r.form == 3 then
    redis.call('SET', K.record, pack3(r), 'PX', C.retention)
  else
    redis.call('HSET', r.key, 'status', new_status)
    redis.call('PEXPIRE', r.key, C.retention)
    if new_status ~= 'max_attempts_reached' then
      local index = C.v2_pending_prefix .. r.client .. ':' .. r.dest_hash
      if redis.call('GET', index) == r.id then redis.call('DEL', index) end
    end
  end
  emit(r, event_type)
end
