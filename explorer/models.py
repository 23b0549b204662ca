"""Learned score networks for 2D targets, and the wrapper that lets every sampler use them.

Three small MLPs (``width`` 16..512 units, ``depth`` 1..6 hidden layers, SiLU by default).
Each sees its position through 16 random Fourier features (Tancik et al. 2020) of
x / sigma_data besides x itself: a bare MLP sits for a while on a blurred field before it
learns the sharp within-mode slopes of a multimodal target, and the features shorten that
plateau (``python benchmarks/training.py --compare`` measures both; the figures are in
docs/performance.md). ``fourier=0`` gives the bare MLP.

* ``ScoreNet``: a plain field s(x) (ESM, ISM, SSM, or DSM at one noise level).
* ``NoiseConditionalScoreNet``: s(x, sigma) for every noise level (NCSN, Song & Ermon
  2019). Two preconditionings, measured against each other (``benchmarks/training.py --compare``):

  - ``'ncsnv2'`` (Song & Ermon 2020, "Improved techniques", technique 3):
    s = F(x, c(sigma)) / sigma, with c(sigma) = log(sigma) / 4;
  - ``'edm'`` (Karras et al. 2022, Table 1): the denoiser D = c_skip x + c_out F(c_in x,
    c(sigma)) with c_in = 1/sqrt(sigma^2 + sd^2), c_out = sigma sd / sqrt(sigma^2 + sd^2),
    c_skip = sd^2 / (sigma^2 + sd^2) and sd the data's standard deviation; the score is
    Tweedie's (D - x) / sigma^2 = -x / (sigma^2 + sd^2) + sd F / (sigma sqrt(sigma^2 + sd^2)).

  EDM is the default: with the same training budget it ends with a smaller worst relative
  Fisher divergence over the trained levels, and meets the training target sooner.
* ``CLDScoreNet``: the CLD velocity score grad_v log p_t(x, v) = -l_t F(x, v, t)
  (Dockhorn et al. 2022, "reweightedv2"), l_t = 1 / L22 with L the Cholesky factor of the
  CLD perturbation-kernel covariance ``CLD().kernel(t)``, computed in float64. F is a
  "mixed score": the exact answer for Gaussian data plus the MLP (the paper's Sec. 3.2),
  which makes the velocity score at small t much more accurate than the MLP alone.

``LearnedScore`` wraps a trained net in the score-model protocol the samplers use
(``score``, ``log_prob``, ``cld_score``, ``scale``, ``sigma_max``, ``box``), so
``explorer.simulate.simulate(model, ...)`` runs on it unchanged:

* plain net: ``score(x, sigma)`` answers sigma = 0 and the one level it was trained at
  (DSM); any other sigma > 0 is a ``ValueError`` (annealed Langevin needs a
  noise-conditional net: a plain field has no noise levels).
* noise-conditional net: ``score(x, sigma)`` for every sigma; sigma below the smallest
  trained level sigma_L (sigma = 0 included) is answered at sigma_L, the field the net
  actually learned (NCSN's practice).
* CLD net: ``cld_score`` only; ``score`` is a ``ValueError``.
* ``log_prob``: always a ``ValueError`` (MALA needs a log-density; a learned field has none).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .diffusions import CLD

ACTIVATIONS = {"silu": nn.SiLU, "softplus": nn.Softplus, "tanh": nn.Tanh, "elu": nn.ELU, "relu": nn.ReLU}
WIDTH_RANGE = (16, 512)       # the upper ends are explorer.validate's defaults; its limits() decide
DEPTH_RANGE = (1, 6)
PRECONDITIONINGS = ("edm", "ncsnv2")


def check_architecture(width, depth, activation="silu"):
    """Raise a clear ValueError unless width, depth and activation are allowed: width
    from 16 and depth from 1 up to the server's limits (explorer.validate; a model file
    asking for a bigger network is refused before any weight is allocated)."""
    from .validate import limits
    hi_w, hi_d = limits().width, limits().depth
    if isinstance(width, bool) or not isinstance(width, int) or not WIDTH_RANGE[0] <= width <= hi_w:
        raise ValueError(f"width must be a whole number from {WIDTH_RANGE[0]} to {hi_w} units, not {width!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or not DEPTH_RANGE[0] <= depth <= hi_d:
        raise ValueError(f"depth must be a whole number of hidden layers from {DEPTH_RANGE[0]} to "
                         f"{hi_d}, not {depth!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}")


def _positive(value, name) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, not {value!r}")
    return value


def mlp(n_in, n_out, width, depth, activation="silu") -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units with ``activation``, then a linear output."""
    check_architecture(width, depth, activation)
    layers, d = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(d, width), ACTIVATIONS[activation]()]
        d = width
    layers.append(nn.Linear(d, n_out))
    return nn.Sequential(*layers)


