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

    python3 scripts/bench/bench_paired.py [--pairs 30] [--work 1x384] [--bertqa .build/release/bertqa]
    python3 scripts/bench/bench_paired.py --against /tmp/base/bertqa ...   # two bertqa builds instead
    python3 scripts/bench/bench_paired.py --precision bf16 ...   # bertqa --precision bf16 vs PyTorch in bfloat16
    python3 scripts/bench/bench_paired.py --onnxruntime ...      # ONNX Runtime as a third side (fp32)
    python3 scripts/bench/bench_paired.py --precision int8 ...   # bertqa int8 vs ONNX Runtime int8 vs bertqa fp32
    python3 scripts/bench/bench_paired.py --shapes roberta-base,deberta-v3-base   # other architectures

With --onnxruntime (pip install onnxruntime onnx; 1.32 measured), the PyTorch model is exported to
ONNX (opset 17, the same weights) and run by an ONNX Runtime session on the same threads; each pair
becomes a round of three turns whose order rotates. --ort-fused first runs ONNX Runtime's BERT
fusions (`onnxruntime.transformers.optimizer`: fused attention, SkipLayerNorm, BiasGelu).

With --precision int8 the sides are bertqa --precision int8, ONNX Runtime on the exported model
quantized the usual way (`onnxruntime.quantization.quantize_dynamic`, QInt8 weights, activations
quantized at run time; --ort-per-channel / --ort-reduce-range pass its options) and bertqa fp32;
PyTorch only exports. Ratios are against bertqa int8.

