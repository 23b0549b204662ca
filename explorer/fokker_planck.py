"""The Fokker-Planck equation of overdamped Langevin dynamics on a grid: the law the
particles sample, solved beside them.

dX = s(X) dt + sqrt(2) dW (the step convention of ``samplers.ula``: one step
x + eps s(x) + sqrt(2 eps) z advances time by eps) has the law p_t with

    dp/dt = -div(p s) + Laplacian(p),

whose stationary law is pi when s = grad log pi. The box is the target's, with no-flux
walls.

Scheme: finite volumes on an N x N grid of cells, with Scharfetter-Gummel fluxes across
each face (Scharfetter & Gummel 1969; the exponential fitting of Il'in and of Chang &
Cooper 1970):

    J = (1/h) [B(-h s_f) p_left - B(h s_f) p_right],   B(z) = z / (e^z - 1),

where s_f is the score's normal component at the face's midpoint (any score model: exact,
KDE, learned). The semi-discrete system dp/dt = A p has columns that sum to zero
(mass is conserved exactly) and non-negative off-diagonals (A generates a Markov chain
on the cells). Backward Euler, (I - dt A) p_{n+1} = p_n, is then a Markov transition
itself: positive and mass-conserving for every dt, and the relative entropy to the
chain's stationary law never increases. It is first order in time; the field is fixed
between noise levels, so one sparse LU factorisation serves every step at that level.
Against the continuous equation the stationary law is second order in h (the
midpoint score), tested in tests/test_fokker_planck.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
import torch

from .simulate import INITS, gaussian_start


@dataclass(frozen=True)
class Grid:
    """N x N cell centres over ``box``: ``x`` (N,), ``y`` (N,), cell sizes ``dx``, ``dy``.
    Densities are (N, N) arrays, ``p[i, j]`` at (x[j], y[i])."""

    box: tuple
    n: int

    @property
    def dx(self) -> float:
        return (self.box[1] - self.box[0]) / self.n

    @property
    def dy(self) -> float:
        return (self.box[3] - self.box[2]) / self.n

    @property
    def x(self) -> np.ndarray:
        return self.box[0] + (np.arange(self.n) + 0.5) * self.dx

    @property
    def y(self) -> np.ndarray:
        return self.box[2] + (np.arange(self.n) + 0.5) * self.dy

    def points(self) -> np.ndarray:
        """Cell centres, (N * N, 2), row i of the density first (x varies fastest)."""
        xx, yy = np.meshgrid(self.x, self.y)
        return np.stack([xx.ravel(), yy.ravel()], 1)

    def normalise(self, p: np.ndarray) -> np.ndarray:
        return p / (p.sum() * self.dx * self.dy)


def bernoulli(z: np.ndarray) -> np.ndarray:
    """B(z) = z / (e^z - 1), B(0) = 1, without overflow or cancellation."""
    z = np.clip(np.asarray(z, dtype=np.float64), -700.0, 700.0)
    small = np.abs(z) < 1e-6
    safe = np.where(small, 1.0, z)
    return np.where(small, 1.0 - 0.5 * z, safe / np.expm1(safe))


def _score(model, pts: np.ndarray, sigma: float) -> np.ndarray:
    with torch.no_grad():
        s = model.score(torch.as_tensor(pts, dtype=torch.float32), float(sigma))
    return s.double().numpy()


def generator(model, grid: Grid, sigma: float = 0.0, *, velocity=None, diffusion: float = 1.0) -> sp.csc_matrix:
    """A, the semi-discrete Fokker-Planck operator dp/dt = A p (p flattened row by row) of
    dp/dt = -div(p b) + D Laplacian(p): b the score of ``model`` at noise level ``sigma``
    and D = 1 (overdamped Langevin), or ``velocity(points) -> b`` and ``diffusion`` D
    (a reverse-time SDE: b = -f + g^2 grad log p_t, D = g^2 / 2)."""
    n, dx, dy = grid.n, grid.dx, grid.dy
    x, y = grid.x, grid.y
    field = velocity or (lambda pts: _score(model, pts, sigma))
    # vertical faces between (i, j) and (i, j + 1): x = x_j + dx / 2
    fx = np.stack(np.meshgrid(x[:-1] + 0.5 * dx, y), -1).reshape(-1, 2)
    sx = field(fx)[:, 0].reshape(n, n - 1)
    # horizontal faces between (i, j) and (i + 1, j): y = y_i + dy / 2
    fy = np.stack(np.meshgrid(x, y[:-1] + 0.5 * dy), -1).reshape(-1, 2)
    sy = field(fy)[:, 1].reshape(n - 1, n)
    idx = np.arange(n * n).reshape(n, n)
    rows, cols, vals = [], [], []
    dd = float(diffusion)
    for left, right, s, h in ((idx[:, :-1], idx[:, 1:], sx, dx), (idx[:-1, :], idx[1:, :], sy, dy)):
        out_l = dd * bernoulli(-h * s / dd).ravel() / h**2        # left -> right
        out_r = dd * bernoulli(h * s / dd).ravel() / h**2         # right -> left
        lft, rgt = left.ravel(), right.ravel()
        rows += [lft, rgt, rgt, lft]
        cols += [lft, lft, rgt, rgt]
        vals += [-out_l, out_l, -out_r, out_r]
    a = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n * n, n * n))
    return a.tocsc()


def kl(p: np.ndarray, log_pi: np.ndarray, cell: float) -> float:
    """KL(p || pi) = sum p log(p / pi) dA of two grid densities (pi given by its log)."""
    m = p > 0
    return float(np.sum(p[m] * (np.log(p[m]) - log_pi[m])) * cell)


def log_target(model, grid: Grid) -> np.ndarray | None:
    """log pi on the grid's cells, normalised on the grid; None without a log-density."""
    try:
        with torch.no_grad():
            lp = model.log_prob(torch.as_tensor(grid.points(), dtype=torch.float32)).double().numpy()
    except (ValueError, NotImplementedError, AttributeError):
        return None
    lp = lp.reshape(grid.n, grid.n)
    return lp - (np.log(np.sum(np.exp(lp - lp.max()))) + lp.max() + math.log(grid.dx * grid.dy))