class FourierFeatures(nn.Module):
    """[z, sin(2 pi z B), cos(2 pi z B)] with fixed B ~ N(0, scale^2) of shape (d, n)
    (Tancik et al. 2020, "Fourier features let networks learn high frequency functions"):
    a plain MLP learns the sharp within-mode slopes of a 2D score only after a long
    plateau (spectral bias); these features remove most of it. n = 0: identity."""

    def __init__(self, dim, n, scale):
        super().__init__()
        self.n, self.dim = int(n), dim
        if self.n < 0 or self.n > 256:
            raise ValueError(f"fourier features must be from 0 to 256, not {n!r}")
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"fourier_scale must be a positive number, not {scale!r}")
        self.register_buffer("freqs", float(scale) * torch.randn(dim, self.n))

    @property
    def out_dim(self):
        return self.dim + 2 * self.n

    def forward(self, z):
        if not self.n:
            return z
        a = (2 * math.pi) * (z @ self.freqs)
        return torch.cat([z, torch.sin(a), torch.cos(a)], 1)


def _column(value, like: torch.Tensor) -> torch.Tensor:
    """A float or (N,) tensor of per-sample values as an (N, 1) column on like's device."""
    value = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if value.ndim == 0:
        value = value.expand(like.shape[0])
    return value.reshape(-1, 1)


class ScoreNet(nn.Module):
    """A plain score field s(x) = F(x / sigma_data): R^2 -> R^2 (no noise conditioning)."""

    kind = "plain"

    def __init__(self, width=128, depth=3, activation="silu", sigma_data=1.0, fourier=16, fourier_scale=0.5):
        super().__init__()
        self.config = {"width": width, "depth": depth, "activation": activation,
                       "sigma_data": _positive(sigma_data, "sigma_data"), "fourier": fourier,
                       "fourier_scale": fourier_scale}
        check_architecture(width, depth, activation)
        self.sigma_data = float(sigma_data)
        self.embed = FourierFeatures(2, fourier, fourier_scale)
        self.net = mlp(self.embed.out_dim, 2, width, depth, activation)

    def forward(self, x):
        return self.net(self.embed(x / self.sigma_data))


class NoiseConditionalScoreNet(nn.Module):
    """s(x, sigma) for VE noise levels sigma > 0; see the module docstring for the two
    preconditionings. ``sigma`` is a float or an (N,) tensor (one level per sample).
    The noise embedding is c(sigma) = log(sigma) / 4, appended to the Fourier features
    of the (EDM: c_in-scaled; NCSNv2: raw) position."""

    kind = "conditional"

    def __init__(self, width=128, depth=3, activation="silu", preconditioning="edm", sigma_data=1.0,
                 fourier=16, fourier_scale=0.5):
        super().__init__()
        if preconditioning not in PRECONDITIONINGS:
            raise ValueError(f"unknown preconditioning {preconditioning!r}; choose one of: {', '.join(PRECONDITIONINGS)}")
        check_architecture(width, depth, activation)
        self.config = {"width": width, "depth": depth, "activation": activation,
                       "preconditioning": preconditioning, "sigma_data": _positive(sigma_data, "sigma_data"),
                       "fourier": fourier, "fourier_scale": fourier_scale}
        self.preconditioning, self.sigma_data = preconditioning, float(sigma_data)
        self.embed = FourierFeatures(2, fourier, fourier_scale)
        self.net = mlp(self.embed.out_dim + 1, 2, width, depth, activation)

    def forward(self, x, sigma):
        s = _column(sigma, x)
        c_noise = torch.log(s) / 4
        if self.preconditioning == "ncsnv2":
            return self.net(torch.cat([self.embed(x), c_noise], 1)) / s
        norm = torch.sqrt(s**2 + self.sigma_data**2)
        f = self.net(torch.cat([self.embed(x / norm), c_noise], 1))
        return -x / norm**2 + self.sigma_data * f / (s * norm)


