"""Forward processes (VE, VP, CLD): marginal kernels, priors and the exact mixture
scores they induce (the SDEs of Song et al. 2021 and Dockhorn et al. 2022; derivations
in docs/math.md).

Conventions: time runs 0 (data) .. 1 (prior). Scores of p_t are taken with respect to
the noisy state. Variances are computed in float64.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .mixture import GaussianMixture, MixturePath


@dataclass(frozen=True)
class VE:
    """Variance exploding (Song & Ermon 2019; Song et al. 2021, eq. 30):
    x_t = x_0 + sigma(t) z, sigma(t) = sigma_min (sigma_max / sigma_min)^t."""

    sigma_min: float = 0.01
    sigma_max: float = 10.0

    def sigma(self, t):
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    def marginal(self, t):
        """(mean coefficient, std) of x_t | x_0."""
        return 1.0, self.sigma(t)

    def score(self, model, x, t):
        return model.score(x, self.sigma(t))

    # the SDE dx = g(t) dW with g^2 = d sigma^2 / dt (Song et al. 2021, eq. 9)
    def drift(self, x, t):
        return torch.zeros_like(x)

    def g2(self, t):
        return 2 * self.sigma(t) ** 2 * math.log(self.sigma_max / self.sigma_min)

    def transition(self, x, t0, t1, z):
        """An exact draw of x_t1 given x_t0 (t1 > t0): x + sqrt(sigma(t1)^2 - sigma(t0)^2) z."""
        return x + math.sqrt(max(self.sigma(t1) ** 2 - self.sigma(t0) ** 2, 0.0)) * z

    def prior_sample(self, n, d=2, generator=None, device="cpu", dtype=torch.float32):
        return self.sigma_max * torch.randn(n, d, generator=generator, device=device, dtype=dtype)

    def prior_log_prob(self, x):
        d = x.shape[1]
        return -0.5 * (x**2).sum(1) / self.sigma_max**2 - d * math.log(self.sigma_max) - 0.5 * d * math.log(2 * math.pi)

    def corrector_alpha(self, t, dt):
        return 1.0

    def noise_level(self, t) -> float:
        return self.sigma(t)

    def label(self, t) -> str:
        return f"σ(t) = {self.sigma(t):.3g}"

    def marginal_mixture(self, mix: GaussianMixture, t) -> GaussianMixture:
        """p_t for mixture data: the mixture noised by N(0, sigma(t)^2 I)."""
        return mix.noised(self.sigma(t))

    def config(self) -> dict:
        return {"name": "ve", "sigma_min": self.sigma_min, "sigma_max": self.sigma_max}


@dataclass(frozen=True)
class VP:
    """Variance preserving (DDPM; Song et al. 2021, eq. 32), linear beta(t):
    x_t = alpha_t x_0 + s_t z, log alpha_t = -t^2 (b1 - b0)/4 - t b0/2, s_t^2 = 1 - alpha_t^2."""

    beta_min: float = 0.1
    beta_max: float = 20.0

    def marginal(self, t):
        log_alpha = -0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min
        alpha = math.exp(log_alpha)
        return alpha, math.sqrt(max(1.0 - alpha**2, 0.0))

    def score(self, model, x, t):
        """grad log p_t(x) from VE scores: x_t / alpha_t = x_0 + (s_t / alpha_t) z, so
        score_t(x) = score_VE(x / alpha_t, s_t / alpha_t) / alpha_t."""
        alpha, s = self.marginal(t)
        return model.score(x / alpha, s / alpha) / alpha

    # the SDE dx = -beta(t) x / 2 dt + sqrt(beta(t)) dW (Song et al. 2021, eq. 11)
    def beta(self, t):
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def drift(self, x, t):
        return -0.5 * self.beta(t) * x

    def g2(self, t):
        return self.beta(t)

    def transition(self, x, t0, t1, z):
        """An exact draw of x_t1 given x_t0 (t1 > t0): a x + sqrt(s1^2 - a^2 s0^2) z, a = alpha_t1 / alpha_t0."""
        a0, s0 = self.marginal(t0)
        a1, s1 = self.marginal(t1)
        a = a1 / a0
        return a * x + math.sqrt(max(s1**2 - a**2 * s0**2, 0.0)) * z

    def prior_sample(self, n, d=2, generator=None, device="cpu", dtype=torch.float32):
        return torch.randn(n, d, generator=generator, device=device, dtype=dtype)

    def prior_log_prob(self, x):
        d = x.shape[1]
        return -0.5 * (x**2).sum(1) - 0.5 * d * math.log(2 * math.pi)

    def corrector_alpha(self, t, dt):
        # Song et al.'s code uses alpha_i = 1 - beta_i with beta_i = beta(t) dt, negative
        # when a coarse grid makes beta(t) dt > 1; exp(-beta dt) agrees to first order and stays in (0, 1)
        return math.exp(-self.beta(t) * dt)

    def label(self, t) -> str:
        alpha, s = self.marginal(t)
        return f"α(t) = {alpha:.3g} · σ(t) = {s:.3g}"

    def marginal_mixture(self, mix: GaussianMixture, t) -> GaussianMixture:
        """p_t for mixture data: means alpha_t mu_k, covariances alpha_t^2 C_k + s_t^2 I."""
        alpha, s = self.marginal(t)
        return self.mixture(mix, alpha, s)

    def noise_level(self, t) -> float:
        """The VE noise level equivalent to VP time t, s_t / alpha_t: x_t / alpha_t = x_0 +
        (s_t / alpha_t) z, the sigma at which a noise-conditional network is asked at t."""
        alpha, s = self.marginal(t)
        return s / alpha

    def config(self) -> dict:
        return {"name": "vp", "beta_min": self.beta_min, "beta_max": self.beta_max}

    @staticmethod
    def mixture(mix: GaussianMixture, alpha: float, s: float) -> GaussianMixture:
        """The VP-noised mixture: means alpha mu_k, covariances alpha^2 C_k + s^2 I."""
        d = mix.dim
        return mix.linear(alpha * torch.eye(d, dtype=torch.float64), s**2 * torch.eye(d, dtype=torch.float64))


def sde_from_config(cfg: dict):
    """A VE or VP SDE from its ``config()`` (what a run records in ``params['sde']``)."""
    kw = {k: v for k, v in cfg.items() if k != "name"}
    return {"ve": VE, "vp": VP}[cfg["name"]](**kw)


@dataclass(frozen=True)
class CLD:
    """Critically-damped Langevin diffusion (Dockhorn, Vahdat & Kreis, ICLR 2022, eq. 5),
    per coordinate, state u = (x, v):

        dx = beta M^{-1} v dt,  dv = (-beta x - Gamma beta M^{-1} v) dt + sqrt(2 Gamma beta) dW.

    Defaults are the paper's toy configuration: beta = 4, M = 0.25, Gamma = 2 sqrt(M) = 1
    (critical damping), initial velocity variance gamma M with gamma = 0.04.
    Equilibrium: x ~ N(0, 1), v ~ N(0, M).
    """

    beta: float = 4.0
    mass: float = 0.25
    friction: float = 1.0
    gamma: float = 0.04
    eps_num: float = 1e-6      # added to the kernel variances used for training (Dirac x_0)

    @property
    def critical(self) -> bool:
        return abs(self.friction**2 - 4 * self.mass) < 1e-12

    def drift_matrix(self) -> torch.Tensor:
        """F with du = F u dt + ... per coordinate."""
        return self.beta * torch.tensor([[0.0, 1 / self.mass], [-1.0, -self.friction / self.mass]], dtype=torch.float64)

    @property
    def equilibrium(self) -> torch.Tensor:
        return torch.diag(torch.tensor([1.0, self.mass], dtype=torch.float64))

    def mean_matrix(self, t: float) -> torch.Tensor:
        """E(t) = exp(F t): E[u_t | u_0] = E(t) u_0.

        Critical damping (paper, App. B): with B = beta t, g = 1/Gamma,
        E = exp(-2Bg) [[1 + 2Bg, 4Bg^2], [-B, 1 - 2Bg]]; otherwise torch's matrix_exp."""
        return self.mean_matrices([t])[0]

    def mean_matrices(self, times) -> torch.Tensor:
        """``mean_matrix`` at every one of ``times`` at once, (T, 2, 2)."""
        t = torch.as_tensor(times, dtype=torch.float64).reshape(-1)
        if self.critical:
            b, g = self.beta * t, 1 / self.friction
            e = torch.stack([torch.stack([1 + 2 * b * g, 4 * b * g**2], -1),
                             torch.stack([-b, 1 - 2 * b * g], -1)], -2)
            return torch.exp(-2 * b * g)[:, None, None] * e
        return torch.linalg.matrix_exp(self.drift_matrix() * t[:, None, None])

    def noise_cov(self, t: float) -> torch.Tensor:
        """Cov[u_t | u_0] for a fixed u_0: Sigma_eq - E Sigma_eq E^T.

        This is the Lyapunov solution for a process with equilibrium Sigma_eq; unlike the
        expanded closed form in the paper's code it has no 1/exp(-4Bg) term to overflow."""
        return self.noise_covs([t])[0]

    def noise_covs(self, times) -> torch.Tensor:
        """``noise_cov`` at every one of ``times`` at once, (T, 2, 2)."""
        e = self.mean_matrices(times)
        return self.equilibrium - e @ self.equilibrium @ e.transpose(-1, -2)

    def kernel(self, t: float):
        """Mean matrix and covariance of p(u_t | x_0) with v_0 ~ N(0, gamma M):
        the HSM training kernel (eps_num added to both variances)."""
        e = self.mean_matrix(t)
        cov = self.noise_cov(t) + e @ torch.diag(torch.tensor([0.0, self.gamma * self.mass],
                                                              dtype=torch.float64)) @ e.T
        return e, cov + self.eps_num * torch.eye(2, dtype=torch.float64)

    def _start(self, mix: GaussianMixture) -> GaussianMixture:
        """The law of u_0 = (x_0, v_0): x_0 ~ mix, v_0 ~ N(0, gamma M I), a 2d-dimensional
        mixture with means (mu_k, 0) and covariances diag(C_k, gamma M I)."""
        d = mix.dim
        means0 = torch.cat([mix.means, torch.zeros_like(mix.means)], 1)
        covs = mix.covs[:1] if mix.shared_covariance else mix.covs
        covs0 = torch.zeros(len(covs), 2 * d, 2 * d, dtype=torch.float64)
        covs0[:, :d, :d] = covs
        covs0[:, d:, d:] = self.gamma * self.mass * torch.eye(d, dtype=torch.float64)
        return GaussianMixture(mix.weights, means0, covs0[0] if mix.shared_covariance else covs0)

    def marginal_mixture(self, mix: GaussianMixture, t: float) -> GaussianMixture:
        """p_t(x, v) for data x_0 ~ mix and v_0 ~ N(0, gamma M I): a 2d-dimensional mixture
        with means (E ⊗ I)(mu_k, 0) and covariances (E ⊗ I) diag(C_k, gamma M I)(E ⊗ I)^T
        + Cov_noise ⊗ I (coordinates ordered x_1..x_d, v_1..v_d)."""
        eye = torch.eye(mix.dim, dtype=torch.float64)
        return self._start(mix).linear(torch.kron(self.mean_matrix(t), eye), torch.kron(self.noise_cov(t), eye))

    def path(self, mix: GaussianMixture, times, dtype=torch.float32, device="cpu") -> MixturePath:
        """``marginal_mixture`` at every one of ``times`` at once (``mixture.MixturePath``):
        the samplers compute the whole grid's parameters before their loop."""
        d = mix.dim
        eye = torch.eye(d, dtype=torch.float64)

        def kron(m):                      # (T, 2, 2) -> (T, 2d, 2d), each m ⊗ I_d
            return (m[:, :, None, :, None] * eye[:, None, :]).reshape(len(m), 2 * d, 2 * d)
        return MixturePath(self._start(mix), kron(self.mean_matrices(times)), kron(self.noise_covs(times)),
                           dtype, device)

    def x_marginal_mixture(self, mix: GaussianMixture, t: float) -> GaussianMixture:
        """p_t(x) = ∫ p_t(x, v) dv of the CLD forward law (Dockhorn et al. 2022, eq. 5;
        kernel as in App. B with v_0 ~ N(0, gamma M)): the x-block of ``marginal_mixture``,
        i.e. means E_xx(t) mu_k and covariances E_xx^2 C_k + (E_xv^2 gamma M + Sigma_xx(t)) I.

        Taken from the same 4-D mixture the exact velocity score uses, so the drawn field
        and the one driving the particles cannot disagree about the kernel."""
        d = mix.dim
        joint = self.marginal_mixture(mix, float(t))
        if joint.shared_covariance:
            return GaussianMixture(joint.weights, joint.means[:, :d], joint.covs[0, :d, :d])
        return GaussianMixture(joint.weights, joint.means[:, :d], joint.covs[:, :d, :d])

    def mixture_velocity_score(self, mix, x, v, t):
        """grad_v log p_t(x, v), exact for mixture data."""
        u = torch.cat([x, v], dim=1)
        return self.marginal_mixture(mix, float(t)).score(u)[:, x.shape[1]:]

    def prior_sample(self, n, d=2, generator=None, device="cpu", dtype=torch.float32):
        z = torch.randn(n, 2 * d, generator=generator, device=device, dtype=dtype)
        return z[:, :d], math.sqrt(self.mass) * z[:, d:]
