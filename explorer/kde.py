"""Parzen / kernel density estimates and their scores (Parzen 1962; Vincent 2011, Sec. 4).

    p_H(x) = (1/n) sum_i |H|^{-1/2} K(H^{-1/2} (x - x_i))

``H`` is the bandwidth matrix and every kernel here is scaled to have covariance H,
so the same bandwidth rule means the same amount of smoothing for each kernel:

* ``gaussian``: K = N(0, I). The KDE is a Gaussian mixture with n equal weights, means
  x_i and covariance H, so its score is closed form at every noise level (H + sigma^2 I)
  and under CLD (``explorer.mixture``).
* ``epanechnikov``: K ∝ (1 - |u|^2 / 6)_+ (support radius sqrt 6). Score
  sum_i -2 (x - x_i)/6 1[inside] / sum_i (1 - ...)_+ in whitened coordinates: defined
  wherever p_H > 0, continuous inside, undefined (NaN) outside the union of kernel
  supports, and not differentiable on each kernel's boundary.
* ``uniform``: K ∝ 1[|u| < 2] (radius 2). p_H is piecewise constant, so its score is 0
  almost everywhere inside the support, a Dirac (undefined) on every kernel boundary,
  and NaN outside: a uniform KDE gives a sampler nothing to follow.

Only the Gaussian kernel has noised and CLD scores. Log-densities of the compact
kernels come from scikit-learn's ``KernelDensity`` in whitened coordinates.

Bandwidth (scipy.stats.gaussian_kde's rules): Scott factor n^(-1/(d+4)), Silverman
(n (d+2)/4)^(-1/(d+4)); ``shape='full'``: H = factor^2 Cov(data) (as scipy);
``shape='isotropic'``: H = factor^2 (tr Cov / d) I; a number h gives H = h^2 I.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .densities import Density
from .mixture import GaussianMixture

KERNELS = ("gaussian", "epanechnikov", "uniform")
RULES = ("scott", "silverman")
_RADIUS = {"epanechnikov": math.sqrt(6.0), "uniform": 2.0}   # kernel covariance = I
_SKLEARN = {"gaussian": "gaussian", "epanechnikov": "epanechnikov", "uniform": "tophat"}


def bandwidth_factor(n: int, d: int, rule: str) -> float:
    if rule == "scott":
        return n ** (-1.0 / (d + 4))
    if rule == "silverman":
        return (n * (d + 2) / 4.0) ** (-1.0 / (d + 4))
    raise ValueError(f"unknown bandwidth rule '{rule}'; choose scott, silverman or a positive number")


def bandwidth_matrix(data: torch.Tensor, bandwidth="scott", shape="full") -> torch.Tensor:
    n, d = data.shape
    if isinstance(bandwidth, str):
        f = bandwidth_factor(n, d, bandwidth)
        cov = torch.cov(data.T).reshape(d, d)
        if shape == "full":
            h = f**2 * cov
        elif shape == "isotropic":
            h = f**2 * torch.trace(cov) / d * torch.eye(d, dtype=torch.float64)
        else:
            raise ValueError("bandwidth shape must be 'full' or 'isotropic'")
        if not (torch.linalg.eigvalsh(h) > 0).all():
            raise ValueError("the data have no spread in some direction: give a bandwidth number instead of a rule")
        return h
    h = float(bandwidth)
    if not (h > 0 and math.isfinite(h)):
        raise ValueError("bandwidth must be scott, silverman or a positive number")
    return h**2 * torch.eye(d, dtype=torch.float64)


class KDE(Density):
    """A KDE fitted to ``data`` (n, 2); usable wherever a density is (score model)."""

    kind = "kde"
    # MALA from the default start on the moons KDE: energy distance above its noise floor
    # in 2 of 12 seeds at 1,000 steps (1.4x); those two seeds land at 2,000 and at 4,000
    # (rejections slow its walk along the thin arcs)
    mala_steps = 2000

    def __init__(self, data, kernel="gaussian", bandwidth="scott", shape="full", name="kde"):
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel '{kernel}'; choose one of: {', '.join(KERNELS)}")
        data = torch.as_tensor(np.asarray(data, dtype=np.float64))
        if data.ndim != 2 or data.shape[1] != 2 or len(data) < 2:
            raise ValueError("a KDE needs at least 2 points with 2 coordinates each")
        self.name, self.kernel, self.data = name, kernel, data
        self.H = bandwidth_matrix(data, bandwidth, shape)
        self.chol = torch.linalg.cholesky(self.H)
        self.has_score = kernel != "uniform"
        self.mixture = GaussianMixture(torch.ones(len(data)), data, self.H)
        lo, hi = data.min(0).values, data.max(0).values
        pad = 3 * float(torch.sqrt(torch.diagonal(self.H)).max()) + 0.05 * float((hi - lo).max())
        box = (float(lo[0] - pad), float(hi[0] + pad), float(lo[1] - pad), float(hi[1] + pad))
        scale = math.sqrt(float(torch.linalg.eigvalsh(self.H).min()))
        sigma_max = float(torch.cdist(data[:500], data[:500]).max())
        super().__init__(box, scale, sigma_max,
                         {"kernel": kernel, "bandwidth": bandwidth, "shape": shape, "n": len(data),
                          "H": self.H.tolist()})
        self._sk = None

    # whitened coordinates z = L^{-1} x, where H = L L^T
    def _white(self, x):
        return torch.linalg.solve_triangular(self.chol.to(x), x.T, upper=False).T

    def _sklearn(self):
        if self._sk is None:
            from sklearn.neighbors import KernelDensity
            radius = _RADIUS.get(self.kernel, 1.0)
            self._sk = KernelDensity(kernel=_SKLEARN[self.kernel], bandwidth=radius).fit(
                self._white(self.data).numpy())
        return self._sk

    def log_prob(self, x):
        if self.kernel == "gaussian":
            return self.mixture.log_prob(x)
        z = self._white(x.detach().double().cpu()).numpy()
        logdet = float(torch.log(torch.diagonal(self.chol)).sum())
        return torch.as_tensor(self._sklearn().score_samples(z) - logdet).to(x)

    def exact_score(self, x):
        if self.kernel == "gaussian":
            return self.mixture.score(x)
        zx = self._white(x)
        zd = self._white(self.data.to(x))
        r2 = torch.cdist(zx, zd) ** 2 / _RADIUS[self.kernel] ** 2         # (N, n)
        inside = r2 < 1
        if self.kernel == "epanechnikov":
            dens = torch.where(inside, 1 - r2, torch.zeros_like(r2)).sum(1)
            w = inside.to(x)   # sum_i -2 (z - z_i) / R^2 over the kernels covering z
            grad_z = -2 / _RADIUS[self.kernel] ** 2 * (w.sum(1, keepdim=True) * zx - w @ zd) / dens[:, None]
        else:   # uniform: zero inside the support (almost everywhere)
            dens = inside.sum(1).to(x)
            grad_z = torch.zeros_like(zx)
        # back to x: grad_x = L^{-T} grad_z; NaN where p_H = 0 (the score is undefined there)
        grad = torch.linalg.solve_triangular(self.chol.T.to(x), grad_z.T, upper=True).T
        return torch.where((dens > 0)[:, None], grad, torch.full_like(grad, float("nan")))

    def score(self, x, sigma=0.0):
        if sigma == 0:
            return self.exact_score(x)
        self._need_gaussian("noised scores")
        return self.noised_mixture(sigma).score(x)

    def cld_score(self, x, v, t, cld):
        self._need_gaussian("CLD scores")
        return super().cld_score(x, v, t, cld)

    def cld_path(self, cld, times, dtype=torch.float32, device="cpu"):
        self._need_gaussian("CLD scores")
        return super().cld_path(cld, times, dtype, device)

    def _need_gaussian(self, what):
        if self.kernel != "gaussian":
            raise ValueError(f"{what} exist in closed form only for the Gaussian kernel "
                             f"(this KDE uses '{self.kernel}')")

    def _build_noised(self, sigma):
        return self.mixture.noised(sigma)

    def as_mixture(self):
        self._need_gaussian("a mixture form")
        return self.mixture

    def sample(self, n, generator=None):
        """Exact draws from p_H: a data point, plus a draw from the kernel."""
        idx = torch.randint(len(self.data), (n,), generator=generator)
        if self.kernel == "gaussian":
            u = torch.randn(n, 2, generator=generator, dtype=torch.float64)
        else:   # radial kernels on a disc: Epanechnikov r^2 = 1 - sqrt(1 - q); uniform r^2 = q
            q = torch.rand(n, generator=generator, dtype=torch.float64)
            r = torch.sqrt(1 - torch.sqrt(1 - q)) if self.kernel == "epanechnikov" else torch.sqrt(q)
            th = 2 * math.pi * torch.rand(n, generator=generator, dtype=torch.float64)
            u = _RADIUS[self.kernel] * r[:, None] * torch.stack([torch.cos(th), torch.sin(th)], 1)
        return self.data[idx] + u @ self.chol.T


def fit_kde(density: Density, n: int = 1000, seed: int = 0, **kw) -> KDE:
    """A KDE of n exact draws of ``density`` (fixed seed): the 'kde' score source."""
    data = density.sample(n, torch.Generator().manual_seed(seed))
    return KDE(data, name=f"kde({density.name})", **kw)
