"""The field each score-matching objective actually targets.

Not every objective learns the data's score grad log p. The minimiser of each loss in
``explorer.training`` is:

=========  ===========================================  =====================================
objective  minimiser (what the network learns)           source
=========  ===========================================  =====================================
esm        grad log p_KDE, the KDE's score               Hyvarinen 2005, eq. 2 with psi = KDE
ism, ssm   grad log p                                    Hyvarinen 2005, Thm 1; Song et al.
                                                         2019, eq. 8
dsm        grad log p_sigma, p_sigma = p * N(0, s^2 I)   Vincent 2011, eq. 7 (one sigma)
ncsn       grad log p_sigma at every trained sigma       Song & Ermon 2019, eq. 5-6
hsm        grad_v log p_t(x, v) of the CLD diffusion     Dockhorn et al. 2022, eq. 9-10
=========  ===========================================  =====================================

``objective_target`` returns that field for one objective and its settings: the one a
trained network should be compared with; its ``learns`` phrase is the objective's entry
in ``explorer.training.OBJECTIVE_REGISTRY``. Data known only through samples have no
exact score; there the reference is the KDE's field at the same sigma or t, and the
label says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .densities import Density
from .diffusions import CLD
from .kde import KDE, fit_kde


def has_exact_score(density: Density) -> bool:
    """Whether the density has a closed-form (or surrogate) score; data sets do not."""
    return bool(density.has_score) and density.kind != "samples"


def training_kde(density: Density, seed: int = 0, fixed_data=None) -> KDE:
    """The Gaussian KDE (Scott's rule) that ``Trainer(objective='esm')`` matches: of the
    fixed data set, or of 1000 exact draws (``fit_kde``, seed ``seed`` + 2, a stream
    apart from the training stream)."""
    if fixed_data is None and not has_exact_score(density):
        fixed_data = getattr(density, "fixed", None)
        if fixed_data is None:                    # a generator data set: the Trainer's fixed draw
            fixed_data = density.sample(2000, torch.Generator().manual_seed(seed + 1))
    if fixed_data is not None:
        return KDE(fixed_data, name=f"kde({density.name})")
    return fit_kde(density, seed=seed + 2)


@dataclass(frozen=True)
class ObjectiveTarget:
    """The field a network trained with ``objective`` should match.

    ``reference`` is the density or KDE whose (noised, or CLD) score it is; ``source``
    'exact' or 'kde'; ``sigma`` the noise level (None for hsm); ``t`` the CLD time
    (hsm only) with ``cld`` its process; ``label`` names the field (for a title) and
    ``learns``/``compared`` say in words what the objective learns and what it is
    compared with here."""
    objective: str
    reference: Density
    source: str
    sigma: float | None
    t: float | None
    cld: CLD | None
    label: str
    learns: str
    compared: str

    def field(self, x, v=None) -> torch.Tensor:
        """The target at points x (N, 2), float64; for hsm at velocities v (default 0)."""
        x = torch.as_tensor(x, dtype=torch.float64)
        with torch.no_grad():
            if self.objective == "hsm":
                v = torch.zeros_like(x) if v is None else torch.as_tensor(v, dtype=torch.float64)
                return self.reference.cld_score(x, v, self.t, self.cld)
            return self.reference.score(x, self.sigma)

    @property
    def caption(self) -> str:
        return f"{self.objective} learns {self.learns}; compared with {self.compared}."


def objective_target(objective: str, density: Density, *, sigma: float | None = None, t: float = 0.5,
                     cld: CLD | None = None, kde: KDE | None = None, seed: int = 0) -> ObjectiveTarget:
    """The field ``objective`` targets on ``density``, at noise level ``sigma`` or CLD time ``t``.

    esm: the KDE it was trained against (``kde``, else ``training_kde(density, seed)``);
    ism, ssm: the exact score (sigma must be 0); dsm: the exact score of p_sigma at its
    one sigma (default 0.5 ``density.scale``, the Trainer's); ncsn: the exact score of
    p_sigma at the given sigma (required: it learns every level); hsm: the exact CLD
    velocity score grad_v log p_t(x, v) at time t for ``cld`` (default ``CLD()``).
    Where the density has no exact score (data sets) every objective is compared with
    the KDE's field at the same sigma or t, and the label says so."""
    from .training import default_sigma, get_objective  # training imports this module
    learns = get_objective(objective).learns                  # a ValueError for an unknown one
    exact = has_exact_score(density)
    if objective == "esm" or not exact:
        kde = kde if kde is not None else training_kde(density, seed)
    ref, source = (density, "exact") if exact and objective != "esm" else (kde, "kde")
    whose = "exact" if source == "exact" else "the KDE's"          # in a title
    the = "the exact" if source == "exact" else "the KDE's"         # in a sentence
    why = "" if exact or objective == "esm" else " (a data set has no exact score)"    # in a sentence
    why_t = "" if not why else " (data: no exact score)"                                 # in a title

    if objective == "hsm":
        cld = cld or CLD()
        t = float(t)
        if not 0 < t <= 1:
            raise ValueError(f"the CLD time t must be in (0, 1], not {t!r}")
        label = f"{whose} ∇ᵥ log pₜ(x, v), t = {t:.3g}{why_t}"
        return ObjectiveTarget(objective, ref, source, None, t, cld, label,
                               learns, f"{the} ∇ᵥ log pₜ at the t shown{why}")
    if objective in ("esm", "ism", "ssm"):
        if sigma not in (None, 0, 0.0):
            raise ValueError(f"{objective} learns a noise-free field (sigma = 0), not sigma = {sigma!r}")
        sigma = 0.0
        label = "the KDE's score ∇log p_KDE (esm's training target)" if objective == "esm" else f"{whose} ∇log p"
        compared = "the KDE's field" if objective == "esm" else f"{the} ∇log p{why}"
        return ObjectiveTarget(objective, ref, source, sigma, None, None, label + why_t, learns, compared)
    if objective == "dsm":
        sigma = default_sigma(density) if sigma is None else float(sigma)
        compared = f"{the} ∇log p_σ at its σ{why}"
    else:
        if sigma is None:
            raise ValueError("ncsn learns every trained sigma: say at which sigma to compare")
        sigma = float(sigma)
        compared = f"{the} ∇log p_σ at the σ shown{why}"
    if not sigma > 0:
        raise ValueError(f"{objective} needs a noise level sigma > 0, not {sigma!r}")
    return ObjectiveTarget(objective, ref, source, sigma, None, None, f"{whose} ∇log p_σ, σ = {sigma:.3g}{why_t}",
                           learns, compared)
