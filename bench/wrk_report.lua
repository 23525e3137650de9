-- wrk script for the Atrium benchmarks: cycles through the request paths listed in a file
-- (one per line; `wrk ... -s bench/wrk_report.lua URL -- PATHS_FILE [COOKIE]`) and prints one
-- JSON line of results at the end, which bench/loadgen.py reads.
local paths = {}
local counter = 0
local cookie = nil
local started = 0

function setup(thread)
  started = started + 1
  thread:set("offset", started * 17)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  cookie = args[2]
  -- each wrk thread starts at a different place in the list
  counter = (offset or 0) % #paths
end

function request()
  counter = counter % #paths + 1
  local headers = {}
  if cookie ~= nil and #cookie > 0 then headers["Cookie"] = cookie end
  return wrk.format("GET", paths[counter], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "errors_connect": %d, "errors_read": %d, "errors_write": %d, ' ..
    '"errors_status": %d, "errors_timeout": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max, e.connect, e.read, e.write,
    e.status, e.timeout))
end