def spectral_gap(model, grid: Grid, sigma: float = 0.0) -> float:
    """lambda, the slowest non-zero relaxation rate of the grid generator (its eigenvalues
    are 0, for pi, and negative): far from the start p_t - pi ~ exp(-lambda t), so
    KL(p_t || pi), second order in p_t - pi, falls like exp(-2 lambda t). Shift-invert
    ARPACK about a small positive shift (the generator itself is singular)."""
    vals = spl.eigs(generator(model, grid, sigma), k=3, sigma=1e-3, which="LM", return_eigenvectors=False)
    return float(sorted(-vals.real)[1])


def kramers_rate(model) -> float:
    """Kramers' estimate (1940) of how fast the double well's p_t relaxes under
    dX = -grad U dt + sqrt(2) dW: each well empties at sqrt(U''(min) |U''(saddle)|) / 2 pi
    * exp(-Delta U) (Haenggi, Talkner & Borkovec 1990, Rev. Mod. Phys. 62, eq. 4.5b with
    unit temperature), and the two-state law relaxes at twice that. For U = a (x1^2 - 1)^2
    + x2^2 / 2: U'' = 8a at the minima, -4a at the saddle, Delta U = a, so
    2 sqrt(32) a / 2 pi exp(-a). Asymptotic in a >> 1."""
    if getattr(model, "name", "") != "double-well":
        raise ValueError("Kramers' rate is given here for the double-well only")
    a = float(model.a)
    return 2 * math.sqrt(32) * a / (2 * math.pi) * math.exp(-a)


