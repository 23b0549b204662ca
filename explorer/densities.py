"""Toy targets: a normalised log-density, an exact score, an exact sampler and a box.

Every density answers the same three questions a sampler asks (the score-model
protocol of ``explorer.samplers``): ``score(x, sigma)``, ``log_prob(x)`` and
``cld_score(x, v, t, cld)``.

* Mixtures (``eight-gaussians``, ``mixture-1to4``, ``grid-25``, ``gmm``) are exact at
  every noise level: the noised law is again a mixture.
* Analytic non-mixtures (``ring``, ``two-rings``, ``double-well``, ``banana``) have an
  exact score at sigma = 0. At sigma > 0 they use a *lattice-quadrature surrogate*:
  p_sigma(y) = ∫ p(x) N(y - x; sigma^2) dx ≈ sum_j p(x_j) dA N(y - x_j; s^2 I), a
  Gaussian mixture on a lattice of spacing h0 = scale / 2 with s = max(sigma, h0)
  (coarser lattices for large sigma: ``_lattice_mixture``). The lattice sum aliases
  like exp(-2 pi^2 w^2 / h0^2), where w = (w_p^-2 + sigma^-2)^(-1/2) is the width of the
  integrand p(x) N(y - x; sigma^2) and w_p the target's local width; for sigma >= h0 and
  w_p >= scale, w >= 0.9 h0, and tests/test_scores.py holds the log-density within 1e-5
  of a brute-force convolution (banana, whose arms are narrower than its scale: 5e-4 at
  sigma = h0). So for sigma >= h0 the surrogate is the noised law to that accuracy
  where p_sigma is not negligible (in far tails, under ~1e-12 of
  the peak, cells are dropped and the field keeps its direction, not its length). Below h0 the exact sigma = 0
  score stands in (its error is O(sigma^2) and largest just below h0, where it equals
  the lattice's own smoothing bias). That bias, the relative Fisher divergence between
  the lattice at h0 and the exact score, is ``surrogate_error`` (reported by
  ``python -m explorer densities``); for a Gaussian profile of std s it is
  (r^2 / (1 + r^2))^2 with r = h0 / s = 1/2, i.e. 0.04 (docs/math.md). CLD scores use the
  h0 lattice as the data law, p * N(0, h0^2 I): sqrt(1 + r^2) - 1 = 12% wider where p is
  narrowest.
* Sample-only data (``moons``, ``circles``, ``swiss-roll`` from scikit-learn's
  generators, and any x,y array) have no density; use a KDE (``explorer.kde``).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .metrics import relative_fisher
from .mixture import GaussianMixture


def _as_tensor(x):
    return torch.as_tensor(x, dtype=torch.float64)


class Density:
    """Base class. ``kind`` is 'mixture', 'analytic' or 'samples'.

    ``scale`` is the target's narrowest local standard deviation where it has its mass
    (it sets the default step sizes; for banana the width across the curve at x1 = s1,
    and its arms beyond are narrower still); ``sigma_max`` is about the largest pairwise distance of the
    data (NCSNv2's rule for the top noise level); ``box`` is (xmin, xmax, ymin, ymax).
    ``modes`` is a GaussianMixture whose components define the modes used for mode
    weights (``None`` where the target has no separate modes).
    """

    name = "density"
    kind = "analytic"
    has_score = True
    mixing_steps = 1000     # default steps for the non-annealed samplers
    cld_steps = 500         # default steps for the CLD samplers
    modes: GaussianMixture | None = None

    def __init__(self, box, scale, sigma_max, params=None):
        self.box = tuple(float(b) for b in box)
        self.scale = float(scale)
        self.sigma_max = float(sigma_max)
        self.params = dict(params or {})
        self._noised = {}
        self._lattices = {}     # the surrogate's lattice levels (never evicted: see _lattice_mixture)

    # --- the ScoreModel protocol --------------------------------------------------
    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def exact_score(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def log_prob_and_score(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log p(x), grad log p(x)) together: MALA asks both at every proposal."""
        return self.log_prob(x), self.exact_score(x)

    def score(self, x: torch.Tensor, sigma: float = 0.0) -> torch.Tensor:
        """grad_x log p_sigma(x) where p_sigma = p * N(0, sigma^2 I) (VE noise)."""
        if sigma < (self.surrogate_bandwidth if self.kind == "analytic" else 1e-300):
            return self.exact_score(x)
        return self.noised_mixture(sigma).score(x)

    def cld_score(self, x, v, t, cld) -> torch.Tensor:
        """grad_v log p_t(x, v) of the CLD forward process started from this law."""
        return cld.mixture_velocity_score(self.as_mixture(), x, v, t)

    def cld_path(self, cld, times, dtype=torch.float32, device="cpu"):
        """p_t(x, v) of the CLD forward process at every one of ``times``, parameters
        computed once (``CLD.path``): ``score(u, i)`` with u = (x, v)."""
        return cld.path(self.as_mixture(), times, dtype, device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    # --- mixtures -----------------------------------------------------------------
    def as_mixture(self) -> GaussianMixture:
        """The exact mixture, or the documented lattice surrogate (sigma = 0) for non-mixtures."""
        return self.noised_mixture(0.0)

    def noised_mixture(self, sigma: float) -> GaussianMixture:
        key = round(float(sigma), 12)
        if key not in self._noised:
            if len(self._noised) > 64:      # annealing uses 20 levels; a sweep may use more
                self._noised.clear()
            self._noised[key] = self._build_noised(key)
        return self._noised[key]

    def _build_noised(self, sigma):
        return _lattice_mixture(self, sigma)

    @property
    def surrogate_bandwidth(self) -> float:
        """h0 of the lattice surrogate: half the smallest local scale."""
        return 0.5 * self.scale

    @property
    def support(self):
        """A box holding all but a negligible part of the mass (the lattice's extent)."""
        return self.box

    def describe(self) -> dict:
        return {"name": self.name, "kind": self.kind, "parameters": self.params,
                "box": list(self.box), "scale": self.scale, "sigma_max": self.sigma_max}


def _lattice_mixture(density, sigma: float) -> GaussianMixture:
    """The quadrature surrogate of ``density`` noised by sigma (module docstring).

    sigma <= 4 h0: p_sigma(y) ≈ sum_j p(x_j) h0^2 N(y - x_j; max(sigma, h0)^2) on the
    h0 lattice. Larger sigma: p_sigma = p_s * N(0, sigma^2/2) with s = sigma/sqrt 2, on a
    lattice of spacing sigma/2 weighted by p_s (itself a surrogate, recursively): the
    integrand p_s(x) N(y - x; sigma^2/2) is then at least sigma/2 wide, one spacing,
    so the lattice sum stays accurate with far fewer cells. Lattices are built only at
    h0 and at the levels 4 h0 2^k; any other sigma is the level a below it noised
    further, p_a * N(0, (sigma^2 - a^2) I), exact for a mixture: a score SDE asks for a
    new sigma at every step, and the lattice's log-density, not the score, is the cost."""
    h0 = density.surrogate_bandwidth
    level = h0 if sigma <= 4 * h0 else 4 * h0 * 2 ** math.floor(math.log2(sigma / (4 * h0)) + 1e-9)
    key = round(level, 12)
    if key not in density._lattices:
        density._lattices[key] = _lattice(density, level, h0)
    # the lattice at ``level`` is p_level: noise it by the rest of sigma^2
    return density._lattices[key].noised(math.sqrt(max(max(sigma, h0) ** 2 - level**2, 0.0)))


def _lattice(density, sigma, h0) -> GaussianMixture:
    x0, x1, y0, y1 = density.support
    if sigma <= h0:
        step, std, log_weight, pad = h0, h0, density.log_prob, 0.0
    else:
        inner = sigma / math.sqrt(2)
        step, std, log_weight, pad = sigma / 2, inner, density.noised_mixture(inner).log_prob, 3 * inner
    xs = torch.arange(x0 - pad, x1 + pad + step, step, dtype=torch.float64)
    ys = torch.arange(y0 - pad, y1 + pad + step, step, dtype=torch.float64)
    pts = torch.cartesian_prod(xs, ys)
    logw = log_weight(pts) + 2 * math.log(step)
    keep = logw > math.log(1e-12)            # lattice cells holding under 1e-12 of the mass
    pts, w = pts[keep], torch.exp(logw[keep])
    return GaussianMixture(w, pts, std**2 * torch.eye(2, dtype=torch.float64))


class MixtureDensity(Density):
    """A Gaussian mixture: exact at every noise level."""

    kind = "mixture"

    def __init__(self, name, mixture: GaussianMixture, box, params=None):
        self.name = name
        self.mixture = mixture
        self.modes = mixture
        scale = math.sqrt(float(torch.linalg.eigvalsh(mixture.covs).min()))
        m = mixture.means
        spread = float(torch.cdist(m, m).max()) if len(m) > 1 else 0.0
        sigma_max = max(spread, 3 * math.sqrt(float(torch.linalg.eigvalsh(mixture.covs).max())))
        super().__init__(box, scale, sigma_max, params)

    def _build_noised(self, sigma):
        return self.mixture.noised(sigma)

    @property
    def support(self):
        sd = torch.sqrt(torch.diagonal(self.mixture.covs, dim1=1, dim2=2))
        lo = (self.mixture.means - 7 * sd).min(0).values.tolist()
        hi = (self.mixture.means + 7 * sd).max(0).values.tolist()
        return (lo[0], hi[0], lo[1], hi[1])

    def log_prob(self, x):
        return self.mixture.log_prob(x)

    def exact_score(self, x):
        return self.mixture.score(x)

    def log_prob_and_score(self, x):
        return self.mixture.log_prob_and_score(x)

    def sample(self, n, generator=None):
        return self.mixture.sample(n, generator)


# ----- analytic non-mixtures ---------------------------------------------------------
def _ring_log_norm(r, w):
    """log of the ring's normaliser: 2 pi [w^2 e^{-r^2/2w^2} + r w sqrt(2 pi) Phi(r/w)]."""
    phi = 0.5 * math.erfc(-r / (w * math.sqrt(2)))
    return math.log(2 * math.pi * (w**2 * math.exp(-r**2 / (2 * w**2)) + r * w * math.sqrt(2 * math.pi) * phi))


def _ring_radii(n, r, w, generator):
    """Exact draws of |x| for the ring: density ∝ rho exp(-(rho - r)^2 / 2w^2) on rho > 0.

    Inverse CDF by bisection on the closed-form CDF (the radial law is N(r, w^2)
    weighted by rho, not N(r, w^2) itself)."""
    def cdf(rho):  # unnormalised, rho >= 0
        a = torch.exp(torch.tensor(-r**2 / (2 * w**2), dtype=torch.float64))
        gauss = torch.special.ndtr((rho - r) / w) - torch.special.ndtr(torch.tensor(-r / w, dtype=torch.float64))
        return w**2 * (a - torch.exp(-(rho - r) ** 2 / (2 * w**2))) + r * w * math.sqrt(2 * math.pi) * gauss
    total = cdf(torch.tensor(r + 40 * w, dtype=torch.float64))
    u = torch.rand(n, generator=generator, dtype=torch.float64) * total
    lo = torch.zeros(n, dtype=torch.float64)
    hi = torch.full((n,), r + 40 * w, dtype=torch.float64)
    for _ in range(60):             # 2^-60 of the bracket: float64 resolution
        mid = 0.5 * (lo + hi)
        below = cdf(mid) < u
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
    return 0.5 * (lo + hi)


def _ring_terms(x, r, w):
    rho = torch.linalg.norm(x, dim=-1)
    logp = -(rho - r) ** 2 / (2 * w**2) - _ring_log_norm(r, w)
    # -((rho - r)/w^2) x/|x|: singular at 0, where the gradient is set to 0 (the
    # density has a cusp there; 0 is the symmetric choice).
    safe = torch.clamp(rho, min=1e-12)
    score = -((rho - r) / w**2 / safe)[:, None] * x
    score = torch.where((rho > 1e-12)[:, None], score, torch.zeros_like(score))
    return logp, score


class Ring(Density):
    """p(x) ∝ exp(-(|x| - r)^2 / (2 w^2))."""

    name = "ring"

    def __init__(self, radius=2.0, width=0.2):
        if radius <= 0 or width <= 0:
            raise ValueError("ring needs radius > 0 and width > 0")
        self.r, self.w = float(radius), float(width)
        b = self.r + 5 * self.w + 0.5
        super().__init__((-b, b, -b, b), self.w, 2 * self.r + 2 * self.w, {"radius": self.r, "width": self.w})

    @property
    def support(self):
        b = self.r + 7 * self.w
        return (-b, b, -b, b)

    def log_prob(self, x):
        return _ring_terms(x, self.r, self.w)[0]

    def exact_score(self, x):
        return _ring_terms(x, self.r, self.w)[1]

    def sample(self, n, generator=None):
        rho = _ring_radii(n, self.r, self.w, generator)
        theta = 2 * math.pi * torch.rand(n, generator=generator, dtype=torch.float64)
        return torch.stack([rho * torch.cos(theta), rho * torch.sin(theta)], dim=1)


class TwoRings(Density):
    """An equal-weight mixture of two concentric rings (radii r1 < r2, one width)."""

    name = "two-rings"

    def __init__(self, inner=1.0, outer=2.5, width=0.15):
        if not 0 < inner < outer or width <= 0:
            raise ValueError("two-rings needs 0 < inner < outer and width > 0")
        self.r1, self.r2, self.w = float(inner), float(outer), float(width)
        b = self.r2 + 5 * self.w + 0.5
        super().__init__((-b, b, -b, b), self.w, 2 * self.r2 + 2 * self.w,
                         {"inner": self.r1, "outer": self.r2, "width": self.w})

    @property
    def support(self):
        b = self.r2 + 7 * self.w
        return (-b, b, -b, b)

    def _both(self, x):
        l1, s1 = _ring_terms(x, self.r1, self.w)
        l2, s2 = _ring_terms(x, self.r2, self.w)
        logs = torch.stack([l1, l2], 1) + math.log(0.5)
        r = torch.softmax(logs, 1)
        return torch.logsumexp(logs, 1), r[:, :1] * s1 + r[:, 1:] * s2

    def log_prob(self, x):
        return self._both(x)[0]

    def exact_score(self, x):
        return self._both(x)[1]

    def sample(self, n, generator=None):
        inner = torch.rand(n, generator=generator, dtype=torch.float64) < 0.5
        rho = torch.where(inner, _ring_radii(n, self.r1, self.w, generator), _ring_radii(n, self.r2, self.w, generator))
        theta = 2 * math.pi * torch.rand(n, generator=generator, dtype=torch.float64)
        return torch.stack([rho * torch.cos(theta), rho * torch.sin(theta)], dim=1)


class DoubleWell(Density):
    """U = a (x1^2 - 1)^2 + x2^2 / 2, p ∝ exp(-U); ``barrier`` is a = U(0) - U(±1).

    Normalised by 1-D quadrature in x1 (x2 is a standard normal); x1 is drawn by
    inverse CDF on the same grid (error O(dx^2), dx = 2e-4)."""

    name = "double-well"

    def __init__(self, barrier=2.0):
        if not 0 < barrier <= 50:
            raise ValueError("double-well barrier must be in (0, 50]")
        self.a = float(barrier)
        self._grid = torch.linspace(-4, 4, 40001, dtype=torch.float64)
        dens = torch.exp(-self.a * (self._grid**2 - 1) ** 2)
        dx = float(self._grid[1] - self._grid[0])
        cdf = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(0.5 * (dens[1:] + dens[:-1]) * dx, 0)])
        self._z1 = float(cdf[-1])
        self._cdf = (cdf / cdf[-1]).numpy()
        local_sd = 1 / math.sqrt(8 * self.a)        # Laplace: U''(1) = 8a
        modes = GaussianMixture(torch.ones(2), torch.tensor([[-1.0, 0.0], [1.0, 0.0]]),
                                torch.diag(torch.tensor([local_sd**2, 1.0])).expand(2, 2, 2))
        self.modes = modes
        super().__init__((-3, 3, -3, 3), min(local_sd, 1.0), 4.0, {"barrier": self.a})

    @property
    def support(self):
        b = math.sqrt(1 + math.sqrt(30 / self.a))   # U(x1) = 30 there
        return (-b, b, -6.5, 6.5)

    def log_prob(self, x):
        u = self.a * (x[:, 0] ** 2 - 1) ** 2 + 0.5 * x[:, 1] ** 2
        return -u - math.log(self._z1) - 0.5 * math.log(2 * math.pi)

    def exact_score(self, x):
        return torch.stack([-4 * self.a * x[:, 0] * (x[:, 0] ** 2 - 1), -x[:, 1]], dim=1)

    def sample(self, n, generator=None):
        u = torch.rand(n, generator=generator, dtype=torch.float64).numpy()
        x1 = torch.from_numpy(np.interp(u, self._cdf, self._grid.numpy()))
        x2 = torch.randn(n, generator=generator, dtype=torch.float64)
        return torch.stack([x1, x2], dim=1)


