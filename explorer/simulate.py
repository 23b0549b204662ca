"""One call from a density name to a judged run: defaults per sampler, initial
particles, the score source, and the metrics beside their noise floors. The CLI, the
benchmark and the app all go through here."""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from . import metrics
from .densities import Density
from .diffusions import CLD
from .kde import fit_kde
from .samplers import SAMPLERS, Trajectory, geometric_sigmas, level_steps
from .validate import check_work

INITS = ("gaussian", "uniform", "prior")


def score_source(density: Density, score: str = "exact", kde_points: int = 1000, seed: int = 0, **kde_kw):
    """The model a sampler follows: the density itself ('exact') or a Gaussian KDE of
    ``kde_points`` exact draws ('kde')."""
    if score == "exact":
        if not density.has_score:
            raise ValueError(f"'{density.name}' has no exact score (it is known only through samples); use --score kde")
        return density
    if score == "kde":
        if getattr(density, "kind", "") == "kde":
            return density
        return fit_kde(density, n=kde_points, seed=seed, **kde_kw)
    raise ValueError(f"unknown score source '{score}'; choose exact or kde")


def defaults(sampler: str, model) -> dict:
    """Options that give a good run on every built-in density (see README's table).
    ``model.scale`` is the target's narrowest local std where it has its mass,
    ``model.sigma_max`` its spread."""
    s = model.scale
    steps = getattr(model, "mixing_steps", 1000)
    if sampler == "langevin":
        # the small step keeps ULA's variance bias at +2.6% (spread +1.3%); 4x the steps
        # give it the time MALA's larger step covers, enough to cross gmm's low barrier
        return {"steps": 4 * steps, "step_size": 0.05 * s**2}
    if sampler == "mala":
        # the MALTA cap at 5/s leaves the drift alone within 5 std of a mode of std s and
        # walks particles in from the tails where a super-linear score traps plain MALA
        return {"steps": steps, "step_size": 1.0 * s**2, "drift_cap": 5.0 / s}
    if sampler == "annealed":
        # a learned noise-conditional net is sampled at the levels it was trained on
        sigmas = getattr(model, "sigmas", None) or geometric_sigmas(model.sigma_max, 0.1 * s)
        return {"sigmas": sigmas, "steps_per_level": level_steps(sigmas, s)}
    if sampler == "underdamped":
        return {"steps": steps}
    if sampler in ("cld", "cld-ode"):
        return {"steps": 500}
    raise ValueError(f"unknown sampler '{sampler}'; choose one of: {', '.join(SAMPLERS)}")


def known_bias(sampler: str, model) -> str | None:
    """What a default run of ``sampler`` on ``model`` is known to get wrong, in words for
    the user (None: nothing known). The CLD samplers need the target as a Gaussian
    mixture; an analytic density gives its lattice surrogate (``Density.as_mixture``),
    which is p smoothed by N(0, h0^2 I), so CLD samples p * N(0, h0^2 I)."""
    if sampler in ("cld", "cld-ode") and getattr(model, "kind", "") == "analytic":
        h0 = float(model.surrogate_bandwidth)
        s = float(model.scale)
        return (f"CLD needs the target as a mixture of Gaussians: for {model.name} that is its lattice surrogate, "
                f"p smoothed by N(0, h0²I) with h0 = {h0:.3g}, so CLD samples that smoothed law: where p is "
                f"narrowest (local std s = {s:.3g}) its samples are {100 * (math.sqrt(1 + h0**2 / s**2) - 1):.0f}% "
                "wider, √(s² + h0²). Annealed Langevin ends on the exact score of p; ULA, MALA and BAOAB follow "
                "it throughout.")
    return None


