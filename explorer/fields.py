"""Densities and score fields on a grid, for any score model and noise level.

A *score model* is anything with ``score(x, sigma)`` (a density, a KDE, a learned
network); ``log_prob`` is used where it exists. Everything is evaluated in float64
under ``torch.no_grad`` and returned as float32 numpy arrays (the figures send
float32 to the browser). No Streamlit here.

Noise levels follow the engine (``Density.score``): p_sigma = p * N(0, sigma^2 I).

* mixtures and the Gaussian KDE: exact at every sigma (``noised_mixture``);
* analytic non-mixtures (ring, two-rings, double-well, banana): the exact density for
  sigma below the lattice spacing h0 and the lattice-quadrature surrogate above it,
  the same switch the engine's score makes, so heatmap and arrows always agree;
* compact-kernel KDEs and sample-only data have no noised density: ``log_density``
  raises ``ValueError`` saying so, and ``density_grid`` returns ``None`` where there is
  no density at all (sample-only data, a learned network).

CLD runs draw ``cld_fields``: grad_x log p_t of the x-marginal of the CLD forward law
at each frame's time t (``CLD.x_marginal_mixture``), not the sigma = 0 field.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from . import metrics


@dataclass
class DensityGrid:
    """p_sigma on a regular grid: ``z[j, i]`` at (x[i], y[j]); ``logz`` its log."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    logz: np.ndarray
    sigma: float = 0.0

    @property
    def box(self):
        return (float(self.x[0]), float(self.x[-1]), float(self.y[0]), float(self.y[-1]))


@dataclass
class FieldGrid:
    """A score field sampled at the points (x[k], y[k]) of a regular n x n lattice:
    components ``u``, ``v`` and ``magnitude`` (NaN where the score is undefined).
    ``sigma``: its noise level; ``t``: CLD's diffusion time for a ``cld_fields`` grid."""

    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    sigma: float = 0.0
    t: float | None = None

    @property
    def level(self) -> float:
        """What a frame's ``Trajectory.levels`` entry is matched against: t, else sigma."""
        return self.sigma if self.t is None else self.t

    @property
    def magnitude(self) -> np.ndarray:
        return np.hypot(self.u, self.v)

    @property
    def spacing(self) -> float:
        """Lattice spacing (the smaller of the two directions)."""
        xs, ys = np.unique(self.x), np.unique(self.y)
        dx = float(np.diff(xs).min()) if len(xs) > 1 else 1.0
        dy = float(np.diff(ys).min()) if len(ys) > 1 else 1.0
        return min(dx, dy)


def lattice(box, n: int):
    """(xs, ys, points): n x n lattice over ``box`` = (xmin, xmax, ymin, ymax); points
    (n*n, 2) float64 in row-major order (y slowest), so values reshape to (n, n)."""
    x0, x1, y0, y1 = (float(b) for b in box)
    if not (x1 > x0 and y1 > y0) or n < 2:
        raise ValueError("a grid needs xmax > xmin, ymax > ymin and at least 2 points a side")
    xs = np.linspace(x0, x1, int(n))
    ys = np.linspace(y0, y1, int(n))
    gx, gy = np.meshgrid(xs, ys)
    pts = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1))
    return xs, ys, pts


def _kind(model) -> str:
    return getattr(model, "kind", "learned")


def has_density(model) -> bool:
    """Whether the model has a (normalised) log-density at sigma = 0."""
    return _kind(model) in ("mixture", "analytic", "kde")


def log_density(model, x: torch.Tensor, sigma: float = 0.0) -> torch.Tensor:
    """log p_sigma(x) for densities and KDEs (module docstring for which sigma are exact)."""
    kind = _kind(model)
    sigma = float(sigma)
    if sigma < 0 or not math.isfinite(sigma):
        raise ValueError("the noise level sigma must be a finite number >= 0")
    if kind not in ("mixture", "analytic", "kde"):
        raise ValueError(f"'{getattr(model, 'name', kind)}' has no density (only samples or a score)")
    if sigma == 0 or (kind == "analytic" and sigma < model.surrogate_bandwidth):
        return model.log_prob(x)
    if kind == "kde" and model.kernel != "gaussian":
        raise ValueError(f"a noised density exists in closed form only for the Gaussian kernel "
                         f"(this KDE uses '{model.kernel}'); set sigma = 0 or choose the Gaussian kernel")
    return model.noised_mixture(sigma).log_prob(x)


def density_grid(model, box, n: int = 120, sigma: float = 0.0) -> DensityGrid | None:
    """p_sigma on an n x n grid over ``box``; ``None`` for models without a density.
    Raises ValueError where the density exists but not at this sigma."""
    if not has_density(model):
        return None
    xs, ys, pts = lattice(box, n)
    with torch.no_grad():
        logp = log_density(model, pts, sigma).double().numpy().reshape(n, n)
    logp = np.where(np.isfinite(logp), logp, -np.inf)
    z = np.exp(logp)
    return DensityGrid(xs.astype(np.float32), ys.astype(np.float32), z.astype(np.float32),
                       np.maximum(logp, -1e30).astype(np.float32), float(sigma))


