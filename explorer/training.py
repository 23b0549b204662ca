"""Score-matching objectives, one registry entry each, and a training loop the app can drive live.

Objectives (each returns the batch mean, or
per-sample values with ``reduction='none'``):

=========  ==============================================  ==========================
objective  loss per sample                                  network
=========  ==============================================  ==========================
esm        1/2 |s(x) - s_KDE(x)|^2                          plain ``ScoreNet``
ism        tr(grad s(x)) + 1/2 |s(x)|^2                     plain
ssm        v^T grad(v^T s(x)) + 1/2 |s(x)|^2, v ~ N(0, I)   plain
dsm        1/2 |s(x + sigma z) + z / sigma|^2               plain (one sigma)
ncsn       1/2 |sigma s(x + sigma z, sigma) + z|^2          ``NoiseConditionalScoreNet``
hsm        |F(x_t, v_t, t) - eps_v|^2                       ``CLDScoreNet``
=========  ==============================================  ==========================

``Trainer`` runs Adam on one of them with fresh exact draws every batch (or a fixed data
set for sample-only data), an EMA of the weights, and yields progress dictionaries that
the app can plot while it trains; breaking out of ``run`` and calling it again continues
from the same step, and a seed repeats the loss curve exactly on the CPU.

Not every objective learns grad log p: esm learns the KDE's score, dsm and ncsn the score
of the noised law p_sigma, hsm the CLD velocity score (``explorer.targets``). ``Trainer.target``
gives the field a trained network should match, and the progress reports measure the
relative Fisher divergence against it.

``OBJECTIVE_REGISTRY`` holds one ``Objective`` per objective: its name and label, its
network, what it learns, matches and gives, and the noise levels (or CLD times) at which
the Train page shows its field. ``OBJECTIVES`` and ``NET_KIND`` are read off it.

Field diagnostics: ``learned_field`` and ``field_error``; what the Train page draws from
them is in ``explorer.diagnostics``.
"""
from __future__ import annotations

import copy
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from . import densities as D
from .diffusions import CLD
from .fields import lattice
from .kde import KDE
from .metrics import relative_fisher
from .models import CLDScoreNet, LearnedScore, NoiseConditionalScoreNet, ScoreNet, cld_config, cld_kernel
from .samplers import LEVELS, geometric_sigmas
from .targets import ObjectiveTarget, has_exact_score, objective_target, training_kde

LR_SCHEDULES = ("constant", "cosine")
DEFAULT_OBJECTIVE = "ncsn"
CLD_SHOWN_TIMES = (0.01, 0.05, 0.1, 0.3, 0.6)      # the CLD times t the Train page offers for hsm


# ----- the objectives' registry ------------------------------------------------------------
# The Trainer's options that an objective may set otherwise (``Objective.training``):
# Adam's step size, the EMA decay, the Fourier features' frequency scale.
TRAINING_DEFAULTS = {"lr": 5e-3, "ema": 0.999, "fourier_scale": 0.5}


def default_sigmas(density, levels=LEVELS) -> list[float]:
    """ncsn's default noise levels: ``levels`` geometric levels from ``density.sigma_max``
    down to 0.1 ``density.scale``, the annealed sampler's defaults."""
    return [float(s) for s in geometric_sigmas(density.sigma_max, 0.1 * density.scale, levels)]


def default_sigma(density) -> float:
    """dsm's default noise level: 0.5 ``density.scale``."""
    return 0.5 * density.scale


def _trained_levels(density, trainer=None) -> list[float]:
    return [float(s) for s in trainer.sigmas] if trainer is not None else default_sigmas(density)


def _trained_sigma(density, trainer=None) -> list[float]:
    return [float(trainer.sigma) if trainer is not None else default_sigma(density)]


def _cld_times(density, trainer=None) -> list[float]:
    return list(CLD_SHOWN_TIMES)


def _noise_free(density, trainer=None) -> list[float]:
    return [0.0]


