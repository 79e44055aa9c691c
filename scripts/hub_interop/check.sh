#!/usr/bin/env bash
# Both ways through one Hugging Face cache, with the real huggingface_hub and transformers
# (a venv with them: PYTHON=/path/to/venv/bin/python); CI never runs it (no Python there).
#   1. `bertqa download` fills a cache from a loopback Hub; transformers' pipeline loads it offline.
#   2. huggingface_hub.snapshot_download fills another; `bertqa answer` uses it offline.
# fake_hub.py serves the tiny RoBERTa fixture with the Hub's headers (X-Repo-Commit, ETag,
# X-Linked-Etag, X-Linked-Size, an LFS redirect).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
PORT=${PORT:-8765}
work=$(mktemp -d)
"$PYTHON" scripts/hub_interop/fake_hub.py "$PWD" "$PORT" & server=$!
trap 'kill $server; rm -rf "$work"' EXIT
sleep 1
question="Who developed the theory of relativity?"
context="Albert Einstein developed the theory of relativity in the early 20th century."

HF_ENDPOINT=http://127.0.0.1:$PORT HF_HUB_CACHE=$work/bertqa HF_TOKEN= .build/release/bertqa download deepset/tiny-roberta-squad2
HF_HUB_OFFLINE=1 HF_HUB_CACHE=$work/bertqa "$PYTHON" -c "
from transformers import pipeline
print('transformers on bertqa\'s cache:', pipeline('question-answering', model='deepset/tiny-roberta-squad2')(question='$question', context='$context'))"

HF_ENDPOINT=http://127.0.0.1:$PORT HF_HUB_CACHE=$work/python "$PYTHON" -c "
from huggingface_hub import snapshot_download; snapshot_download('deepset/tiny-roberta-squad2')"
echo -n "bertqa on huggingface_hub's cache: "
HF_HUB_OFFLINE=1 HF_HUB_CACHE=$work/python .build/release/bertqa answer --model deepset/tiny-roberta-squad2 \
    --question "$question" --context "$context"
