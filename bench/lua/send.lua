-- Workload "send": POST /api/verifications to a new SMS destination on every request.
-- env: BENCH_LUA_DIR (this folder), BENCH_SEED (4 digits, different for every wrk run, so a
-- destination is never reused across runs: +1 SEED THREAD COUNTER is 14 digits, valid E.164).
-- Each request also carries a fresh X-Forwarded-For from 198.18.0.0/15 (distinct for the first
-- 16,384 requests of each thread; with wrk -t1, as the bench runs it, for 131,072); the servers
-- trust 127.0.0.1 as a proxy, so the per-IP limit sees many clients, as behind a load balancer.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
common.install()

local seed = os.getenv("BENCH_SEED") or "1000"
local counter = 0

request = function()
  counter = counter + 1
  local body = string.format('{"to":"+1%s%d%08d","channel":"sms"}', seed, thread_id % 10, counter)
  local ip = common.benchmark_ip(tonumber(seed) * 7919 + thread_id * 16384 + counter)
  return wrk.format("POST", "/api/verifications",
    {["Content-Type"] = "application/json", ["Authorization"] = common.authorization,
     ["X-Forwarded-For"] = ip}, body)
end
