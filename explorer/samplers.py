"""Samplers with one signature (the shape of k-diffusion's samplers):

    sampler(model, x, *, generator=None, record_every=1, escape=inf, **options) -> Trajectory

``model`` answers ``score(x, sigma)``, ``log_prob(x)`` (MALA only) and
``cld_score(x, v, t, cld)`` (CLD only): a density, a KDE or a learned network.
``x`` is the (N, 2) tensor of starting positions on any device and dtype; all
particles move together in torch, no Python loop over particles. Randomness comes
only from ``generator`` (on x's device), so a seed repeats a run exactly.

Step-size convention, stated again in each docstring: the *step form*
x <- x + eps s(x) + sqrt(2 eps) z. The NCSN paper's lr is a = 2 eps. Every sampler's
form, defaults and stability bound: docs/math.md.

A run that blows up (a NaN or inf, or a particle farther than ``escape`` from the
origin) stops at once and returns the frames it had, with ``diverged_at`` set to the
step and a message; it never raises or hangs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .diffusions import CLD
from .mixture import feature_major


@dataclass
class Trajectory:
    """Recorded frames of a run. ``positions`` (F, N, 2) float32; ``velocities`` the
    same for kinetic samplers; ``steps`` the step index of each frame; ``levels`` the
    noise level sigma (annealed) or diffusion time t (CLD) of each frame, else 0;
    ``acceptance`` MALA's acceptance rate over the run and per frame."""

    sampler: str
    positions: np.ndarray
    steps: np.ndarray
    levels: np.ndarray
    velocities: np.ndarray | None = None
    acceptance: float | None = None
    acceptance_per_frame: np.ndarray | None = None
    diverged_at: int | None = None
    diverged_why: str = ""
    advice: str = "The step size is too large for this target; try a smaller one."
    params: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        """Where and why the run diverged, and what to try ("" if it did not)."""
        if self.diverged_at is None:
            return ""
        return f"{self.sampler} diverged at step {self.diverged_at}: {self.diverged_why}. {self.advice}"

    @property
    def samples(self) -> np.ndarray:
        return self.positions[-1]

    @property
    def n_frames(self) -> int:
        return len(self.positions)


class _Recorder:
    """Keeps every ``record_every``-th state on the CPU as float32 and guards against
    divergence after each step."""

    def __init__(self, name, record_every, escape, kinetic=False):
        self.name, self.every, self.escape, self.kinetic = name, max(1, int(record_every)), escape, kinetic
        self.pos, self.vel, self.steps, self.levels, self.acc = [], [], [], [], []
        self.diverged_at, self.why = None, ""

    def record(self, step, x, v=None, level=0.0, acc=None, force=False):
        if force or step % self.every == 0:
            if self.steps and self.steps[-1] == step:
                return
            self.pos.append(x.detach().to("cpu", torch.float32).numpy().copy())
            if v is not None:
                self.vel.append(v.detach().to("cpu", torch.float32).numpy().copy())
            self.steps.append(step)
            self.levels.append(float(level))
            self.acc.append(acc)

    def fine(self, u) -> bool:
        """True if every value of ``u`` is finite and within ``escape``: one reduction for a
        kinetic state [x, v] at once. False means only 'look closer' (``ok``), as a
        velocity may exceed ``escape`` where no position does."""
        top = float(_dense(u).abs().max())     # compared in Python: a tensor compare costs 2 ops
        return top <= self.escape if math.isfinite(self.escape) else top < math.inf

    def ok(self, step, *states) -> bool:
        """False (and the step noted) once any state is non-finite or escapes."""
        for s in states:
            if s is None:
                continue
            # the largest |value| of a state is NaN if any is, inf if any is
            # infinite, and beyond ``escape`` if a particle is (this runs every step)
            top = float(_dense(s).abs().max())   # faster than vector_norm(s, inf) on the CPU
            if math.isfinite(self.escape) and s is states[0]:
                bad = not top <= self.escape        # NaN compares False: bad
            else:
                bad = not top < math.inf
            if bad:
                self.diverged_at = step
                self.why = ("a NaN or inf" if not bool(torch.isfinite(s).all())
                            else f"a particle beyond |x| = {self.escape:g}")
                # the blow-up itself is the last frame (NaN where a value is not finite), so a
                # viewer sees the particles fly apart, not only the frames before it
                x, v = states[0], (states[1] if self.kinetic and len(states) > 1 else None)
                clean = [torch.where(torch.isfinite(t), t, torch.full_like(t, math.nan)) if t is not None else None
                         for t in (x, v)]
                self.record(step, clean[0], clean[1], level=self.levels[-1] if self.levels else 0.0, force=True)
                return False
        return True

    def result(self, **kw) -> Trajectory:
        acc = [a for a in self.acc if a is not None]
        return Trajectory(
            sampler=self.name,
            positions=np.stack(self.pos),
            steps=np.asarray(self.steps),
            levels=np.asarray(self.levels, dtype=np.float64),
            velocities=np.stack(self.vel) if self.kinetic and self.vel else None,
            acceptance_per_frame=np.asarray(acc) if acc else None,
            diverged_at=self.diverged_at, diverged_why=self.why, **kw)


