-- Workload "send": POST /api/verifications to a new SMS destination on every request.
-- env: BENCH_LUA_DIR (this folder), BENCH_SEED (4 digits, different for every wrk run, so a
-- destination is not reused across 64 consecutive runs: see `destination` below).
-- Each request also carries a fresh X-Forwarded-For from 198.18.0.0/15 (distinct for the first
-- 16,384 requests of each thread; with wrk -t1, as the bench runs it, for 131,072); the servers
-- trust 127.0.0.1 as a proxy, so the per-IP limit sees many clients, as behind a load balancer.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
common.install()

local seed = os.getenv("BENCH_SEED") or "1000"
local counter = 0

-- Valid US mobile-capable numbers (the API refuses invalid, toll-free and premium ones): in these
-- area codes every exchange 200-999 is valid (tests/unit/bench/test_phones.py). The seed picks an
-- area code and a block of 100 exchanges: 1,000,000 numbers per run, shared by up to 10 threads.
local AREA_CODES = {"201", "202", "206", "213", "303", "305", "312", "415"}

local function destination(seed_number, thread, count)
  local n = ((count - 1) * 10 + thread % 10) % 1000000
  local area_code = AREA_CODES[seed_number % 8 + 1]
  local exchange = 200 + math.floor(seed_number / 8) % 8 * 100 + math.floor(n / 10000)
  return string.format("+1%s%d%04d", area_code, exchange, n % 10000)
end

request = function()
  counter = counter + 1
  local to = destination(tonumber(seed), thread_id, counter)
  local body = string.format('{"to":"%s","channel":"sms"}', to)
  local ip = common.benchmark_ip(tonumber(seed) * 7919 + thread_id * 16384 + counter)
  return wrk.format("POST", "/api/verifications",
    {["Content-Type"] = "application/json", ["Authorization"] = common.authorization,
     ["X-Forwarded-For"] = ip}, body)
end