def cld_kernel(cld: CLD, t) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batched HSM perturbation kernel of ``cld`` at times t (N,), float64, CPU:
    (mean matrices E (N, 2, 2), covariances (N, 2, 2), Cholesky factors (N, 2, 2)).

    The same formulas as ``CLD.kernel`` (closed-form E under critical damping, the matrix
    exponential otherwise; Cov = Sigma_eq - E Sigma_eq E^T + E diag(0, gamma M) E^T +
    eps_num I), vectorised over t."""
    t = torch.as_tensor(t, dtype=torch.float64).reshape(-1)
    if cld.critical:
        b = cld.beta * t
        g = 1 / cld.friction
        a = torch.exp(-2 * b * g)
        e = torch.stack([torch.stack([1 + 2 * b * g, 4 * b * g**2], -1),
                         torch.stack([-b, 1 - 2 * b * g], -1)], -2) * a[:, None, None]
    else:
        e = torch.linalg.matrix_exp(cld.drift_matrix()[None] * t[:, None, None])
    eq = cld.equilibrium
    v0 = torch.diag(torch.tensor([0.0, cld.gamma * cld.mass], dtype=torch.float64))
    cov = eq - e @ eq @ e.transpose(1, 2) + e @ v0 @ e.transpose(1, 2)
    cov = 0.5 * (cov + cov.transpose(1, 2)) + cld.eps_num * torch.eye(2, dtype=torch.float64)
    return e, cov, torch.linalg.cholesky(cov)


def cld_lt(cld: CLD, t) -> torch.Tensor:
    """l_t = 1 / L22 of the Cholesky factor of the CLD kernel covariance (float64, (N,))."""
    return 1.0 / cld_kernel(cld, t)[2][:, 1, 1]


def cld_config(cld: CLD) -> dict:
    return {"beta": cld.beta, "mass": cld.mass, "friction": cld.friction, "gamma": cld.gamma,
            "eps_num": cld.eps_num}


class CLDScoreNet(nn.Module):
    """F(x, v, t) with grad_v log p_t(x, v) ~ -l_t F (Dockhorn et al. 2022, "reweightedv2";
    trained by ``explorer.training.hsm_loss`` so that F ~ E[eps_v | u_t]).

    Mixed score (Dockhorn et al. 2022, Sec. 3.2/App. C: the network learns the difference
    to the score of Gaussian data): F = F_N + G, where F_N = (Sigma_t^{-1} u)_v / l_t is
    the exact answer for data ~ N(0, sigma_data^2 I), Sigma_t = E diag(sigma_data^2, 0) E^T
    + the HSM kernel covariance, and G is the MLP on Fourier features of x / sigma_data,
    v / sqrt(M), t and log(t) / 4. ``mixed=False``: F = G."""

    kind = "cld"

    def __init__(self, width=128, depth=3, activation="silu", sigma_data=1.0, fourier=16, fourier_scale=0.5,
                 cld=None, mixed=True):
        super().__init__()
        check_architecture(width, depth, activation)
        cfg = cld_config(cld if cld is not None else CLD()) if not isinstance(cld, dict) else dict(cld)
        self.cld = CLD(**cfg)
        self.config = {"width": width, "depth": depth, "activation": activation,
                       "sigma_data": _positive(sigma_data, "sigma_data"), "fourier": fourier,
                       "fourier_scale": fourier_scale, "cld": cfg, "mixed": bool(mixed)}
        self.sigma_data, self.v_scale, self.mixed = float(sigma_data), math.sqrt(self.cld.mass), bool(mixed)
        self.embed = FourierFeatures(2, fourier, fourier_scale)
        self.net = mlp(self.embed.out_dim + 4, 2, width, depth, activation)

    def _gaussian(self, x, v, t):
        """F_N: Sigma_t^{-1} u's v-part divided by l_t, in float64 then cast."""
        tt = torch.as_tensor(t, dtype=torch.float64).reshape(-1).cpu()
        e, cov, chol = cld_kernel(self.cld, tt)
        sig = cov + self.sigma_data**2 * e[:, :, :1] @ e[:, :, :1].transpose(1, 2)
        prec = torch.linalg.inv(sig)                                 # (T, 2, 2)
        w = (prec[:, 1, :] / (1.0 / chol[:, 1, 1])[:, None]).to(device=x.device, dtype=x.dtype)
        if w.shape[0] == 1:
            w = w.expand(x.shape[0], 2)
        return w[:, :1] * x + w[:, 1:] * v

    def forward(self, x, v, t):
        tc = _column(t, x).clamp(min=1e-5)        # the smallest training time
        g = self.net(torch.cat([self.embed(x / self.sigma_data), v / self.v_scale, tc, torch.log(tc) / 4], 1))
        return g + self._gaussian(x, v, t) if self.mixed else g

    def velocity_score(self, x, v, t, cld: CLD | None = None):
        """grad_v log p_t = -l_t F(x, v, t); t a float or (N,) tensor."""
        lt = cld_lt(cld or self.cld, torch.as_tensor(t, dtype=torch.float64).reshape(-1)).to(x)
        return -_column(lt if lt.numel() > 1 else lt[0], x) * self.forward(x, v, t)


NETWORKS = {"plain": ScoreNet, "conditional": NoiseConditionalScoreNet, "cld": CLDScoreNet}


def build_network(kind: str, **config) -> nn.Module:
    if kind not in NETWORKS:
        raise ValueError(f"unknown network kind {kind!r}; choose one of: {', '.join(NETWORKS)}")
    return NETWORKS[kind](**config)