@dataclass(frozen=True)
class Objective:
    """One score-matching objective's facts.

    ``label``: how the Train page names it; ``net_kind``: the network it trains
    ('conditional', 'cld' or 'plain'); ``learns``: its
    minimiser in one phrase (``explorer.targets``); ``matches`` and ``gives``: what its
    loss matches and what a trained network then gives (the objectives lesson's table);
    ``field``: the field it is measured against, as the Fisher chart's title names it;
    ``level``: what its field is shown at ('sigma', 't' for a CLD time, None: noise-free);
    ``shown(density, trainer=None)``: the values of that level the Train page offers, the
    trainer's own once it exists (else the defaults it will use); ``shown_default``: the
    index of the one shown first; ``training``: its ``Trainer`` defaults where they differ
    from ``TRAINING_DEFAULTS``."""
    name: str
    label: str
    net_kind: str
    learns: str
    matches: str
    gives: str
    field: str
    level: str | None
    shown: Callable
    shown_default: int = -1
    training: dict = field(default_factory=dict)

    def default(self, name):
        """This objective's default for the ``Trainer`` option ``name``."""
        return self.training.get(name, TRAINING_DEFAULTS[name])

    @property
    def symbol(self) -> str:
        """The level's symbol: t for a CLD time, else σ."""
        return "t" if self.level == "t" else "σ"

    @property
    def level_name(self) -> str:
        return "CLD time t" if self.level == "t" else "noise level σ"

    def target_kwargs(self, value: float) -> dict:
        """``objective_target``'s keyword for the field shown at ``value`` (σ or t)."""
        if self.level == "t":
            return {"t": value}
        return {"sigma": value if self.level == "sigma" else None}


OBJECTIVE_REGISTRY: dict[str, Objective] = {o.name: o for o in (
    Objective("ncsn", "ncsn: multi-σ denoising (NCSN) — for annealed Langevin", "conditional",
              "∇log p_σ at every trained σ",
              f"the noise at all {LEVELS} σ at once, λ(σ) = σ²",
              "s(x, σ) at every level: what annealed Langevin needs",
              "∇log p_σ", "sigma", _trained_levels),
    Objective("dsm", "dsm: denoising at one σ (Vincent)", "plain",
              "∇log p_σ, the score of the data noised at its one σ",
              "the noise added at one σ (Vincent)",
              "∇log p_σ at that σ only (not ∇log p)",
              "∇log p_σ", "sigma", _trained_sigma),
    Objective("esm", "esm: explicit, against the KDE score", "plain",
              "the KDE's score ∇log p_KDE (only as good as the KDE)",
              "the Gaussian KDE's score (a target field)",
              "the KDE's score, not ∇log p (0.67 from it on eight-gaussians)",
              "score", None, _noise_free),
    Objective("ism", "ism: implicit (Hyvärinen)", "plain",
              "∇log p itself (noise-free)",
              "tr ∇s + ½|s|² (Hyvärinen): no target needed",
              "∇log p; two backward passes for the trace",
              "∇log p", None, _noise_free),
    Objective("ssm", "ssm: sliced (Song et al.)", "plain",
              "∇log p itself (noise-free; a random projection replaces ISM's trace)",
              "vᵀ∇(vᵀs) + ½|s|², random v (sliced)",
              "∇log p; one projection replaces the trace",
              "∇log p", None, _noise_free),
    Objective("hsm", "hsm: CLD velocity score — for the CLD samplers", "cld",
              "the CLD velocity score ∇ᵥ log pₜ(x, v), not ∇log p",
              "the velocity noise of the CLD diffusion",
              "∇ᵥ log pₜ(x, v): what the CLD samplers need",
              "∇ᵥ log pₜ", "t", _cld_times, shown_default=1,
              # on eight-gaussians, CLD sampling seeds 0-5: spread 1.035 and 1.034 with these
              # (training seeds 0, 1), 1.049 and 1.045 with the shared defaults; the default
              # net over 36 more seeds 1.022 (docs/performance.md, "Learned CLD")
              training={"lr": 1e-2, "ema": 0.995, "fourier_scale": 1.0}),
)}
OBJECTIVES = tuple(OBJECTIVE_REGISTRY)
NET_KIND = {name: o.net_kind for name, o in OBJECTIVE_REGISTRY.items()}
LESSON_ORDER = ("esm", "ism", "ssm", "dsm", "ncsn", "hsm")     # the objectives lesson: KDE first, CLD last


def get_objective(name: str) -> Objective:
    try:
        return OBJECTIVE_REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown objective {name!r}; choose one of: {', '.join(OBJECTIVES)}") from None


def objectives_table(steps_per_second: dict | None = None) -> list[dict]:
    """The objectives lesson's table: per objective (esm first, hsm last) what its loss
    matches and what the trained network gives. ``steps_per_second``: measured speeds
    (``steps_per_second`` of benchmarks/training.py) to add as a 'steps/s' column."""
    rows = []
    for name in LESSON_ORDER:
        o = OBJECTIVE_REGISTRY[name]
        row = {"objective": name, "matches": o.matches}
        if steps_per_second is not None:
            row["steps/s"] = steps_per_second[name]
        rows.append({**row, "gives": o.gives})
    return rows


def _reduce(per_sample, reduction):
    if reduction == "none":
        return per_sample
    if reduction == "mean":
        return per_sample.mean()
    raise ValueError("reduction must be 'mean' or 'none'")


