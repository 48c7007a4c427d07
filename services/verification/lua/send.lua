-- send: create a verification or resend/refuse on the live one (storage contract "send", "send
-- (version 3)", "Cluster mode", "Migration from version 2"). record3.lua is prepended.
-- KEYS, in this order (the optional groups only when their condition holds; none is ever ""):
--   [1] vfy3:{b}:d:{client}:{dest_key}    [2] vfy3:{b}:f:{client}:{dest_key} (retained)
--   [3] vfy3:{b}:fail:{client}:{dest_key} [4] vfy3:{b}:outbox
--   inline (ARGV[1] = 'inline', a single node: v2 data may exist, counters judged here):
--     vfy:pending:{client}:{dest_hash}  vfy:rl:fail:{client}:{dest_hash}  vfy:outbox
--     vfy:rl:dest:{dest_hash}  vfy:rl:client:{client}  vfy:rl:ip:{ip_hash}
--     an SMS: vfy:rl:prefix:{prefix_hash}  vfy:rl:sms  vfy:fg:{prefix_hash}
--             vfy:fg:block:{prefix_hash}
--     with an Idempotency-Key: vfy:idem:{idem_hash}
--     creating version 2 (ARGV[2] = '2'): vfy:ver:{new_id}
-- ARGV[1] 'inline' or 'cluster'   ARGV[2] write version (2 or 3; always 3 in cluster mode)
-- ARGV[3] cluster: the first `full` reserve's outcome, or ""   ARGV[4] its retry ms
-- ARGV[5] new id   ARGV[6] code MAC (v3: code_mac16; v2: code_mac)   ARGV[7] code_sealed
-- ARGV[8] to   ARGV[9] channel   ARGV[10] locale or ""   ARGV[11] reference or ""
-- ARGV[12] client   ARGV[13] dest_hash   ARGV[14] dest_key   ARGV[15] prefix_hash or ""
-- ARGV[16] request_hash or ""
-- ARGV[17..46] settings: code TTL ms, retention ms, cooldown ms, max sends, dest limit,
--   dest window ms, IP limit, IP window ms, idempotency TTL ms, v2 record key prefix,
--   v2 outbox MAXLEN, v3 stream MAXLEN, stream TTL ms, v2 record version, failed checks limit,
--   failed checks window ms, client limit, client window ms, prefix limit, prefix window ms,
--   guard min SMS, guard min approved %, guard window ms, tally bucket ms, tally buckets,
--   sent field prefix, block ms, global SMS limit, global SMS window ms, tally block field
-- Returns {outcome, json, retry_after_ms}: json is the record snapshot (created/resent), the
-- stored idempotency JSON (replay), or "" (refusals).
local inline, write_version = ARGV[1] == 'inline', ARGV[2]
local reserved_full, reserved_retry = ARGV[3], tonumber(ARGV[4])
local new_id, code_mac, code_sealed = ARGV[5], ARGV[6], ARGV[7]
local to, channel, locale, reference = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local client, dest_hash, dest_key, prefix_hash = ARGV[12], ARGV[13], ARGV[14], ARGV[15]
local request_hash = ARGV[16]
local code_ttl, retention, cooldown, max_sends = tonumber(ARGV[17]), tonumber(ARGV[18]),
  tonumber(ARGV[19]), tonumber(ARGV[20])
local dest_limit, dest_window, ip_limit, ip_window = ARGV[21], ARGV[22], ARGV[23], ARGV[24]
local idem_ttl, v2_record_prefix, v2_outbox_maxlen = ARGV[25], ARGV[26], ARGV[27]
local v3_maxlen, stream_ttl, v2_version = ARGV[28], ARGV[29], ARGV[30]
local failed_limit, failed_window = ARGV[31], ARGV[32]
local client_limit, client_window = ARGV[33], ARGV[34]
local prefix_limit, prefix_window = ARGV[35], ARGV[36]
local guard_min_sms, guard_min_percent, guard_window = tonumber(ARGV[37]), tonumber(ARGV[38]),
  tonumber(ARGV[39])
local bucket_ms, tally_buckets, sent_field_prefix = tonumber(ARGV[40]), tonumber(ARGV[41]),
  ARGV[42]
local block_ms, sms_limit, sms_window, block_field = tonumber(ARGV[43]), ARGV[44], ARGV[45],
  ARGV[46]
local is_sms = prefix_hash ~= ''

local record_key, retained_key, failed_key, outbox = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cursor = 4
local function next_key()
  cursor = cursor + 1
  return KEYS[cursor]
end
local v2_pending_key, v2_failed_key, v2_outbox, dest_rl, client_rl, ip_rl
local prefix_rl, sms_rl, tally_key, v2_block_key, idem_key, v2_new_record_key
if inline then
  v2_pending_key, v2_failed_key, v2_outbox = next_key(), next_key(), next_key()
  dest_rl, client_rl, ip_rl = next_key(), next_key(), next_key()
  if is_sms then
    prefix_rl, sms_rl, tally_key, v2_block_key = next_key(), next_key(), next_key(), next_key()
  end
  if request_hash ~= '' then idem_key = next_key() end
  if write_version == '2' then v2_new_record_key = next_key() end
end

-- 1. Idempotency (inline only: in cluster mode the caller claimed the key before).
if idem_key then
  local stored = redis.call('GET', idem_key)
  if stored then
    if cjson.decode(stored)['request_hash'] == request_hash then
      return {'replay', stored, 0}
    end
    return {'idempotency_key_reused', '', 0}
  end
end

-- 2. This client's wrong checks for this destination (both versions' counters while v2 lives).
local failed_counters = {failed_key}
if inline then failed_counters[2] = v2_failed_key end
local failed_retry = failed_checks_retry(failed_counters, failed_limit, failed_window)
if failed_retry then return {'rate_limited', '', failed_retry} end