class Banana(Density):
    """x1 ~ N(0, s1^2), x2 | x1 ~ N(b (x1^2 - s1^2), s2^2): exact density, score and draws."""

    name = "banana"
    mixing_steps = 10000    # ULA crawls along the thin curved ridge: 1000 steps leave it unmixed

    def __init__(self, curvature=1.0, s1=1.0, s2=0.35):
        if s1 <= 0 or s2 <= 0:
            raise ValueError("banana needs s1 > 0 and s2 > 0")
        self.b, self.s1, self.s2 = float(curvature), float(s1), float(s2)
        # the width across the curve at x1 = s1 is s2 / sqrt(1 + (2 b s1)^2)
        across = self.s2 / math.sqrt(1 + 4 * self.b**2 * self.s1**2)
        low = -self.b * self.s1**2 - 4 * self.s2
        super().__init__((-3.5 * self.s1, 3.5 * self.s1, low, low + 7 * self.s1), across, 6 * self.s1, {"curvature": self.b, "s1": self.s1, "s2": self.s2})

    @property
    def support(self):
        top = self.b * 36 * self.s1**2 + 7 * self.s2
        return (-6 * self.s1, 6 * self.s1, -self.b * self.s1**2 - 7 * self.s2, top)

    def _resid(self, x):
        return x[:, 1] - self.b * (x[:, 0] ** 2 - self.s1**2)

    def log_prob(self, x):
        r = self._resid(x)
        return (-0.5 * x[:, 0] ** 2 / self.s1**2 - 0.5 * r**2 / self.s2**2
                - math.log(2 * math.pi * self.s1 * self.s2))

    def exact_score(self, x):
        r = self._resid(x) / self.s2**2
        return torch.stack([-x[:, 0] / self.s1**2 + 2 * self.b * x[:, 0] * r, -r], dim=1)

    def sample(self, n, generator=None):
        z = torch.randn(n, 2, generator=generator, dtype=torch.float64)
        x1 = self.s1 * z[:, 0]
        return torch.stack([x1, self.b * (x1**2 - self.s1**2) + self.s2 * z[:, 1]], dim=1)


