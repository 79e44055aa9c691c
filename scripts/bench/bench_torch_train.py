#!/usr/bin/env python3
"""PyTorch peer of `bertqa bench train`: full training steps of the family's …ForQuestionAnswering, fp32,
train mode (dropout from the config), QA loss, backward, clip_grad_norm_(1.0), AdamW (lr 3e-5,
weight decay 0.01 on the same parameters as HF's Trainer), on random full-length windows of the
same shape and answer positions. Prints one JSON object like `bertqa bench train --json`.

    python3 scripts/bench/bench_torch_train.py --model minilm-shape --batch 16 --seq 384
    python3 scripts/bench/bench_torch_train.py --model ../shared/models/all-MiniLM-L6-v2 --batch 16 --seq 384
    python3 scripts/bench/bench_torch_train.py --model bert-base --batch 4 --seq 384
    python3 scripts/bench/bench_torch_train.py --model minilm-shape --bf16   # torch.autocast(bfloat16)

--bf16: the forward and the loss under torch.autocast("cpu", dtype=torch.bfloat16), PyTorch's
mixed precision (fp32 master weights and AdamW; linear layers and matmuls in bf16), the peer of
`bertqa bench train --bf16`.
"""
import argparse
import json
import resource
import time

import torch
from transformers.pytorch_utils import ALL_LAYERNORM_LAYERS
from transformers.trainer_pt_utils import get_parameter_names

import shapes


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=384)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action="store_true", help="forward and loss under torch.autocast(bfloat16)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model, inputs_of = shapes.load(a.model)
    model.train()
    cfg = model.config
    decay_names = {n for n in get_parameter_names(model, ALL_LAYERNORM_LAYERS) if "bias" not in n}
    decay = [p for n, p in model.named_parameters() if n in decay_names]
    no_decay = [p for n, p in model.named_parameters() if n not in decay_names]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=3e-5)
    g = torch.Generator().manual_seed(42)
    ids = torch.randint(1000, cfg.vocab_size, (a.batch, a.seq), generator=g)
    types = (torch.arange(a.seq) >= a.seq // 4).long().expand(a.batch, a.seq)
    mask = torch.ones(a.batch, a.seq, dtype=torch.long)
    starts = torch.tensor([(a.seq // 2 + 7 * b) % a.seq for b in range(a.batch)])
    ends = torch.clamp(starts + 3, max=a.seq - 1)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            out = model(**inputs_of(ids, types, mask), start_positions=starts, end_positions=ends)
        opt.zero_grad(set_to_none=False)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step()  # warm-up
    times = []
    for _ in range(a.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    mean = sum(times) / len(times)
    (C, I, L), T = shapes.dims(cfg), a.seq
    forward = L * (2 * a.batch * T * (4 * C * C + 2 * C * I) + 4 * a.batch * T * T * C) + 4 * a.batch * T * C
    print(json.dumps({"model": a.model, "batch": a.batch, "seq": a.seq, "steps": a.steps, "torch": torch.__version__,
                      "threads": a.threads, "precision": "bf16 autocast" if a.bf16 else "fp32",
                      "attn_implementation": getattr(cfg, "_attn_implementation", None),
                      "ms_per_step": round(mean * 1000, 2), "best_ms_per_step": round(min(times) * 1000, 2),
                      "sequences_per_second": round(a.batch / mean, 2), "gflops": round(3 * forward / mean / 1e9, 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
