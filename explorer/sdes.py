"""Score SDEs (Song, Sohl-Dickstein, Kingma, Kumar, Ermon & Poole, ICLR 2021): the forward
process that turns data into noise, the reverse-time SDE and the probability-flow ODE
that turn noise back into data with the time-dependent score grad log p_t, the
predictor-corrector sampler, and the ODE's exact log-likelihood.

Time runs from 0 (data) to 1 (prior). ``sde`` is ``diffusions.VE`` or ``diffusions.VP``:
dx = f(x, t) dt + g(t) dW with VE f = 0, g^2 = d sigma^2/dt and VP f = -beta(t) x / 2,
g^2 = beta(t). A score model ``model.score(x, sigma)`` (a density, a Gaussian KDE, a
noise-conditional network) gives grad log p_t through ``sde.score(model, x, t)``.
Every sampler records ``t`` in ``Trajectory.levels``.
"""
from __future__ import annotations

import math

import torch

from .mixture import MixturePath
from .samplers import Trajectory, _noise, _Recorder


def times(steps: int, eps: float) -> torch.Tensor:
    """The reverse grid t_0 = 1 > ... > t_K = eps, uniform (Song et al.'s code)."""
    return torch.linspace(1.0, eps, steps + 1, dtype=torch.float64)


def _score(sde, model, x, t):
    return sde.score(model, x, float(t)).to(x.dtype)


def _exact_mixture(model):
    """The Gaussian mixture that is ``model`` at every noise level (a mixture target, a
    Gaussian KDE), else None (an analytic density's surrogate changes lattice with sigma;
    a network has none)."""
    if getattr(model, "kind", None) == "mixture" or (getattr(model, "kind", None) == "kde"
                                                      and getattr(model, "kernel", None) == "gaussian"):
        return model.mixture
    return None


def _scorer(sde, model, grid, x):
    """grad log p_t at the run's grid times, as (x, index) -> score. An exact mixture's p_t
    is the mixture of a_t X + s_t Z at every t: all the grid's parameters are computed once
    (``mixture.MixturePath``) instead of a new mixture each step; anything else is asked
    at each t through ``sde.score``."""
    mix = _exact_mixture(model)
    if mix is None:
        return lambda y, k: _score(sde, model, y, grid[k])
    a, s = zip(*(sde.marginal(float(t)) for t in grid))
    return MixturePath.scaled(mix, a, s, x.dtype, x.device).score


def forward(model, x, *, sde, steps=500, generator=None, record_every=1, escape=math.inf) -> Trajectory:
    """The forward SDE from data ``x`` (draws of the target) to t = 1, each step its exact
    Gaussian transition (no discretisation error): x_t is a draw of p_t at every frame."""
    rec = _Recorder("forward", record_every, escape)
    grid = torch.linspace(0.0, 1.0, steps + 1, dtype=torch.float64)
    rec.record(0, x, level=0.0)
    for k in range(1, steps + 1):
        x = sde.transition(x, float(grid[k - 1]), float(grid[k]), _noise(x, generator))
        if not rec.ok(k, x):
            break
        rec.record(k, x, level=float(grid[k]), force=k == steps)
    return rec.result(params={"steps": steps, "sde": sde.config()})


def reverse_sde(model, x, *, sde, steps=1000, eps=1e-3, denoise=True, generator=None, record_every=1,
                escape=math.inf) -> Trajectory:
    """The reverse-time SDE dx = [f - g^2 grad log p_t] dt + g dW-bar (Song et al. 2021, eq. 6)
    by Euler-Maruyama from the prior at t = 1 down to ``eps``; ``denoise``: a last noise-free
    step (Tweedie's mean, as the paper's code does)."""
    rec = _Recorder("reverse-sde", record_every, escape)
    grid = times(steps, eps)
    score = _scorer(sde, model, grid, x)
    rec.record(0, x, level=1.0)
    for k in range(1, steps + 1):
        t, dt = float(grid[k - 1]), float(grid[k - 1] - grid[k])
        g2 = sde.g2(t)
        mean = x - (sde.drift(x, t) - g2 * score(x, k - 1)) * dt
        x = mean + math.sqrt(g2 * dt) * _noise(x, generator) if not (denoise and k == steps) else mean
        if not rec.ok(k, x):
            break
        rec.record(k, x, level=float(grid[k]), force=k == steps)
    return rec.result(params={"steps": steps, "eps": eps, "sde": sde.config()})


def pc(model, x, *, sde, steps=500, snr=0.1, corrector_steps=1, eps=1e-3, denoise=True, generator=None,
       record_every=1, escape=math.inf) -> Trajectory:
    """Predictor-corrector (Song et al. 2021, Algorithms 2-3 in their general form): each
    step is one reverse-diffusion (Euler-Maruyama) predictor step, then
    ``corrector_steps`` Langevin steps at the new t with step 2 a (snr |z| / |s|)^2
    (a = 1 for VE, 1 - beta(t) dt for VP; norms averaged over the particles)."""
    if not snr >= 0:
        raise ValueError(f"snr must be ≥ 0, not {snr}")
    rec = _Recorder("pc", record_every, escape)
    grid = times(steps, eps)
    score = _scorer(sde, model, grid, x)
    rec.record(0, x, level=1.0)
    for k in range(1, steps + 1):
        t, t1, dt = float(grid[k - 1]), float(grid[k]), float(grid[k - 1] - grid[k])
        g2 = sde.g2(t)
        mean = x - (sde.drift(x, t) - g2 * score(x, k - 1)) * dt
        last = denoise and k == steps
        x = mean if last else mean + math.sqrt(g2 * dt) * _noise(x, generator)
        if not last:
            a = sde.corrector_alpha(t1, dt)
            for _ in range(corrector_steps):
                s = score(x, k)
                z = _noise(x, generator)
                step = 2 * a * (snr * z.norm(dim=1).mean() / s.norm(dim=1).mean().clamp_min(1e-12)) ** 2
                x = x + step * s + torch.sqrt(2 * step) * z
        if not rec.ok(k, x):
            break
        rec.record(k, x, level=t1, force=k == steps)
    return rec.result(params={"steps": steps, "snr": snr, "corrector_steps": corrector_steps, "eps": eps,
                              "sde": sde.config()})