def _noise(x, generator):
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


# Feature-major state: MALA and the CLD samplers hold x^T (d, N), not x (N, d). A reduction
# or a ``where`` over each particle's few coordinates then runs along contiguous memory,
# where torch's CPU kernels across rows of 2 or 4 numbers take slow strided paths
# (benchmarks/layout.py), and a shared-covariance mixture answers an (N, d) view of such
# memory in the same layout (``mixture._as_rows``).
def _dense(u):
    """``u`` as its memory lies: a full reduction of a feature-major view reads it faster so."""
    return u.T if feature_major(u) else u


def _draw_block(shape, generator, x):
    """A block of standard normal draws for B steps of N particles in d coordinates,
    ``shape`` (B, N, d), taken in that order (so a seed's stream does not depend on the
    layout) and returned as (B, d, N): each step's draws feature-major."""
    z = torch.randn(shape, generator=generator, device=x.device, dtype=x.dtype)
    return z.transpose(1, 2).contiguous()


def langevin(model, x, *, steps=1000, step_size=0.01, sigma=0.0, generator=None, record_every=1,
             escape=math.inf):
    """Unadjusted Langevin algorithm (Roberts & Tweedie 1996; Song & Ermon 2019, eq. 2,
    whose step is 2 eps).

    Step form: x <- x + eps s(x) + sqrt(2 eps) z, eps = ``step_size``, using the score at
    noise level ``sigma`` (0: the target itself). Biased: on N(0, s^2) the stationary
    variance is s^2 / (1 - eps / (2 s^2)); stable for eps < 2 s^2."""
    rec = _Recorder("langevin", record_every, escape)
    rec.record(0, x, force=True)
    noise_scale = math.sqrt(2 * step_size)
    for k in range(1, steps + 1):
        x = x + step_size * model.score(x, sigma) + noise_scale * _noise(x, generator)
        if not rec.ok(k, x):
            break
        rec.record(k, x, force=k == steps)
    return rec.result(params={"steps": steps, "step_size": step_size, "sigma": sigma})


_NOISE_BLOCK = 32            # MALA's and CLD's steps per batch of random draws (fixed, so a
                             # seed's stream is the same whatever the steps or frames)