def _randn(shape, generator, like):
    """Standard normal draws from ``generator`` (on its own device), moved to like's."""
    dev = generator.device if generator is not None else like.device
    return torch.randn(shape, generator=generator, device=dev, dtype=like.dtype).to(like.device)


# ----- objectives ------------------------------------------------------------------------
def esm_loss(score, x, target, reduction="mean"):
    """Explicit score matching (Hyvarinen 2005, eq. 2):
    1/2 |s(x) - psi(x)|^2 with psi a known target score, here the Gaussian KDE (Parzen)
    score of the data (Hyvarinen 2005, Sec. 2). ``target`` is an (N, 2)
    tensor or a callable x -> (N, 2)."""
    psi = target(x) if callable(target) else target
    return _reduce(0.5 * ((score(x) - psi.to(x)) ** 2).sum(1), reduction)


def _divergence(s, x, create_graph):
    """tr(grad_x s) in 2D: two autograd calls (one per output coordinate)."""
    d0 = torch.autograd.grad(s[:, 0].sum(), x, create_graph=create_graph, retain_graph=True)[0][:, 0]
    d1 = torch.autograd.grad(s[:, 1].sum(), x, create_graph=create_graph)[0][:, 1]
    return d0 + d1


def ism_loss(score, x, reduction="mean", create_graph=True):
    """Implicit score matching (Hyvarinen 2005, JMLR 6, Theorem 1, eq. 4):
    tr(grad_x s(x)) + 1/2 |s(x)|^2, equal to 1/2 E|s - grad log p|^2 up to a constant.
    The trace is exact: two autograd calls with ``create_graph=True`` (needed to train)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        s = score(x)
        return _reduce(_divergence(s, x, create_graph) + 0.5 * (s**2).sum(1), reduction)


def ssm_loss(score, x, generator=None, n_projections=1, reduction="mean", create_graph=True):
    """Sliced score matching with variance reduction (Song, Garg, Shi & Ermon 2019, UAI,
    eq. 8 'SSM-VR'): v^T grad_x (v^T s(x)) + 1/2 |s(x)|^2, v ~ N(0, I). Since
    E_v[v^T J v] = tr J, it is an unbiased estimate of the ISM loss (same constant).
    One autograd call per projection."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        s = score(x)
        total = 0.0
        for _ in range(int(n_projections)):
            v = _randn(x.shape, generator, x)
            gv = torch.autograd.grad((s * v).sum(), x, create_graph=create_graph, retain_graph=True)[0]
            total = total + (gv * v).sum(1)
        return _reduce(total / n_projections + 0.5 * (s**2).sum(1), reduction)


def dsm_loss(score, x, sigma, generator=None, reduction="mean"):
    """Denoising score matching (Vincent 2011, Neural Computation 23, eq. 7 with a Gaussian
    kernel; Vincent 2011, eq. 7): 1/2 |s(x + sigma z) + z / sigma|^2, z ~ N(0, I). Its
    minimiser is the score of the noised law p_sigma = p * N(0, sigma^2 I)."""
    z = _randn(x.shape, generator, x)
    return _reduce(0.5 * ((score(x + sigma * z) + z / sigma) ** 2).sum(1), reduction)


def ncsn_loss(score, x, sigmas, generator=None, reduction="mean"):
    """Multi-level DSM of NCSN (Song & Ermon 2019, NeurIPS, eq. 5-6) with the paper's
    weighting lambda(sigma) = sigma^2, one level drawn uniformly per sample:
    1/2 sigma^2 |s(x~, sigma) + (x~ - x) / sigma^2|^2 = 1/2 |sigma s(x~, sigma) + z|^2,
    x~ = x + sigma z. ``score(x, sigma)`` takes an (N,) tensor of levels."""
    levels = torch.as_tensor(sigmas, dtype=x.dtype).to(x.device).reshape(-1)
    idx = torch.randint(len(levels), (x.shape[0],), generator=generator,
                        device=generator.device if generator is not None else "cpu").to(x.device)
    sig = levels[idx]
    z = _randn(x.shape, generator, x)
    s = score(x + sig[:, None] * z, sig)
    return _reduce(0.5 * ((sig[:, None] * s + z) ** 2).sum(1), reduction)


HSM_T_SAMPLINGS = ("uniform", "focused")
HSM_T_SAMPLING = "focused"
HSM_FOCUS = (0.9, 0.2)      # 'focused': this share of the times on [t_min, this t] (benchmarks/learned_cld.py)


