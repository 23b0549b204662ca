"""Forward kernels against a matrix exponential (Van Loan) and Monte Carlo."""
import numpy as np
import pytest
import scipy.linalg
import torch

from explorer import densities as D
from explorer.diffusions import CLD, VE, VP


def van_loan(cld: CLD, t: float, pieces: int = 64):
    """exp of [[F, G G^T], [0, -F^T]] dt gives Phi = exp(F dt) and Q = int Phi G G^T Phi^T
    (Van Loan 1978): the mean matrix and covariance of a linear SDE, from scratch. The
    -F^T block grows like exp(|lambda| dt), so t is cut into pieces composed by
    Phi(a + b) = Phi(b) Phi(a), Q(a + b) = Phi(b) Q(a) Phi(b)^T + Q(b)."""
    dt = t / pieces
    f = cld.drift_matrix().numpy()
    q = np.diag([0.0, 2 * cld.friction * cld.beta])
    e = scipy.linalg.expm(np.block([[f, q], [np.zeros((2, 2)), -f.T]]) * dt)
    phi_dt = e[:2, :2]
    q_dt = e[:2, 2:] @ phi_dt.T
    phi, cov = np.eye(2), np.zeros((2, 2))
    for _ in range(pieces):
        phi, cov = phi_dt @ phi, phi_dt @ cov @ phi_dt.T + q_dt
    return phi, cov


@pytest.mark.parametrize("cld", [CLD(), CLD(mass=1.0, friction=2.0), CLD(mass=0.5, friction=0.6),
                                 CLD(beta=8.0, mass=0.25, friction=2.5)])
@pytest.mark.parametrize("t", [1e-4, 0.01, 0.2, 0.5, 1.0])
def test_cld_kernel_matches_matrix_exponential(cld, t):
    phi, q = van_loan(cld, t)
    # closed form (critical) or torch's matrix_exp, and the Lyapunov covariance, against
    # scipy's Pade expm of the augmented matrix: agreement to float64 rounding
    assert np.allclose(cld.mean_matrix(t).numpy(), phi, rtol=1e-10, atol=1e-12)
    assert np.allclose(cld.noise_cov(t).numpy(), q, rtol=1e-8, atol=1e-12)


def test_cld_closed_form_is_the_critical_case():
    assert CLD().critical and not CLD(mass=1.0, friction=0.5).critical
    b, g = 4.0 * 0.3, 1.0
    e = CLD().mean_matrix(0.3).numpy()
    # critical damping: mean_x = e^{-2Bg}[(1 + 2Bg) x0 + 4Bg^2 v0], mean_v = e^{-2Bg}[-B x0 + (1 - 2Bg) v0]
    assert np.allclose(e, np.exp(-2 * b * g) * np.array([[1 + 2 * b * g, 4 * b * g**2], [-b, 1 - 2 * b * g]]))


def test_cld_reaches_its_equilibrium():
    cld = CLD()
    e, cov = cld.kernel(1.0)
    assert np.allclose(cov.numpy(), np.diag([1.0, 0.25]), atol=1e-3)
    # the data are forgotten by t = 1: the largest entry is 4B g^2 e^{-2Bg} = 16 e^-8
    assert np.abs(e.numpy()).max() == pytest.approx(16 * np.exp(-8))


def test_cld_marginal_mixture_matches_simulated_forward_process():
    d = D.get("gmm")
    cld = CLD()
    t, n = 0.15, 200000
    g = torch.Generator().manual_seed(0)
    x0 = d.sample(n, g)
    v0 = np.sqrt(cld.gamma * cld.mass) * torch.randn(n, 2, generator=g, dtype=torch.float64)
    e, _ = cld.mean_matrix(t), None
    chol = torch.linalg.cholesky(cld.noise_cov(t))
    z = torch.randn(n, 2, 2, generator=g, dtype=torch.float64)
    xt = e[0, 0] * x0 + e[0, 1] * v0 + chol[0, 0] * z[:, 0]
    vt = e[1, 0] * x0 + e[1, 1] * v0 + chol[1, 0] * z[:, 0] + chol[1, 1] * z[:, 1]
    u = torch.cat([xt, vt], 1)
    mix = cld.marginal_mixture(d.mixture, t)
    mean = (mix.weights[:, None] * mix.means).sum(0)
    second = (mix.weights[:, None, None] * (mix.covs + mix.means[:, :, None] * mix.means[:, None, :])).sum(0)
    cov = second - mean[:, None] * mean[None, :]
    # 200,000 draws: SE of a mean <= 0.003, of a covariance entry <= 0.005
    assert torch.allclose(u.mean(0), mean, atol=0.015)
    assert torch.allclose(torch.cov(u.T), cov, atol=0.025)


def test_cld_velocity_score_is_autograd_of_the_marginal():
    d = D.get("eight-gaussians")
    cld = CLD()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(20, 2, generator=g, dtype=torch.float64) * 2
    v = (torch.randn(20, 2, generator=g, dtype=torch.float64) * 0.5).requires_grad_(True)
    mix = cld.marginal_mixture(d.mixture, 0.3)
    (grad,) = torch.autograd.grad(mix.log_prob(torch.cat([x, v], 1)).sum(), v)
    assert torch.allclose(d.cld_score(x, v.detach(), 0.3, cld), grad, rtol=1e-9, atol=1e-9)


def test_ve_and_vp_marginals():
    ve, vp = VE(0.01, 10.0), VP()
    assert ve.marginal(0.0) == (1.0, pytest.approx(0.01)) and ve.sigma(1.0) == pytest.approx(10.0)
    a, s = vp.marginal(1.0)
    assert a**2 + s**2 == pytest.approx(1.0) and a < 0.01
