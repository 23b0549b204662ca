"""Sample-quality measures for 2D.

A metric means nothing alone: ``energy_null`` gives the same metric for 99 fresh exact
sample sets of the same size, and ``noise_floor`` the level 99% of them stay below.
The energy distance is dominated by the distances between modes, so a within-mode
widening or a few hundredths of weight moved between modes can stay under its floor at
the particle counts the app uses: judge mixtures by ``mode_stats`` as well. Definitions
and why they hold: docs/math.md#metrics.
"""
from __future__ import annotations

import math

import numpy as np
import torch


def _t(x):
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


def _mean_offdiag(d):
    n, m = d.shape
    return (d.sum() - torch.diagonal(d).sum()) / (n * (m - 1)) if n == m else d.mean()


def energy_distance(x, y) -> float:
    """Unbiased (U-statistic) energy distance 2 E|X-Y| - E|X-X'| - E|Y-Y'| (Szekely & Rizzo
    2013). The V-statistic's positive bias, of order E|X-X'|/n, would swamp the signal."""
    x, y = _t(x), _t(y)
    xy = torch.cdist(x, y).mean()
    xx = _mean_offdiag(torch.cdist(x, x))
    yy = _mean_offdiag(torch.cdist(y, y))
    return float(2 * xy - xx - yy)


def mmd2(x, y, bandwidth=None) -> float:
    """Unbiased MMD^2 with an RBF kernel exp(-|a-b|^2 / (2 l^2)) (Gretton et al. 2012, eq. 3);
    l defaults to the median pairwise distance of the pooled sample (median heuristic)."""
    x, y = _t(x), _t(y)
    if bandwidth is None:
        z = torch.cat([x, y])[:2000]
        d = torch.cdist(z, z)
        bandwidth = float(d[torch.triu(torch.ones_like(d, dtype=torch.bool), 1)].median())
    k = lambda a, b: torch.exp(-torch.cdist(a, b) ** 2 / (2 * bandwidth**2))   # noqa: E731
    return float(_mean_offdiag(k(x, x)) + _mean_offdiag(k(y, y)) - 2 * k(x, y).mean())


def _truncated_mean(k: float, dim: int, c2: float) -> float:
    """E[Y | Y < c2] for Y = k^2 chi2_dim: k^2 dim P(chi2_{dim+2} < c2/k^2) / P(chi2_dim < c2/k^2)."""
    a = torch.tensor(c2 / (2 * k * k), dtype=torch.float64)
    return k * k * dim * float(torch.special.gammainc(torch.tensor(dim / 2 + 1.0), a)
                               / torch.special.gammainc(torch.tensor(dim / 2), a))


def fit_spread(d2, dim: int, c2: float) -> float:
    """The k for which samples N(mu, k^2 C) reproduce the mean squared Mahalanobis
    distance ``d2`` (w.r.t. the true C) of those within the cut d2 < ``c2``: the maximum
    likelihood scale of a chi-square truncated at c2 (its mean is the sufficient
    statistic). So draws 1.58x too wide read 1.58, although the cut drops their tail."""
    m = float(np.mean(d2))
    lo, hi = 1e-3, 1e3
    if m >= _truncated_mean(hi, dim, c2):
        return math.inf
    for _ in range(100):                      # bisection in log k: the mean grows with k
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if _truncated_mean(mid, dim, c2) < m else (lo, mid)
    return math.sqrt(lo * hi)


def mode_stats(samples, modes, true_weights=None, good_within=3.0, exact_spread=1.0) -> dict:
    """Mode coverage (PacGAN, Lin et al. 2018): each sample goes to its nearest mode in
    Mahalanobis distance and is "good" when that distance is below ``good_within`` std.

    Returns the per-mode weights among good samples, the modes hit, the share of good
    samples, and the within-mode spread: the factor k by which the good samples' spread
    around their modes differs from the modes' own (``fit_spread``: samples drawn with
    every mode's std scaled by k read k, cut at ``good_within`` std or not), divided by
    ``exact_spread``, the same statistic for exact draws where the modes are not
    Gaussian (double-well), so exact draws read 1."""
    x = _t(samples)
    if true_weights is None:
        true_weights = modes.weights
    diff = x[:, None, :] - modes.means[None]
    prec = torch.linalg.inv(modes.covs)
    maha2 = torch.einsum("nki,kij,nkj->nk", diff, prec, diff)
    nearest = maha2.argmin(1)
    d2 = maha2.gather(1, nearest[:, None])[:, 0]
    good = d2 < good_within**2
    counts = torch.bincount(nearest[good], minlength=modes.n_components).to(torch.float64)
    weights = counts / max(float(counts.sum()), 1.0)
    spread = (fit_spread(d2[good].numpy(), modes.dim, good_within**2) / exact_spread) if good.any() else float("nan")
    return {"mode_weights": weights.tolist(), "true_mode_weights": _t(true_weights).tolist(),
            "modes_hit": int((counts > 0).sum()), "n_modes": modes.n_components,
            "good_share": float(good.to(torch.float64).mean()), "spread": spread,
            "max_weight_error": float((weights - _t(true_weights)).abs().max())}


def relative_fisher(s, e) -> float:
    """The relative Fisher divergence E|s - e|^2 / E|e|^2 of scores ``s`` against the
    reference scores ``e`` at the same points (rows; for draws x ~ p, of p)."""
    return float(((s - e) ** 2).sum(1).mean() / (e**2).sum(1).mean())


NULL_DRAWS = 99


def energy_null(draw, reference, n: int, draws: int = NULL_DRAWS, seed: int = 12345) -> np.ndarray:
    """The energy distance of ``draws`` fresh exact sets of size ``n`` (from
    ``draw(n, generator)``) to ``reference``: the null distribution a sampler's value is
    judged against. A Monte Carlo test (Barnard 1963): an exact set exceeds the largest
    of 99 null values with probability exactly 1/100, whatever the distribution's
    shape (it is skewed: a weighted sum of chi-squares). Computed in float32 with the
    reference's own term once; that moves each value by under 1e-6, far below its
    scatter."""
    y = _t(reference).to(torch.float32)
    m = len(y)
    yy = float(torch.cdist(y, y).sum()) / (m * (m - 1))
    g = torch.Generator().manual_seed(int(seed))
    out = np.empty(draws)
    for i in range(draws):
        x = torch.as_tensor(np.asarray(draw(n, g)), dtype=torch.float32)
        xy = torch.cdist(x, y).mean()
        xx = torch.cdist(x, x).sum() / (n * (n - 1))
        out[i] = float(2 * xy - xx) - yy
    return out


def noise_floor(null) -> float:
    """The level 99% of exact sample sets stay below: the largest of the 99 null values."""
    return float(np.max(null))
