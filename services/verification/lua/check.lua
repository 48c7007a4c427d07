-- check: count one attempt and compare the code MAC in constant time (storage contract "check",
-- "check (version 3)", "Migration from version 2"). record3.lua is prepended.
-- KEYS[1] vfy3:{b}:d:{client}:{dest_key}   KEYS[2] vfy3:{b}:fail:{client}:{dest_key}
-- KEYS[3] vfy3:{b}:events
-- inline (ARGV[2] = 'inline', a single node: version-2 data may exist), then also:
--   KEYS[4] vfy:events; by 'to': KEYS[5] vfy:pending:{client}:{dest_hash},
--   KEYS[6] vfy:rl:fail:{client}:{dest_hash}; by 'id': KEYS[5] vfy:ver:{id}
-- ARGV[1] 'id' or 'to'   ARGV[2] 'inline' or 'cluster'   ARGV[3] client (the caller)
-- ARGV[4] the id's rand (by 'id'; "" by 'to')   ARGV[5] dest_key
-- ARGV[6] candidate code_mac16 (v3)   ARGV[7] candidate code_mac (v2)
-- ARGV[8] max checks   ARGV[9] retention ms   ARGV[10] v3 events MAXLEN
-- ARGV[11] v2 events MAXLEN   ARGV[12] stream TTL ms   ARGV[13] failed checks limit
-- ARGV[14] failed checks window ms   ARGV[15] v2 record prefix   ARGV[16] v2 pending prefix
-- ARGV[17] v2 failed checks prefix   ARGV[18] tally key prefix   ARGV[19] approved field prefix
-- ARGV[20] tally bucket ms   ARGV[21] tally window ms   ARGV[22] v3 event schema
-- ARGV[23] v2 event schema
-- Returns {outcome, id, to, channel, status, check_attempts, retry_ms, tally}; outcome is one
-- of not_found (alone), rate_limited and max_check_attempts_reached (with retry_ms), approved,
-- wrong. tally is '1' when the caller must count the approval in the conversion tally (a v3
-- SMS record: the script cannot reach the tally's slot); a v2 record is tallied here.
local by_id, inline, client = ARGV[1] == 'id', ARGV[2] == 'inline', ARGV[3]
local rand, dest_key, mac16, mac_hex = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local max_checks, retention = tonumber(ARGV[8]), tonumber(ARGV[9])
local v3_maxlen, v2_maxlen, stream_ttl = ARGV[10], ARGV[11], ARGV[12]
local failed_limit, failed_window = ARGV[13], ARGV[14]
local v2_record_prefix, v2_pending_prefix, v2_failed_prefix = ARGV[15], ARGV[16], ARGV[17]
local tally_prefix, approved_prefix = ARGV[18], ARGV[19]
local bucket_ms, tally_window = tonumber(ARGV[20]), ARGV[21]
local v3_schema, v2_schema = ARGV[22], ARGV[23]
local record_key, failed_key, events = KEYS[1], KEYS[2], KEYS[3]

local function check_v3(r)
  local id = 'VE' .. dest_key .. r.rand
  local function finalize(letter, event, ttl)
    r.status = letter
    if ttl then
      redis.call('SET', record_key, pack3(r), 'PX', ttl)
    else
      redis.call('SET', record_key, pack3(r), 'KEEPTTL')
    end
    redis.call('XADD', events, 'MAXLEN', '~', v3_maxlen, '*', 'schema', v3_schema,
      'type', event, 'verification_id', id, 'channel', CHANNEL_NAMES[r.channel],
      'dest_key', dest_key, 'client', client, 'reference', r.reference, 'occurred_at', now)
    redis.call('PEXPIRE', events, stream_ttl)
  end
  local channel = CHANNEL_NAMES[r.channel]
  if r.status == 'p' and now >= r.expires_at then
    finalize('x', 'verification.expired', retention)
    return {'not_found'}
  end
  if r.status ~= 'p' and r.status ~= 'm' then return {'not_found'} end
  -- By `to`, an exhausted one past its code TTL is no longer the destination's (as version 2's
  -- pending index expires then); by id it still answers max_check_attempts_reached.
  if r.status == 'm' and not by_id and now >= r.expires_at then return {'not_found'} end
  -- Checked before the code is compared: a refused check counts nothing. By `to` both
  -- versions' counters are known; by id only this version's (the id gives no dest_hash).
  local counters = {failed_key}
  if inline and not by_id then counters[2] = KEYS[6] end
  local failed_retry = failed_checks_retry(counters, failed_limit, failed_window)
  if failed_retry then
    return {'rate_limited', id, r.to, channel, STATUS_NAMES[r.status], r.check_attempts,
      failed_retry, '0'}
  end
  if r.status == 'm' then
    return {'max_check_attempts_reached', id, r.to, channel, 'max_attempts_reached',
      r.check_attempts, math.max(r.expires_at - now, 0), '0'}
  end
  r.check_attempts = r.check_attempts + 1
  if macs_equal(r.code_mac, mac16) then
    finalize('a', 'verification.approved', retention)
    local tally = '0'
    if r.channel == 's' then tally = '1' end
    return {'approved', id, r.to, channel, 'approved', r.check_attempts, 0, tally}
  end
  if redis.call('INCR', failed_key) == 1 then redis.call('PEXPIRE', failed_key, failed_window) end
  if r.check_attempts >= max_checks then
    -- The record stays the destination's live one, so a check by `to` keeps answering 429
    -- and a send max_check_attempts_reached until the code TTL ends.
    finalize('m', 'verification.max_attempts_reached', retention)
    return {'wrong', id, r.to, channel, 'max_attempts_reached', r.check_attempts, 0, '0'}
  end
  redis.call('SET', record_key, pack3(r), 'KEEPTTL')
  return {'wrong', id, r.to, channel, 'pending', r.check_attempts, 0, '0'}