def hsm_times(n, generator=None, t_min=1e-5, sampling=HSM_T_SAMPLING, device="cpu") -> torch.Tensor:
    """hsm's training times t in float64. 'uniform' (CLD-SGM's): t ~ U[t_min, 1].
    'focused' (default): a share ``HSM_FOCUS[0]`` of them ~ U[t_min, HSM_FOCUS[1]], the rest
    ~ U[t_min, 1] -- on eight-gaussians the learned score's error that widens CLD's
    samples lies in t = 0.02..0.3, where the data's non-Gaussian part of the velocity
    score is largest (docs/performance.md, "Learned CLD"). Each t keeps its minimiser;
    only the weight of the times in the loss changes."""
    if sampling not in HSM_T_SAMPLINGS:
        raise ValueError(f"unknown hsm time sampling {sampling!r}; choose one of: {', '.join(HSM_T_SAMPLINGS)}")
    u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
    if sampling == "uniform":
        return t_min + (1 - t_min) * u
    share, t_focus = HSM_FOCUS
    w = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
    top = torch.where(w < share, torch.full_like(u, t_focus), torch.ones_like(u))
    return t_min + (top - t_min) * u


def hsm_loss(net, x, cld: CLD | None = None, generator=None, t_min=1e-5, reduction="mean",
             t_sampling=HSM_T_SAMPLING):
    """Hybrid score matching for CLD (Dockhorn, Vahdat & Kreis 2022, ICLR, eq. 9-10, with
    the 'reweightedv2' weighting lambda(t) = l_t^{-2} of their code):
    t from ``hsm_times`` (``t_sampling``), u_t = E(t) (x_0, 0) + L eps (L L^T = Cov of p(u_t | x_0), v_0 ~
    N(0, gamma M I) marginalised), target grad_v log p(u_t | x_0) = -l_t eps_v with
    l_t = 1 / L22; loss |F(x_t, v_t, t) - eps_v|^2 for the net F (score -l_t F).
    Kernel quantities in float64."""
    cld = cld or CLD()
    n = x.shape[0]
    gdev = generator.device if generator is not None else torch.device("cpu")
    t = hsm_times(n, generator, t_min, t_sampling, gdev)
    e, _, chol = cld_kernel(cld, t.cpu())
    eps = _randn((n, 2, 2), generator, x)        # [:, 0] eps_x, [:, 1] eps_v per coordinate
    e, chol = e.to(device=x.device, dtype=x.dtype), chol.to(device=x.device, dtype=x.dtype)
    xt = e[:, 0, 0, None] * x + chol[:, 0, 0, None] * eps[:, 0]
    vt = e[:, 1, 0, None] * x + chol[:, 1, 0, None] * eps[:, 0] + chol[:, 1, 1, None] * eps[:, 1]
    out = net(xt, vt, t.to(device=x.device, dtype=x.dtype))
    return _reduce(((out - eps[:, 1]) ** 2).sum(1), reduction)


# ----- data ------------------------------------------------------------------------------------
def as_density(data, name="data") -> D.Density:
    """A density object from a density, a registry name or an (n, 2) array of points."""
    if isinstance(data, D.Density):
        return data
    if isinstance(data, str):
        return D.get(data)
    arr = np.asarray(data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else data, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) < 2 or not np.isfinite(arr).all():
        raise ValueError("training data must be a density, a density name, or an (n, 2) array of finite points")
    return D.from_array(arr, name=name)


def fingerprint(points: torch.Tensor) -> str:
    """sha256 of the data as little-endian float64 (n, 2), row-major."""
    arr = np.ascontiguousarray(np.asarray(points.detach().cpu().numpy() if isinstance(points, torch.Tensor)
                                          else points, dtype="<f8"))
    return hashlib.sha256(arr.tobytes()).hexdigest()


def density_identity(density, fixed_data=None) -> dict:
    """What names the training data in a saved model: the density's name and kind, a
    registry density's parameters, and the sha256 of a fixed data set or a KDE's points."""
    out = {"name": density.name, "kind": density.kind}
    if density.name in D.REGISTRY:
        out["params"] = dict(density.params)
    points = fixed_data if fixed_data is not None else getattr(density, "data", None)
    if isinstance(points, torch.Tensor):
        out.update(sha256=fingerprint(points), rows=int(len(points)))
    return out


# ----- field diagnostics ----------------------------------------------------------------------
def learned_field(model, points, sigma=None, t=0.5, v=None) -> np.ndarray:
    """The learned field at ``points`` (N, 2) as a float64 array: s(x, sigma) for VE nets
    (see ``LearnedScore.field``), grad_v log p_t at (x, v = 0) for CLD nets."""
    with torch.no_grad():
        return model.field(torch.as_tensor(points, dtype=torch.float32), sigma=sigma, t=t, v=v).double().numpy()


