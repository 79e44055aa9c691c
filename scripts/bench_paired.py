#!/usr/bin/env python3
"""bertqa vs PyTorch inference, paired turn by turn: both models stay loaded (bertqa as
`bertqa bench infer --on-request`, PyTorch in this process), and they take turns of a few forward
passes each, the order alternating per pair (b: bertqa first, p: PyTorch first), with a pause
before each turn so the other side's libgomp threads have stopped spinning.

Why: this host's speed drifts by up to 2x within minutes (BENCHMARKS.md). `bench_side_by_side.py`
pairs whole processes, tens of seconds apart; here the two sides of a pair are a second or two
apart, so a pair's ratio sees (nearly) one machine state. Prints each pair, then per workload the
median ratio over the pairs, its quartiles, how many pairs bertqa won, and each side's median and
fastest turn.

    python3 scripts/bench_paired.py [--pairs 30] [--work 1x384] [--bertqa .build/release/bertqa]
    python3 scripts/bench_paired.py --against /tmp/base/bertqa ...   # two bertqa builds instead
    python3 scripts/bench_paired.py --precision bf16 ...   # bertqa --precision bf16 vs PyTorch in bfloat16

Needs the venv of BENCHMARKS.md (torch 2.13, transformers 4.57): run it with /work/venv/bin/python.
"""
import argparse, json, statistics, subprocess, sys, time

import torch

from bench_torch_infer import model_and_inputs, timed_passes

MINILM = "../shared/models/all-MiniLM-L6-v2"
WORK = [  # (name, model, batch, seq, passes per turn)
    ("MiniLM-L6 infer 16x384", MINILM, 16, 384, 1),
    ("MiniLM-L6 infer 1x384", MINILM, 1, 384, 4),
    ("BERT-base infer 16x384", "bert-base", 16, 384, 1),
    ("BERT-base infer 1x384", "bert-base", 1, 384, 2),
]


class Bertqa:
    """`bertqa bench infer --on-request`: one line out per turn, the pass times in ms."""
    def __init__(self, binary, model, batch, seq, precision):
        self.p = subprocess.Popen([binary, "bench", "infer", "--model", model, "--batch", str(batch), "--seq", str(seq),
                                   "--precision", precision, "--on-request"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = json.loads(self.p.stdout.readline() or "{}")
        if not ready.get("ready"):
            sys.exit(f"bertqa did not start: {ready}")

    def turn(self, passes):
        self.p.stdin.write(f"{passes}\n"); self.p.stdin.flush()
        return statistics.mean(json.loads(self.p.stdout.readline())["ms"])

    def close(self):
        self.p.stdin.close(); self.p.wait()


class Torch:
    def __init__(self, model, batch, seq, precision):
        self.model, self.inputs, _ = model_and_inputs(model, batch, seq, precision)

    def turn(self, passes):
        return statistics.mean(timed_passes(self.model, self.inputs, passes)) * 1000


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pairs", type=int, default=30)
    p.add_argument("--bertqa", default=".build/release/bertqa")
    p.add_argument("--work", help="only the workloads whose name contains this (e.g. 1x384)")
    p.add_argument("--pause", type=float, default=0.2, help="seconds of idle before each turn")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--against", help="another bertqa binary in PyTorch's place (\"pytorch\" in the output is this one)")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="both sides: bertqa --precision, PyTorch's model cast to it")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    summary = []
    for name, model, batch, seq, passes in WORK:
        if a.work and a.work not in name:
            continue
        ours = Bertqa(a.bertqa, model, batch, seq, a.precision)
        peer = Bertqa(a.against, model, batch, seq, a.precision) if a.against else Torch(model, batch, seq, a.precision)
        peer.turn(1)  # warm-up (bertqa warmed up before it said ready)
        pairs = []
        for i in range(a.pairs):
            sides = [ours, peer] if i % 2 == 0 else [peer, ours]
            ms = {}
            for side in sides:
                time.sleep(a.pause)
                ms[side] = side.turn(passes)
            pairs.append((ms[ours], ms[peer]))
            print(json.dumps({"work": name, "pair": i + 1, "first": "bertqa" if i % 2 == 0 else "pytorch",
                              "bertqa_ms": round(ms[ours], 2), "pytorch_ms": round(ms[peer], 2),
                              "speedup": round(ms[peer] / ms[ours], 3)}), flush=True)
        ours.close()
        if a.against:
            peer.close()
        ratios = sorted(q / o for o, q in pairs)
        quart = statistics.quantiles(ratios, n=4)
        o_ms, q_ms = [o for o, _ in pairs], [q for _, q in pairs]
        summary.append(f"{name}, {len(pairs)} pairs of {passes} pass(es): bertqa {statistics.median(ratios):.2f}x PyTorch's "
                       f"throughput (latency {1 / statistics.median(ratios):.2f}x), quartiles {quart[0]:.2f}-{quart[2]:.2f}, "
                       f"bertqa faster in {sum(r > 1 for r in ratios)}/{len(ratios)}; median turn {statistics.median(o_ms):.1f} vs "
                       f"{statistics.median(q_ms):.1f} ms, fastest {min(o_ms):.1f} vs {min(q_ms):.1f} ms "
                       f"({min(q_ms) / min(o_ms):.2f}x)")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