def sde_density_grid(model, box, sde, t: float, n: int = 120) -> DensityGrid | None:
    """p_t of a score SDE started from the model's law on an n x n grid: VE p_t = p_sigma(t);
    VP x_t = alpha x_0 + s z, so p_t(x) = p_(s/alpha)(x / alpha) / alpha^d."""
    if not has_density(model):
        return None
    alpha = sde.marginal(t)[0]
    xs, ys, pts = lattice(box, n)
    with torch.no_grad():
        logp = (log_density(model, pts / alpha, sde.noise_level(t)) - pts.shape[1] * math.log(alpha))
    logp = logp.double().numpy().reshape(n, n)
    logp = np.where(np.isfinite(logp), logp, -np.inf)
    return DensityGrid(xs.astype(np.float32), ys.astype(np.float32), np.exp(logp).astype(np.float32),
                       np.maximum(logp, -1e30).astype(np.float32), float(sde.noise_level(t)))


def score_at(model, x: torch.Tensor, sigma: float = 0.0) -> torch.Tensor:
    """The model's score at noise level sigma (no autograd graph)."""
    with torch.no_grad():
        return model.score(x, float(sigma))


def _arrow_points(box, n: int, margin: float) -> torch.Tensor:
    """The n x n arrow lattice inside ``box``, inset by ``margin`` of a cell so no arrow
    sits on the frame."""
    x0, x1, y0, y1 = (float(b) for b in box)
    dx, dy = (x1 - x0) / n, (y1 - y0) / n
    return lattice((x0 + margin * dx, x1 - margin * dx, y0 + margin * dy, y1 - margin * dy), n)[2]


def _grid(pts: torch.Tensor, s: torch.Tensor, **level) -> FieldGrid:
    s = s.double().numpy()
    s = np.where(np.isfinite(s), s, np.nan)
    p = pts.numpy()
    return FieldGrid(p[:, 0].astype(np.float32), p[:, 1].astype(np.float32),
                     s[:, 0].astype(np.float32), s[:, 1].astype(np.float32), **level)


def field_grid(model, box, n: int = 21, sigma: float = 0.0, margin: float = 0.5) -> FieldGrid:
    """The score at noise level sigma on an n x n lattice inside ``box`` (inset by
    ``margin`` of a cell so no arrow sits on the frame). NaN where it is undefined."""
    pts = _arrow_points(box, n, margin)
    return _grid(pts, score_at(model, pts, sigma), sigma=float(sigma))


def level_fields(model, box, sigmas, n: int = 17) -> list[FieldGrid]:
    """One ``field_grid`` per noise level (annealed Langevin's schedule)."""
    return [field_grid(model, box, n, float(s)) for s in sigmas]


def cld_fields(model, box, times, cld, n: int = 17, margin: float = 0.5) -> list[FieldGrid]:
    """grad_x log p_t of the x-marginal of the CLD forward law (Dockhorn et al. 2022,
    eq. 5, started from the model's mixture with v_0 ~ N(0, gamma M)), one grid per
    distinct time in ``times`` (a CLD run's ``Trajectory.levels``), in their order.

    This is the position score of the same p_t(x, v) whose velocity score drives the
    particles (``CLD.x_marginal_mixture``). ValueError for models without a Gaussian
    mixture form (a learned network, sample-only data, a compact-kernel KDE)."""
    if _kind(model) not in ("mixture", "analytic", "kde"):
        raise ValueError(f"'{getattr(model, 'name', _kind(model))}' has no mixture form: "
                         "no x-marginal of the CLD forward law to draw")
    mix = model.as_mixture()
    pts = _arrow_points(box, n, margin)
    out, seen = [], set()
    for t in times:
        t = float(t)
        if t in seen:                  # a diverged run repeats its last time
            continue
        seen.add(t)
        with torch.no_grad():
            s = cld.x_marginal_mixture(mix, t).score(pts)
        out.append(_grid(pts, s, t=t))
    return out


def sde_fields(model, box, times, sde, n: int = 17, margin: float = 0.5) -> list[FieldGrid]:
    """grad log p_t of a score SDE's marginal (``diffusions.VE`` or ``VP``; Song et al. 2021),
    one grid per distinct time in ``times`` (a run's ``Trajectory.levels``), in their order:
    the field that drives the reverse samplers at that t."""
    pts = _arrow_points(box, n, margin)
    out, seen = [], set()
    for t in times:
        t = float(t)
        if t in seen:
            continue
        seen.add(t)
        with torch.no_grad():
            s = sde.score(model, pts, t)
        out.append(_grid(pts, s, t=t))
    return out


def field_of_frame(fields, levels) -> list[int]:
    """For each frame's level (sigma, or CLD's t) the index of the field drawn under it:
    the nearest ``FieldGrid.level``. A level below every field's (annealed Langevin's
    denoised frame, sigma = 0) takes the smallest."""
    lv = np.array([f.level for f in fields], dtype=np.float64)
    return [int(np.argmin(np.abs(lv - max(float(x), lv.min())))) for x in levels]


def relative_fisher(model, reference, points: torch.Tensor, sigma: float = 0.0) -> float:
    """E|s_model - s_ref|^2 / E|s_ref|^2 over ``points`` at noise level sigma (NaN
    scores of the model are left out): how far a KDE or a network is from the truth."""
    with torch.no_grad():
        s = model.score(points, float(sigma))
        e = reference.score(points, float(sigma))
    ok = torch.isfinite(s).all(1) & torch.isfinite(e).all(1)
    if not bool(ok.any()):
        return float("nan")
    return metrics.relative_fisher(s[ok], e[ok])
