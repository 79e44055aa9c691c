#!/usr/bin/env python3
"""PyTorch peer of `bertqa bench infer`: the family's …ForQuestionAnswering forward passes, fp32, eval mode,
no grad, on the same random full-length windows shape. Prints one JSON object like --json.
With --precision bf16 (the peer of `bertqa bench infer --precision bf16`): the whole model cast to
bfloat16 (`model.to(torch.bfloat16)`), PyTorch's fastest bf16 setup here (autocast measured
~1.2-1.5x slower; BENCHMARKS.md "bf16 inference").

    python3 scripts/bench/bench_torch_infer.py --model ../shared/models/all-MiniLM-L6-v2 --batch 16 --seq 384
    python3 scripts/bench/bench_torch_infer.py --model bert-base --batch 1 --seq 384   # random weights
    (shapes: bert-base, minilm-shape, roberta-base, xlm-roberta-base, electra-base, distilbert-base,
    albert-base, deberta-v3-base — scripts/bench/shapes.py)
"""
import argparse
import json
import resource
import time

import torch

import shapes


def model_and_inputs(name, batch, seq, precision="fp32"):
    """The eval-mode model (a folder, or "bert-base" with random weights; cast to bfloat16 for
    precision "bf16"), the keyword inputs of one batch of full random windows, and the FLOPs of
    one forward pass over it."""
    model, inputs_of = shapes.load(name)
    model.eval()
    if precision == "bf16":
        model = model.to(torch.bfloat16)
    cfg = model.config
    g = torch.Generator().manual_seed(42)
    ids = torch.randint(1000, cfg.vocab_size, (batch, seq), generator=g)
    types = (torch.arange(seq) >= seq // 4).long().expand(batch, seq)
    mask = torch.ones(batch, seq, dtype=torch.long)
    (C, I, L), T = shapes.dims(cfg), seq
    flops = L * (2 * batch * T * (4 * C * C + 2 * C * I) + 4 * batch * T * T * C) + 4 * batch * T * C
    return model, inputs_of(ids, types, mask), flops


def timed_calls(call, n):
    """Seconds each of n calls of `call()` took."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return times


def timed_passes(model, inputs, n):
    """Seconds each of n forward passes took (no grad)."""
    with torch.no_grad():
        return timed_calls(lambda: model(**inputs), n)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=384)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model, inputs, flops = model_and_inputs(a.model, a.batch, a.seq, a.precision)
    cfg = model.config
    timed_passes(model, inputs, 1)  # warm-up
    times = timed_passes(model, inputs, a.iterations)
    mean = sum(times) / len(times)
    print(json.dumps({"model": a.model, "batch": a.batch, "seq": a.seq, "precision": a.precision, "torch": torch.__version__,
                      "attn_implementation": getattr(cfg, "_attn_implementation", None),
                      "ms_per_batch": round(mean * 1000, 2), "best_ms_per_batch": round(min(times) * 1000, 2),
                      "sequences_per_second": round(a.batch / mean, 2), "gflops": round(flops / mean / 1e9, 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
