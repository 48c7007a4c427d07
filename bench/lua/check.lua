-- Workload "check": POST /api/verification-checks by verification id with a wrong code.
-- env: BENCH_LUA_DIR (this folder), BENCH_IDS_FILE (one verification id per line, pending, created
-- by the target itself: bench/own_pending.py), BENCH_WRONG_CODE (default 000000).
-- Requests walk the ids round-robin, each thread from its own offset, so every check takes the
-- full path (attempt counted, MACs compared) as long as VERIFY_MAX_CHECKS is set high.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
common.install()

local ids = {}
for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
  if #line > 0 then table.insert(ids, line) end
end
local code = os.getenv("BENCH_WRONG_CODE") or "000000"
local position = nil

request = function()
  position = ((position or thread_id * 7919) % #ids) + 1
  local body = string.format('{"verification_id":"%s","code":"%s"}', ids[position], code)
  return wrk.format("POST", "/api/verification-checks",
    {["Content-Type"] = "application/json", ["Authorization"] = common.authorization}, body)
end
