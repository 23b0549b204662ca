"""Named lecture scenes, and the lockstep runner the Compare page and the lessons use.

A preset is a plain dict (JSON-able, no Streamlit):

* ``title`` and ``watch`` (2-3 sentences: what to look at and why);
* ``page``: the app page that shows it (``density``, ``sample`` or ``compare``);
* ``settings``: what differs from the defaults (``TARGET_DEFAULTS``, the sidebar's
  target and KDE, and ``PAGE_DEFAULTS[page]``), named as the app's URL query
  parameters, so ``scene(name)`` sets up every widget and ``query(name)`` is a link.

Sampler settings follow ``explorer.simulate``: 0 means "the default for this target"
(``simulate.defaults``).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .diffusions import CLD
from .samplers import LEVELS, SAMPLERS, Trajectory, geometric_sigmas
from .simulate import initial, simulate

# Every setting of the app, by its URL name, with its default: the sidebar's target
# (and KDE) and each page's settings. The pages take their widget defaults from here.
TARGET_DEFAULTS = {"target": "eight-gaussians", "radius": 2.0, "width": 0.2, "inner": 1.0, "outer": 2.5,
                   "rwidth": 0.15, "barrier": 2.0, "curvature": 1.0, "data_n": 1000, "kernel": "gaussian",
                   "bw": "scott", "bw_h": 0.2, "bw_shape": "full", "kde_n": 1000}
PAGE_DEFAULTS = {
    "density": {"sigma": 0.0, "arrows": "normalised", "colour": False, "logp": False, "arrows_n": 21,
                "kde_side": False, "kde_pts": True},
    "sample": {"sampler": "annealed", "score": "exact", "particles": 1000, "init": "gaussian", "seed": 0,
               "eps": 0.0, "a_eps": 0.0, "h": 0.0, "steps": 0, "levels": LEVELS, "per_level": 0, "sig_max": 0.0,
               "sig_min": 0.0, "mass": 1.0, "friction": 0.0, "cld_mass": 0.25, "cld_friction": 0.0,
               "frames": 200, "trails": True, "field": True},
    "compare": {"cmp": ["langevin", "annealed", "cld"], "c_score": "exact", "c_particles": 1000,
                "c_init": "prior", "c_seed": 0, "c_eps": 0.0, "c_steps": 0, "c_friction": 0.0, "c_frames": 200},
    "train": {"tr_objective": "ncsn", "tr_width": 128, "tr_depth": 3, "tr_steps": 4000, "tr_lr": 5e-3,
              "tr_batch": 512, "tr_seed": 0},
}

# What each score-matching objective needs and costs (README: `python -m explorer.train_bench`,
# 2 CPU cores): shown beside the objectives lesson.
OBJECTIVES_TABLE = [
    {"objective": "esm", "matches": "the Gaussian KDE's score (a target field)", "steps/s": 346,
     "gives": "the KDE's score, not ∇log p (0.67 from it on eight-gaussians)"},
    {"objective": "ism", "matches": "tr ∇s + ½|s|² (Hyvärinen): no target needed", "steps/s": 268,
     "gives": "∇log p; two backward passes for the trace"},
    {"objective": "ssm", "matches": "vᵀ∇(vᵀs) + ½|s|², random v (sliced)", "steps/s": 383,
     "gives": "∇log p; one projection replaces the trace"},
    {"objective": "dsm", "matches": "the noise added at one σ (Vincent)", "steps/s": 832,
     "gives": "∇log p_σ at that σ only (not ∇log p)"},
    {"objective": "ncsn", "matches": "the noise at all 20 σ at once, λ(σ) = σ²", "steps/s": 767,
     "gives": "s(x, σ) at every level: what annealed Langevin needs"},
    {"objective": "hsm", "matches": "the velocity noise of the CLD diffusion", "steps/s": 595,
     "gives": "∇ᵥ log pₜ(x, v): what the CLD samplers need"},
]

PRESETS: dict[str, dict] = {
    "why-annealing": {
        "title": "Why annealing? Song & Ermon's 1/5–4/5 mixture",
        "page": "compare",
        "settings": {"target": "mixture-1to4", "cmp": ["langevin", "annealed"], "c_init": "uniform"},
        "watch": ("Both samplers start from the same uniform particles. Plain Langevin follows the local "
                  "score into whichever mode is nearer and ends with about half of the particles in each "
                  "mode, although the truth is 1/5 and 4/5: near the modes the score says nothing about "
                  "their weights. Annealed Langevin first follows heavily noised densities whose fields see both "
                  "modes at once, then lowers the noise level by level, and ends at 1/5 and 4/5 within sampling "
                  "noise (0.205 / 0.795 here: compare the mode-weight bars) with its energy distance at the noise "
                  "floor."),
    },
    "step-too-large": {
        "title": "Step size too large: Langevin blows up",
        "page": "sample",
        "settings": {"target": "eight-gaussians", "sampler": "langevin", "eps": 0.35, "steps": 100},
        "watch": ("Each mode has variance s² = 0.125, and the Langevin step x + ε s(x) + √(2ε) z is stable "
                  "near a mode only for ε < 2 s² = 0.25. At ε = 0.35 every step overshoots the mode by more "
                  "than it corrects, the particles swing out with growing amplitude, and the run stops with "
                  "the step at which it diverged. Set ε back to 0 (the default, 0.05 s²) to see it settle."),
    },
    "langevin-vs-mala": {
        "title": "Langevin's bias, and how MALA removes it",
        "page": "compare",
        "settings": {"target": "eight-gaussians", "cmp": ["langevin", "mala"], "c_eps": 0.1},
        "watch": ("Both use the same step ε = 0.1. Unadjusted Langevin's stationary law is not the target: on "
                  "a Gaussian of variance s² = 0.125 its variance is s²/(1 − ε/2s²), 1.67× too large, so its std "
                  "is √1.67 = 1.29× too large. The table's within-mode spread (the std around each mode over the "
                  "mode's true std; 1 is exact) reads about 1.3–1.4 for Langevin, a little above 1.29: the "
                  "widened blobs of neighbouring modes begin to overlap. MALA proposes the same move but "
                  "accepts it with a Metropolis–Hastings test, so its spread stays at 1; the price is the "
                  "rejected moves (its acceptance rate). The energy distance is too blunt to see this widening "
                  "at 1,000 particles: judge by the spread row."),
    },
    "kinetic": {
        "title": "Overdamped vs underdamped vs CLD",
        "page": "compare",
        "settings": {"target": "eight-gaussians", "cmp": ["langevin", "underdamped", "cld"], "c_friction": 1.4},
        "watch": ("All three start from the same N(0, I) particles. Overdamped Langevin creeps down the "
                  "gradient with small random steps. Underdamped Langevin carries momentum: with its friction "
                  "set to a quarter of critical (Γ = 1.4), about half of its particles fly out past the ring of "
                  "modes and swing back before friction settles them, all within the first 3% of the run: drag "
                  "the slider slowly from 0 to 3%. Critical damping, Γ = 2√M/s (5.7 here, the default "
                  "when Γ is 0), is the smallest friction that settles without swinging: set Γ to 0 and "
                  "underdamped looks like Langevin. CLD uses critical damping, where its forward diffusion "
                  "relaxes fastest, and runs it backwards in time with noise only on the velocity, so its paths "
                  "are smooth. The Sample page shows 'underdamped' and 'cld' in phase space (x and v)."),
    },
    "kde-bandwidth": {
        "title": "KDE bandwidth: Scott's rule on two rings",
        "page": "density",
        "settings": {"target": "two-rings", "bw": "scott", "kde_n": 500, "kde_side": True},
        "watch": ("Left: the true two rings and their score; right: a Gaussian KDE of 500 exact draws. "
                  "Scott's rule scales the bandwidth with the spread of the whole data set, which for rings is "
                  "large: the KDE fills the inner ring's hole (its density at the centre is 63% of its peak, "
                  "where the truth is nearly 0) and keeps only a faint shoulder for the outer ring, so most "
                  "arrows point into a blurred disc. In the sidebar's KDE section set the bandwidth to a number: "
                  "0.1 puts the crests back at radii 1.0 and 2.5, where the rings are; 0.02 breaks them into "
                  "spikes around the data points (dozens of bumps along the inner ring)."),
    },
    "objectives": {
        "title": "Score-matching objectives compared",
        "page": "train",
        "settings": {"target": "eight-gaussians", "tr_objective": "ssm", "tr_steps": 1000},
        "watch": ("The six objectives learn from samples alone, but not all of them learn ∇log p. ISM and SSM "
                  "learn ∇log p itself: sharp inside the modes and poorly determined between them, where there "
                  "are no samples (watch the error map light up there). DSM learns ∇log p_σ, the score of the "
                  "data noised at its one σ; NCSN learns ∇log p_σ at every level at once, which is what annealed "
                  "Langevin needs; HSM learns CLD's velocity score ∇ᵥ log pₜ(x, v). ESM learns the KDE's score: "
                  "once it matches it, it stays as far from the exact score as the KDE itself (relative Fisher "
                  "divergence ~0.67 on these eight modes). The line under the settings says what each objective "
                  "learns, and the Fisher chart and error map compare the network with that field: train ssm, "
                  "then switch to esm and compare."),
    },
    "noise-smooths": {
        "title": "Noise fills the gaps between modes",
        "page": "density",
        "settings": {"target": "mixture-1to4", "sigma": 5.0},
        "watch": ("At σ = 0 each mode has its own basin: following the arrows from about half of the box leads "
                  "to the light mode, and nothing in the field says the other one holds 4/5 of the mass. Noise "
                  "widens the heavy mode's basin: 60% of the box at σ = 3, and at σ = 5 the noised density "
                  "p_σ = p ∗ N(0, σ²I) has a single peak, so every arrow leads towards the heavy mode. Move "
                  "the noise slider from 5 down to 0 and watch the light mode's basin come back: this is the "
                  "sequence of fields annealed Langevin follows (see 'Why annealing?')."),
    },
}


def names() -> list[str]:
    return list(PRESETS)


def get(name: str) -> dict:
    if name not in PRESETS:
        raise ValueError(f"unknown preset '{name}'; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


def scene(name: str) -> dict:
    """Every setting of the preset's page and of the target: defaults, then the preset."""
    p = get(name)
    unknown = set(p["settings"]) - set(TARGET_DEFAULTS) - set(PAGE_DEFAULTS[p["page"]])
    if unknown:
        raise ValueError(f"preset '{name}' sets unknown settings: {sorted(unknown)}")
    return {**TARGET_DEFAULTS, **PAGE_DEFAULTS[p["page"]], **p["settings"]}


