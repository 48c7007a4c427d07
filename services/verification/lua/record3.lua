-- record3: shared helpers, prepended by scripts.py to send.lua, check.lua and cancel.lua (one
-- copy of each fact). No KEYS or ARGV of its own. The version-3 packed record (storage contract
-- "The packed record"): rand|{len}:to|channel letter|{len}:locale|{len}:reference|status letter|
-- code_mac16|code_sealed|send_attempts|check_attempts|created_at|ttl|sent_offset.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

-- Integers as decimal text (never Lua's %.14g, which would turn large ones into exponents).
local function dec(n) return string.format('%d', n) end

local CHANNEL_NAMES = {s = 'sms', e = 'email'}
local CHANNEL_LETTERS = {sms = 's', email = 'e'}
local STATUS_NAMES = {p = 'pending', a = 'approved', c = 'canceled', m = 'max_attempts_reached',
  x = 'expired'}

local function length_prefixed(text) return dec(#text) .. ':' .. text end

local function pack3(r)
  return table.concat({r.rand, length_prefixed(r.to), r.channel, length_prefixed(r.locale),
    length_prefixed(r.reference), r.status, r.code_mac, r.code_sealed, dec(r.send_attempts),
    dec(r.check_attempts), dec(r.created_at), dec(r.ttl), dec(r.sent_offset)}, '|')
end

-- The record's fields (channel and status as their letters), or nil for nil.
local function unpack3(packed)
  if not packed then return nil end
  local position = 1
  local function plain()
    local bar = string.find(packed, '|', position, true)
    local value
    if bar then
      value = string.sub(packed, position, bar - 1)
      position = bar + 1
    else
      value = string.sub(packed, position)
      position = #packed + 2
    end
    return value
  end
  local function prefixed()
    local colon = string.find(packed, ':', position, true)
    local length = tonumber(string.sub(packed, position, colon - 1))
    local value = string.sub(packed, colon + 1, colon + length)
    position = colon + length + 2
    return value
  end
  local r = {}
  r.rand = plain()
  r.to = prefixed()
  r.channel = plain()
  r.locale = prefixed()
  r.reference = prefixed()
  r.status = plain()
  r.code_mac = plain()
  r.code_sealed = plain()
  r.send_attempts = tonumber(plain())
  r.check_attempts = tonumber(plain())
  r.created_at = tonumber(plain())
  r.ttl = tonumber(plain())
  r.sent_offset = tonumber(plain())
  r.expires_at = r.created_at + r.ttl
  return r
end

-- A live record: one that a send resends or refuses on (pending or max_attempts_reached, and
-- not past expires_at).
local function is_live3(r)
  return r ~= nil and (r.status == 'p' or r.status == 'm') and now < r.expires_at
end

-- The snapshot rendering.py renders (and an idempotency record stores).
local function snapshot3(id, r)
  return {id = id, to = r.to, channel = CHANNEL_NAMES[r.channel], locale = r.locale,
    reference = r.reference, status = STATUS_NAMES[r.status], send_attempts = r.send_attempts,
    check_attempts = r.check_attempts, created_at = r.created_at, expires_at = r.expires_at}
end

-- Constant time: XOR every byte and OR-accumulate; never compare the strings with ==.
local function macs_equal(stored, given)
  local diff = 0
  if #stored ~= #given then diff = 1 end
  for i = 1, math.min(#stored, #given) do
    diff = bit.bor(diff, bit.bxor(string.byte(stored, i), string.byte(given, i)))
  end
  return diff == 0
end

-- A counter's remaining window, or `window` when it has no TTL.
local function retry_of(key, window)
  local pttl = redis.call('PTTL', key)
  if pttl < 0 then pttl = tonumber(window) end
  return pttl
end

-- The failed-checks counters of a client's destination, judged as their sum (version 2 and 3
-- during the migration): nil below `limit`, else the ms until the sum drops below it.
local function failed_checks_retry(counters, limit, window)
  local counts, total = {}, 0
  for i, key in ipairs(counters) do
    counts[i] = tonumber(redis.call('GET', key) or '0')
    total = total + counts[i]
  end
  if total < tonumber(limit) then return nil end
  local soonest, latest = nil, 0
  for i, key in ipairs(counters) do
    if counts[i] > 0 then
      local pttl = retry_of(key, window)
      if pttl > latest then latest = pttl end
      if total - counts[i] < tonumber(limit) and (not soonest or pttl < soonest) then
        soonest = pttl
      end
    end
  end
  return soonest or latest
end