-- The counters every send counts: {key, limit, window ms, the outcome when full}, in the order
-- they are judged: destination, client, IP; then for an SMS the prefix, then the breaker.
local limits, guarded_limits = {}, {}
if inline then
  limits = {{dest_rl, dest_limit, dest_window, 'rate_limited'},
    {client_rl, client_limit, client_window, 'rate_limited'},
    {ip_rl, ip_limit, ip_window, 'rate_limited'}}
  if is_sms then
    guarded_limits = {{prefix_rl, prefix_limit, prefix_window, 'prefix_rate_limited'},
      {sms_rl, sms_limit, sms_window, 'sms_capacity_exceeded'}}
  end
end

local function full_counter(counters)
  for _, limit in ipairs(counters) do
    if tonumber(redis.call('GET', limit[1]) or '0') >= tonumber(limit[2]) then
      return limit[4], retry_of(limit[1], limit[3])
    end
  end
  return nil
end

-- The conversion tally (tally.lua), read once per send; its dead fields go when a send counts.
local current_bucket = math.floor(now / bucket_ms)
local dead_fields = {}
local function read_this_tally()
  local sent, approved, blocked_until, dead = read_tally(tally_key, now, bucket_ms, tally_buckets,
    sent_field_prefix, block_field)
  dead_fields = dead
  return sent, approved, blocked_until
end

local function renew_tally(at_least) renew_tally_ttl(tally_key, at_least) end

-- The outcome and retry ms of the first limit or guard that refuses this send, or nil.
local function refusal()
  if not inline then
    if reserved_full ~= '' then return reserved_full, reserved_retry end
    return nil
  end
  local outcome, retry = full_counter(limits)
  if outcome or not is_sms then return outcome, retry end
  local sent, approved, blocked_until = read_this_tally()
  local blocked_for = redis.call('PTTL', v2_block_key)
  if blocked_for == -1 then blocked_for = block_ms end
  if blocked_until - now > blocked_for then blocked_for = blocked_until - now end
  if blocked_for > 0 then return 'prefix_blocked', blocked_for end
  if converts_too_little(sent, approved, guard_min_sms, guard_min_percent) then
    -- The block is written both ways while version-2 data can exist.
    redis.call('HSET', tally_key, block_field, dec(now + block_ms))
    renew_tally(block_ms)
    redis.call('SET', v2_block_key, '1', 'PX', block_ms)
    return 'prefix_blocked', block_ms
  end
  return full_counter(guarded_limits)
