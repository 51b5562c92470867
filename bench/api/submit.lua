-- The submit benchmark's requests for wrk (bench/api/wrk.ts): every request POSTs the JSON body
-- in $ZEUS_BENCH_BODY to the URL wrk was given. An answer is accepted when it is a 200 whose
-- body is a queued job ({"data":{"submitPrompt":{ … "status":"QUEUED" … }}}); anything else (a
-- GraphQL error such as QUEUE_FULL or RATE_LIMITED, a 4xx or 5xx) is rejected. At the end, one
-- line starting with ZEUS_WRK holds the figures as JSON (latencies in microseconds).
wrk.method = "POST"
wrk.body = os.getenv("ZEUS_BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"

local PREFIX = '{"data":{"submitPrompt":{'
local QUEUED = '"status":"QUEUED"'

-- Each thread has its own Lua state: the counts are read from every thread at the end.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

accepted = 0
rejected = 0
function response(status, headers, body)
  if status == 200 and body:sub(1, #PREFIX) == PREFIX and body:find(QUEUED, 1, true) then
    accepted = accepted + 1
  else
    rejected = rejected + 1
  end
end

function done(summary, latency, requests)
  local a, r = 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("accepted")
    r = r + thread:get("rejected")
  end
  local e = summary.errors
  io.write(string.format(
    'ZEUS_WRK {"requests":%d,"durationUs":%d,"accepted":%d,"rejected":%d,' ..
    '"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"statusErrors":%d,"timeouts":%d,' ..
    '"p50Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, a, r, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