def decay_rate(times, kl_values, lo: float = 1e-4, hi: float = 1e-1) -> float:
    """r in KL ~ exp(-r t): the least-squares slope of log KL over the frames where KL lies
    in [lo, hi] (past the start's transient, above the grid's floor); NaN with fewer than
    three such frames."""
    t, k = np.asarray(times, dtype=float), np.asarray(kl_values, dtype=float)
    m = (k >= lo) & (k <= hi)
    if m.sum() < 3:
        return float("nan")
    return float(-np.polyfit(t[m], np.log(k[m]), 1)[0])


@dataclass
class Solution:
    """The density at each frame time: ``density`` (F, N, N), ``times`` (F,), ``kl`` (F,)
    (None without a log-density), ``mass_error`` the largest |mass - 1| over frames."""

    grid: Grid
    times: np.ndarray
    density: np.ndarray
    kl: np.ndarray | None
    mass_error: float
    steps: np.ndarray | None = None


MAX_DT = 0.25      # the longest backward Euler step of a run (a frame of ULA at eps = 0.1 spans t = 2)


def run(model, sampler: str, *, box, init: str = "gaussian", n: int = 201, frames: int = 200,
        options: dict | None = None, substeps: int = 1, steps=None, max_dt: float | None = MAX_DT) -> Solution:
    """The Fokker-Planck density of ``sampler``'s particles (its defaults updated by
    ``options``) from the law they start from, at ``frames`` frames evenly spaced in
    steps, or at the step counts ``steps`` (a run's ``Trajectory.steps``: the particle
    animation's frames), over ``box`` on an n x n grid."""
    from .validate import limits
    cap = limits().fp_grid
    if not 3 <= int(n) <= cap:
        raise ValueError(f"the Fokker-Planck grid must have 3 to {cap} cells per side (SFE_MAX_FP_GRID), not {n}")
    times_of, levels, edges, total = clock(sampler, model, options)
    if steps is None:           # frames evenly spaced in steps
        steps = np.unique(np.round(np.linspace(0, total, max(int(frames), 2))).astype(np.int64))
    steps = np.asarray(steps, dtype=np.int64)
    if sampler == "reverse-sde":
        return _run_reverse(model, box, n, options, times_of(steps), steps)
    grid = Grid(domain(init, box), int(n))
    sol = solve(model, grid, initial_density(init, grid, box), times_of(steps), levels=levels, edges=edges,
                substeps=substeps, max_dt=max_dt)
    sol.steps = steps
    return sol


def solve(model, grid: Grid, p0: np.ndarray, times, *, levels=None, edges=(), substeps: int = 1,
          max_dt: float | None = None) -> Solution:
    """Backward Euler from ``p0`` (N, N) through the frame ``times`` (increasing, from 0),
    ``substeps`` equal steps between consecutive time points. ``levels`` and ``edges``:
    annealed Langevin's noise levels and the times where each ends (the field is the score
    at ``levels[i]`` until ``edges[i]``; default: the target's score throughout). The
    steps also stop at every edge, so no step straddles two fields. ``max_dt``: more
    steps where an interval is longer (backward Euler's error grows with dt)."""
    times = np.asarray(times, dtype=np.float64)
    levels = list(levels) if levels is not None else [0.0]
    edges = np.asarray(edges, dtype=np.float64)
    p = grid.normalise(np.clip(np.asarray(p0, dtype=np.float64), 0.0, None)).ravel()
    eye = sp.identity(grid.n * grid.n, format="csc")
    lus: dict = {}
    out = [p.copy()]
    for k in range(1, len(times)):
        inner = edges[(edges > times[k - 1]) & (edges < times[k])]
        points = np.concatenate([[times[k - 1]], inner, [times[k]]])
        for a, b in zip(points[:-1], points[1:]):
            level = levels[min(int(np.searchsorted(edges, 0.5 * (a + b))), len(levels) - 1)]
            m = max(substeps, math.ceil((b - a) / max_dt - 1e-9)) if max_dt else substeps
            dt = (b - a) / m
            key = (level, round(dt, 12))
            if key not in lus:
                if len(lus) > 8:
                    lus.clear()
                # minimum degree on A + A^T: the 5-point pattern is symmetric; its factors
                # are about half COLAMD's (a 201 x 201 solve 4.3 ms against 9.0)
                lus[key] = spl.splu(eye - dt * generator(model, grid, level), permc_spec="MMD_AT_PLUS_A")
            for _ in range(m):
                p = lus[key].solve(p)
        out.append(p.copy())
    return _solution(model, grid, times, np.stack(out).reshape(len(times), grid.n, grid.n))