end

local function count(counters)
  for _, limit in ipairs(counters) do
    if redis.call('INCR', limit[1]) == 1 then
      redis.call('PEXPIRE', limit[1], limit[3])
    end
  end
end

-- Count a send that happens (inline only; in cluster mode the reserves counted it); only a new
-- SMS verification counts as created in the tally.
local function count_limits(is_new)
  if not inline then return end
  count(limits)
  if not is_sms then return end
  count(guarded_limits)
  if is_new then
    redis.call('HINCRBY', tally_key, sent_field_prefix .. dec(current_bucket), 1)
    if #dead_fields > 0 then redis.call('HDEL', tally_key, unpack(dead_fields)) end
    renew_tally(guard_window)
  end
end

local function finish(outcome, http_status, record)
  local snapshot = cjson.encode(record)
  if idem_key then
    -- The snapshot JSON is spliced in verbatim so the stored record is exactly what we return.
    local stored = '{"request_hash":' .. cjson.encode(request_hash) .. ',"status":' ..
      http_status .. ',"record":' .. snapshot .. '}'
    redis.call('SET', idem_key, stored, 'PX', idem_ttl)
  end
  return {outcome, snapshot, 0}
end

-- The job of a version-3 record: on its bucket's outbox, with its owner.
local function enqueue3(id, r)
  redis.call('XADD', outbox, 'MAXLEN', '~', v3_maxlen, '*',
    'verification_id', id, 'channel', CHANNEL_NAMES[r.channel], 'to', r.to, 'locale', r.locale,
    'code_sealed', r.code_sealed, 'send_attempt', r.send_attempts, 'enqueued_at', now,
    'client', client)
  redis.call('PEXPIRE', outbox, stream_ttl)
end

-- The job of a version-2 record: on vfy:outbox, in version 2's form.
local function enqueue2(id, sealed, send_attempt, job_to, job_channel, job_locale)
  redis.call('XADD', v2_outbox, 'MAXLEN', '~', v2_outbox_maxlen, '*',
    'verification_id', id, 'channel', job_channel, 'to', job_to, 'locale', job_locale,
    'code_sealed', sealed, 'send_attempt', send_attempt, 'enqueued_at', now)
  redis.call('PEXPIRE', v2_outbox, stream_ttl)
end

-- 3. The live verification of this client's destination: the version-3 record, else (while v2
-- data can exist) version 2's pending index and its record.
local live3 = unpack3(redis.call('GET', record_key))
if live3 and not is_live3(live3) then live3 = nil end
if live3 then
  local id = 'VE' .. dest_key .. live3.rand
  if live3.status == 'm' then
    -- A new verification would reset the check budget: not before this one expires.
    return {'max_check_attempts_reached', '', live3.expires_at - now}
  end
  if live3.send_attempts >= max_sends then
    return {'max_send_attempts_reached', '', live3.expires_at - now}
  end
  local cooldown_ends = live3.created_at + live3.sent_offset + cooldown
  if now < cooldown_ends then return {'resend_cooldown', '', cooldown_ends - now} end
  local refused, retry = refusal()
  if refused then return {refused, '', retry} end
  live3.send_attempts = live3.send_attempts + 1
  live3.sent_offset = now - live3.created_at
  redis.call('SET', record_key, pack3(live3), 'KEEPTTL')
  count_limits(false)
  enqueue3(id, live3)
  return finish('resent', 200, snapshot3(id, live3))
end