def query(name: str, full: bool = False) -> dict:
    """URL query parameters of the preset: what differs from the defaults, or with
    ``full`` every setting of its page and target (a link that also resets what an
    earlier scene changed). Lists become repeated parameters (``?cmp=a&cmp=b``)."""
    p = get(name)
    values = scene(name)
    base = {**TARGET_DEFAULTS, **PAGE_DEFAULTS[p["page"]]}
    out = {}
    for k, v in values.items():
        if not full and k != "target" and v == base[k]:
            continue
        out[k] = url_value(v)
    return out


def url_value(v):
    """A setting as URL text: true/false, a list of strings (a repeated parameter),
    whole floats without '.0'."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return [str(x) for x in v]
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def sampler_options(sampler: str, model, s: dict) -> dict:
    """Engine options from page settings (0 means the sampler's default)."""
    opts = {}
    if sampler in ("langevin", "mala", "underdamped"):
        eps = s.get("h") if sampler == "underdamped" else s.get("eps")
        if eps:
            opts["step_size"] = float(eps)
        if s.get("steps"):
            opts["steps"] = int(s["steps"])
    if sampler == "underdamped":
        opts["mass"] = float(s.get("mass") or 1.0)
        if s.get("friction"):
            opts["friction"] = float(s["friction"])
    if sampler == "annealed":
        levels = int(s.get("levels") or LEVELS)
        smax = float(s.get("sig_max") or model.sigma_max)
        smin = float(s.get("sig_min") or 0.1 * model.scale)
        if not smax > smin > 0:
            raise ValueError(f"annealing needs σ_max > σ_min > 0 (got σ_max = {smax:g}, σ_min = {smin:g})")
        opts["sigmas"] = geometric_sigmas(smax, smin, levels)
        if s.get("per_level"):
            opts["steps_per_level"] = int(s["per_level"])
        if s.get("a_eps"):
            opts["step_size"] = float(s["a_eps"])
    if sampler in ("cld", "cld-ode"):
        m = float(s.get("cld_mass") or 0.25)
        g = float(s.get("cld_friction") or 2 * math.sqrt(m))
        opts["cld"] = CLD(mass=m, friction=g)
        if s.get("steps"):
            opts["steps"] = int(s["steps"])
    return opts


# ----- running several samplers in lockstep -----------------------------------------
KINETIC = ("underdamped", "cld", "cld-ode")


def lockstep(model, samplers, *, particles: int = 1000, seed: int = 0, init: str = "gaussian", frames: int = 200,
             box=None, options: dict | None = None, device: str = "cpu") -> dict[str, Trajectory]:
    """Run several samplers from the *same* initial particles and the same noise seed.

    One draw x0 from ``initial(init, ...)`` feeds every sampler; kinetic samplers also
    share one velocity draw z (v0 = sqrt(M) z). CLD samplers need a draw of their prior
    N(0, I) x N(0, M I): with ``init='prior'`` x0 is one and is shared; with any other
    init they start from their own prior draw (their ``params['start']`` says which).
    Every sampler's noise comes from a generator seeded with ``seed + 1``. Options are
    ``simulate.defaults`` updated by ``options[sampler]`` (None values ignored)."""
    box = box or model.box
    options = options or {}
    g0 = torch.Generator(device=device).manual_seed(int(seed))
    x0 = initial(init, particles, box, g0, device)
    z = torch.randn(particles, 2, generator=g0, device=device, dtype=torch.float32)
    out = {}
    for name in samplers:
        if name not in SAMPLERS:
            raise ValueError(f"unknown sampler '{name}'; choose one of: {', '.join(SAMPLERS)}")
        opts = {k: v for k, v in (options.get(name) or {}).items() if v is not None}
        start, x, v = init, x0.clone(), None
        if name in ("cld", "cld-ode"):
            if init == "prior":
                v = math.sqrt((opts.get("cld") or getattr(model, "cld", None) or CLD()).mass) * z
            else:
                x, start = None, "own prior"            # simulate draws it from the prior
        elif name == "underdamped":
            v = math.sqrt(opts.get("mass", 1.0)) * z
        traj = simulate(model, name, particles=particles, seed=int(seed) + 1, init=init, device=device,
                        frames=frames, box=box, x0=x, v0=v, **opts)
        traj.params["start"] = start
        traj.params.pop("v", None)
        out[name] = traj
    return out


def initial_positions(trajs: dict[str, Trajectory]) -> dict[str, np.ndarray]:
    """The first frame of each run (to check that they share their start)."""
    return {k: t.positions[0] for k, t in trajs.items()}