# ----- sample-only data ----------------------------------------------------------------
class SampleData(Density):
    """Data known only through draws: scikit-learn generators or an x,y array.

    There is no exact score; fit a KDE (``explorer.kde.fit_kde``). For an array, exact
    draws of the empirical law are rows drawn with replacement."""

    kind = "samples"
    has_score = False

    def __init__(self, name, draw, box, scale, params=None, fixed: torch.Tensor | None = None):
        self.name = name
        self._draw = draw
        self.fixed = fixed
        ref = fixed if fixed is not None else draw(2000, 0)
        spread = float(torch.cdist(ref[:500], ref[:500]).max())
        super().__init__(box, scale, spread, params)

    def sample(self, n, generator=None):
        if self.fixed is not None:
            idx = torch.randint(len(self.fixed), (n,), generator=generator)
            return self.fixed[idx]
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        return self._draw(n, seed)

    def _no_score(self, *_, **__):
        raise ValueError(f"'{self.name}' is known only through samples and has no exact score or "
                         "density; use a KDE score (--score kde)")

    log_prob = exact_score = log_prob_and_score = score = cld_score = cld_path = as_mixture = _no_score


def _sk(fn, n, seed, cols=(0, 1), scale=1.0, shift=(0.0, 0.0), **kw):
    x = fn(n_samples=n, random_state=seed, **kw)[0][:, list(cols)]
    return torch.from_numpy((x * scale - np.asarray(shift)).astype(np.float64))


