-- Shared by every bench workload (loaded with require from BENCH_LUA_DIR).
-- Gives each wrk thread an id, counts responses by status, and prints one summary line
-- `BENCH_JSON {...}` that bench/wrkrun.py parses. No KEYS/ARGV: this is wrk Lua, not Redis Lua.
local M = {}
local threads = {}

-- Every workload's requests carry the bench's API key (BENCH_API_KEY, set by bench/wrkrun.py).
M.authorization = "Bearer " .. (os.getenv("BENCH_API_KEY") or "")

function M.setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function M.response(status, headers, body)
  bench_statuses[status] = (bench_statuses[status] or 0) + 1
end

local function json_counts(counts)
  local parts = {}
  for key, value in pairs(counts) do
    table.insert(parts, string.format('"%s":%d', tostring(key), value))
  end
  table.sort(parts)
  return "{" .. table.concat(parts, ",") .. "}"
end

function M.done(summary, latency, requests)
  local statuses = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("bench_statuses") or {}) do
      statuses[status] = (statuses[status] or 0) + count
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d},"statuses":%s}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, json_counts(statuses)))
end

-- Wire the shared callbacks into the calling script's globals.
function M.install()
  bench_statuses = {}
  setup = M.setup
  response = M.response
  done = M.done
end

-- 198.18.0.0/15 (RFC 2544 benchmarking range): 131,072 addresses.
function M.benchmark_ip(n)
  n = n % 131072
  return string.format("198.%d.%d.%d", 18 + math.floor(n / 65536),
    math.floor(n / 256) % 256, n % 256)
end

return M