def field_error(model, reference, points, sigma=None, t=0.5) -> dict:
    """Pointwise error of the learned field against ``reference`` (a density or KDE with an
    exact score, or an ``ObjectiveTarget``, whose own sigma or t is then used): arrays
    ``learned``, ``exact`` (the reference's field), ``error`` = |s - s*| and ``relative`` =
    |s - s*| / (|s*| + tiny), all at the same sigma (or CLD time t, v = 0)."""
    pts = torch.as_tensor(points, dtype=torch.float64)
    if isinstance(reference, ObjectiveTarget):
        reference, sigma, t = reference.reference, reference.sigma, (t if reference.t is None else reference.t)
    with torch.no_grad():
        if model.net_kind == "cld":
            learned = model.field(pts, t=t)
            exact = reference.cld_score(pts, torch.zeros_like(pts), t, model.cld)
        else:
            sigma = model.sigma if sigma is None else float(sigma)
            if model.net_kind == "conditional":
                sigma = max(sigma, model.sigma_min)
            learned = model.score(pts, sigma)
            exact = reference.score(pts, sigma)
    err = torch.linalg.norm(learned - exact, dim=1)
    rel = err / (torch.linalg.norm(exact, dim=1) + 1e-12)
    return {"learned": learned.numpy(), "exact": exact.numpy(), "error": err.numpy(), "relative": rel.numpy(),
            "sigma": None if model.net_kind == "cld" else sigma}


# ----- the trainer --------------------------------------------------------------------------
def _sigma_data(points: torch.Tensor) -> float:
    """RMS standard deviation per coordinate (EDM's sigma_data)."""
    return max(float(torch.sqrt(points.var(0).mean())), 1e-6)


def _whole(name, value, lo):
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"{name} must be a whole number >= {lo}, not {value!r}")


