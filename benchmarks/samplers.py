"""Sampler benchmark: particle-steps per second of every sampler with the exact
``eight-gaussians`` score, beside a bare torch loop doing the same arithmetic (an
unadjusted Langevin step with the mixture score written inline), on the CPU and on CUDA
when present.

    python benchmarks/samplers.py [--particles N ...] [--steps S] [--device cpu|cuda|all]

Prints one JSON object, the same as ``python -m explorer bench`` (which stays; both call
``explorer.bench.run_bench``), and a line per sampler on stderr. Each sampler's
``vs_bare`` is a ratio measured in one run, against the bare loop timed just before it on
the same device and particle count: compare those across machines, not the seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:        # run from a checkout without `pip install -e .`
    sys.path.insert(0, ROOT)

from explorer.bench import run_bench  # noqa: E402


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python benchmarks/samplers.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--particles", type=_positive, nargs="+", default=[1000, 10000],
                    help="particle counts, each timed (default: 1000 10000)")
    ap.add_argument("--steps", type=_positive, default=1000, help="steps per run (default: 1000)")
    ap.add_argument("--device", default="all", choices=["cpu", "cuda", "all"],
                    help="cpu, cuda, or all present (default)")
    a = ap.parse_args(argv)
    print(json.dumps(run_bench(a.particles, a.steps, a.device)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