def mala(model, x, *, steps=1000, step_size=0.01, drift_cap=math.inf, generator=None, record_every=1,
         escape=math.inf):
    """Metropolis-adjusted Langevin (Roberts & Tweedie 1996; Besag 1994), with the
    truncated drift of MALTA (Roberts & Tweedie 1996, Sec. 1.4.3) when ``drift_cap`` is
    finite.

    Step-form proposal y ~ N(x + eps d(x), 2 eps I), eps = ``step_size``, accepted with
    probability min(1, p(y) q(x|y) / (p(x) q(y|x))), q(y|x) = N(y; x + eps d(x), 2 eps I),
    where d(x) = s(x) min(1, D / |s(x)|) and D = ``drift_cap``. Exact stationary law p
    for any eps and D; needs ``model.log_prob``. Why the cap: where the score grows
    faster than linearly (double-well, banana) plain MALA's proposal from the far tails
    lands even farther out and is rejected forever, so particles started there never
    move; the capped drift walks them in by at most eps D a step. Where |s| < D it is
    plain MALA. Acceptance near 0.57 is the high-dimensional optimum (Roberts &
    Rosenthal 1998); in 2-D higher rates are efficient."""
    rec = _Recorder("mala", record_every, escape)

    # the state is held feature-major (see _dense): x^T, d(x)^T (d, N)
    def drift(st):
        if not math.isfinite(drift_cap):
            return st
        # |s| from vecdot(s, s): vector_norm across a feature-major point takes a slow path
        return st * torch.clamp(drift_cap * torch.linalg.vecdot(st, st, dim=0).rsqrt_(), max=1.0)

    both = getattr(model, "log_prob_and_score", None) or (lambda y: (model.log_prob(y), model.score(y)))
    xt = x.T.contiguous()
    logp, s = both(xt.T)
    dt = drift(s.T)
    rec.record(0, x, force=True)
    # each step's acceptances are kept and summed on the device only at a frame: a Python
    # float per step would wait for the device, and a running sum costs an op a step
    kept, pending, n_since, accepted, done = [], 0, 0, 0, 0
    half_jumps = exps = None
    for k in range(1, steps + 1):
        b = (k - 1) % _NOISE_BLOCK
        if b == 0:                       # a block of steps' draws at once: two ops, not four a step
            half_jumps = (math.sqrt(step_size / 2) * _draw_block((_NOISE_BLOCK, *x.shape), generator, x)).unbind(0)
            # E = -log u ~ Exp(1), from uniforms: torch's exponential_ is ~30x slower on the CPU
            exps = torch.rand((_NOISE_BLOCK, x.shape[0]), generator=generator, device=x.device,
                              dtype=x.dtype).log_().neg_().unbind(0)
        h = half_jumps[b]                                        # jump / 2, jump = sqrt(2 eps) z
        yt = torch.add(xt, dt, alpha=step_size).add_(h, alpha=2)  # y = x + eps d(x) + sqrt(2 eps) z
        logp_y, s_y = both(yt.T)
        d_y = drift(s_y.T)
        # log q(x | y) - log q(y | x) = (|y - x - eps d(x)|^2 - |x - y - eps d(y)|^2) / (4 eps)
        # = -(jump / 2 + eps f / 4) . f with f = d(x) + d(y); accept when log u < log alpha,
        # i.e. with E = -log u ~ Exp(1): log p(y) - log p(x) + E > (jump / 2 + eps f / 4) . f.
        # Written for the fewest tensor ops: at 1,000 particles an op's dispatch costs more
        # than its arithmetic.
        f = dt + d_y
        rhs = torch.linalg.vecdot(torch.add(h, f, alpha=step_size / 4), f, dim=0)
        # a NaN (a proposal off the density) compares False: rejected
        acc = torch.add(logp_y, exps[b]).sub_(logp) > rhs
        xt = torch.where(acc, yt, xt)
        logp = torch.where(acc, logp_y, logp)
        dt = torch.where(acc, d_y, dt)
        kept.append(acc)
        n_since, done = n_since + 1, k
        if len(kept) == _NOISE_BLOCK:          # bounded memory between far-apart frames
            pending, kept = pending + torch.stack(kept).sum(), []
        if not rec.ok(k, xt.T):
            break
        if k % rec.every == 0 or k == steps:
            since = int(pending + (torch.stack(kept).sum() if kept else 0))
            accepted += since
            rec.record(k, xt.T, acc=since / (n_since * x.shape[0]), force=True)
            kept, pending, n_since = [], 0, 0
    accepted += int(pending + (torch.stack(kept).sum() if kept else 0))
    total = accepted / (max(done, 1) * x.shape[0])
    return rec.result(acceptance=total, params={"steps": steps, "step_size": step_size, "drift_cap": drift_cap})


