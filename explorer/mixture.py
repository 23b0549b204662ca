"""The Gaussian-mixture engine: exact log-density, score and samples in any dimension.

One engine serves toy mixtures, the Gaussian KDE (n equal-weight components with a
shared bandwidth matrix), every VE/VP noise level and the 4-D (x, v) mixtures of
critically-damped Langevin.

    grad log p(x) = sum_k r_k(x) C_k^{-1} (mu_k - x),
    r = softmax_k(log pi_k + log N(x; mu_k, C_k))

computed in log space (logsumexp), never by dividing densities.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

# Above this many (particle x component) pairs the score is evaluated in chunks,
# so a 10,000-particle run against a 2,000-point KDE stays within a few hundred MB.
_CHUNK_PAIRS = 4_000_000


@dataclass
class GaussianMixture:
    """sum_k weights[k] N(means[k], covs[k]); parameters kept in float64 on the CPU.

    ``weights`` (K,), ``means`` (K, d), ``covs`` (K, d, d) full covariances, or one
    (d, d) matrix shared by every component (a KDE, a lattice): then the checks and the
    score work on that one matrix.
    """

    weights: torch.Tensor
    means: torch.Tensor
    covs: torch.Tensor
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        self.weights = torch.as_tensor(self.weights, dtype=torch.float64).reshape(-1)
        self.means = torch.as_tensor(self.means, dtype=torch.float64)
        self.covs = torch.as_tensor(self.covs, dtype=torch.float64)
        k, d = self.means.shape
        if self.covs.shape == (d, d):
            self.covs = self.covs.expand(k, d, d)
        self._shared = bool((self.covs == self.covs[:1]).all())
        if self.weights.shape != (k,) or self.covs.shape != (k, d, d):
            raise ValueError(
                f"mixture needs weights (K,), means (K, d), covs (K, d, d); got "
                f"{tuple(self.weights.shape)}, {tuple(self.means.shape)}, {tuple(self.covs.shape)}")
        if not torch.isfinite(self.weights).all() or (self.weights < 0).any() or self.weights.sum() <= 0:
            raise ValueError("mixture weights must be finite, non-negative and not all zero")
        self.weights = self.weights / self.weights.sum()
        distinct = self.covs[:1] if self._shared else self.covs
        if not (torch.allclose(distinct, distinct.transpose(-1, -2))
                and (torch.linalg.eigvalsh(distinct) > 0).all()):
            raise ValueError("each mixture covariance must be symmetric positive definite")

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    # ----- transformed mixtures -------------------------------------------------
    def noised(self, sigma: float) -> GaussianMixture:
        """The law of x + sigma z (VE noise): every covariance gains sigma^2 I."""
        if sigma == 0:
            return self
        eye = torch.eye(self.dim, dtype=torch.float64)
        covs = self.covs[0] if self._shared else self.covs
        return GaussianMixture(self.weights, self.means, covs + sigma**2 * eye)

    def linear(self, a: torch.Tensor, noise_cov: torch.Tensor) -> GaussianMixture:
        """The law of A x + N(0, noise_cov): means A mu_k, covariances A C_k A^T + noise_cov."""
        a = torch.as_tensor(a, dtype=torch.float64)
        noise_cov = torch.as_tensor(noise_cov, dtype=torch.float64)
        covs = self.covs[0] if self._shared else self.covs
        return GaussianMixture(self.weights, self.means @ a.T, a @ covs @ a.T + noise_cov)

    # ----- evaluation -------------------------------------------------------------
    @property
    def shared_covariance(self) -> bool:
        """True when every component has the same covariance (toys, KDEs, lattices)."""
        return self._shared

    def _params(self, dtype, device):
        key = (dtype, device)
        if key not in self._cache:
            distinct = self.covs[:1] if self._shared else self.covs
            logdet = torch.linalg.slogdet(distinct).logabsdet
            const = torch.log(self.weights) - 0.5 * logdet - 0.5 * self.dim * math.log(2 * math.pi)
            if self._shared:
                # -(x-mu)^T W (x-mu)/2 = x.(W mu) - mu^T W mu/2 - x^T W x/2: one matmul for all k
                w = torch.linalg.inv(self.covs[0])
                w = 0.5 * (w + w.T)
                mw = self.means @ w
                params = _shared(mw, const - 0.5 * (mw * self.means).sum(1), w)
            else:
                params = (self.means, const, torch.linalg.inv(self.covs))
            self._cache[key] = tuple(t.to(device=device, dtype=dtype) for t in params)
        return self._cache[key]

    def _logits(self, x):
        return _logits(self._params(x.dtype, x.device), x)

    def _chunked(self, fn, x):
        step = max(1, _CHUNK_PAIRS // max(1, self.n_components))
        if x.shape[0] <= step:
            return fn(x)
        return torch.cat([fn(x[i:i + step]) for i in range(0, x.shape[0], step)])

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        def logsumexp(xc):
            m, _, total = _shifted_exp(self._logits(xc)[0])
            return (m + torch.log(total)).squeeze(1)
        return self._chunked(logsumexp, x)

    def responsibilities(self, x: torch.Tensor) -> torch.Tensor:
        def softmax(xc):
            _, e, total = _shifted_exp(self._logits(xc)[0])
            return e / total
        return self._chunked(softmax, x)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return self._chunked(lambda xc: _score(self._params(xc.dtype, xc.device), xc), x)

    def log_prob_and_score(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``log_prob`` and ``score`` from one evaluation of the logits and one exp (MALA
        needs both at every proposal): log p = m + log sum_k e_k and r = e / sum_k e_k,
        with e = exp(logits - m), m the largest logit."""
        step = max(1, _CHUNK_PAIRS // max(1, self.n_components))
        if x.shape[0] <= step:
            return self._log_prob_and_score(x)
        parts = [self._log_prob_and_score(x[i:i + step]) for i in range(0, x.shape[0], step)]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def _log_prob_and_score(self, x):
        params = self._params(x.dtype, x.device)
        if len(params) == 4:             # shared C: as _score, and log p adds the -x^T W x / 2
            m, num, xwt = _shared_sums(params, x)       # that the logits left out
            d = x.shape[1]
            total = num[d:]
            logp = torch.sub((m + torch.log(total)).squeeze(0), _quadratic(xwt, x.T), alpha=0.5)
            return logp, _as_rows(num[:d] / total - xwt, x)
        logits, extra = _logits(params, x, full=False)
        m, e, total = _shifted_exp(logits)
        return (m + torch.log(total)).squeeze(1), torch.einsum("nk,nkd->nd", e / total, extra)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Exact draws (float64, CPU): a component by its weight, then mu_k + L_k z."""
        comp = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        z = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        if self._shared:
            return self.means[comp] + z @ torch.linalg.cholesky(self.covs[0]).T
        chol = torch.linalg.cholesky(self.covs)
        return self.means[comp] + torch.einsum("nij,nj->ni", chol[comp], z)


def _logits(params, x, full=True):
    """log pi_k N(x; mu_k, C_k), shape (N, K), and what the score needs besides, from
    ``GaussianMixture._params``' (a, b, W) or ``_shared``'s. ``full=False`` (shared covariance only) leaves
    out -x^T W x / 2, the same for every k: softmax does not see it, and the hot paths
    that need log p add it once (``_quadratic``)."""
    if len(params) == 4:                               # shared covariance C = W^{-1}
        lt, xwt = _shared_logits(params, x.T)
        return (lt - 0.5 * _quadratic(xwt, x.T) if full else lt).T, xwt.T
    a, b, w = params
    diff = a - x[:, None, :]                           # (N, K, d)
    pdiff = torch.einsum("kij,nkj->nki", w, diff)      # C_k^{-1} (mu_k - x)
    return b - 0.5 * (diff * pdiff).sum(-1), pdiff


# The shared-covariance hot path works feature-major: logits (K, N), points (d, N). A
# reduction over the K components or the d coordinates then runs along contiguous memory,
# not across rows of K or d numbers, where torch's CPU kernels are slower
# (benchmarks/layout.py); results go
# back as (N, .) views of that memory (``_as_rows``), so a sampler that holds its state
# feature-major keeps every op on that layout.
def _shared_logits(params, xt):
    """(logits without -x^T W x / 2, (x W)^T), both feature-major, from xt = x^T (d, N)."""
    mw, b, w, _ = params
    return torch.addmm(b, mw, xt), w @ xt              # W is symmetric: (x W)^T = W x^T


def feature_major(x) -> bool:
    """True when the (N, d) tensor ``x`` is a view of (d, N) memory (a sampler's state)."""
    return x.dim() == 2 and x.shape[1] > 1 and x.stride(0) == 1


def _as_rows(out_t, x):
    """A feature-major result (., N) as the (N, .) answer for ``x``: a view when ``x`` is
    held feature-major too, else a row-major copy (what every other caller holds)."""
    return out_t.T if feature_major(x) else out_t.T.contiguous()


# exp of a shifted logit below about -87 (float32) or -708 (float64) gives a subnormal or 0,
# and torch's CPU exp (softmax's too) takes a slow path there: 40x slower on eight-gaussians'
# logits at its own samples, a third of which lie that low (benchmarks/samplers.py). Clamping
# them at -80 moves no weight by more than e^-80 ~ 2e-35, far below either dtype's resolution.
LOGIT_FLOOR = -80.0


def _shifted_exp(logits):
    """m = max_k logits, e = exp(max(logits - m, LOGIT_FLOOR)) and sum_k e: softmax is e / sum,
    logsumexp m + log sum."""
    m, e = _exp_parts(logits)
    return m, e, e.sum(1, keepdim=True)


def _exp_parts(logits, dim=1):
    m = logits.amax(dim, keepdim=True)
    return m, torch.exp((logits - m).clamp_(min=LOGIT_FLOOR))


def _shared(mw, b, w):
    """A shared-covariance mixture's parameters as the hot path uses them (feature-major,
    leading time axes allowed): mu W (K, d) and b (K, 1), so that logits^T = (mu W) x^T + b
    is one product; W; and [mu W | 1]^T (d + 1, K), so that [mu W | 1]^T e^T gives
    sum_k e_k mu_k W and sum_k e_k in one product (the score's numerator and denominator,
    and log p's sum)."""
    ones = torch.ones(*mw.shape[:-1], 1, dtype=mw.dtype)
    return mw.contiguous(), b.unsqueeze(-1), w, torch.cat([mw, ones], -1).transpose(-1, -2).contiguous()


def _quadratic(xwt, xt):
    """x^T W x per point, (N,), from feature-major (x W)^T and x^T."""
    return torch.linalg.vecdot(xwt, xt, dim=0)


def _shared_sums(params, x):
    """Feature-major pieces of a shared-covariance mixture at x: the largest logit m (1, N),
    [sum_k e_k mu_k W ; sum_k e_k] (d + 1, N) with e = exp(logits - m), and (x W)^T."""
    lt, xwt = _shared_logits(params, x.T)
    m, e = _exp_parts(lt, 0)
    return m, params[3] @ e, xwt


def _score(params, x):
    if len(params) == 4:      # shared C: W (sum_k r_k mu_k - x) = (e @ mu W) / sum_k e_k - x W
        _, num, xwt = _shared_sums(params, x)
        d = x.shape[1]
        return _as_rows(num[:d] / num[d:] - xwt, x)
    logits, extra = _logits(params, x, full=False)
    _, e, total = _shifted_exp(logits)
    return torch.einsum("nk,nkd->nd", e / total, extra)


class MixturePath:
    """The laws of A_i X + N(0, Q_i) (X ~ ``mix``) at a fixed list of times i: means
    A_i mu_k, covariances A_i C_k A_i^T + Q_i, with ``a`` (T, D, d) and ``q`` (T, D, D).
    Every time's parameters are computed at once, before a sampler's loop (they depend on
    the time grid only), so each step only evaluates: ``score(x, i)`` is
    ``GaussianMixture.score`` of the i-th law. ``scaled`` builds the VE/VP case
    a_i X + s_i Z; ``CLD.path`` the critically-damped one, (E_i ⊗ I) U_0 + N(0, Sigma_i ⊗ I)."""

    def __init__(self, mix: GaussianMixture, a, q, dtype=torch.float32, device="cpu"):
        a = torch.as_tensor(a, dtype=torch.float64)
        q = torch.as_tensor(q, dtype=torch.float64)
        dim = a.shape[1]
        self.chunk = max(1, _CHUNK_PAIRS // max(1, mix.n_components))
        means = mix.means @ a.transpose(-1, -2)                                  # (T, K, D)
        const0 = torch.log(mix.weights) - 0.5 * dim * math.log(2 * math.pi)
        if mix.shared_covariance:
            covs = a @ mix.covs[0] @ a.transpose(-1, -2) + q                     # (T, D, D)
            w = torch.linalg.inv(covs)
            w = 0.5 * (w + w.transpose(-1, -2))
            const = const0 - 0.5 * torch.linalg.slogdet(covs).logabsdet[:, None]
            mw = means @ w                                                       # (T, K, D)
            params = _shared(mw, const - 0.5 * (mw * means).sum(-1), w)
        else:
            covs = a[:, None] @ mix.covs @ a[:, None].transpose(-1, -2) + q[:, None]   # (T, K, D, D)
            const = const0 - 0.5 * torch.linalg.slogdet(covs).logabsdet
            params = (means, const, torch.linalg.inv(covs))
        self.params = tuple(t.to(device=device, dtype=dtype) for t in params)
        self._at = list(zip(*(t.unbind(0) for t in self.params)))   # per time, no indexing op a step

    @classmethod
    def scaled(cls, mix: GaussianMixture, alphas, sigmas, dtype=torch.float32, device="cpu") -> MixturePath:
        """The laws of a_i X + s_i Z, Z ~ N(0, I) (VE: a = 1; VP: a = alpha_t)."""
        a = torch.as_tensor(alphas, dtype=torch.float64)
        s2 = torch.as_tensor(sigmas, dtype=torch.float64) ** 2
        eye = torch.eye(mix.dim, dtype=torch.float64)
        return cls(mix, a[:, None, None] * eye, s2[:, None, None] * eye, dtype, device)

    def score(self, x: torch.Tensor, i: int) -> torch.Tensor:
        p = self._at[i]
        if x.shape[0] <= self.chunk:
            return _score(p, x)
        return torch.cat([_score(p, x[j:j + self.chunk]) for j in range(0, x.shape[0], self.chunk)])
