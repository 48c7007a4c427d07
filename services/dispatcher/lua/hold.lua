-- hold: keep fresh the outbox entries this consumer still owns; leave alone those another
-- consumer has claimed meanwhile (renewing those would take them back: a second delivery).
-- KEYS[1] the outbox stream   ARGV[1] the consumer group   ARGV[2] this consumer
-- ARGV[3..n] entry ids
-- Returns the ids still owned by this consumer, their idle time now 0 (the delivery count is left
-- alone: XCLAIM ... JUSTID).
local held = {}
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    held[#held + 1] = ARGV[i]
  end
end
return held
