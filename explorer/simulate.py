"""One call from a density name to a judged run: defaults per sampler, initial
particles, the score source, and the metrics beside their noise floors. The CLI, the
benchmark and the app all go through here."""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from . import metrics, registry
from .densities import Density
from .kde import fit_kde
from .samplers import Trajectory, level_steps
from .validate import check_work

INITS = ("gaussian", "uniform", "prior", "left")


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
    """The sampler's default options on ``model`` (its registry entry, ``registry.py``)."""
    return registry.get(sampler).defaults(model)


def known_bias(sampler: str, model) -> str | None:
    """What a default run of ``sampler`` on ``model`` is known to get wrong, in words for
    the user (None: nothing known). The CLD samplers need the target as a Gaussian
    mixture; an analytic density gives its lattice surrogate (``Density.as_mixture``),
    which is p smoothed by N(0, h0^2 I), so CLD samples p * N(0, h0^2 I)."""
    if registry.get(sampler).field == "cld" and getattr(model, "kind", "") == "analytic":
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
    'prior' N(0, I) (the CLD and VP prior), 'left' N((left quarter, centre), (width/12)^2 I)
    (one side of a symmetric target: the start that shows a barrier's clock)."""
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
    centre, sd = gaussian_start(init, box)
    return torch.tensor(centre, device=device, dtype=dtype) + sd * u


def gaussian_start(init: str, box) -> tuple[tuple[float, float], float]:
    """(centre, std) of a Gaussian start: 'gaussian' the box's centre and a quarter of its
    largest width; 'prior' (0, 0) and 1; 'left' the box's left quarter and a twelfth of its
    width (double-well's box, ±3: N((-1.5, 0), 0.5²), 0.1% of it right of the barrier)."""
    x0, x1, y0, y1 = (float(b) for b in box)
    if init == "prior":
        return (0.0, 0.0), 1.0
    if init == "left":
        return (x0 + 0.25 * (x1 - x0), 0.5 * (y0 + y1)), (x1 - x0) / 12
    if init == "gaussian":
        return (0.5 * (x0 + x1), 0.5 * (y0 + y1)), 0.25 * max(x1 - x0, y1 - y0)
    raise ValueError(f"'{init}' is not a Gaussian start; those are gaussian, prior and left")


def simulate(model, sampler: str, particles: int = 1000, seed: int = 0, init: str = "gaussian",
             device: str = "cpu", frames: int = 200, box=None, x0=None, v0=None, **options) -> Trajectory:
    """Run ``sampler`` on ``model`` with defaults filled in; about ``frames`` frames are
    recorded. Start from ``x0`` (and ``v0`` for kinetic samplers) when given, else from
    a draw of ``init`` (CLD samplers: of their prior). All randomness comes from one
    generator seeded with ``seed``."""
    entry = registry.get(sampler)
    given = {k: v for k, v in options.items() if v is not None}
    opts = {**entry.defaults(model), **given}
    if "sigmas" in opts and "steps_per_level" not in given:
        opts["steps_per_level"] = level_steps(opts["sigmas"], model.scale)     # the schedule follows the levels
    box = box or model.box
    g = torch.Generator(device=device).manual_seed(int(seed))
    if entry.own_prior:
        if x0 is None:
            x0, v0 = entry.prior(model, opts, particles, g, device)
        total = opts["steps"] + int(entry.kinetic)      # CLD takes a denoising step after its grid
    else:
        if x0 is None:
            x0 = initial(init, particles, box, g, device)
        if "sigmas" in opts:
            total = int(np.sum(np.broadcast_to(opts["steps_per_level"], (len(opts["sigmas"]),)))) + 1
        else:
            total = opts["steps"]
    check_work(int(x0.shape[0]), int(total))     # the server's limits (explorer.validate), before any work
    if v0 is not None and entry.kinetic:
        opts["v"] = v0
    # annealed Langevin also records the end of every level: those frames count too
    forced = len(opts["sigmas"]) if "sigmas" in opts else 0
    opts.setdefault("record_every", max(1, math.ceil(total / max(frames - forced, 1))))
    half = 0.5 * max(box[1] - box[0], box[3] - box[2])
    opts.setdefault("escape", 50 * (half + max(abs(b) for b in box)))
    with torch.no_grad():
        traj = entry.run(model, x0, generator=g, **opts)
    if traj.diverged_at is not None:
        advice = entry.stability(model, opts)
        traj.params.update(advice)
        traj.advice = advice["advice"]
    return traj


def stable_step(sampler: str, model, opts: dict) -> dict:
    """The stability bound on the step for a target whose stiffest mode has std
    s = ``model.scale``, and a step to try instead: {'param', 'bound', 'suggested',
    'advice'} (the sampler's registry entry; exact for Gaussian modes, a guide for curved
    targets, where s is the narrowest width)."""
    return registry.get(sampler).stability(model, opts)


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


EVAL_MAX = 2000          # particles judged: the noise floor costs 99 energy distances, O(99 n m)


def evaluate(traj: Trajectory, density: Density, n_reference: int = 2000, seed: int = 0,
             max_particles: int = EVAL_MAX) -> dict:
    """Energy distance of the first ``max_particles`` particles to ``n_reference`` exact
    draws beside its noise floor (the value 99% of exact sample sets of the same size stay
    below, ``metrics.energy_null``); mode weights and spread for targets with modes;
    ``judged`` the number of particles judged. A run that ends on noise (the forward SDE)
    is judged against the exact law it ends on, p_1, instead of the target."""
    if registry.get(traj.sampler).ends == "noise":
        density = _end_law(traj, density)
    ref = _cached(density, ("reference", n_reference, seed),
                  lambda: density.sample(n_reference, torch.Generator().manual_seed(seed + 1)).numpy())
    samples = traj.samples[:max_particles]
    out = {"reference": ref, "judged": len(samples)}
    if np.isfinite(samples).all():
        null = _cached(density, ("null", len(samples), n_reference, seed),
                       lambda: metrics.energy_null(density.sample, ref, len(samples), seed=seed + 2))
        out.update(energy_distance=metrics.energy_distance(samples, ref),
                   energy_distance_floor=metrics.noise_floor(null),
                   energy_distance_null_sd=float(np.std(null, ddof=1)))
        if density.modes is not None:
            out.update(metrics.mode_stats(samples, density.modes, exact_spread=exact_spread(density)))
    return out


class _Law:
    """An exact law to judge a run's last frame against, when that is not the target."""

    modes = None

    def __init__(self, mix):
        self.mix = mix

    def sample(self, n, generator=None):
        return self.mix.sample(n, generator).float()


def _end_law(traj: Trajectory, density):
    """The forward SDE's exact p_t at the run's last t (the data noised by the SDE's kernel),
    cached on the target: the law a forward run ends on."""
    from .diffusions import sde_from_config
    if not hasattr(density, "as_mixture"):
        raise ValueError(f"'{getattr(density, 'name', 'this target')}' has no mixture form to noise")
    cfg, t = traj.params["sde"], float(traj.levels[-1])
    key = ("end law", tuple(sorted(cfg.items())), round(t, 9))
    return _cached(density, key, lambda: _Law(sde_from_config(cfg).marginal_mixture(density.as_mixture(), t)))


def timed(fn, *a, **kw):
    t = time.perf_counter()
    r = fn(*a, **kw)
    return r, time.perf_counter() - t