def initial(init: str, n: int, box, generator, device="cpu", dtype=torch.float32) -> torch.Tensor:
    """Starting particles: 'gaussian' N(centre, (half-width/2)^2 I), 'uniform' on the box,
    'prior' N(0, I) (the CLD and VP prior)."""
    x0, x1, y0, y1 = box
    z = torch.rand if init == "uniform" else torch.randn
    if init not in INITS:
        raise ValueError(f"unknown initial distribution '{init}'; choose one of: {', '.join(INITS)}")
    u = z(n, 2, generator=generator, device=device, dtype=dtype)
    if init == "prior":
        return u
    lo = torch.tensor([x0, y0], device=device, dtype=dtype)
    hi = torch.tensor([x1, y1], device=device, dtype=dtype)
    if init == "uniform":
        return lo + (hi - lo) * u
    return 0.5 * (lo + hi) + 0.25 * (hi - lo).max() * u


def simulate(model, sampler: str, particles: int = 1000, seed: int = 0, init: str = "gaussian",
             device: str = "cpu", frames: int = 200, box=None, x0=None, v0=None, **options) -> Trajectory:
    """Run ``sampler`` on ``model`` with defaults filled in; about ``frames`` frames are
    recorded. Start from ``x0`` (and ``v0`` for kinetic samplers) when given, else from
    a draw of ``init`` (CLD samplers: of their prior). All randomness comes from one
    generator seeded with ``seed``."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler '{sampler}'; choose one of: {', '.join(SAMPLERS)}")
    given = {k: v for k, v in options.items() if v is not None}
    opts = {**defaults(sampler, model), **given}
    if sampler == "annealed" and "steps_per_level" not in given:
        opts["steps_per_level"] = level_steps(opts["sigmas"], model.scale)     # the schedule follows the levels
    box = box or model.box
    g = torch.Generator(device=device).manual_seed(int(seed))
    if sampler in ("cld", "cld-ode"):
        cld = opts.setdefault("cld", getattr(model, "cld", None) or CLD())
        if x0 is None:
            x0, v0 = cld.prior_sample(particles, generator=g, device=device)
        total = opts["steps"] + 1
    else:
        if x0 is None:
            x0 = initial(init, particles, box, g, device)
        if sampler == "annealed":
            total = int(np.sum(np.broadcast_to(opts["steps_per_level"], (len(opts["sigmas"]),)))) + 1
        else:
            total = opts["steps"]
    check_work(int(x0.shape[0]), int(total))     # the server's limits (explorer.validate), before any work
    if v0 is not None and sampler in ("underdamped", "cld", "cld-ode"):
        opts["v"] = v0
    # annealed Langevin also records the end of every level: those frames count too
    forced = len(opts["sigmas"]) if sampler == "annealed" else 0
    opts.setdefault("record_every", max(1, math.ceil(total / max(frames - forced, 1))))
    half = 0.5 * max(box[1] - box[0], box[3] - box[2])
    opts.setdefault("escape", 50 * (half + max(abs(b) for b in box)))
    with torch.no_grad():
        traj = SAMPLERS[sampler](model, x0, generator=g, **opts)
    if traj.diverged_at is not None:
        advice = stable_step(sampler, model, opts)
        traj.params.update(advice)
        traj.message = f"{traj.message.split(' The step size')[0]} {advice['advice']}"
    return traj


def stable_step(sampler: str, model, opts: dict) -> dict:
    """The stability bound on the step for a target whose stiffest mode
    has std s = ``model.scale``, and a step to try instead (the default, which is well
    inside it): {'param', 'bound', 'suggested', 'advice'}. Exact for Gaussian modes;
    for curved targets (ring, banana) s is the narrowest width, so the bound is a guide.

    * Langevin, step form x + eps s(x) + sqrt(2 eps) z: on N(0, s^2) the step multiplies
      x by 1 - eps/s^2, stable for eps < 2 s^2.
    * Annealed: level i uses eps_i = eps sigma_i^2 / sigma_L^2 on p_sigma_i (local
      variance s^2 + sigma_i^2), stable while eps_i < 2 (s^2 + sigma_i^2); the first level
      binds: eps < 2 sigma_L^2 (1 + s^2 / sigma_1^2) (in NCSN's a = 2 eps: a_1 < 4 (sigma_1^2 + s^2)).
    * Underdamped BAOAB with curvature k = 1/s^2: h < 2 sqrt(M / k) = 2 s sqrt(M).
    * CLD samplers run a fixed time horizon: more steps make each step smaller."""
    s = float(model.scale)
    dflt = defaults(sampler, model)
    if sampler in ("langevin", "mala"):
        bound, param, sym = 2 * s**2, "step_size", "ε"
        why = f"2 s² = {2 * s**2:.3g} (s = {s:.3g}, the narrowest mode's std)"
        suggested = dflt["step_size"]
    elif sampler == "annealed":
        sig = [float(x) for x in opts["sigmas"]]
        bound, param, sym = 2 * sig[-1] ** 2 * (1 + s**2 / sig[0] ** 2), "step_size", "ε"
        why = f"2 σ_L² (1 + s²/σ_1²) = {bound:.3g} (σ_1 = {sig[0]:.3g}, σ_L = {sig[-1]:.3g}, s = {s:.3g})"
        suggested = 0.1 * sig[-1] ** 2
    elif sampler == "underdamped":
        mass = float(opts.get("mass", 1.0))
        bound, param, sym = 2 * s * math.sqrt(mass), "step_size", "h"
        why = f"2 s √M = {bound:.3g} (s = {s:.3g}, M = {mass:.3g})"
        suggested = 0.25 * s * math.sqrt(mass)
    else:
        steps = int(opts.get("steps", dflt["steps"]))
        suggested = max(dflt["steps"], 2 * steps)
        return {"param": "steps", "bound": None, "suggested": suggested,
                "advice": f"The CLD time step 1/{steps} is too coarse here: try {suggested} steps."}
    used = float(opts.get(param, dflt.get(param, suggested)))
    suggested = min(suggested, 0.5 * bound)
    return {"param": param, "bound": bound, "suggested": suggested,
            "advice": (f"{sym} = {used:.3g} is {'above' if used >= bound else 'near'} the stable bound {why}: "
                       f"try {sym} = {suggested:.3g}.")}


def _cached(density, key, make):
    """A per-density cache of what depends only on the target (exact draws are fixed by
    their seeds), so a page that judges many runs on one target pays for it once."""
    store = density.__dict__.setdefault("_judge_cache", {})
    if key not in store:
        store[key] = make()
    return store[key]


def exact_spread(density, n: int = 50_000) -> float:
    """``mode_stats``' spread of ``n`` exact draws: 1 for Gaussian modes (the statistic is
    exact there), the calibration for modes that are not Gaussian (double-well)."""
    if density.kind == "mixture":
        return 1.0
    return _cached(density, ("spread", n), lambda: metrics.mode_stats(
        density.sample(n, torch.Generator().manual_seed(7)).numpy(), density.modes)["spread"])


def evaluate(traj: Trajectory, density: Density, n_reference: int = 2000, seed: int = 0) -> dict:
    """Energy distance to ``n_reference`` exact draws beside its noise floor (the value 99%
    of exact sample sets of the same size stay below, ``metrics.energy_null``); mode
    weights and spread for targets with modes."""
    ref = _cached(density, ("reference", n_reference, seed),
                  lambda: density.sample(n_reference, torch.Generator().manual_seed(seed + 1)).numpy())
    out = {"reference": ref}
    samples = traj.samples
    if np.isfinite(samples).all():
        null = _cached(density, ("null", len(samples), n_reference, seed),
                       lambda: metrics.energy_null(density.sample, ref, len(samples), seed=seed + 2))
        out.update(energy_distance=metrics.energy_distance(samples, ref),
                   energy_distance_floor=metrics.noise_floor(null),
                   energy_distance_null_sd=float(np.std(null, ddof=1)))
        if density.modes is not None:
            out.update(metrics.mode_stats(samples, density.modes, exact_spread=exact_spread(density)))
    return out


def timed(fn, *a, **kw):
    t = time.perf_counter()
    r = fn(*a, **kw)
    return r, time.perf_counter() - t