def _solution(model, grid: Grid, times, dens, steps=None) -> Solution:
    """The frames with their mass error and KL(p_t || pi) (None without a log-density)."""
    cell = grid.dx * grid.dy
    log_pi = log_target(model, grid)
    kls = None if log_pi is None else np.array([kl(d, log_pi, cell) for d in dens])
    return Solution(grid, times, dens, kls, float(np.abs(dens.sum((1, 2)) * cell - 1).max()), steps)


SAMPLERS = ("langevin", "annealed", "reverse-sde")


def clock(sampler: str, model, options: dict | None = None):
    """The continuous time of a sampler's steps: (times(k) for step counts k, the noise
    levels, the times each level ends). ULA's step k is at t = k eps; annealed
    Langevin's level i lasts T_i eps_i with eps_i = eps sigma_i^2 / sigma_L^2."""
    from . import registry
    if sampler not in SAMPLERS:
        raise ValueError(f"'{sampler}' has no Fokker-Planck form here; accepted: {', '.join(SAMPLERS)} (MALA's "
                         "Metropolis test and the kinetic samplers' (x, v) dynamics are not an overdamped "
                         "diffusion in x)")
    opts = {**registry.get(sampler).defaults(model), **{k: v for k, v in (options or {}).items() if v is not None}}
    if sampler == "reverse-sde":         # the SDE's own time, 1 down to eps (sdes.times)
        from .sdes import times as sde_times
        grid_t = sde_times(int(opts["steps"]), float(opts.get("eps", 1e-3))).numpy()
        return (lambda k: grid_t[np.asarray(k, dtype=np.int64)]), [0.0], np.array([]), int(opts["steps"])
    if sampler == "langevin":
        eps = float(opts["step_size"])
        return (lambda k: np.asarray(k, dtype=np.float64) * eps), [0.0], np.array([]), int(opts["steps"])
    sigmas = [float(x) for x in opts["sigmas"]]
    per = np.broadcast_to(np.asarray(opts["steps_per_level"]), (len(sigmas),)).astype(np.int64)
    eps = float(opts.get("step_size") or 0.1 * sigmas[-1] ** 2)
    step_eps = np.repeat([eps * s**2 / sigmas[-1] ** 2 for s in sigmas], per)
    cum = np.concatenate([[0.0], np.cumsum(step_eps)])
    edges = cum[np.cumsum(per)][:-1]

    def times(k):
        return cum[np.clip(np.asarray(k, dtype=np.int64), 0, len(cum) - 1)]
    return times, sigmas, edges, int(per.sum())


def _run_reverse(model, box, n, options, times, steps) -> Solution:
    from . import registry
    sde = {**registry.get("reverse-sde").defaults(model), **(options or {})}["sde"]
    if sde.config()["name"] != "vp":
        raise ValueError("the reverse-SDE's Fokker-Planck density needs the VP SDE: VE's prior N(0, σ_max² I) is far "
                         "wider than the target's box (use sde vp)")
    grid = Grid(domain("prior", box), int(n))
    p1 = np.exp(sde.prior_log_prob(torch.as_tensor(grid.points())).numpy()).reshape(grid.n, grid.n)
    return _solution(model, grid, times, reverse_sde(model, grid, sde, times, p1), steps)


