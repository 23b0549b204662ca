"""Parzen estimates against scipy and scikit-learn, and their scores."""
import numpy as np
import pytest
import scipy.stats
import torch
from sklearn.neighbors import KernelDensity

from explorer import densities as D
from explorer.kde import KDE, bandwidth_factor


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(400, 2, generator=g, dtype=torch.float64) @ torch.tensor([[1.0, 0.6], [0.0, 0.5]],
                                                                                dtype=torch.float64)


def _grid(n=9, half=3.0):
    g = torch.linspace(-half, half, n, dtype=torch.float64)
    return torch.cartesian_prod(g, g)


@pytest.mark.parametrize("rule", ["scott", "silverman"])
def test_gaussian_full_bandwidth_matches_scipy(data, rule):
    k = KDE(data, bandwidth=rule)
    ref = scipy.stats.gaussian_kde(data.numpy().T, bw_method=rule)
    assert np.allclose(k.H.numpy(), ref.covariance, rtol=1e-12)
    x = _grid()
    assert np.allclose(k.log_prob(x).numpy(), ref.logpdf(x.numpy().T), rtol=1e-10, atol=1e-10)
    assert bandwidth_factor(400, 2, rule) == pytest.approx(ref.factor)


def test_isotropic_and_numeric_bandwidths(data):
    k = KDE(data, bandwidth=0.3)
    sk = KernelDensity(kernel="gaussian", bandwidth=0.3).fit(data.numpy())
    x = _grid()
    mine, theirs = k.log_prob(x).numpy(), sk.score_samples(x.numpy())
    # scikit-learn's tree sums drop far kernels, so it drifts by ~1e-4 relative where
    # log p < -30; where the mass is they agree to rounding
    bulk = theirs > -20
    assert bulk.sum() > 30
    assert np.allclose(mine[bulk], theirs[bulk], rtol=1e-9)
    assert np.allclose(mine, theirs, rtol=1e-3)
    iso = KDE(data, shape="isotropic")
    assert torch.allclose(iso.H, iso.H[0, 0] * torch.eye(2, dtype=torch.float64))


@pytest.mark.parametrize("kernel", ["gaussian", "epanechnikov", "uniform"])
def test_each_kernel_is_normalised_and_has_covariance_h(data, kernel):
    k = KDE(data, kernel=kernel)
    g = torch.linspace(-6, 6, 481, dtype=torch.float64)
    pts = torch.cartesian_prod(g, g)
    mass = float(torch.exp(k.log_prob(pts)).sum()) * float(g[1] - g[0]) ** 2
    # the compact kernels' edges are sharp: a 0.025 grid gets their mass to ~1e-4
    assert mass == pytest.approx(1.0, abs=2e-3)
    draws = k.sample(60000, torch.Generator().manual_seed(1))
    expected = torch.cov(data.T) * (399 / 400) + k.H      # Var(data point) + Var(kernel)
    assert torch.allclose(torch.cov(draws.T), expected, rtol=0.03, atol=0.01)


@pytest.mark.parametrize("kernel", ["gaussian", "epanechnikov"])
def test_kde_score_matches_finite_differences_where_defined(data, kernel):
    k = KDE(data, kernel=kernel)
    x = data[:200] + 0.1 * torch.randn(200, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    s = k.score(x)
    h = 1e-6
    fd = torch.stack([(k.log_prob(x + h * e) - k.log_prob(x - h * e)) / (2 * h)
                      for e in torch.eye(2, dtype=torch.float64)], 1)
    defined = torch.isfinite(s).all(1) & torch.isfinite(fd).all(1)
    assert defined.sum() > 150
    # away from kernel edges the compact KDE is smooth; a few grid points sit within
    # h of an edge, where the difference quotient straddles the kink
    close = torch.isclose(s[defined], fd[defined], rtol=1e-4, atol=1e-4).all(1)
    assert close.float().mean() > (0.999 if kernel == "gaussian" else 0.97)


def test_compact_kernel_scores_are_nan_outside_the_support(data):
    far = torch.tensor([[50.0, 50.0]], dtype=torch.float64)
    for kernel in ("epanechnikov", "uniform"):
        k = KDE(data, kernel=kernel)
        assert torch.isnan(k.score(far)).all()
        assert k.log_prob(far).item() == -np.inf
    u = KDE(data, kernel="uniform")
    assert (u.score(data[:10]) == 0).all()      # piecewise constant: zero inside
    with pytest.raises(ValueError, match="Gaussian kernel"):
        u.score(data[:2], sigma=0.5)


def test_kde_fits_sample_only_data_and_csv_arrays():
    d = D.from_array(np.random.default_rng(0).normal(size=(50, 2)))
    k = KDE(d.sample(200, torch.Generator().manual_seed(0)))
    assert torch.isfinite(k.score(torch.zeros(3, 2, dtype=torch.float64))).all()
    with pytest.raises(ValueError, match="no spread"):
        KDE(np.ones((10, 2)))
    with pytest.raises(ValueError, match="kernel"):
        KDE(np.random.default_rng(0).normal(size=(10, 2)), kernel="cosine")