def ode_velocity(sde, x, t, score):
    """The probability-flow ODE's velocity f - g^2 grad log p_t / 2 (Song et al. 2021, eq. 13),
    given the score at (x, t)."""
    return sde.drift(x, t) - 0.5 * sde.g2(t) * score


def ode_drift(sde, model, x, t):
    """``ode_velocity`` with the model's score."""
    return ode_velocity(sde, x, t, _score(sde, model, x, t))


def pf_ode(model, x, *, sde, steps=200, eps=1e-3, generator=None, record_every=1, escape=math.inf) -> Trajectory:
    """The probability-flow ODE from the prior at t = 1 to ``eps`` by Heun's method (a
    second-order predictor-corrector of the ODE, two score evaluations a step):
    deterministic given the prior draw."""
    rec = _Recorder("pf-ode", record_every, escape)
    grid = times(steps, eps)
    score = _scorer(sde, model, grid, x)

    def drift(y, k):
        return ode_velocity(sde, y, float(grid[k]), score(y, k))

    rec.record(0, x, level=1.0)
    for k in range(1, steps + 1):
        t, t1 = float(grid[k - 1]), float(grid[k])
        d0 = drift(x, k - 1)
        y = x + (t1 - t) * d0
        x = x + 0.5 * (t1 - t) * (d0 + drift(y, k))
        if not rec.ok(k, x):
            break
        rec.record(k, x, level=t1, force=k == steps)
    return rec.result(params={"steps": steps, "eps": eps, "sde": sde.config()})


def _drift_and_divergence(sde, model, x, t):
    """The ODE velocity and its exact divergence (2-D: two gradient passes, no Hutchinson)."""
    with torch.enable_grad():
        y = x.detach().requires_grad_(True)
        v = ode_drift(sde, model, y, t)
        div = sum(torch.autograd.grad(v[:, i].sum(), y, retain_graph=i < y.shape[1] - 1)[0][:, i]
                  for i in range(y.shape[1]))
    return v.detach(), div.detach()


def terminal_log_prob(model, sde):
    """log p_1, the law the ODE ends in at t = 1: exact where the model is a Gaussian mixture
    (a mixture, an analytic density's surrogate, a Gaussian KDE), else the SDE's prior
    (a learned network: the two differ by how far p_1 is from the prior)."""
    if hasattr(model, "as_mixture") and getattr(model, "kernel", "gaussian") == "gaussian":
        try:
            mix = sde.marginal_mixture(model.as_mixture(), 1.0)
        except (ValueError, NotImplementedError):
            return sde.prior_log_prob, "prior"
        return mix.log_prob, "exact p_1"
    return sde.prior_log_prob, "prior"


def log_likelihood(model, x, *, sde, steps=200, eps=1e-3, terminal=None) -> torch.Tensor:
    """log p_eps(x) through the probability-flow ODE, a continuous normalising flow:
    log p_eps(x) = log p_1(x_1) + ∫_eps^1 div v(x_t, t) dt, integrated from ``eps`` to 1 by
    Heun's method; ``terminal`` is log p_1 (default: ``terminal_log_prob``)."""
    x = x.to(torch.float64)
    grid = torch.linspace(eps, 1.0, steps + 1, dtype=torch.float64)
    total = torch.zeros(len(x), dtype=torch.float64)
    for k in range(1, steps + 1):
        t, t1 = float(grid[k - 1]), float(grid[k])
        v0, div0 = _drift_and_divergence(sde, model, x, t)
        y = x + (t1 - t) * v0
        v1, div1 = _drift_and_divergence(sde, model, y, t1)
        x = x + 0.5 * (t1 - t) * (v0 + v1)
        total = total + 0.5 * (t1 - t) * (div0 + div1)
    log_p1 = terminal or terminal_log_prob(model, sde)[0]
    return log_p1(x) + total


def likelihoods(model, density, x, *, sde, steps=200) -> dict:
    """The ODE's log-likelihood of the points ``x`` under ``model``'s flow beside the exact
    log-density (where ``density`` has one): per-point arrays ``ode`` and ``exact`` (or
    None), their means and mean absolute gap, which terminal law the flow ends in, and the
    seconds it took."""
    import time

    t0 = time.perf_counter()
    x = torch.as_tensor(x, dtype=torch.float64)
    log_p1, terminal = terminal_log_prob(model, sde)
    ode = log_likelihood(model, x, sde=sde, steps=steps, terminal=log_p1)
    out = {"ode": ode.numpy(), "exact": None, "terminal": terminal, "steps": steps,
           "mean_log_prob_ode": float(ode.mean()), "seconds": time.perf_counter() - t0}
    if getattr(density, "has_score", False) and density.kind != "samples":
        exact = density.log_prob(x.to(torch.float32)).double()
        out.update(exact=exact.numpy(), mean_log_prob_exact=float(exact.mean()),
                   mean_abs_gap=float((ode - exact).abs().mean()))
    return out