LEVELS = 20                  # default number of noise levels (annealed sampler and ncsn training)


def geometric_sigmas(sigma_max, sigma_min, levels=LEVELS):
    """sigma_1 > ... > sigma_L, geometric (NCSN)."""
    return np.geomspace(sigma_max, sigma_min, levels).tolist()


def level_steps(sigmas, scale, total=2000, relax=0.4, least=10) -> list[int]:
    """Steps per noise level that let every level relax, about ``total`` in all.

    At level i the default step eps_i = 0.1 sigma_i^2 contracts a mode of std ``scale``
    = s, noised to variance s^2 + sigma_i^2, by 1 - eps_i / (s^2 + sigma_i^2) a step, so
    its relaxation time is tau_i = 10 (1 + s^2 / sigma_i^2) steps (~1,000 at the default
    sigma_L = 0.1 s). Level i gets max(f, ``relax`` tau_i) steps with the largest floor f
    (at least ``least``) that keeps the sum within ``total``: the small sigmas get the
    steps they need to relax, and the large ones, where mass moves between modes, share
    the rest. With 20 geometric levels each level starts close to its own law, so
    0.4 tau_i suffice."""
    need = [math.ceil(relax * 10 * (1 + scale**2 / float(sig) ** 2)) for sig in sigmas]
    floor = int(least)
    while sum(max(floor + 1, n) for n in need) <= total:
        floor += 1
    return [max(floor, n) for n in need]


def annealed_langevin(model, x, *, sigmas=None, steps_per_level=None, step_size=None, denoise=True,
                      generator=None, record_every=1, escape=math.inf):
    """Annealed Langevin dynamics (Song & Ermon 2019, NCSN, Algorithm 1).

    At level i (sigma_1 > ... > sigma_L) run T_i step-form steps
    x <- x + eps_i s(x, sigma_i) + sqrt(2 eps_i) z with eps_i = eps sigma_i^2 / sigma_L^2,
    eps = ``step_size`` (the paper's alpha_i = 2 eps_i). Default eps = 0.1 sigma_L^2, so
    eps_i / sigma_i^2 = 0.1 at every level. ``steps_per_level``: T for every level (the
    paper's T), a list of T_i, or None for ``level_steps`` (more steps where the
    relaxation is slow, at the smallest sigmas). With ``denoise``, a last step
    x + sigma_L^2 s(x, sigma_L) (Tweedie; NCSNv2) removes the remaining noise."""
    if sigmas is None:
        sigmas = geometric_sigmas(model.sigma_max, 0.1 * model.scale)
    sigmas = [float(s) for s in sigmas]
    if steps_per_level is None:
        steps_per_level = level_steps(sigmas, model.scale)
    per_level = ([int(steps_per_level)] * len(sigmas) if np.ndim(steps_per_level) == 0
                 else [int(n) for n in steps_per_level])
    if len(per_level) != len(sigmas):
        raise ValueError(f"steps_per_level has {len(per_level)} entries for {len(sigmas)} noise levels")
    if step_size is None:
        step_size = 0.1 * sigmas[-1] ** 2
    params = {"sigmas": sigmas, "steps_per_level": per_level, "step_size": step_size, "denoise": denoise}
    rec = _Recorder("annealed", record_every, escape)
    rec.record(0, x, level=sigmas[0], force=True)
    k = 0
    for sigma, n in zip(sigmas, per_level):
        eps = step_size * sigma**2 / sigmas[-1] ** 2
        noise_scale = math.sqrt(2 * eps)
        for _ in range(n):
            k += 1
            x = x + eps * model.score(x, sigma) + noise_scale * _noise(x, generator)
            if not rec.ok(k, x):
                return rec.result(params=params)
            rec.record(k, x, level=sigma)
        rec.record(k, x, level=sigma, force=True)           # every level ends on a frame
    if denoise:
        k += 1
        x = x + sigmas[-1] ** 2 * model.score(x, sigmas[-1])
        if rec.ok(k, x):
            rec.record(k, x, level=0.0, force=True)
    return rec.result(params=params)


