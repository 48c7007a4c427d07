-- settle: a job is done: acknowledge it and delete it from the outbox, in one step.
-- KEYS[1] vfy:outbox   ARGV[1] the consumer group   ARGV[2] the entry id
-- Returns the number of entries acknowledged (0 when another consumer settled it already).
-- A script rather than MULTI/EXEC: when Redis is out of memory (maxmemory, noeviction) it refuses
-- every command queued in a MULTI, but runs a script whose commands free memory (XACK, XDEL), so
-- a delivered job is still settled and never delivered twice.
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return acked
