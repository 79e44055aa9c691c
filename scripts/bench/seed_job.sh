#!/usr/bin/env bash
# The seed notebook's job with bertqa: fine-tune all-MiniLM-L6-v2 on the first 4,000 SQuAD
# train questions (3 epochs, lr 3e-5, batch 16, weight decay 0.01, max length 384, stride 128),
# then evaluate run_qa-style on the first 2,000 dev questions. Prints wall times and peak RSS.
#
#   scripts/bench/seed_job.sh [OUTPUT_DIR] [extra train flags...]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-seed-run}
shift || true
SHARED=${BERTQA_SHARED:-../shared}
swift build -c release --product bertqa >/dev/null
BIN=.build/release/bertqa
start=$(date +%s.%N)
/usr/bin/time -v "$BIN" train --model "$SHARED/models/all-MiniLM-L6-v2" \
    --train-file "$SHARED/squad/train-v1.1.first44articles.json" \
    --validation-file "$SHARED/squad/dev-v1.1.json" \
    --output "$OUT" --max-train-samples 4000 --max-eval-samples 2000 \
    --epochs 3 --learning-rate 3e-5 --batch-size 16 --weight-decay 0.01 \
    --max-length 384 --stride 128 --seed 42 "$@" 2> >(tee "$OUT.train.log" >&2) > "$OUT.train.json"
mid=$(date +%s.%N)
/usr/bin/time -v "$BIN" evaluate --model "$OUT" --data "$SHARED/squad/dev-v1.1.json" --limit 2000 \
    --output "$OUT/eval" 2> >(tee "$OUT.eval.log" >&2) > "$OUT.eval.json"
end=$(date +%s.%N)
echo "train: $(cat "$OUT.train.json")"
echo "evaluate: $(cat "$OUT.eval.json")"
python3 - "$start" "$mid" "$end" <<'PY'
import sys
s, m, e = map(float, sys.argv[1:])
print(f"train wall {m - s:.1f} s, evaluate wall {e - m:.1f} s, job wall {e - s:.1f} s")
PY
grep -h "Maximum resident" "$OUT.train.log" "$OUT.eval.log"