if inline then
  local existing = redis.call('GET', v2_pending_key)
  if existing then
    local key = v2_record_prefix .. existing
    local f = redis.call('HMGET', key, 'status', 'expires_at', 'send_attempts', 'last_sent_at',
      'code_sealed', 'id', 'to', 'channel', 'locale', 'check_attempts', 'created_at', 'reference',
      'client')
    local expires_at = tonumber(f[2])
    local live = f[13] == client and expires_at and now < expires_at
    if live and f[1] == 'max_attempts_reached' then
      return {'max_check_attempts_reached', '', expires_at - now}
    end
    if live and f[1] == 'pending' then
      if tonumber(f[3]) >= max_sends then
        return {'max_send_attempts_reached', '', expires_at - now}
      end
      local cooldown_ends = tonumber(f[4]) + cooldown
      if now < cooldown_ends then
        return {'resend_cooldown', '', cooldown_ends - now}
      end
      local refused, retry = refusal()
      if refused then return {refused, '', retry} end
      local send_attempts = redis.call('HINCRBY', key, 'send_attempts', 1)
      redis.call('HSET', key, 'last_sent_at', now)
      count_limits(false)
      enqueue2(f[6], f[5], send_attempts, f[7], f[8], f[9])
      return finish('resent', 200, {id = f[6], to = f[7], channel = f[8], locale = f[9],
        reference = f[12] or '', status = 'pending', send_attempts = send_attempts,
        check_attempts = tonumber(f[10]), created_at = tonumber(f[11]), expires_at = expires_at})
    end
  end
end

-- 4. A new verification, in the write version.
local refused, retry = refusal()
if refused then return {refused, '', retry} end

-- While v2 data can exist, the counter of the new record's version takes over the other's
-- wrong codes (storage contract "Migration from version 2"): a check by id reaches only its own
-- record's version's counter, so that one must hold them all. The longer window is kept.
local function fold_failed_checks(into, from)
  local moved = tonumber(redis.call('GET', from) or '0')
  if moved <= 0 then return end
  local window = redis.call('PTTL', from)
  redis.call('INCRBY', into, moved)
  if window > 0 and window > redis.call('PTTL', into) then
    redis.call('PEXPIRE', into, window)
  end
  redis.call('DEL', from)
end
local expires_at = now + code_ttl
local snapshot = {id = new_id, to = to, channel = channel, locale = locale,
  reference = reference, status = 'pending', send_attempts = 1, check_attempts = 0,
  created_at = now, expires_at = expires_at}
if write_version == '2' then
  fold_failed_checks(v2_failed_key, failed_key)
  redis.call('HSET', v2_new_record_key, 'v', v2_version, 'id', new_id, 'client', client,
    'to', to, 'channel', channel, 'locale', locale, 'reference', reference, 'status', 'pending',
    'code_mac', code_mac, 'code_sealed', code_sealed, 'dest_hash', dest_hash,
    'send_attempts', 1, 'check_attempts', 0, 'prefix_hash', prefix_hash, 'created_at', now,
    'expires_at', expires_at, 'last_sent_at', now)
  redis.call('PEXPIRE', v2_new_record_key, code_ttl + retention)
  redis.call('SET', v2_pending_key, new_id, 'PX', code_ttl)
  count_limits(true)
  enqueue2(new_id, code_sealed, 1, to, channel, locale)
  return finish('created', 201, snapshot)
end

if inline then fold_failed_checks(failed_key, v2_failed_key) end
-- The final record this one replaces stays readable by its id in the retained hash.
local previous = unpack3(redis.call('GET', record_key))
if previous then
  if previous.status == 'p' then previous.status = 'x' end
  local retain_until = now + retention
  local latest = retain_until
  local dead = {}
  local retained = redis.call('HGETALL', retained_key)
  for i = 1, #retained, 2 do
    local until_ms = tonumber(string.match(retained[i + 1], '^(%d+)|'))
    if not until_ms or until_ms <= now then
      dead[#dead + 1] = retained[i]
    elseif until_ms > latest then
      latest = until_ms
    end
  end
  if #dead > 0 then redis.call('HDEL', retained_key, unpack(dead)) end
  redis.call('HSET', retained_key, previous.rand, dec(retain_until) .. '|' .. pack3(previous))
  redis.call('PEXPIREAT', retained_key, dec(latest))
end
local record = {rand = string.sub(new_id, 19), to = to, channel = CHANNEL_LETTERS[channel],
  locale = locale, reference = reference, status = 'p', code_mac = code_mac,
  code_sealed = code_sealed, send_attempts = 1, check_attempts = 0, created_at = now,
  ttl = code_ttl, sent_offset = 0}
redis.call('SET', record_key, pack3(record), 'PX', code_ttl + retention)
count_limits(true)
enqueue3(new_id, record)
return finish('created', 201, snapshot)
