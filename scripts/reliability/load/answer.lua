-- wrk script: POST /answer with one SQuAD-sized question (or a short one with SHORT=1),
-- paced with DELAY_MS,
-- then a JSON summary line: requests, errors by kind, non-2xx responses, latency percentiles.
local short = os.getenv("SHORT") == "1"
local context
if short then
  context = "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France."
else
  context = "Super Bowl 50 was an American football game to determine the champion of the National "
    .. "Football League (NFL) for the 2015 season. The American Football Conference (AFC) champion "
    .. "Denver Broncos defeated the National Football Conference (NFC) champion Carolina Panthers 24-10 "
    .. "to earn their third Super Bowl title. The game was played on February 7, 2016, at Levi's Stadium "
    .. "in the San Francisco Bay Area at Santa Clara, California. As this was the 50th Super Bowl, the "
    .. "league emphasized the golden anniversary with various gold-themed initiatives, as well as "
    .. "temporarily suspending the tradition of naming each Super Bowl game with Roman numerals."
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs": {"question": "Which team won Super Bowl 50?", "context": "' .. context .. '"}}'

-- DELAY_MS: each connection waits this long before its next request, so that the load offered
-- is (connections / delay) requests per second whatever the server answers (shedding.sh).
local pause = tonumber(os.getenv("DELAY_MS") or "")
if pause then
  -- Random (uniform, mean DELAY_MS) so that connections do not fall into step: a fixed pause
  -- brings back every connection shed at once in one burst.
  function delay() return math.random(0, 2 * pause) end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.2f, "requests_per_second": %.1f, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "timeouts": %d, "non_2xx": %d, "p50_ms": %.1f, "p90_ms": %.1f, "p99_ms": %.1f, "max_ms": %.1f}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), e.connect, e.read,
    e.write, e.timeout, e.status, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
