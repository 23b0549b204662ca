"""Benchmark: particle-steps per second of every sampler with the exact
``eight-gaussians`` score, beside a bare torch loop doing the same arithmetic (an
unadjusted Langevin step with the mixture score written inline, nothing else), on the
CPU and on CUDA when present. ``python -m explorer bench`` prints one JSON object."""
from __future__ import annotations

import math
import os
import platform
import sys
import time

import torch

from . import densities as D
from . import registry
from .mixture import LOGIT_FLOOR
from .simulate import simulate


def _bare_loop(x, steps, eps, means, var, generator, softmax=False):
    """ULA on eight-gaussians, score inline: equal weights, shared variance ``var``. The
    responsibilities are exp'd with the mixture's own clamp (``mixture.LOGIT_FLOOR``):
    ``softmax=True`` uses ``torch.softmax`` instead, whose exp of far logits takes the CPU's
    slow path (the loop the earlier figures in docs/performance.md were measured against)."""
    mt = means.T / var
    b = -(means**2).sum(1) / (2 * var)
    noise = math.sqrt(2 * eps)
    for _ in range(steps):
        logits = torch.addmm(b, x, mt)
        if softmax:
            r = torch.softmax(logits, dim=1)
        else:
            e = torch.exp((logits - logits.amax(1, keepdim=True)).clamp_(min=LOGIT_FLOOR))
            r = e / e.sum(1, keepdim=True)
        x = x + eps * (r @ means - x) / var + noise * torch.randn(x.shape, generator=generator, device=x.device)
    return x


def _sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def run_bench(particle_counts=(1000, 10000), steps=1000, device="all"):
    d = D.get("eight-gaussians")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) if device == "all" else [device]
    rows = []
    for dev in devices:
        for n in particle_counts:
            g = torch.Generator(device=dev).manual_seed(0)
            x = torch.randn(n, 2, device=dev, generator=g)
            means = d.mixture.means.to(dev, torch.float32)
            _bare_loop(x, 10, 1e-3, means, 0.125, g)        # warm-up
            _sync(dev)
            t = time.perf_counter()
            _bare_loop(x, steps, 6e-3, means, 0.125, g)
            _sync(dev)
            bare = n * steps / (time.perf_counter() - t)
            rows.append({"device": dev, "particles": n, "sampler": "bare-torch-ula", "steps": steps,
                         "particle_steps_per_s": bare, "vs_bare": 1.0})
            print(f"{dev} n={n:6d} bare torch ULA loop      {bare:12.3e} particle-steps/s", file=sys.stderr)
            for sampler in registry.names():
                levels = registry.get(sampler).level == "sigma"      # steps are spread over noise levels
                opts = {"sigmas": [5.66 * 0.6**i for i in range(10)], "steps_per_level": steps // 10} \
                    if levels else {"steps": steps}
                simulate(d, sampler, particles=n, seed=0, device=dev, frames=20,
                         **({"sigmas": opts["sigmas"][:1], "steps_per_level": 5} if levels else {"steps": 5}))
                _sync(dev)
                t = time.perf_counter()
                traj = simulate(d, sampler, particles=n, seed=0, device=dev, frames=200, **opts)
                _sync(dev)
                sec = time.perf_counter() - t
                done = int(traj.steps[-1])
                rate = n * done / sec
                rows.append({"device": dev, "particles": n, "sampler": sampler, "steps": done, "seconds": sec,
                             "particle_steps_per_s": rate, "vs_bare": rate / bare})
                print(f"{dev} n={n:6d} {sampler:12s} {done:5d} steps {sec:7.3f} s {rate:12.3e} particle-steps/s "
                      f"({rate / bare:.2f} of bare)", file=sys.stderr)
    # a reverse-SDE step against an annealed-Langevin step on the same device and particles,
    # both timed in this run (their ratio of particle-steps/s; above 1: the SDE step is dearer)
    rate = {(r["device"], r["particles"], r["sampler"]): r["particle_steps_per_s"] for r in rows}
    ratios = [{"device": dev, "particles": n, "reverse_sde_step_vs_annealed_step":
               rate[(dev, n, "annealed")] / rate[(dev, n, "reverse-sde")]}
              for dev in devices for n in particle_counts if (dev, n, "reverse-sde") in rate]
    for r in ratios:
        print(f"{r['device']} n={r['particles']:6d} a reverse-SDE step costs "
              f"{r['reverse_sde_step_vs_annealed_step']:.2f}x an annealed-Langevin step", file=sys.stderr)
    budgets = [_budget_ratios(dev) for dev in devices]
    machine = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
               "cpu_count": os.cpu_count(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
               "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    return {"benchmark": "samplers", "density": "eight-gaussians", "score": "exact", "machine": machine,
            "results": rows, "ratios": ratios, "budgets": budgets}


def _budget_ratios(dev, n=1000, repeats=5):
    """The issue's budgets as ratios of seconds measured in this run, on one mixture at n
    particles: a 500-step CLD or CLD-ODE run against a bare 1,000-step ULA loop (target
    <= 1), and a 1,000-step MALA run against it (target <= 2; MALA evaluates log p and the score
    once a step, at the proposal, and keeps the current state's).
    Each is timed ``repeats`` times, interleaved with the bare loop, and the medians taken:
    a busy machine slows both sides of a ratio alike."""
    d = D.get("eight-gaussians")
    means = d.mixture.means.to(dev, torch.float32)
    runs = {"cld": 500, "cld-ode": 500, "mala": 1000}
    times = {name: [] for name in ["bare", "bare_softmax", *runs]}
    for name, steps in runs.items():            # warm-up: first calls allocate and compile kernels
        simulate(d, name, particles=n, seed=0, device=dev, frames=20, steps=5)
    for _ in range(repeats):
        for name, softmax in (("bare", False), ("bare_softmax", True)):
            g = torch.Generator(device=dev).manual_seed(0)
            x = torch.randn(n, 2, device=dev, generator=g)
            _sync(dev)
            t = time.perf_counter()
            _bare_loop(x, 1000, 6e-3, means, 0.125, g, softmax=softmax)
            _sync(dev)
            times[name].append(time.perf_counter() - t)
        for name, steps in runs.items():
            t = time.perf_counter()
            simulate(d, name, particles=n, seed=0, device=dev, frames=200, steps=steps)
            _sync(dev)
            times[name].append(time.perf_counter() - t)
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    out = {"device": dev, "particles": n, "bare_ula_1000_steps_s": med["bare"],
           "bare_softmax_ula_1000_steps_s": med["bare_softmax"],
           "cld_500_steps_vs_bare_1000": med["cld"] / med["bare"],
           "cld_ode_500_steps_vs_bare_1000": med["cld-ode"] / med["bare"],
           "mala_1000_steps_vs_bare_1000": med["mala"] / med["bare"]}
    print(f"{dev} n={n} budgets (medians of {repeats}, this run): CLD 500 steps "
          f"{out['cld_500_steps_vs_bare_1000']:.2f}x a bare 1,000-step ULA loop (target <= 1), CLD-ODE "
          f"{out['cld_ode_500_steps_vs_bare_1000']:.2f}x (<= 1), MALA 1,000 steps "
          f"{out['mala_1000_steps_vs_bare_1000']:.2f}x (<= 2); the bare loop with torch.softmax instead of "
          f"the clamped exp takes {med['bare_softmax'] / med['bare']:.2f}x the one compared with", file=sys.stderr)
    return out