class Trainer:
    """Train a score network and report progress as it goes (the app's live training).

    ``density_or_data``: a ``Density``, a registry name or an (n, 2) array. A density with
    an exact sampler gives fresh exact draws every batch; sample-only data
    (``has_score=False``) are trained on a fixed set of ``n_data`` draws (every row of an
    array), resampled with replacement.
    ``objective``: one of ``OBJECTIVES`` (default ``'ncsn'``), which fixes the network:
    ncsn -> ``NoiseConditionalScoreNet``, hsm -> ``CLDScoreNet``, the rest ``ScoreNet``.
    ``width``/``depth``/``activation``/``fourier``/``fourier_scale``: the MLP
    (``explorer.models``). ``preconditioning``: 'edm' (default) or 'ncsnv2'.
    ``sigmas`` (ncsn): default ``levels`` = ``samplers.LEVELS`` (20) geometric levels from ``density.sigma_max``
    down to 0.1 ``density.scale`` -- the annealed sampler's defaults, so
    ``simulate(model, 'annealed')`` visits exactly the trained levels.
    ``sigma`` (dsm): default 0.5 ``density.scale``.
    ``cld`` (hsm): the forward process, default ``CLD()``.
    ``lr``, ``batch``, ``steps``: Adam's step size, the batch and the planned number of
    steps; ``lr_schedule`` 'cosine' decays lr to ``lr_floor`` lr at ``steps`` (constant
    after), 'constant' keeps it. ``ema``: decay of the exponential moving average of the
    weights that is evaluated, sampled and saved (0: the raw weights), warmed up as
    min(ema, (1 + k) / (10 + k)) at step k so early weights do not linger.
    ``lr``, ``ema``, ``fourier_scale`` None: the objective's defaults
    (``Objective.default``; ``TRAINING_DEFAULTS`` but for hsm).
    ``seed``: all data and noise come from one CPU ``torch.Generator`` seeded with it and
    the initial weights from ``torch.manual_seed(seed)`` inside ``fork_rng`` (the global
    RNG state is left as it was), so a seed repeats the loss curve exactly on the CPU.
    ``device``: 'cpu', 'cuda', 'mps' or 'auto' (``explorer.devices.resolve``).
    """

    def __init__(self, density_or_data="eight-gaussians", objective=DEFAULT_OBJECTIVE, width=128, depth=3, lr=None,
                 batch=512, steps=4000, seed=0, device="cpu", ema=None, lr_schedule="cosine", *,
                 activation="silu", preconditioning="edm", fourier=16, fourier_scale=None, sigmas=None, levels=LEVELS,
                 sigma=None, cld=None, n_data=2000, n_eval=2000, lr_floor=0.05):
        from .devices import resolve
        from .models import check_architecture
        spec = get_objective(objective)                 # a ValueError for an unknown one
        kind = spec.net_kind
        lr = spec.default("lr") if lr is None else lr
        ema = spec.default("ema") if ema is None else ema
        fourier_scale = spec.default("fourier_scale") if fourier_scale is None else fourier_scale
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"unknown lr schedule {lr_schedule!r}; choose one of: {', '.join(LR_SCHEDULES)}")
        for name, value, lo in (("batch", batch, 1), ("steps", steps, 1), ("n_data", n_data, 2),
                                ("n_eval", n_eval, 2), ("levels", levels, 1), ("seed", seed, 0)):
            _whole(name, value, lo)
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a positive number, not {lr!r}")
        if isinstance(ema, bool) or not isinstance(ema, (int, float)) or not 0 <= ema < 1:
            raise ValueError(f"ema must be a decay in [0, 1) (0: the raw weights), not {ema!r}")
        if not 0 <= float(lr_floor) <= 1:
            raise ValueError(f"lr_floor must be a fraction in [0, 1], not {lr_floor!r}")
        check_architecture(width, depth, activation)
        from .validate import InvalidInput, check_network
        try:
            check_network(width, depth, batch, steps)        # the server's limits
        except InvalidInput as e:
            raise ValueError(str(e)) from None
        self.density = d = as_density(density_or_data)
        self.objective, self.lr, self.batch, self.steps = objective, float(lr), batch, steps
        self.seed, self.ema_decay, self.lr_schedule, self.lr_floor = int(seed), ema, lr_schedule, float(lr_floor)
        self.device = resolve(device)
        self.generator = torch.Generator().manual_seed(self.seed)

        # data: fresh exact draws, or a fixed set for sample-only data
        self.fixed_data = None
        if not d.has_score or d.kind == "samples":
            fixed = getattr(d, "fixed", None)
            self.fixed_data = fixed if fixed is not None else d.sample(n_data, torch.Generator().manual_seed(self.seed + 1))
        eval_gen = torch.Generator().manual_seed(self.seed + 7919)      # never touches the training stream
        self.eval_data = self.fixed_data if self.fixed_data is not None else d.sample(n_eval, eval_gen)
        self.eval_noise = torch.randn(self.eval_data.shape, generator=eval_gen, dtype=torch.float64)
        self.eval_v = torch.randn(self.eval_data.shape, generator=eval_gen, dtype=torch.float64)
        # the exact score, where there is one (what esm's KDE is measured against)
        self.reference = d if has_exact_score(d) else None
        self._kde = None
        self._target_values = {}        # the reference at the fixed evaluation points, per level

        self.sigmas, self.sigma, self.cld = None, 0.0, None
        if kind == "conditional":
            self.sigmas = [float(s) for s in sigmas] if sigmas is not None else default_sigmas(d, levels)
            if not self.sigmas or not all(math.isfinite(s) and s > 0 for s in self.sigmas):
                raise ValueError("sigmas must be positive finite noise levels")
        if objective == "dsm":
            self.sigma = float(sigma) if sigma is not None else default_sigma(d)
            if not (math.isfinite(self.sigma) and self.sigma > 0):
                raise ValueError(f"dsm needs a noise level sigma > 0, not {sigma!r}")
        if objective == "hsm":
            self.cld = cld or CLD()

        sd = _sigma_data(self.eval_data)
        arch = {"width": width, "depth": depth, "activation": activation, "sigma_data": sd,
                "fourier": fourier, "fourier_scale": fourier_scale}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            if kind == "conditional":
                net = NoiseConditionalScoreNet(preconditioning=preconditioning, **arch)
            elif kind == "cld":
                net = CLDScoreNet(cld=self.cld, **arch)
            else:
                net = ScoreNet(**arch)
        self.net = net.to(self.device)
        self.params = list(self.net.parameters())
        self.opt = torch.optim.Adam(self.params, lr=self.lr)
        if ema > 0:
            self.ema_net = copy.deepcopy(self.net)
            self.ema_net.requires_grad_(False)
        else:
            self.ema_net = self.net
        self.step = 0
        self.elapsed = 0.0
        self.losses: list[float] = []
        self.config = {"objective": objective, "lr": self.lr, "batch": batch, "steps": steps, "seed": self.seed,
                       "ema": ema, "lr_schedule": lr_schedule, "lr_floor": self.lr_floor,
                       "preconditioning": preconditioning if kind == "conditional" else None,
                       "sigmas": self.sigmas, "sigma": self.sigma,
                       "cld": cld_config(self.cld) if self.cld is not None else None,
                       "data": density_identity(d, self.fixed_data)}

    # --- pieces ---------------------------------------------------------------------------
    @property
    def model(self) -> LearnedScore:
        """A snapshot of the trained score model (a copy of the EMA weights when ``ema`` is
        set, else of the raw ones) in the sampler protocol; training on does not change it."""
        return self._score_model(copy.deepcopy(self.ema_net).requires_grad_(False).eval())

    def _score_model(self, net) -> LearnedScore:
        d = self.density
        return LearnedScore(net, scale=d.scale, sigma_max=d.sigma_max, box=d.box, sigmas=self.sigmas,
                            sigma=self.sigma, mixing_steps=getattr(d, "mixing_steps", 1000),
                            name=f"learned({d.name})", meta={"training": dict(self.config, trained_steps=self.step)})

    def kde(self) -> KDE:
        """The Gaussian KDE (Scott's rule) that ESM matches: of the fixed data set, or of
        1000 exact draws (``fit_kde``, seed ``seed`` + 2, a stream apart from training's).
        Without an exact score it is also every objective's reference (``target``)."""
        if self._kde is None:
            self._kde = training_kde(self.density, self.seed, self.fixed_data)
        return self._kde

    def target(self, sigma=None, t=0.5) -> ObjectiveTarget:
        """The field this objective's minimiser is (``explorer.targets.objective_target``):
        esm the KDE's score; ism, ssm the exact score; dsm the exact score of p_sigma at
        its sigma; ncsn at ``sigma`` (default: its smallest level); hsm the exact CLD
        velocity score at time ``t``. Data sets: the KDE's field at the same sigma or t."""
        o = self.objective
        if o == "ncsn":
            sigma = min(self.sigmas) if sigma is None else max(float(sigma), min(self.sigmas))
        elif o == "dsm":
            sigma = self.sigma
        need_kde = o == "esm" or self.reference is None
        return objective_target(o, self.density, sigma=sigma, t=t, cld=self.cld,
                                kde=self.kde() if need_kde else None)

    def _batch(self) -> torch.Tensor:
        if self.fixed_data is not None:
            idx = torch.randint(len(self.fixed_data), (self.batch,), generator=self.generator)
            x = self.fixed_data[idx]
        else:
            x = self.density.sample(self.batch, self.generator)
        return x.to(device=self.device, dtype=torch.float32)

    def loss(self, x):
        """This trainer's objective on a batch x (float32 on the device)."""
        o, net, g = self.objective, self.net, self.generator
        if o == "ncsn":
            return ncsn_loss(net, x, self.sigmas, g)
        if o == "dsm":
            return dsm_loss(net, x, self.sigma, g)
        if o == "ism":
            return ism_loss(net, x)
        if o == "ssm":
            return ssm_loss(net, x, g)
        if o == "esm":
            return esm_loss(net, x, self.kde().score(x.detach().to("cpu", torch.float64)))
        return hsm_loss(net, x, self.cld, g)

    def train_for(self, seconds: float) -> Trainer:
        """Train for about ``seconds`` of wall-clock time (at least one step) or until
        ``steps``, adding the time spent in training steps to ``elapsed`` (the app's slice)."""
        t0 = time.perf_counter()
        while self.step < self.steps and time.perf_counter() - t0 < seconds:
            s0 = time.perf_counter()
            self.train_step()
            self.elapsed += time.perf_counter() - s0
        return self

    def lr_at(self, step) -> float:
        if self.lr_schedule == "constant":
            return self.lr
        frac = min(step / self.steps, 1.0)
        return self.lr * (self.lr_floor + (1 - self.lr_floor) * 0.5 * (1 + math.cos(math.pi * frac)))

    def train_step(self) -> float:
        """One Adam step (and EMA update); returns the batch loss."""
        x = self._batch()
        for group in self.opt.param_groups:
            group["lr"] = self.lr_at(self.step)
        loss = self.loss(x)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        if self.ema_net is not self.net:
            decay = min(self.ema_decay, (1 + self.step) / (10 + self.step))
            with torch.no_grad():
                ema_p = list(self.ema_net.parameters())
                torch._foreach_mul_(ema_p, decay)
                torch._foreach_add_(ema_p, self.params, alpha=1 - decay)
        value = float(loss.detach())
        self.losses.append(value)
        return value

    # --- evaluation ----------------------------------------------------------------------------
    def fisher(self, against="exact") -> dict | None:
        """Relative Fisher divergence E|s - s*|^2 / E|s*|^2 of the (EMA) model on a fixed
        evaluation set of ``n_eval`` exact draws: per trained sigma on draws of p_sigma
        (conditional nets), at the trained sigma (plain nets), or per CLD time t on draws
        of p_t(x, v) (CLD nets).

        ``against='exact'``: s* is the exact score (None without one); ``'target'``: s* is
        what the objective learns (``target``): the same for ism, ssm, dsm, ncsn and hsm,
        the KDE's score for esm, and the KDE's field for data without an exact score."""
        if against not in ("exact", "target"):
            raise ValueError("against must be 'exact' or 'target'")
        if against == "exact" and self.reference is None:
            return None
        model = self._score_model(self.ema_net)         # the live EMA weights, not a copy
        out = {}
        with torch.no_grad():
            if model.net_kind == "cld":
                for t in CLD_EVAL_TIMES:
                    x, v = self._cld_eval_points(t)
                    ref = self._reference_at(against, t, x, v)
                    out[t] = relative_fisher(model.cld_score(x.float(), v.float(), t).double(), ref)
            else:
                for s in (self.sigmas if model.net_kind == "conditional" else [self.sigma]):
                    x = self.eval_data + s * self.eval_noise
                    out[s] = relative_fisher(model.score(x.float(), s).double(), self._reference_at(against, s, x))
        return out

    def _reference_at(self, against, level, x, v=None) -> torch.Tensor:
        """s* at the fixed evaluation points of one sigma (or t): computed once and kept,
        since the points never change (a KDE of 1000-2000 points is slow to evaluate at
        every report)."""
        key = (against, level)
        if key not in self._target_values:
            if against == "exact":
                ref = self.reference
                val = ref.cld_score(x, v, level, self.cld) if v is not None else ref.score(x, level)
            else:
                val = self.target(sigma=None if v is not None else level, t=level if v is not None else 0.5).field(x, v)
            self._target_values[key] = val
        return self._target_values[key]

    def _cld_eval_points(self, t):
        """Draws of p_t(x, v): the CLD kernel applied to the evaluation data, v_0 ~ N(0, gamma M I).
        The kernel is ``CLD.kernel`` without the ``eps_num`` it adds for training: these
        draws are of the exact p_t the reference score belongs to."""
        e, cov = self.cld.kernel(t)
        eye = torch.eye(2, dtype=torch.float64)
        chol = torch.linalg.cholesky(cov - self.cld.eps_num * eye + 1e-12 * eye)
        x0, z1, z2 = self.eval_data, self.eval_noise, self.eval_v
        return e[0, 0] * x0 + chol[0, 0] * z1, e[1, 0] * x0 + chol[1, 0] * z1 + chol[1, 1] * z2

    def snapshot(self, grid=None, grid_sigma=None, fisher=True) -> dict:
        """The progress dict ``run`` yields (without ``loss_avg``)."""
        out = {"step": self.step, "loss": self.losses[-1] if self.losses else float("nan"),
               "elapsed": self.elapsed, "lr": self.lr_at(self.step)}
        if fisher:
            f = self.fisher(against="target")      # against what this objective learns
            out["fisher"] = f
            out["fisher_max"] = max(f.values())
            if self.objective == "esm" and self.reference is not None:
                out["fisher_exact"] = self.fisher(against="exact")   # the KDE's bias: esm cannot beat it
        if grid is not None:
            pts = lattice(self.density.box, grid)[2] if isinstance(grid, int) else torch.as_tensor(grid)
            out["grid"] = pts.double().numpy()
            out["field"] = learned_field(self.model, pts, sigma=grid_sigma)
        return out

    def run(self, every=50, grid=None, grid_sigma=None, fisher=True, until=None):
        """Train up to step ``until`` (default ``steps``), yielding a progress dict every
        ``every`` steps and at the last step:

        ``step``; ``loss`` (last batch) and ``loss_avg`` (mean since the previous report);
        ``elapsed`` (seconds spent in training steps so far, evaluation excluded); ``lr``;
        with ``fisher`` (default) the relative Fisher divergence against what the objective
        learns (``target``: the KDE's score for esm and for data without an exact score,
        else the exact score at that sigma or t), ``fisher`` = {sigma (or CLD time t): value}
        and ``fisher_max``; for esm also ``fisher_exact``, against the exact score;
        with ``grid`` (an int n: an n x n grid over the density's box, or (G, 2) points)
        the EMA model's field there (``grid``, ``field``) at ``grid_sigma``.

        Break out of the loop to stop; calling ``run`` again continues from the current
        step with the same random stream, so the curve is the one an uninterrupted run
        gives. ``until`` beyond ``steps`` trains on at the final learning rate."""
        until = self.steps if until is None else int(until)
        every = max(1, int(every))
        since = []
        while self.step < until:
            t0 = time.perf_counter()
            since.append(self.train_step())
            self.elapsed += time.perf_counter() - t0
            if self.step % every == 0 or self.step == until:
                report = self.snapshot(grid, grid_sigma, fisher)
                report["loss_avg"] = float(np.mean(since))
                since = []
                yield report

    def train(self, until=None) -> Trainer:
        """Train to ``until`` (default ``steps``) without reports."""
        for _ in self.run(every=10**12, fisher=False, until=until):
            pass
        return self


CLD_EVAL_TIMES = (0.001, 0.01, 0.03, 0.1, 0.3, 1.0)


def train(density_or_data="eight-gaussians", objective=DEFAULT_OBJECTIVE, **kw) -> LearnedScore:
    """Train with ``Trainer`` to the end and return the learned score model."""
    return Trainer(density_or_data, objective, **kw).train().model
