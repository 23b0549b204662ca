"""One entry per sampler: everything the CLI, the scene pipeline, the figures and the
pages know about it. Adding a sampler is its algorithm in ``samplers.py`` plus one
``register(Sampler(...))`` here (and its settings in ``settings.py`` if it takes new ones).

Defaults are chosen for a target whose narrowest local std where it has its mass is
``model.scale`` and whose spread is ``model.sigma_max``; ``model.mixing_steps`` is the
target's own step budget. Step sizes follow the step form x + eps s(x) + sqrt(2 eps) z
(docs/math.md).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from . import samplers as S
from . import sdes as SD
from .diffusions import CLD, VE, VP


@dataclass(frozen=True)
class Sampler:
    """A sampler's facts.

    ``run(model, x0, generator=..., **options)`` is the algorithm (``samplers.py``);
    ``defaults(model)`` its default options; ``stability(model, options)`` the bound on
    its step and a step to try instead; ``options(model, settings)`` engine options from
    page settings by URL name (0 means the default); ``settings`` the Sample-page settings
    it reads, in widget order; ``step_setting`` the one the "use the suggested step"
    button sets; ``steps_option`` the option the CLI's ``--steps`` sets; ``note(defaults)``
    what the Sample page says under the animation about this sampler. ``kinetic``: carries a velocity (drawn in phase space); ``level``: what
    ``Trajectory.levels`` holds ("sigma", "t" or None); ``needs``: the score it requires
    ("score", "log_prob" for a Metropolis test, "noised" for scores at every noise level
    or time); ``field``: the arrows drawn under it ("fixed" grad log p, "levels" one field
    per sigma, "cld" grad_x log p_t of CLD's forward law, "sde" grad log p_t of its SDE);
    ``prior(model, options, n, generator, device) -> (x, v)``: its own starting law (CLD's
    N(0, I) x N(0, M I), an SDE's prior, the data for the forward process), None where it
    starts from the page's initial particles; ``ends``: what its last frame is a draw of,
    the target ("data") or the SDE's p_1 ("noise": judged against that law)."""
    name: str
    label: str
    run: Callable
    defaults: Callable
    stability: Callable
    options: Callable
    settings: tuple = ()
    step_setting: str = "steps"
    steps_option: str = "steps"
    note: Callable | None = None
    kinetic: bool = False
    level: str | None = None
    needs: str = "score"
    field: str = "fixed"
    prior: Callable | None = None
    ends: str = "data"

    @property
    def own_prior(self) -> bool:
        return self.prior is not None


SAMPLERS: dict[str, Sampler] = {}


def register(entry: Sampler) -> Sampler:
    SAMPLERS[entry.name] = entry
    return entry


def get(name: str) -> Sampler:
    try:
        return SAMPLERS[name]
    except KeyError:
        raise ValueError(f"unknown sampler '{name}'; choose one of: {', '.join(SAMPLERS)}") from None


def names() -> tuple:
    return tuple(SAMPLERS)


def label(name: str) -> str:
    return SAMPLERS[name].label if name in SAMPLERS else name


def check_model(name: str, model):
    """ValueError if ``model`` cannot drive sampler ``name``: a Metropolis test needs a
    smooth log-density, noised scores exist in closed form only for the Gaussian KDE."""
    entry = get(name)
    kernel = getattr(model, "kernel", "gaussian")
    if entry.needs == "log_prob" and kernel != "gaussian":
        raise ValueError(f"{entry.label} needs a smooth log-density: choose the Gaussian KDE kernel")
    if entry.needs == "noised" and kernel != "gaussian":
        raise ValueError(f"{entry.label} needs noised scores, which exist in closed form only for the Gaussian KDE "
                         "kernel: choose it in the sidebar's KDE section")


# ----- stability: the bound on the step for a stiffest mode of std s ------------------
def _advice(sym, used, bound, why, suggested):
    suggested = min(suggested, 0.5 * bound)
    return {"param": "step_size", "bound": bound, "suggested": suggested,
            "advice": (f"{sym} = {used:.3g} is {'above' if used >= bound else 'near'} the stable bound {why}: "
                       f"try {sym} = {suggested:.3g}.")}


def _used(opts, dflt, suggested):
    return float(opts.get("step_size", dflt.get("step_size", suggested)))


def _step_stability(name):
    """On N(0, s^2) the step multiplies x by 1 - eps/s^2: stable for eps < 2 s^2."""
    def stability(model, opts):
        s = float(model.scale)
        dflt = SAMPLERS[name].defaults(model)
        return _advice("ε", _used(opts, dflt, dflt["step_size"]), 2 * s**2,
                       f"2 s² = {2 * s**2:.3g} (s = {s:.3g}, the narrowest mode's std)", dflt["step_size"])
    return stability


def _annealed_stability(model, opts):
    """Level i uses eps_i = eps sigma_i^2 / sigma_L^2 on p_sigma_i (local variance
    s^2 + sigma_i^2), stable while eps_i < 2 (s^2 + sigma_i^2); the first level binds:
    eps < 2 sigma_L^2 (1 + s^2 / sigma_1^2)."""
    s = float(model.scale)
    sig = [float(x) for x in opts["sigmas"]]
    bound = 2 * sig[-1] ** 2 * (1 + s**2 / sig[0] ** 2)
    why = f"2 σ_L² (1 + s²/σ_1²) = {bound:.3g} (σ_1 = {sig[0]:.3g}, σ_L = {sig[-1]:.3g}, s = {s:.3g})"
    suggested = 0.1 * sig[-1] ** 2
    return _advice("ε", float(opts.get("step_size", suggested)), bound, why, suggested)


def _underdamped_stability(model, opts):
    """BAOAB with curvature k = 1/s^2: h < 2 sqrt(M / k) = 2 s sqrt(M)."""
    s = float(model.scale)
    mass = float(opts.get("mass", 1.0))
    bound = 2 * s * math.sqrt(mass)
    suggested = 0.25 * s * math.sqrt(mass)
    return _advice("h", float(opts.get("step_size", suggested)), bound,
                   f"2 s √M = {bound:.3g} (s = {s:.3g}, M = {mass:.3g})", suggested)


def _cld_stability(model, opts):
    """CLD samplers run a fixed time horizon: more steps make each step smaller."""
    steps = int(opts.get("steps", 500))
    suggested = max(500, 2 * steps)
    return {"param": "steps", "bound": None, "suggested": suggested,
            "advice": f"The CLD time step 1/{steps} is too coarse here: try {suggested} steps."}


# ----- options from page settings (0 = the default) ------------------------------------
def _step_options(step_key):
    def options(model, s):
        out = {}
        if s.get(step_key):
            out["step_size"] = float(s[step_key])
        if s.get("steps"):
            out["steps"] = int(s["steps"])
        return out
    return options


def _underdamped_options(model, s):
    out = _step_options("h")(model, s)
    out["mass"] = float(s.get("mass") or 1.0)
    if s.get("friction"):
        out["friction"] = float(s["friction"])
    return out


def _annealed_options(model, s):
    levels = int(s.get("levels") or S.LEVELS)
    smax = float(s.get("sig_max") or model.sigma_max)
    smin = float(s.get("sig_min") or 0.1 * model.scale)
    if not smax > smin > 0:
        raise ValueError(f"annealing needs σ_max > σ_min > 0 (got σ_max = {smax:g}, σ_min = {smin:g})")
    out = {"sigmas": S.geometric_sigmas(smax, smin, levels)}
    if s.get("per_level"):
        out["steps_per_level"] = int(s["per_level"])
    if s.get("a_eps"):
        out["step_size"] = float(s["a_eps"])
    return out


def _cld_options(model, s):
    m = float(s.get("cld_mass") or 0.25)
    g = float(s.get("cld_friction") or 2 * math.sqrt(m))
    out = {"cld": CLD(mass=m, friction=g)}
    if s.get("steps"):
        out["steps"] = int(s["steps"])
    return out


# ----- defaults ----------------------------------------------------------------------
def _mixing(model):
    return getattr(model, "mixing_steps", 1000)


def _annealed_defaults(model):
    # a learned noise-conditional net is sampled at the levels it was trained on
    sigmas = getattr(model, "sigmas", None) or S.geometric_sigmas(model.sigma_max, 0.1 * model.scale)
    return {"sigmas": sigmas, "steps_per_level": S.level_steps(sigmas, model.scale)}


register(Sampler(
    "langevin", "Langevin (ULA)", S.langevin,
    # the small step keeps ULA's variance bias at +2.6% (spread +1.3%); 4x the steps give
    # it the time MALA's larger step covers, enough to cross gmm's low barrier
    defaults=lambda m: {"steps": 4 * _mixing(m), "step_size": 0.05 * m.scale**2},
    stability=_step_stability("langevin"), options=_step_options("eps"), settings=("eps", "steps"),
    step_setting="eps"))

register(Sampler(
    "mala", "MALA", S.mala,
    # the MALTA cap at 5/s leaves the drift alone within 5 std of a mode of std s and walks
    # particles in from the tails where a super-linear score traps plain MALA
    defaults=lambda m: {"steps": getattr(m, "mala_steps", _mixing(m)), "step_size": 1.0 * m.scale**2,
                        "drift_cap": 5.0 / m.scale},
    stability=_step_stability("mala"),
    options=_step_options("eps"), settings=("eps", "steps"), step_setting="eps", needs="log_prob",
    note=lambda d: (f"MALA's proposal uses the score capped at length {d['drift_cap']:.3g} = 5/s (MALTA, Roberts & "
                    "Tweedie 1996): where the score grows faster than linearly (double-well, banana), plain MALA's "
                    "proposals from the far tails overshoot and are all rejected, so those particles never move; the "
                    "cap walks them in. Within ~5 std of a mode the cap is not reached, and the chain stays exact.")))

register(Sampler(
    "annealed", "annealed Langevin", S.annealed_langevin, defaults=_annealed_defaults,
    stability=_annealed_stability, options=_annealed_options,
    settings=("a_eps", "levels", "per_level", "sig_max", "sig_min"), step_setting="a_eps", steps_option="steps_per_level",
    level="sigma", needs="noised", field="levels"))

register(Sampler(
    "underdamped", "underdamped (BAOAB)", S.underdamped, defaults=lambda m: {"steps": _mixing(m)},
    stability=_underdamped_stability, options=_underdamped_options,
    settings=("h", "steps", "mass", "friction"), step_setting="h", kinetic=True))

for _name, _label, _fn in (("cld", "CLD (SSCS)", S.cld_sscs), ("cld-ode", "CLD probability-flow ODE", S.cld_ode)):
    register(Sampler(
        _name, _label, _fn, defaults=lambda m: {"steps": getattr(m, "cld_steps", 500), "cld": getattr(m, "cld", None) or CLD()},
        stability=_cld_stability, options=_cld_options, settings=("steps", "cld_mass", "cld_friction"),
        kinetic=True, level="t", needs="noised", field="cld",
        prior=lambda m, o, n, g, dev: o["cld"].prior_sample(n, generator=g, device=dev)))


# ----- score SDEs (Song et al. 2021): VE or VP, the time-dependent score grad log p_t -------
def sde_of(model, s: dict):
    """The SDE a page's settings ask for: VP with beta_min/beta_max, or VE with sigma_min/
    sigma_max (0: five times the data's spread, and a hundredth of its narrowest scale).
    VE's prior is N(0, sigma_max^2 I) while p_1 is the data noised by it: the data's spread
    and its offset from 0 must be small against sigma_max, or the prior's mass lands in the
    wrong basins (mixture-1to4 at sigma_max = its spread: weights 0.25 / 0.75)."""
    if s.get("sde", "vp") == "vp":
        lo, hi = float(s.get("beta_min") or 0.1), float(s.get("beta_max") or 20.0)
        if not hi > lo > 0:
            raise ValueError(f"VP needs β_max > β_min > 0 (got β_min = {lo:g}, β_max = {hi:g})")
        return VP(lo, hi)
    smax = float(s.get("sig_max") or 5 * model.sigma_max)
    smin = float(s.get("sig_min") or 0.01 * model.scale)
    if not smax > smin > 0:
        raise ValueError(f"VE needs σ_max > σ_min > 0 (got σ_max = {smax:g}, σ_min = {smin:g})")
    return VE(smin, smax)


def _sde_options(model, s, corrector: bool = False):
    out = {"sde": sde_of(model, s)}
    if s.get("steps"):
        out["steps"] = int(s["steps"])
    if corrector and s.get("snr") is not None:          # only pc has a corrector
        out["snr"] = float(s["snr"])
    return out


def _sde_stability(model, opts):
    steps = int(opts.get("steps", 500))
    return {"param": "steps", "bound": None, "suggested": 2 * steps,
            "advice": f"The time step 1/{steps} is too coarse here: try {2 * steps} steps."}


def _data(model, o, n, g, dev):
    if not hasattr(model, "sample"):
        raise ValueError("the forward process starts from draws of the data: choose the exact or kde score")
    return model.sample(n, g).to(device=dev, dtype=torch.float32), None


def _prior(model, o, n, g, dev):
    return o["sde"].prior_sample(n, generator=g, device=dev), None


_SDE_SETTINGS = ("sde", "steps", "beta_min", "beta_max", "sig_max", "sig_min")
for _name, _label, _fn, _steps, _extra, _start in (
        ("forward", "forward SDE (data → noise)", SD.forward, 500, (), _data),
        ("reverse-sde", "reverse-time SDE", SD.reverse_sde, 1000, (), _prior),
        ("pc", "predictor-corrector", SD.pc, 1000, ("snr",), _prior),
        ("pf-ode", "probability-flow ODE (Heun)", SD.pf_ode, 200, (), _prior)):
    register(Sampler(
        _name, _label, _fn, defaults=lambda m, k=_steps: {"sde": VP(), "steps": k}, stability=_sde_stability,
        options=lambda m, s, c="snr" in _extra: _sde_options(m, s, c), settings=_SDE_SETTINGS + _extra, level="t", needs="noised", field="sde",
        prior=_start, ends="noise" if _name == "forward" else "data"))