def underdamped(model, x, *, steps=1000, step_size=None, mass=1.0, friction=None, v=None,
                generator=None, record_every=1, escape=math.inf):
    """Underdamped (kinetic) Langevin by BAOAB (Leimkuhler & Matthews 2013, eq. 2.11):
    the CLD dynamics used as an MCMC sampler of a fixed target.

        dx = v/M dt,  dv = s(x) dt - (Gamma/M) v dt + sqrt(2 Gamma) dW;  law p(x) N(v; 0, M I).

    h = ``step_size`` (time step), c = exp(-Gamma h / M):
    B v += h/2 s(x); A x += h/2 v/M; O v = c v + sqrt(M (1 - c^2)) xi; A; B.
    Default Gamma = 2 sqrt(k M) (critical damping at the target's stiffest curvature
    k = 1/scale^2) and h = scale sqrt(M) / 4 (stable for h < 2 sqrt(M/k)). On a Gaussian,
    Var(x) is exact for every stable h; Var(v) = M (1 - h^2 k / (4M))."""
    scale = getattr(model, "scale", 1.0)
    if friction is None:
        friction = 2 * math.sqrt(mass) / scale
    if step_size is None:
        step_size = 0.25 * scale * math.sqrt(mass)
    h = step_size
    if v is None:
        v = math.sqrt(mass) * _noise(x, generator)
    c = math.exp(-friction * h / mass)
    ou = math.sqrt(mass * (1 - c * c))
    rec = _Recorder("underdamped", record_every, escape, kinetic=True)
    rec.record(0, x, v, force=True)
    s = model.score(x)
    for k in range(1, steps + 1):
        v = v + 0.5 * h * s
        x = x + 0.5 * h * v / mass
        v = c * v + ou * _noise(v, generator)
        x = x + 0.5 * h * v / mass
        s = model.score(x)
        v = v + 0.5 * h * s
        if not rec.ok(k, x, v):
            break
        rec.record(k, x, v, force=k == steps)
    return rec.result(params={"steps": steps, "step_size": h, "mass": mass, "friction": friction})


def _linear_flows(cld: CLD, dts, ode: bool):
    """Exact flows over each time step in ``dts`` of the linear part of the reverse CLD
    dynamics, per coordinate: (transition matrices, Cholesky factors of their noise
    covariances), each (T, 2, 2), all computed at once before a run.

    SDE: dx = -beta v/M, dv = beta x - Gamma beta v/M + sqrt(2 Gamma beta) dW (reverse
    time), equilibrium diag(1, M) again, so Cov = Sigma_eq - E Sigma_eq E^T.
    ODE: dx = -beta v/M, dv = beta x (a rotation), no noise."""
    b, m, g = cld.beta, cld.mass, cld.friction
    dt = torch.as_tensor(dts, dtype=torch.float64).reshape(-1, 1, 1)
    if ode:
        f = b * torch.tensor([[0.0, -1 / m], [1.0, 0.0]], dtype=torch.float64)
        return torch.linalg.matrix_exp(f * dt), torch.zeros(len(dt), 2, 2, dtype=torch.float64)
    f = b * torch.tensor([[0.0, -1 / m], [1.0, -g / m]], dtype=torch.float64)
    e = torch.linalg.matrix_exp(f * dt)
    # Cov = int_0^dt e^{Fs} Q e^{F^T s} ds by Van Loan's block exponential (1978): equal to
    # Sigma_eq - E Sigma_eq E^T, but without its cancellation, which for small dt (1,000
    # steps) left the x-variance, O(dt^3), below round-off and the matrix not positive definite
    q = torch.tensor([[0.0, 0.0], [0.0, 2 * g * b]], dtype=torch.float64)
    z = torch.zeros(2, 2, dtype=torch.float64)
    vl = torch.linalg.matrix_exp(torch.cat([torch.cat([-f, q], 1), torch.cat([z, f.T], 1)], 0) * dt)
    cov = vl[:, 2:, 2:].transpose(-1, -2) @ vl[:, :2, 2:]
    cov = 0.5 * (cov + cov.transpose(-1, -2))
    return e, torch.linalg.cholesky(cov)


