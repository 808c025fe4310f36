-- wrk script of bench/ingest.py: posts pre-built requests read from a data file whose
-- lines are "<api key>\t<json body>", cycling through them; prints a JSON summary.
-- Usage: wrk -s bench/ingest_wrk.lua URL -- DATA_FILE
local prepared = {}
local next_index = 0

function init(args)
  for line in io.lines(args[1]) do
    local key, body = line:match("^([^\t]*)\t(.*)$")
    prepared[#prepared + 1] = wrk.format("POST", nil, {
      ["Authorization"] = "Bearer " .. key,
      ["Content-Type"] = "application/json",
    }, body)
  end
  -- threads start at different places so they do not post the same event together
  next_index = math.random(#prepared) - 1
end

function request()
  next_index = next_index % #prepared + 1
  return prepared[next_index]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
