"""Layout benchmark: why MALA, the CLD samplers and the shared-covariance mixture hold
points feature-major, (d, N), rather than (N, d). Times single torch ops at N points on
the CPU, one thread, each on the same numbers laid out both ways, in one run.

    OMP_NUM_THREADS=1 python benchmarks/layout.py [--points 1000]

Prints one JSON object: microseconds per op in each layout and their ratio (above 1:
the row-major (N, d) layout is slower).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import torch


def _us(fn, repeats):
    for _ in range(100):
        fn()
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t) / repeats * 1e6


def run(n=1000, repeats=3000):
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    rows = {name: torch.randn(n, k, generator=g) for name, k in (("x", 2), ("y", 2), ("logits", 8))}
    cols = {name: t.T.contiguous() for name, t in rows.items()}   # the same numbers, (k, N)
    acc = torch.rand(n, generator=g) > 0.5
    ops = {
        "where, a condition per point": (lambda r: torch.where(acc[:, None], r["y"], r["x"]),
                                         lambda c: torch.where(acc, c["y"], c["x"])),
        "amax over 8 components": (lambda r: r["logits"].amax(1, keepdim=True),
                                   lambda c: c["logits"].amax(0, keepdim=True)),
        "vecdot over 2 coordinates": (lambda r: torch.linalg.vecdot(r["x"], r["y"]),
                                      lambda c: torch.linalg.vecdot(c["x"], c["y"], dim=0)),
        "exp of the logits": (lambda r: torch.exp(r["logits"]), lambda c: torch.exp(c["logits"])),
        "vector_norm over 2 coordinates, (N, 2) view of (2, N) memory vs (N, 2)":
            (lambda r: torch.linalg.vector_norm(r["x"], dim=1),
             lambda c: torch.linalg.vector_norm(c["x"].T, dim=1)),
    }
    out = []
    for name, (row, col) in ops.items():
        r, c = _us(lambda: row(rows), repeats), _us(lambda: col(cols), repeats)
        out.append({"op": name, "row_major_us": r, "feature_major_us": c, "row_over_feature": r / c})
        print(f"{name:75s} (N, d) {r:7.2f} us  (d, N) {c:7.2f} us  ratio {r / c:5.2f}", file=sys.stderr)
    return {"benchmark": "layout", "points": n, "torch": torch.__version__, "ops": out}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=1000, help="points N (default: 1000)")
    args = ap.parse_args(argv)
    print(json.dumps(run(args.points), indent=1))


if __name__ == "__main__":
    main()
