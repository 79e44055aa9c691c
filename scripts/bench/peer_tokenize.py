#!/usr/bin/env python3
"""Peer for `bertqa bench tokenize`: the model folder's HF fast tokenizer (AutoTokenizer: BertTokenizerFast,
RobertaTokenizerFast, ...) on the same texts, same machine.

    pip install 'transformers==4.57.6' 'tokenizers==0.22.2'
    python scripts/bench/peer_tokenize.py ../shared/models/all-MiniLM-L6-v2 ../shared/squad/dev-v1.1.json
"""
import json
import sys
import time

from transformers import AutoTokenizer

tok = AutoTokenizer.from_pretrained(sys.argv[1])
assert tok.is_fast, "a fast tokenizer is the peer"
squad = json.load(open(sys.argv[2]))
texts = []
for article in squad["data"]:
    for p in article["paragraphs"]:
        texts.append(p["context"])
        texts.extend(qa["question"] for qa in p["qas"])
mb = sum(len(t.encode()) for t in texts) / 1e6


def best(f, n=3):
    b = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        f()
        b = min(b, time.perf_counter() - t)
    return b


single = best(lambda: [tok(t) for t in texts])
batched = best(lambda: tok(texts))
print(json.dumps({"texts": len(texts), "single_texts_per_second": round(len(texts) / single),
                  "single_mb_per_second": round(mb / single, 3),
                  "batched_texts_per_second": round(len(texts) / batched),
                  "batched_mb_per_second": round(mb / batched, 3)}))