Needs the venv of BENCHMARKS.md (torch 2.13, transformers 4.57): run it with /work/venv/bin/python.
"""
import argparse, json, statistics, subprocess, sys, time

import torch

from bench_torch_infer import model_and_inputs, timed_calls, timed_passes

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


class OnnxRuntime:
    """The Torch side's model exported to ONNX, run by an ONNX Runtime session (fp32, or int8 by
    quantize_dynamic)."""
    def __init__(self, torch_side, threads, fused, int8=None):
        import os, tempfile
        try:
            import onnx  # noqa: F401 (torch.onnx.export needs it)
            import onnxruntime as ort
        except ImportError:
            sys.exit("--onnxruntime needs ONNX Runtime: pip install onnxruntime onnx (in the venv of BENCHMARKS.md)")
        model, inputs = torch_side.model, torch_side.inputs
        names = ["input_ids", "attention_mask", "token_type_ids"]
        self.dir = tempfile.TemporaryDirectory()
        path = os.path.join(self.dir.name, "model.onnx")
        torch.onnx.export(model, tuple(inputs[n] for n in names), path, input_names=names,
                          output_names=["start_logits", "end_logits"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "seq"} for n in names})
        if fused:
            from onnxruntime.transformers import optimizer
            cfg = model.config
            optimized = optimizer.optimize_model(path, model_type="bert", num_heads=cfg.num_attention_heads,
                                                 hidden_size=cfg.hidden_size, opt_level=1)
            path = os.path.join(self.dir.name, "fused.onnx")
            optimized.save_model_to_file(path)
        if int8 is not None:
            from onnxruntime.quantization import QuantType, quantize_dynamic
            quantized = os.path.join(self.dir.name, "int8.onnx")
            quantize_dynamic(path, quantized, weight_type=QuantType.QInt8, **int8)
            path = quantized
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.feed = {n: inputs[n].numpy() for n in names}
        # The same function as the PyTorch side: its start logits, to float rounding.
        with torch.no_grad():
            reference = model(**inputs).start_logits.numpy()
        gap = float(abs(self.session.run(None, self.feed)[0] - reference).max())
        if int8 is not None:
            print(f"ONNX Runtime int8 ({int8}): start logits within {gap:.4f} of PyTorch's fp32", file=sys.stderr)
        elif gap > 1e-3:
            sys.exit(f"ONNX Runtime's logits differ from PyTorch's by {gap}")

    def turn(self, passes):
        return statistics.mean(timed_calls(lambda: self.session.run(None, self.feed), passes)) * 1000


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
    p.add_argument("--shapes", help="comma-separated built-in shapes (roberta-base, deberta-v3-base, ... see "
                   "scripts/bench/shapes.py) to run at 16x384 and 1x384 instead of MiniLM and BERT-base")
    p.add_argument("--pause", type=float, default=0.2, help="seconds of idle before each turn")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--against", help="another bertqa binary in PyTorch's place (\"pytorch\" in the output is this one)")
    p.add_argument("--precision", choices=["fp32", "bf16", "int8"], default="fp32",
                   help="both sides: bertqa --precision, PyTorch's model cast to it (int8: see above)")
    p.add_argument("--ort-per-channel", action="store_true", help="int8: quantize_dynamic(per_channel=True)")
    p.add_argument("--ort-reduce-range", action="store_true", help="int8: quantize_dynamic(reduce_range=True)")
    p.add_argument("--onnxruntime", action="store_true", help="ONNX Runtime as a third side (fp32 only)")
    p.add_argument("--ort-fused", action="store_true", help="with --onnxruntime: its BERT fusions first")
    a = p.parse_args()
    if a.onnxruntime and (a.against or a.precision != "fp32"):
        p.error("--onnxruntime runs beside PyTorch in fp32 (not with --against or --precision bf16/int8)")
    if a.precision == "int8" and a.against:
        p.error("--precision int8 pairs bertqa with ONNX Runtime (not with --against)")
    torch.set_num_threads(a.threads)
    summary = []
    work = WORK if not a.shapes else [
        (f"{shape} infer {b}x384", shape, b, 384, passes) for shape in a.shapes.split(",") for b, passes in ((16, 1), (1, 2))]
    for name, model, batch, seq, passes in work:
        if a.work and a.work not in name:
            continue
        ours = Bertqa(a.bertqa, model, batch, seq, a.precision)
        if a.precision == "int8":
            exported = Torch(model, batch, seq, "fp32")
            options = dict(per_channel=a.ort_per_channel, reduce_range=a.ort_reduce_range)
            peer = OnnxRuntime(exported, a.threads, a.ort_fused, int8=options)
            del exported
            names = {ours: "bertqa", peer: "onnxruntime", Bertqa(a.bertqa, model, batch, seq, "fp32"): "bertqa_fp32"}
        else:
            peer = Bertqa(a.against, model, batch, seq, a.precision) if a.against else Torch(model, batch, seq, a.precision)
            names = {ours: "bertqa", peer: "pytorch"}
        if a.onnxruntime:
            names[OnnxRuntime(peer, a.threads, a.ort_fused)] = "onnxruntime"
        for side in names:
            if side is not ours:
                side.turn(1)  # warm-up (bertqa warmed up before it said ready)
        sides = list(names)
        rounds = []
        for i in range(a.pairs):
            order = sides[i % len(sides):] + sides[:i % len(sides)]
            ms = {}
            for side in order:
                time.sleep(a.pause)
                ms[names[side]] = side.turn(passes)
            rounds.append(ms)
            line = {"work": name, "pair": i + 1, "first": names[order[0]]}
            line.update({f"{n}_ms": round(t, 2) for n, t in ms.items()})
            for other in ms:
                if other != "bertqa":
                    line["speedup" if other == "pytorch" else f"speedup_vs_{other}"] = round(ms[other] / ms["bertqa"], 3)
            print(json.dumps(line), flush=True)
        for side in names:
            if isinstance(side, Bertqa):
                side.close()
        for peer_name in [n for n in names.values() if n != "bertqa"]:
            label = {"pytorch": "PyTorch", "onnxruntime": "ONNX Runtime", "bertqa_fp32": "bertqa fp32"}[peer_name]
            if a.precision == "int8" and peer_name == "onnxruntime":
                label = "ONNX Runtime int8"
            summary.append(f"{name}, {len(rounds)} pairs of {passes} pass(es): "
                           + paired_summary([r["bertqa"] for r in rounds], [r[peer_name] for r in rounds], label))
    print("\n".join(summary))


def paired_summary(o_ms, q_ms, label):
    """bertqa (o_ms) against one peer (q_ms), turn by turn: the median ratio and its spread."""
    ratios = sorted(q / o for o, q in zip(o_ms, q_ms))
    quart = statistics.quantiles(ratios, n=4)
    return (f"bertqa {statistics.median(ratios):.2f}x {label}'s throughput (latency {1 / statistics.median(ratios):.2f}x), "
            f"quartiles {quart[0]:.2f}-{quart[2]:.2f}, bertqa faster in {sum(r > 1 for r in ratios)}/{len(ratios)}; "
            f"median turn {statistics.median(o_ms):.1f} vs {statistics.median(q_ms):.1f} ms, "
            f"fastest {min(o_ms):.1f} vs {min(q_ms):.1f} ms ({min(q_ms) / min(o_ms):.2f}x)")


if __name__ == "__main__":
    main()