def cld_times(steps: int, eps: float = 1e-3, striding: str = "quadratic") -> list[float]:
    """The reverse-time grid t_0 = 1 > t_1 > ... > t_steps = eps of the CLD samplers.

    'linear': equal steps (1 - eps)/steps. 'quadratic' (CLD-SGM's ``striding`` option,
    Dockhorn et al. 2022, App. E): t_k = eps + (1 - eps)(1 - k/steps)^2, so the steps
    shrink linearly towards t = eps, where p_t sharpens into narrow modes."""
    if striding == "linear":
        return [1.0 - (1.0 - eps) * k / steps for k in range(steps + 1)]
    if striding == "quadratic":
        return [eps + (1.0 - eps) * (1.0 - k / steps) ** 2 for k in range(steps + 1)]
    raise ValueError(f"unknown striding '{striding}'; choose linear or quadratic")


def _kron_eye(m, d):
    """kron(m_t, I_d) for each t: (T, 2, 2) -> (T, 2d, 2d), the per-coordinate 2x2 maps
    acting on a state laid out as [x_1..x_d, v_1..v_d]."""
    eye = torch.eye(d, dtype=m.dtype)
    return torch.einsum("tij,ab->tiajb", m, eye).reshape(m.shape[0], 2 * d, 2 * d)