class LearnedScore:
    """A trained network as a score model (the protocol of ``explorer.samplers``).

    ``scale``, ``sigma_max``, ``box`` (and ``mixing_steps``) come from the density it was
    trained on; ``sigmas`` are the trained noise levels (conditional nets), ``sigma`` the
    one level of a plain net (0 unless trained by DSM); ``cld`` is the forward process a
    CLD net was trained for (``net.cld``). Inputs of any dtype/device are moved to the net's and the answer is returned
    in the input's dtype and device. No autograd graph is built unless ``x`` itself
    requires grad (a sampler loop would otherwise chain every step's graph)."""

    kind = "learned"
    has_score = True

    def __init__(self, net: nn.Module, *, scale, sigma_max, box, sigmas=None, sigma=0.0, mixing_steps=1000,
                 name="learned", meta=None):
        self.net = net
        self.net_kind = net.kind
        self.scale, self.sigma_max = float(scale), float(sigma_max)
        self.box = tuple(float(b) for b in box)
        self.sigmas = [float(s) for s in sigmas] if sigmas is not None else None
        self.sigma = float(sigma)
        self.cld = net.cld if net.kind == "cld" else None
        self.mixing_steps = int(mixing_steps)
        self.name = name
        self.meta = dict(meta or {})
        if net.kind == "conditional" and not self.sigmas:
            raise ValueError("a noise-conditional net needs its trained noise levels (sigmas)")

    # --- helpers ------------------------------------------------------------------
    def _param(self):
        return next(self.net.parameters())

    def _run(self, fn, x, *more):
        p = self._param()
        args = [a.to(device=p.device, dtype=p.dtype) for a in (x, *more)]
        track = torch.is_grad_enabled() and any(a.requires_grad for a in (x, *more))
        with torch.set_grad_enabled(track):
            out = fn(*args)
        return out.to(device=x.device, dtype=x.dtype)

    @property
    def sigma_min(self) -> float:
        return min(self.sigmas) if self.sigmas else self.sigma

    # --- the protocol ---------------------------------------------------------------
    def score(self, x: torch.Tensor, sigma: float = 0.0) -> torch.Tensor:
        sigma = float(sigma)
        if self.net_kind == "cld":
            raise ValueError("this network learned the CLD velocity score grad_v log p_t(x, v); "
                             "use the 'cld' or 'cld-ode' sampler (or train with objective 'ncsn' for the others)")
        if self.net_kind == "plain":
            if sigma > 0 and not math.isclose(sigma, self.sigma, rel_tol=1e-6):
                trained = f"noise level sigma = {self.sigma:g}" if self.sigma > 0 else "the noise-free target (sigma = 0)"
                raise ValueError(f"this plain score network learned only {trained}, so it has no score at "
                                 f"sigma = {sigma:g}; annealed Langevin needs a noise-conditional network "
                                 "(train with objective 'ncsn')")
            return self._run(self.net, x)
        sigma = max(sigma, self.sigma_min)
        return self._run(lambda a: self.net(a, sigma), x)

    def log_prob(self, x):
        raise ValueError("MALA needs a log-density, and a learned score network gives only the score "
                         "(its gradient), not log p; use langevin, annealed or underdamped instead")

    def cld_score(self, x, v, t, cld: CLD | None = None) -> torch.Tensor:
        if self.net_kind != "cld":
            raise ValueError("CLD samplers need the velocity score of the CLD diffusion: train a CLD "
                             "network with objective 'hsm'; this one learned a score of x only")
        if cld is not None and cld_config(cld) != cld_config(self.cld):
            raise ValueError(f"this CLD network was trained for the CLD process {cld_config(self.cld)}; "
                             f"the sampler asked for {cld_config(cld)}")
        return self._run(lambda a, b: self.net.velocity_score(a, b, float(t), self.cld), x, v)

    # --- conveniences ---------------------------------------------------------------
    def field(self, x, sigma=None, t=0.5, v=None) -> torch.Tensor:
        """The learned field at x: s(x, sigma) (sigma defaults to 0 for a plain net and to
        the smallest trained level for a conditional one); for a CLD net grad_v log p_t at
        (x, v) with v = 0 unless given."""
        if self.net_kind == "cld":
            return self.cld_score(x, torch.zeros_like(x) if v is None else v, t)
        return self.score(x, self.sigma if sigma is None else sigma)

    def describe(self) -> dict:
        return {"kind": self.net_kind, "network": dict(self.net.config), "scale": self.scale,
                "sigma_max": self.sigma_max, "box": list(self.box), "sigmas": self.sigmas, "sigma": self.sigma,
                "cld": cld_config(self.cld) if self.cld is not None else None, "name": self.name, **self.meta}
