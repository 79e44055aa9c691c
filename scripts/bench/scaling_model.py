#!/usr/bin/env python3
"""Expected data-parallel scaling of `mpirun -np N bertqa train` over N machines, on paper.

Ring allreduce moves 2(N-1)/N x 4 x P bytes per rank per step (fp32 gradients, P parameters),
in 2(N-1) messages per bucket. The sums overlap the backward pass except the last bucket, the
embeddings, whose gradients are finished only when the pass ends. So per step:

    T_comm   = 2(N-1)/N * 4P / bandwidth + 2(N-1) * buckets * latency
    exposed  = max(T_comm * embedding_share, T_comm - hideable * T_step)
    T(N)     = T_step(per-rank batch) + exposed

T_step is the measured one-machine step (2 cores, Zen 1, fp32, per-rank batch 16 x 384) and
scales linearly with the per-rank batch (optimistic for small batches); `hideable` is the
share of a step the backward pass takes before the embeddings (about 0.6 of it). Two cases:
weak scaling (16 windows per rank, the global batch grows with N) and strong scaling (a global
batch of 32 windows, as SQuAD fine-tuning uses, shared by N ranks).

    python3 scripts/bench/scaling_model.py [--step-seconds MINILM BERT DEBERTA] [--node-speedups 1 16]

Weak rows: efficiency T(1)/T(N). Strong rows: speed-up over one machine on the same global batch.
"""
import argparse

MODELS = [  # name, parameters, embedding share of them, buckets of 8 MB
    ("MiniLM-L6", 22.7e6, 11.92e6 / 22.7e6, 4),
    ("BERT-base", 108.9e6, 23.84e6 / 108.9e6, 13),
    ("DeBERTa-v3-base", 184.4e6, 98.98e6 / 184.4e6, 13),
]
LINKS = [("10 Gb/s", 1.25e9), ("25 Gb/s", 3.125e9), ("100 Gb/s", 12.5e9)]
RANKS = [2, 4, 8, 16, 32, 64]
LATENCY = 25e-6  # seconds per message over TCP
HIDEABLE = 0.6

def step(t16, batch, n, params, emb, buckets, bandwidth):
    t = t16 * batch / 16
    comm = 2 * (n - 1) / n * 4 * params / bandwidth + 2 * (n - 1) * buckets * LATENCY
    exposed = max(comm * emb, comm - HIDEABLE * t)
    return t, comm, exposed

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--step-seconds", nargs=3, type=float, default=[4.91, 37.98, 45.4],
                   help="one machine's step at 16 x 384 for MiniLM, BERT-base, DeBERTa-v3-base")
    p.add_argument("--node-speedups", nargs="+", type=float, default=[1, 16],
                   help="machines this many times faster than the measured one (16: a 32-core node)")
    a = p.parse_args()
    header = f"  {'':>28}" + "".join(f"{n:>7}" for n in RANKS)
    for (name, params, emb, buckets), measured in zip(MODELS, a.step_seconds):
        print(f"\n{name}: {params / 1e6:.1f} M parameters ({emb:.0%} embeddings); "
              f"{2 * (4 * params) / 1e6:.0f} MB per rank per step at large N")
        for speedup in a.node_speedups:
            t16 = measured / speedup
            print(f"  machines with a {t16:.2f} s step at 16 x 384"
                  + (" (one machine here)" if speedup == 1 else f" ({speedup:g}x the measured one)"))
            print(header)
            for link, bw in LINKS:
                weak = [t / (t + x) for t, _, x in (step(t16, 16, n, params, emb, buckets, bw) for n in RANKS)]
                print(f"  {'weak, 16/rank, ' + link:>28}" + "".join(f"{e:>7.0%}" for e in weak))
            for link, bw in LINKS:
                strong = []
                for n in RANKS:
                    if 32 % n:
                        strong.append("-")
                        continue
                    t, _, x = step(t16, 32 // n, n, params, emb, buckets, bw)
                    strong.append(f"{2 * t16 / (t + x):.1f}x")
                print(f"  {'strong, 32 global, ' + link:>28}" + "".join(f"{v:>7}" for v in strong))


if __name__ == "__main__":
    main()