def _cld_reverse(name, model, x, v, cld, steps, eps, striding, ode, generator, record_every, escape):
    cld = cld or CLD()
    if v is None:
        v = math.sqrt(cld.mass) * _noise(x, generator)
    times = cld_times(steps, eps, striding)
    hs = torch.tensor([times[k - 1] - times[k] for k in range(1, steps + 1)], dtype=torch.float64)
    score_times = [times[k - 1] - float(hs[k - 1]) / 2 for k in range(1, steps + 1)] + [eps]
    d = x.shape[1]
    # Everything that depends on the time grid only is computed before the loop: each
    # step's exact half-step flow, and for a mixture or a Gaussian KDE the 4-D marginal law
    # at each score time (the step midpoints, then eps for the last step). The state is one
    # tensor u = [x, v], held as u^T (2d, N) (feature-major, see _dense), so a half step
    # is K u^T + L z^T (two matrix products, not a dozen elementwise ops), and the Euler step
    # v <- c v + w s (c = 1 + w / M, w = weight h) is folded into the second half's matrices:
    # u^T <- (K D_c) u^T + (w K[:, v columns]) s^T + L z^T.
    e, chol = _linear_flows(cld, hs / 2, ode)
    k_ = _kron_eye(e, d)
    weight = (1.0 if ode else 2.0) * cld.friction * cld.beta   # Gamma beta (ODE) or 2 Gamma beta (SDE)
    w = weight * hs[:, None, None]
    scale = torch.ones(steps, 1, 2 * d, dtype=torch.float64)
    scale[:, :, d:] = 1 + w / cld.mass
    dev = dict(dtype=x.dtype, device=x.device)
    first = k_.to(**dev).unbind(0)
    second = (k_ * scale).to(**dev).unbind(0)
    push = (w * k_[:, :, d:]).to(**dev).unbind(0)
    noise = None if ode else _kron_eye(chol, d).to(**dev).unbind(0)
    if hasattr(model, "cld_path"):
        path = model.cld_path(cld, score_times, x.dtype, x.device)

        def velocity_score(u, i):
            return path.score(u, i)[:, d:]
    else:                                          # a network: asked at each time
        def velocity_score(u, i):
            return model.cld_score(u[:, :d], u[:, d:], score_times[i], cld)
    block = max(1, min(_NOISE_BLOCK, 2**20 // max(1, 4 * d * x.shape[0])))   # <= 4 Mi numbers a batch
    draws = None

    params = {"steps": steps, "eps": eps, "striding": striding, "cld": cld.__dict__}
    rec = _Recorder(name, record_every, escape, kinetic=True)
    rec.record(0, x, v, level=1.0, force=True)
    ut = torch.cat([x.T, v.T], 0)
    for k in range(1, steps + 1):
        i = k - 1
        if ode:
            mid = first[i] @ ut
            ut = torch.addmm(second[i] @ mid, push[i], velocity_score(mid.T, i).T)
        else:
            b = 2 * (i % block)
            if b == 0:             # a batch of steps' draws at once: one op, not four a step
                draws = _draw_block((2 * block, x.shape[0], 2 * d), generator, x).unbind(0)
            mid = torch.addmm(first[i] @ ut, noise[i], draws[b])
            ut = torch.addmm(torch.addmm(second[i] @ mid, push[i], velocity_score(mid.T, i).T), noise[i], draws[b + 1])
        u = ut.T
        if not rec.fine(u) and not rec.ok(k, u[:, :d], u[:, d:]):
            return rec.result(params=params)
        if k % rec.every == 0 or k == steps:
            rec.record(k, u[:, :d], u[:, d:], level=times[k], force=True)
    u = ut.T
    x, v = u[:, :d], u[:, d:]
    # denoising: one noise-free Euler step of the reverse drift from t = eps to 0
    s = velocity_score(u, steps)
    b, m, g = cld.beta, cld.mass, cld.friction
    x, v = x - eps * b * v / m, v + eps * (b * x + g * b * v / m + weight * s)
    if rec.ok(steps + 1, x, v):
        rec.record(steps + 1, x, v, level=0.0, force=True)
    return rec.result(params=params)


def cld_sscs(model, x, *, steps=500, cld: CLD | None = None, v=None, eps=1e-3, striding="quadratic",
             generator=None, record_every=1, escape=math.inf):
    """CLD generative sampler: symmetric splitting CLD sampler (SSCS; Dockhorn et al.
    2022, Sec. 3.3, Alg. 1) from the prior x ~ N(0, I), v ~ N(0, M I) at t = 1 to data.

    Steps follow ``cld_times(steps, eps, striding)`` (quadratic by default: finer near
    the data, where the modes are narrow). Each step of length h: an exact half-step of the linear reverse dynamics
    (mean and covariance from the matrix exponential), an Euler step
    v += 2 Gamma beta h (s(x, v, t) + v/M) with the velocity score at the midpoint time
    (Strang splitting), another exact half-step; then a noise-free Euler step from eps
    to 0. ``x`` must be a prior draw (``CLD.prior_sample``). CLD-SGM's code evaluates the
    score at the step's start time instead of its midpoint; both are consistent splittings."""
    return _cld_reverse("cld", model, x, v, cld, steps, eps, striding, False, generator, record_every, escape)


def cld_ode(model, x, *, steps=500, cld: CLD | None = None, v=None, eps=1e-3, striding="quadratic",
            generator=None, record_every=1, escape=math.inf):
    """CLD probability-flow ODE (Dockhorn et al. 2022, eq. 7; Song et al. 2021, eq. 13),
    integrated by the same splitting as ``cld_sscs`` with Gamma beta s in place of
    2 Gamma beta s and no noise: deterministic given the prior draw. Its last step from
    eps to 0 follows the probability-flow drift (CLD-SGM's code uses the SDE's there)."""
    return _cld_reverse("cld-ode", model, x, v, cld, steps, eps, striding, True, generator, record_every, escape)