def _moons(n, seed):
    from sklearn.datasets import make_moons
    return _sk(make_moons, n, seed, scale=2.0, shift=(1.0, 0.5), noise=0.06)


def _circles(n, seed):
    from sklearn.datasets import make_circles
    return _sk(make_circles, n, seed, scale=3.0, noise=0.04, factor=0.5)


def _swiss(n, seed):
    from sklearn.datasets import make_swiss_roll
    return _sk(make_swiss_roll, n, seed, cols=(0, 2), scale=0.25, noise=0.5)


def from_array(xy, name="data", box=None) -> SampleData:
    """Sample-only data from an (n, 2) array (e.g. a CSV); the box pads the data by 10%
    unless given (a drawing keeps its canvas's box)."""
    xy = _as_tensor(np.asarray(xy, dtype=np.float64))
    lo, hi = xy.min(0).values, xy.max(0).values
    pad = 0.1 * (hi - lo).max() + 1e-9
    scale = max(float(xy.std(0).min()) / 10, 1e-3)
    box = box or (float(lo[0] - pad), float(hi[0] + pad), float(lo[1] - pad), float(hi[1] + pad))
    return SampleData(name, None, box, scale, {"rows": len(xy)}, fixed=xy)


# ----- the catalogue -------------------------------------------------------------------
def eight_gaussians() -> MixtureDensity:
    """FFJORD's eight Gaussians: means (4/sqrt 2)(cos k pi/4, sin k pi/4), std 0.5/sqrt 2."""
    k = torch.arange(8, dtype=torch.float64) * math.pi / 4
    means = 4 / math.sqrt(2) * torch.stack([torch.cos(k), torch.sin(k)], 1)
    covs = (0.5 / math.sqrt(2)) ** 2 * torch.eye(2).expand(8, 2, 2)
    return MixtureDensity("eight-gaussians", GaussianMixture(torch.ones(8), means, covs), (-4.5, 4.5, -4.5, 4.5))


