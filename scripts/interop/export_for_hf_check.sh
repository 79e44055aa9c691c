#!/usr/bin/env bash
# Saves checkpoints with `bertqa train` (BERT, MiniLM and every other architecture's tiny fixture)
# and has Hugging Face transformers load them
# (scripts/interop/check_hf_load.py): no missing, unexpected or mismatched keys, and, for tiny-bert
# saved after one step at learning rate 1e-30 (its weights move by ~1e-30), transformers' logits on the
# saved folder within 1e-5 of the reference transformers computed on the original.
# Needs ../shared (or BERTQA_SHARED) and a Python with transformers and torch; CI never runs it.
#
#   PYTHON=/work/venv/bin/python scripts/interop/export_for_hf_check.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${BERTQA_SHARED:-../shared}
PYTHON=${PYTHON:-python3}
OUT=${1:-$(mktemp -d)}
swift build -c release --product bertqa >/dev/null
BIN=.build/release/bertqa
ONE_STEP=(--train-file Tests/Fixtures/squad/sample-train.json --max-train-samples 8 --epochs 1
          --batch-size 8 --max-length 128 --stride 32 --max-steps 1)

"$BIN" train --model "$SHARED/golden/tiny-bert/model" "${ONE_STEP[@]}" --learning-rate 1e-30 --output "$OUT/tiny-bert" >/dev/null
"$PYTHON" scripts/interop/check_hf_load.py "$OUT/tiny-bert" --reference "$SHARED/golden/tiny-bert/reference.safetensors"

"$BIN" train --model "$SHARED/models/all-MiniLM-L6-v2" "${ONE_STEP[@]}" --output "$OUT/minilm-qa" >/dev/null
"$PYTHON" scripts/interop/check_hf_load.py "$OUT/minilm-qa"
# Every other architecture's tiny fixture (Tests/Fixtures/architectures), with its fixture tokenizer:
# trained one step at 1e-30, saved, loaded by AutoModelForQuestionAnswering, logits against the reference.
for family in roberta xlm-roberta electra distilbert albert deberta-v3; do
    fixture=Tests/Fixtures/architectures/$family
    folder=$(mktemp -d)
    cp "$fixture"/model/* "Tests/Fixtures/tokenizers/$(cat "$fixture/TOKENIZER")"/* "$folder"/
    "$BIN" train --model "$folder" "${ONE_STEP[@]}" --learning-rate 1e-30 --output "$OUT/$family" >/dev/null
    "$PYTHON" scripts/interop/check_hf_load.py "$OUT/$family" --reference "$fixture/reference.safetensors"
    rm -rf "$folder"
done
echo "saved in $OUT; transformers loaded every one"
