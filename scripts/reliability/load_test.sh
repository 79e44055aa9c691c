#!/usr/bin/env bash
# Load test of `bertqa serve` (issue 8): wrk against 127.0.0.1, then bad requests, slow and
# dropped clients, and the server's memory over 20,000+ requests. Not run by CI.
#
#   apt-get install -y wrk
#   scripts/reliability/load_test.sh MODEL_DIR [SECONDS] [CONNECTIONS]      (defaults: 60 s, 64 connections)
#
# Prints one JSON line per phase; the figures go to RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:?usage: scripts/reliability/load_test.sh MODEL_DIR [SECONDS] [CONNECTIONS]}
DURATION=${2:-60}
CONNECTIONS=${3:-64}
PORT=${PORT:-18089}
BIN=.build/release/bertqa
[ -x "$BIN" ] || swift build -c release --product bertqa

"$BIN" serve --model "$MODEL" --port "$PORT" 2>/tmp/bertqa-load-serve.log &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER/status"; }
URL="http://127.0.0.1:$PORT/answer"

echo "== $DURATION s at $CONNECTIONS connections, one SQuAD-sized question per request"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 30s -s scripts/reliability/load/answer.lua "$URL" | grep '^{'

echo "== bad requests"
malformed=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{"inputs": {"question": ' "$URL")
wrongtype=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{"inputs": {"question": 5, "context": "x"}}' "$URL")
head -c 2000000 /dev/zero | tr '\0' 'a' > /tmp/bertqa-big-body
oversized=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @/tmp/bertqa-big-body "$URL")
echo "{\"malformed_json\": $malformed, \"wrong_type\": $wrongtype, \"oversized_2MB\": $oversized}"

echo "== slow and dropped clients"
python3 scripts/reliability/load/slow_clients.py "$PORT"
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && echo '{"alive_after_slow_clients": true}'

echo "== memory over 20,000+ short requests (RSS after each 10 s round at $CONNECTIONS connections)"
total=0
first=$(rss_mb)
echo "{\"requests\": 0, \"rss_mb\": $first}"
while [ "$total" -lt 20000 ]; do
    n=$(SHORT=1 wrk -t2 -c"$CONNECTIONS" -d10s --timeout 30s -s scripts/reliability/load/answer.lua "$URL" | grep '^{' \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["requests"])')
    total=$((total + n))
    echo "{\"requests\": $total, \"rss_mb\": $(rss_mb)}"
done
kill -TERM $SERVER; wait $SERVER || true
echo "{\"server_exit_after_SIGTERM\": \"clean\"}"