def mixture_1to4() -> MixtureDensity:
    """Song & Ermon (2019)'s toy: 1/5 N((-5,-5), I) + 4/5 N((5,5), I)."""
    mix = GaussianMixture(torch.tensor([0.2, 0.8]), torch.tensor([[-5.0, -5.0], [5.0, 5.0]]), torch.eye(2).expand(2, 2, 2))
    return MixtureDensity("mixture-1to4", mix, (-8, 8, -8, 8))


def grid_25() -> MixtureDensity:
    """PacGAN's grid: 25 equal modes on {-4,-2,0,2,4}^2, std 0.05."""
    g = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    means = torch.cartesian_prod(g, g)
    d = MixtureDensity("grid-25", GaussianMixture(torch.ones(25), means, 0.05**2 * torch.eye(2).expand(25, 2, 2)),
                       (-5.5, 5.5, -5.5, 5.5))
    # modes 7x narrower than eight-gaussians': CLD's samples measured 2.0% narrow at 500 and
    # 1,000 steps (mean spread 0.980 over 20 and 8 seeds), 0.997 at 2,000 (8 seeds)
    d.cld_steps = 2000
    return d


def gmm(weights, means, covs, box=None) -> MixtureDensity:
    """A general mixture from user-given weights (K,), means (K, 2) and covs (K, 2, 2)
    (a (K,) list of scalars means isotropic variances)."""
    w, m = _as_tensor(weights), _as_tensor(means)
    c = _as_tensor(covs)
    if m.ndim != 2 or m.shape[1] != 2:
        raise ValueError("gmm means must be a list of [x, y] pairs")
    if c.ndim == 1:
        c = c[:, None, None] * torch.eye(2, dtype=torch.float64)
    mix = GaussianMixture(w, m, c)
    if box is None:
        sd = torch.sqrt(torch.diagonal(c, dim1=1, dim2=2))
        lo = (m - 3.5 * sd).min(0).values
        hi = (m + 3.5 * sd).max(0).values
        box = (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))
    params = {"weights": mix.weights.tolist(), "means": m.tolist(), "covs": c.tolist()}
    return MixtureDensity("gmm", mix, box, params)


