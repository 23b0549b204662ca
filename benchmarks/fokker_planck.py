"""Fokker-Planck benchmark: the default ``langevin`` scene on ``eight-gaussians`` solved on
an N x N grid for F frames (``explorer/fokker_planck.py``), and how the cost grows with
N and with the horizon.

    python benchmarks/fokker_planck.py [--grid 201] [--frames 200]

Prints one JSON object: seconds of the default scene (the issue's budget: 2 s on the
2-core CI machine) and of each grid size and frame count, with the share spent factorising
(one sparse LU per field and step size) and solving (one per frame).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import scipy.sparse.linalg as spl  # noqa: E402

from explorer import densities as D  # noqa: E402
from explorer import fokker_planck as FP  # noqa: E402


def _parts(d, n):
    """Seconds to build A, to factorise I - dt A, and one solve, on an n x n grid."""
    grid = FP.Grid(d.box, n)
    t = time.perf_counter()
    a = FP.generator(d, grid)
    build = time.perf_counter() - t
    t = time.perf_counter()
    lu = spl.splu(sp.identity(n * n, format="csc") - 0.125 * a, permc_spec="MMD_AT_PLUS_A")
    factor = time.perf_counter() - t
    b = np.random.default_rng(0).random(n * n)
    t = time.perf_counter()
    for _ in range(20):
        lu.solve(b)
    return build, factor, (time.perf_counter() - t) / 20


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python benchmarks/fokker_planck.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--grid", type=int, default=201)
    ap.add_argument("--frames", type=int, default=200)
    a = ap.parse_args(argv)
    d = D.get("eight-gaussians")
    FP.run(d, "langevin", box=d.box, n=41, frames=5)          # warm-up: imports, first LU
    t = time.perf_counter()
    sol = FP.run(d, "langevin", box=d.box, n=a.grid, frames=a.frames)
    default = time.perf_counter() - t
    print(f"default scene: {a.grid}x{a.grid}, {a.frames} frames: {default:.2f} s (mass error {sol.mass_error:.1e})",
          file=sys.stderr)
    rows = []
    for n in (101, 151, 201, 301):
        build, factor, solve = _parts(d, n)
        t = time.perf_counter()
        FP.run(d, "langevin", box=d.box, n=n, frames=a.frames)
        total = time.perf_counter() - t
        rows.append({"grid": n, "frames": a.frames, "seconds": total, "build_A": build, "factorise": factor,
                     "solve_each": solve})
        print(f"grid {n:3d}: {total:6.2f} s  (A {build:.3f} s, LU {factor:.3f} s, a solve {1000 * solve:.1f} ms)",
              file=sys.stderr)
    horizon = []
    for frames in (50, 100, 200, 400):
        t = time.perf_counter()
        FP.run(d, "langevin", box=d.box, n=a.grid, frames=frames)
        horizon.append({"grid": a.grid, "frames": frames, "seconds": time.perf_counter() - t})
        print(f"{frames:3d} frames on {a.grid}: {horizon[-1]['seconds']:.2f} s", file=sys.stderr)
    longer = []                          # the horizon: steps x eps, frames fixed
    steps0 = int(FP.clock("langevin", d)[3])
    for k in (1, 2, 4, 8):
        t = time.perf_counter()
        sol = FP.run(d, "langevin", box=d.box, n=a.grid, frames=a.frames, options={"steps": k * steps0})
        longer.append({"grid": a.grid, "frames": a.frames, "horizon": float(sol.times[-1]),
                       "seconds": time.perf_counter() - t})
        print(f"horizon t = {sol.times[-1]:5.1f} ({k}x): {longer[-1]['seconds']:.2f} s", file=sys.stderr)
    app = []                             # the Sample page's toggle: 121^2 cells, its default frames
    for sampler in FP.SAMPLERS:
        t = time.perf_counter()
        FP.run(d, sampler, box=d.box, n=121, frames=a.frames)
        app.append({"sampler": sampler, "grid": 121, "frames": a.frames, "seconds": time.perf_counter() - t})
        print(f"app scene {sampler:12s} 121x121, {a.frames} frames: {app[-1]['seconds']:.2f} s", file=sys.stderr)
    print(json.dumps({"benchmark": "fokker-planck", "density": "eight-gaussians", "sampler": "langevin",
                      "default": {"grid": a.grid, "frames": a.frames, "seconds": default},
                      "grids": rows, "frames": horizon, "horizons": longer, "app": app,
                      "cpu_count": os.cpu_count()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
