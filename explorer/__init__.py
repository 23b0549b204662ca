"""Score Field Explorer's engine: densities, exact and KDE scores at every noise level,
samplers, metrics. Usable from a notebook; never imports Streamlit.

    >>> import explorer
    >>> d = explorer.get_density("eight-gaussians")
    >>> traj = explorer.simulate(d, "annealed", particles=1000, seed=0)
    >>> explorer.evaluate(traj, d)["energy_distance"]
"""
from .densities import get as get_density, names as density_names  # noqa: F401
from .diffusions import CLD, VE, VP  # noqa: F401
from .kde import KDE, fit_kde  # noqa: F401
from .mixture import GaussianMixture  # noqa: F401
from .samplers import SAMPLERS, Trajectory  # noqa: F401
from .simulate import evaluate, score_source, simulate  # noqa: F401