def _sample_only(name, draw, box, scale, params):
    return lambda **kw: SampleData(name, draw, box, scale, params)


REGISTRY = {
    "eight-gaussians": eight_gaussians,
    "mixture-1to4": mixture_1to4,
    "grid-25": grid_25,
    "ring": Ring,
    "two-rings": TwoRings,
    "double-well": DoubleWell,
    "banana": Banana,
    "gmm": gmm,
    "moons": _sample_only("moons", _moons, (-3.5, 3.5, -3.5, 3.5), 0.12, {"noise": 0.06}),   # x spans ±3.45
    "circles": _sample_only("circles", _circles, (-4, 4, -4, 4), 0.12, {"noise": 0.04, "factor": 0.5}),
    "swiss-roll": _sample_only("swiss-roll", _swiss, (-4, 4, -4, 4), 0.12, {"noise": 0.5}),
}

DEFAULT_GMM = {"weights": [0.3, 0.7], "means": [[-1.5, 0.0], [1.5, 0.5]],
               "covs": [[[0.3, 0.2], [0.2, 0.4]], [[0.5, -0.3], [-0.3, 0.4]]]}


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str, **params) -> Density:
    """Build a density by name; unknown names and bad parameters raise ValueError."""
    if name not in REGISTRY:
        raise ValueError(f"unknown density '{name}'; choose one of: {', '.join(REGISTRY)}")
    if name == "gmm" and not params:
        params = DEFAULT_GMM
    try:
        return REGISTRY[name](**params)
    except TypeError as e:
        raise ValueError(f"bad parameters for '{name}': {e}") from None


def surrogate_error(density: Density, n: int = 4000, seed: int = 0) -> float:
    """Relative Fisher divergence of the sigma -> 0 surrogate against the exact score,
    E_p|s_sur - s|^2 / E_p|s|^2 over exact draws (0 for mixtures)."""
    if density.kind == "mixture":
        return 0.0
    x = density.sample(n, torch.Generator().manual_seed(seed))
    exact = density.exact_score(x)
    return relative_fisher(density.as_mixture().score(x), exact)
