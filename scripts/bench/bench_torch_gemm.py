#!/usr/bin/env python3
"""PyTorch (MKL) peer of `bertqa bench gemm`: torch.nn.functional.linear (addmm) at the same
rows × in → out shapes, fp32, 2 threads by default. Prints one JSON object like --json.

    python3 scripts/bench/bench_torch_gemm.py [--threads 2] [--shapes 384x384x1152,...]
"""
import argparse, json, time
import torch

DEFAULT = "384x384x1152,384x384x384,384x384x1536,384x1536x384,6144x384x1152,6144x384x384,6144x384x1536,6144x1536x384"

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shapes", default=DEFAULT)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=1.0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    out = []
    with torch.inference_mode():
        for item in a.shapes.split(","):
            rows, i, o = map(int, item.split("x"))
            x, w, b = torch.rand(rows, i) * 2 - 1, torch.rand(o, i) * 2 - 1, torch.rand(o) * 2 - 1
            torch.nn.functional.linear(x, w, b)
            calls, start = 0, time.perf_counter()
            while time.perf_counter() - start < a.seconds:
                torch.nn.functional.linear(x, w, b)
                calls += 1
            dt = (time.perf_counter() - start) / calls
            out.append({"rows": rows, "in": i, "out": o, "ms": round(dt * 1000, 3), "gflops": round(2 * rows * i * o / dt / 1e9, 1)})
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "shapes": out}))

if __name__ == "__main__":
    main()