def domain(init: str, box) -> tuple:
    """The solver's box: the target's, widened to hold the starting law to 3.5 std
    ('gaussian' puts about 9% of its particles outside the target's box, which no-flux
    walls cannot hold), square so the cells are."""
    x0, x1, y0, y1 = (float(b) for b in box)
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    half = 0.5 * max(x1 - x0, y1 - y0)
    if init != "uniform":
        (sx, sy), sd = gaussian_start(init, box)
        half = max(half, abs(sx - cx) + 3.5 * sd, abs(sy - cy) + 3.5 * sd)
    return (cx - half, cx + half, cy - half, cy + half)


def initial_density(init: str, grid: Grid, box=None) -> np.ndarray:
    """The law the samplers' particles start from (``simulate.initial``) on the grid,
    renormalised to the box: uniform on the target's box, or a Gaussian start
    (``simulate.gaussian_start``)."""
    box = box or grid.box
    xx, yy = np.meshgrid(grid.x, grid.y)
    if init not in INITS:
        raise ValueError(f"unknown initial distribution '{init}'; choose one of: {', '.join(INITS)}")
    if init == "uniform":
        return grid.normalise(np.ones_like(xx))
    (cx, cy), sd = gaussian_start(init, box)
    return grid.normalise(np.exp(-0.5 * ((xx - cx) ** 2 + (yy - cy) ** 2) / sd**2))


def bin_probabilities(density: np.ndarray, grid: Grid, bins: int) -> np.ndarray:
    """The mass of each of bins x bins equal boxes over the grid's box (cells assigned
    by their centres), (bins, bins) with rows along y."""
    ix = np.minimum((np.arange(grid.n) * bins) // grid.n, bins - 1)
    out = np.zeros((bins, bins))
    np.add.at(out, (ix[:, None], ix[None, :]), density * grid.dx * grid.dy)
    return out


def histogram_gap(positions: np.ndarray, density: np.ndarray, grid: Grid, bins: int = 20) -> tuple[float, float]:
    """(TV, noise): the total-variation distance between the particles' bins x bins
    histogram and p_t's bin masses, and what N exact draws of p_t give on average,
    (1/2) sum_b sqrt(2 p_b (1 - p_b) / (pi N)) (the normal approximation of E|X/N - p_b|).
    A ratio near 1: the particles follow p_t within their sampling noise."""
    b = grid.box
    x = np.asarray(positions)
    hist, _, _ = np.histogram2d(x[:, 1], x[:, 0], bins=bins, range=[[b[2], b[3]], [b[0], b[1]]])
    n = len(x)
    prob = bin_probabilities(density, grid, bins)
    tv = 0.5 * float(np.abs(hist / n - prob).sum())
    noise = 0.5 * float(np.sqrt(2 * prob * (1 - prob) / (math.pi * n)).sum())
    return tv, noise


def reverse_sde(model, grid: Grid, sde, times, p1: np.ndarray) -> np.ndarray:
    """The law of the reverse-time SDE (Song et al. 2021, eq. 6) from ``p1`` at t = times[0]
    down the decreasing ``times``: in reverse time the drift is -f + g^2 grad log p_t and
    the diffusion g^2 / 2. Backward Euler takes the field at each step's end, one LU per
    step (the field changes with t). Returns (len(times), N, N)."""
    p = grid.normalise(np.clip(np.asarray(p1, dtype=np.float64), 0.0, None)).ravel()
    eye = sp.identity(grid.n * grid.n, format="csc")
    out = [p.copy()]
    for t0, t1 in zip(times[:-1], times[1:]):
        t1 = float(t1)
        g2 = sde.g2(t1)

        def velocity(pts, t=t1, g2=g2):
            x = torch.as_tensor(pts, dtype=torch.float64)
            with torch.no_grad():
                s = sde.score(model, x, t).double()
            return (-sde.drift(x, t) + g2 * s).numpy()

        a = generator(model, grid, velocity=velocity, diffusion=0.5 * g2)
        p = spl.splu(eye - (float(t0) - t1) * a, permc_spec="MMD_AT_PLUS_A").solve(p)
        out.append(p.copy())
    return np.stack(out).reshape(len(times), grid.n, grid.n)
