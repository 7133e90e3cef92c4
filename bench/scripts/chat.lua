-- wrk script: POSTs $BENCH_BODY (with $BENCH_AUTH as the Authorization header, if set) to the URL's path, every
-- "{n}" in it replaced by the request's number, and prints one machine-readable summary line starting with "RESULT ".
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or '{"model":"x","messages":[{"role":"user","content":"Hello"}]}'
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end

-- Each request its own: the same turn sent again while the first runs would join it (README, "Sessions").
local counter = 0
local numbered = wrk.body:find("{n}", 1, true) ~= nil
function request()
  if not numbered then
    return wrk.request()
  end
  counter = counter + 1
  return wrk.format(nil, nil, nil, (wrk.body:gsub("{n}", tostring(counter))))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"errors":%d,"status_errors":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