end

-- Version 2's check of the record at `key` (the caller's own: v1 records are no longer read).
local function check_v2(key)
  local v2_events = KEYS[4]
  local f = redis.call('HMGET', key, 'id', 'to', 'channel', 'status', 'expires_at', 'dest_hash',
    'code_mac', 'check_attempts', 'client', 'reference', 'prefix_hash')
  local id, status = f[1], f[4]
  if not id or f[9] ~= client then return {'not_found'} end
  local function finalize(new_status, event, keep_pending_index)
    redis.call('HSET', key, 'status', new_status)
    if not keep_pending_index then
      local pending_key = v2_pending_prefix .. client .. ':' .. f[6]
      if redis.call('GET', pending_key) == id then redis.call('DEL', pending_key) end
    end
    redis.call('PEXPIRE', key, retention)
    redis.call('XADD', v2_events, 'MAXLEN', '~', v2_maxlen, '*', 'schema', v2_schema,
      'type', event, 'verification_id', id, 'channel', f[3], 'dest_hash', f[6],
      'client', client, 'reference', f[10] or '', 'occurred_at', now)
    redis.call('PEXPIRE', v2_events, stream_ttl)
  end
  if status == 'pending' and now >= tonumber(f[5]) then
    finalize('expired', 'verification.expired', false)
    return {'not_found'}
  end
  if status ~= 'pending' and status ~= 'max_attempts_reached' then return {'not_found'} end
  local v2_failed = v2_failed_prefix .. client .. ':' .. f[6]
  local counters = {v2_failed}
  if not by_id then counters[2] = failed_key end
  local failed_retry = failed_checks_retry(counters, failed_limit, failed_window)
  if failed_retry then
    return {'rate_limited', id, f[2], f[3], status, tonumber(f[8]), failed_retry, '0'}
  end
  if status == 'max_attempts_reached' then
    return {'max_check_attempts_reached', id, f[2], f[3], status, tonumber(f[8]),
      math.max(tonumber(f[5]) - now, 0), '0'}
  end
  local attempts = redis.call('HINCRBY', key, 'check_attempts', 1)
  if macs_equal(f[7], mac_hex) then
    finalize('approved', 'verification.approved', false)
    local prefix_hash = f[11] or ''
    if prefix_hash ~= '' then
      local tally_key = tally_prefix .. prefix_hash
      local bucket = math.floor(now / bucket_ms)
      redis.call('HINCRBY', tally_key, approved_prefix .. dec(bucket), 1)
      if redis.call('PTTL', tally_key) < tonumber(tally_window) then
        redis.call('PEXPIRE', tally_key, tally_window)
      end
    end
    return {'approved', id, f[2], f[3], 'approved', attempts, 0, '0'}
  end
  if redis.call('INCR', v2_failed) == 1 then redis.call('PEXPIRE', v2_failed, failed_window) end
  if attempts >= max_checks then
    finalize('max_attempts_reached', 'verification.max_attempts_reached', true)
    return {'wrong', id, f[2], f[3], 'max_attempts_reached', attempts, 0, '0'}
  end
  return {'wrong', id, f[2], f[3], 'pending', attempts, 0, '0'}
end

local r = unpack3(redis.call('GET', record_key))
if by_id then
  -- Another verification of the destination (a retained one is final): not this id's.
  if r and r.rand == rand then return check_v3(r) end
  if inline then return check_v2(KEYS[5]) end
  return {'not_found'}
end
-- By `to`: the live one of the two versions.
if is_live3(r) then return check_v3(r) end
if inline then
  local v2_id = redis.call('GET', KEYS[5])
  if v2_id then return check_v2(v2_record_prefix .. v2_id) end
end
if r then return check_v3(r) end
return {'not_found'}
