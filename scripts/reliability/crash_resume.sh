#!/usr/bin/env bash
# Crash-safety check for `bertqa train`: SIGKILL it at random moments (including during
# checkpoint writes: a checkpoint every step), resume each time, and compare the final weights
# with an uninterrupted run of the same seed. Needs ../shared (MiniLM) or BERTQA_MODEL.
#
#   scripts/reliability/crash_resume.sh [TRIALS=20]
set -euo pipefail
cd "$(dirname "$0")/../.."
TRIALS=${1:-20}
SHARED=${BERTQA_SHARED:-../shared}
MODEL=${BERTQA_MODEL:-$SHARED/models/all-MiniLM-L6-v2}
swift build -c release --product bertqa >/dev/null
BIN=.build/release/bertqa
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ARGS=(--model "$MODEL" --train-file Tests/Fixtures/squad/sample-train.json --max-train-samples 96
      --epochs 2 --batch-size 8 --max-length 128 --stride 32 --save-steps 1 --logging-steps 4 --seed 3)

"$BIN" train "${ARGS[@]}" --output "$WORK/reference" >/dev/null 2>&1
want=$(sha256sum "$WORK/reference/model.safetensors" | cut -d' ' -f1)

kills=0
for trial in $(seq 1 "$TRIALS"); do
    "$BIN" train "${ARGS[@]}" --output "$WORK/crashy" --resume >/dev/null 2>"$WORK/log" &
    pid=$!
    sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.3 + rand() * 4 }')"
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
    wait "$pid" 2>/dev/null || true
    # Whatever was cut off, the latest complete checkpoint must load.
    # (what bertqa takes as latest: the highest checkpoint-<N> folder; .partial-* leftovers never count)
    latest=$(ls -d "$WORK"/crashy/checkpoints/checkpoint-* 2>/dev/null | grep -E '/checkpoint-[0-9]+$' | sort -t- -k2 -n | tail -1 || true)
    if [ -n "$latest" ] && [ ! -f "$latest/trainer_state.json" ]; then
        echo "trial $trial: incomplete checkpoint $latest taken as latest"; exit 1
    fi
    echo "trial $trial: killed=$kills latest=$(basename "${latest:-none}")"
done
"$BIN" train "${ARGS[@]}" --output "$WORK/crashy" --resume >/dev/null 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
got=$(sha256sum "$WORK/crashy/model.safetensors" | cut -d' ' -f1)
echo "uninterrupted: $want"
echo "after $kills kills and resumes: $got"
[ "$want" = "$got" ] && echo "PASS: identical weights" || { echo "FAIL: weights differ"; exit 1; }
