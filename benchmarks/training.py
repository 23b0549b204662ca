"""Training benchmark: steps per second of every objective, and the default training of
``eight-gaussians`` against its target (<= 10 s on 2 CPU cores to a relative Fisher
divergence <= 0.05 at every noise level from the largest sigma down to 0.05).

    python benchmarks/training.py [--compare] [--quick]

Prints one JSON object (``run_train_bench()`` returns it): the machine, steps/s per
objective, the default run's Fisher divergence per sigma and the step it first met the
target. ``--compare`` adds the measurement behind the defaults: EDM against NCSNv2
preconditioning (and the bare MLP without Fourier features) over three seeds at the
default budget; ``--quick`` runs 500 training steps instead, to check the script works.
All of it is measured in one run: compare objectives with each other within a run; the
seconds depend on the machine and its load, the step counts do not.
(Was ``python -m explorer.train_bench``.)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:        # run from a checkout without `pip install -e .`
    sys.path.insert(0, ROOT)

import torch  # noqa: E402

from explorer.training import OBJECTIVES, Trainer  # noqa: E402

TARGET_FISHER = 0.05
TARGET_SIGMA_MIN = 0.05


def steps_per_second(objective, density="eight-gaussians", steps=200, warmup=20, **kw) -> float:
    """Training steps per second of ``objective`` with the default network and batch."""
    tr = Trainer(density, objective, steps=warmup + steps, **kw)
    for _ in range(warmup):
        tr.train_step()
    t = time.perf_counter()
    for _ in range(steps):
        tr.train_step()
    return steps / (time.perf_counter() - t)


def default_training(density="eight-gaussians", seed=0, every=250, **kw) -> dict:
    """Train with the defaults, reporting every ``every`` steps: the wall-clock seconds of
    training (evaluation excluded), the relative Fisher divergence per sigma at the end,
    and the first report at which every sigma >= 0.05 is within the target."""
    tr = Trainer(density, seed=seed, **kw)
    reached = None
    last = None
    for r in tr.run(every=every):
        worst = max(v for s, v in r["fisher"].items() if s >= TARGET_SIGMA_MIN)
        if reached is None and worst <= TARGET_FISHER:
            reached = {"step": r["step"], "seconds": round(r["elapsed"], 2)}
        last = r
    worst = max(v for s, v in last["fisher"].items() if s >= TARGET_SIGMA_MIN)
    return {"density": tr.density.name, "objective": tr.objective, "steps": tr.step, "seed": seed,
            "seconds": round(last["elapsed"], 2), "steps_per_second": round(tr.step / last["elapsed"], 1),
            "fisher": {f"{s:.4g}": round(v, 4) for s, v in last["fisher"].items()},
            "fisher_max_sigma_ge_0.05": round(worst, 4), "target_met": worst <= TARGET_FISHER,
            "target_first_reached": reached}


def compare_preconditioning(seeds=(0, 1, 2), **kw) -> dict:
    """Max relative Fisher divergence over sigma >= 0.05 (and at the smallest sigma) after
    the default budget, for EDM and NCSNv2 preconditioning, and EDM without Fourier features."""
    variants = {"edm": {"preconditioning": "edm"}, "ncsnv2": {"preconditioning": "ncsnv2"},
                "edm-no-fourier": {"preconditioning": "edm", "fourier": 0}}
    out = {}
    for name, opts in variants.items():
        rows = [default_training(seed=s, **opts, **kw) for s in seeds]
        out[name] = {"fisher_max_sigma_ge_0.05": [r["fisher_max_sigma_ge_0.05"] for r in rows],
                     "fisher_smallest_sigma": [list(r["fisher"].values())[-1] for r in rows],
                     "first_reached_step": [(r["target_first_reached"] or {}).get("step") for r in rows]}
    return out


def run_train_bench(compare=False, quick=False) -> dict:
    """The JSON-able figures: machine, steps/s per objective, the default training run
    (and with ``compare`` the preconditioning comparison)."""
    result = {"machine": {"python": platform.python_version(), "torch": torch.__version__,
                          "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                          "platform": platform.platform()}}
    n = 50 if quick else 200
    result["steps_per_second"] = {o: round(steps_per_second(o, steps=n), 1) for o in OBJECTIVES}
    result["default_training"] = default_training(**({"steps": 500} if quick else {}))
    if compare:
        result["preconditioning"] = compare_preconditioning(**({"steps": 500} if quick else {}))
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python benchmarks/training.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--compare", action="store_true",
                    help="add EDM vs NCSNv2 preconditioning (and no Fourier features), seeds 0-2")
    ap.add_argument("--quick", action="store_true", help="500 training steps and 50 timed steps: a smoke run")
    a = ap.parse_args(argv)
    print(json.dumps(run_train_bench(compare=a.compare, quick=a.quick), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
