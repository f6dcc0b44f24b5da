-- make bench's serving phase: wrk requests against tally serve at a fixed rate.
--   wrk -t T -c C -d Ds --latency -s serve-load.lua URL -- MODE RATE KEYS EXPONENT THREADS
-- MODE entries: GET /v1/views/user_score/entries/user-<rank>; top: GET /v1/leaderboards/
-- hunt-<rank>?top=10. Ranks are Zipf-distributed as the bench's events are (rank 0 the most
-- frequent). Each thread sends RATE/THREADS requests a second: delay() gives every request the
-- next slot of the thread's schedule (a slot missed is not made up for later), so wrk's
-- closed loop becomes a paced one. done() prints "tally-wrk <name> <value>" lines for the bench.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } tally_timespec;
int clock_gettime(int clk_id, tally_timespec *tp);
]]
local clock = ffi.new("tally_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local mode, interval, cumulative, next_slot

function init(args)
  mode = args[1]
  local rate = tonumber(args[2])
  local keys = tonumber(args[3])
  local exponent = tonumber(args[4])
  local threads = tonumber(args[5])
  interval = 1000 * threads / rate
  cumulative = {}
  local total = 0
  for rank = 1, keys do
    total = total + 1 / (rank ^ exponent)
    cumulative[rank] = total
  end
  for rank = 1, keys do cumulative[rank] = cumulative[rank] / total end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

local function zipf_rank()
  local u, low, high = math.random(), 1, #cumulative
  while low < high do
    local middle = math.floor((low + high) / 2)
    if cumulative[middle] < u then low = middle + 1 else high = middle end
  end
  return low - 1
end

function delay()
  local now = now_ms()
  if next_slot == nil or next_slot < now then next_slot = now end
  local wait = next_slot - now
  next_slot = next_slot + interval
  return math.floor(wait)
end

function request()
  if mode == "top" then
    return wrk.format("GET", "/v1/leaderboards/hunt-" .. zipf_rank() .. "?top=10")
  end
  return wrk.format("GET", "/v1/views/user_score/entries/user-" .. zipf_rank())
end

function done(summary, latency, requests)
  local lines = {
    {"requests", summary.requests},
    {"duration_us", summary.duration},
    {"non_2xx_3xx", summary.errors.status},
    {"socket_errors", summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout},
    {"p50_us", latency:percentile(50)},
    {"p90_us", latency:percentile(90)},
    {"p99_us", latency:percentile(99)},
    {"p999_us", latency:percentile(99.9)},
    {"max_us", latency.max},
  }
  for _, line in ipairs(lines) do io.write(string.format("tally-wrk %s %d\n", line[1], line[2])) end
end
