#!/usr/bin/env python3
"""bertqa vs PyTorch, interleaved: for each round and each workload, `bertqa bench` and the
PyTorch peer script right after each other, so both see the same machine state (this host's speed
drifts: a 2-thread sgemm measured 140 and 280 GFLOP/s minutes apart on 2026-11-27). The order
alternates: bertqa first in odd rounds, PyTorch first in even ones, so neither side always
gets the first (or the second) slot of a pair.
Prints every pair, the median ratio per workload, and the ratio of each side's fastest batch
over all rounds (the least disturbed run of each).

    python3 scripts/bench/bench_side_by_side.py [--rounds 3] [--only infer|train] [--work 1x384] [--bertqa .build/release/bertqa]
    python3 scripts/bench/bench_side_by_side.py --shapes roberta-base,deberta-v3-base   # other architectures
    python3 scripts/bench/bench_side_by_side.py --only train --bf16   # bertqa --bf16 vs torch.autocast(bf16)

--bf16 (training work): bertqa bench train --bf16 against bench_torch_train.py --bf16, and bertqa
fp32 as a third run in each pair's round (its ratio: "vs_own_fp32").

Needs the venv of BENCHMARKS.md (torch 2.13, transformers 4.57) as PYTHON (default /work/venv/bin/python).
"""
import argparse, json, os, statistics, subprocess, sys

MINILM = "../shared/models/all-MiniLM-L6-v2"
WORK = [  # (name, kind, model, batch, seq, timed iterations or steps)
    ("MiniLM-L6 infer 16x384", "infer", MINILM, 16, 384, 3),
    ("MiniLM-L6 infer 1x384", "infer", MINILM, 1, 384, 20),
    ("BERT-base infer 16x384", "infer", "bert-base", 16, 384, 2),
    ("BERT-base infer 1x384", "infer", "bert-base", 1, 384, 5),
    ("MiniLM-L6 train 16x384", "train", MINILM, 16, 384, 3),
    ("BERT-base train 4x384", "train", "bert-base", 4, 384, 3),
]

def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads([l for l in out.splitlines() if l.startswith("{")][-1])

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", choices=["infer", "train"])
    p.add_argument("--bf16", action="store_true", help="training in bf16 on both sides, plus bertqa fp32")
    p.add_argument("--bertqa", default=".build/release/bertqa")
    p.add_argument("--work", help="only the workloads whose name contains this (e.g. 1x384)")
    p.add_argument("--shapes", help="comma-separated built-in shapes (roberta-base, deberta-v3-base, ... see "
                   "scripts/bench/shapes.py): each at infer 16x384 and 1x384 and train 4x384, instead of the default work")
    a = p.parse_args()
    work = WORK if not a.shapes else [
        w for shape in a.shapes.split(",") for w in ((f"{shape} infer 16x384", "infer", shape, 16, 384, 2),
                                                     (f"{shape} infer 1x384", "infer", shape, 1, 384, 5),
                                                     (f"{shape} train 4x384", "train", shape, 4, 384, 3))]
    py = os.environ.get("PYTHON", "/work/venv/bin/python")
    ratios, best = {}, {}
    for r in range(a.rounds):
        for name, kind, model, batch, seq, n in work:
            if (a.only and kind != a.only) or (a.work and a.work not in name):
                continue
            count = ["--iterations" if kind == "infer" else "--steps", str(n)]
            ours_cmd = [a.bertqa, "bench", kind, "--model", model, "--batch", str(batch), "--seq", str(seq), "--json"] + count
            peer_cmd = [py, f"scripts/bench/bench_torch_{kind}.py", "--model", model, "--batch", str(batch), "--seq", str(seq)] + count
            own_fp32 = None
            if a.bf16 and kind == "train":
                own_fp32 = run(ours_cmd)["ms_per_step"] if r % 2 == 1 else None
                ours_cmd, peer_cmd = ours_cmd + ["--bf16"], peer_cmd + ["--bf16"]
            if r % 2 == 0:
                ours = run(ours_cmd); peer = run(peer_cmd)
            else:
                peer = run(peer_cmd); ours = run(ours_cmd)
            if a.bf16 and kind == "train" and own_fp32 is None:
                own_fp32 = run(ours_cmd[:-1])["ms_per_step"]
            key = "ms_per_batch" if kind == "infer" else "ms_per_step"
            speedup = peer[key] / ours[key]   # >1: bertqa faster (throughput ratio; latency ratio is 1/speedup)
            ratios.setdefault(name, []).append(speedup)
            best.setdefault(name, []).append((ours.get("best_" + key) or ours[key], peer.get("best_" + key) or peer[key]))
            print(json.dumps({"round": r + 1, "first": "bertqa" if r % 2 == 0 else "pytorch", "work": name, "bertqa_ms": ours[key], "bertqa_best_ms": ours.get("best_" + key),
                              "pytorch_ms": peer[key], "pytorch_best_ms": peer.get("best_" + key),
                              "bertqa_gflops": ours.get("gflops"), "bertqa_rss_mb": ours.get("peak_rss_mb"),
                              "pytorch_rss_mb": peer.get("peak_rss_mb"), "speedup": round(speedup, 3),
                              **({"bertqa_fp32_ms": own_fp32, "vs_own_fp32": round(own_fp32 / ours[key], 3)} if own_fp32 else {})}),
                  flush=True)
    for name, rs in ratios.items():
        print(f"{name}: bertqa is {statistics.median(rs):.2f}x PyTorch's throughput (latency {1 / statistics.median(rs):.2f}x), "
              f"median of {len(rs)} rounds: {', '.join(f'{x:.2f}' for x in rs)}; "
              f"fastest batch of all rounds: {min(o for o, _ in best[name]):.1f} ms vs {min(q for _, q in best[name]):.1f} ms "
              f"({min(q for _, q in best[name]) / min(o for o, _ in best[name]):.2f}x)")

if __name__ == "__main__":
    main()
