#!/usr/bin/env bash
# Load shedding of `bertqa serve` at twice the load the model can serve (issue 28): the
# unloaded latency and the capacity measured with default options, then wrk offers a paced load
# of 2x that capacity to a server with the options given; the server's JSON request logs split the answers
# into accepted (200) and shed (503) with the latency the server measured for each. Not run by CI.
#
#   apt-get install -y wrk
#   scripts/reliability/shedding.sh MODEL_DIR [SECONDS] [-- extra serve options, e.g. --max-queue 8]
#
# Prints one JSON line per phase; the figures go to RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:?usage: scripts/reliability/shedding.sh MODEL_DIR [SECONDS] [-- serve options]}
DURATION=${2:-60}
shift $(( $# < 2 ? $# : 2 )); [ "${1:-}" = "--" ] && shift
PORT=${PORT:-18091}
BIN=${BIN:-.build/release/bertqa}
LOG=/tmp/bertqa-shedding-requests.jsonl
[ -x "$BIN" ] || swift build -c release --product bertqa

# serve [options]: (re)starts the server, its JSON request log appended to $LOG.
SERVER=
serve() {
    if [ -n "$SERVER" ]; then kill -TERM "$SERVER"; wait "$SERVER" || true; fi
    "$BIN" serve --model "$MODEL" --port "$PORT" --log-format json "$@" 2>>"$LOG" >/dev/null &
    SERVER=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
}
: > "$LOG"
trap 'kill $SERVER 2>/dev/null || true' EXIT
serve   # default options: what the model can serve, nothing shed
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER/status"; }
URL="http://127.0.0.1:$PORT/answer"
LUA=scripts/reliability/load/answer.lua

# Latency and status of the /answer lines logged since line $1 of the log.
split_log() {
    tail -n +"$1" "$LOG" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.startswith("{")]
rows = [r for r in rows if r.get("route") == "/answer"]
def pct(xs, p):
    xs = sorted(xs); return round(xs[min(len(xs) - 1, int(p / 100 * len(xs)))], 1) if xs else None
ok = [r["latency_ms"] for r in rows if r["status"] == 200]
shed = [r["latency_ms"] for r in rows if r["status"] == 503]
other = sorted({r["status"] for r in rows} - {200, 503})
print(json.dumps({"answered": len(ok), "p50_ms": pct(ok, 50), "p99_ms": pct(ok, 99), "max_ms": pct(ok, 100),
                  "shed_503": len(shed), "shed_p99_ms": pct(shed, 99), "shed_max_ms": pct(shed, 100),
                  "other_statuses": other}))'
}

echo "== unloaded: one connection, one request at a time, 20 s"
start=$(($(wc -l < "$LOG") + 1))
wrk -t1 -c1 -d20s --timeout 30s -s "$LUA" "$URL" | grep '^{'
split_log "$start"

echo "== capacity: 16 connections back to back, 20 s (answered per second, shed ones not counted)"
start=$(($(wc -l < "$LOG") + 1))
wrk -t2 -c16 -d20s --timeout 30s -s "$LUA" "$URL" | grep '^{'
measured=$(split_log "$start")
echo "$measured"
capacity=$(echo "$measured" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["answered"] / 20, 1))')

serve "$@"   # the options under test
# 64 connections, each pausing (at random, DELAY_MS on average) so that together they offer twice the capacity.
delay=$(python3 -c "print(max(1, round(64 / (2 * $capacity) * 1000)))")
echo "== 2x load: $(python3 -c "print(round(2 * $capacity, 1))") requests/s offered (64 connections, ${delay} ms apart each), $DURATION s"
before=$(rss_mb)
start=$(($(wc -l < "$LOG") + 1))
( while sleep 10; do echo -n "$(rss_mb) "; done ) > /tmp/bertqa-shedding-rss.txt &
SAMPLER=$!
DELAY_MS=$delay wrk -t2 -c64 -d"${DURATION}s" --timeout 30s -s "$LUA" "$URL" | grep '^{'
kill $SAMPLER
split_log "$start"
echo "{\"rss_mb_before\": $before, \"rss_mb_every_10s\": [$(sed 's/ $//; s/ /, /g' /tmp/bertqa-shedding-rss.txt)], \"rss_mb_after\": $(rss_mb)}"
kill -TERM $SERVER; wait $SERVER || true
