"""Score Field Explorer's engine: densities, exact and KDE scores at every noise level,
samplers, metrics. Usable from a notebook; never imports Streamlit.

    >>> import explorer
    >>> d = explorer.get_density("eight-gaussians")
    >>> traj = explorer.simulate(d, "annealed", particles=1000, seed=0)
    >>> explorer.evaluate(traj, d)["energy_distance"]
    >>> trainer = explorer.Trainer(d, objective="ncsn", seed=0)
    >>> for report in trainer.run(every=500): print(report["step"], report["fisher_max"])
    >>> traj = explorer.simulate(trainer.model, "annealed", particles=1000, seed=0)
"""
from .densities import get as get_density, names as density_names  # noqa: F401
from .diffusions import CLD, VE, VP  # noqa: F401
from .kde import KDE, fit_kde  # noqa: F401
from .mixture import GaussianMixture  # noqa: F401
from .modelio import load_model, save_model  # noqa: F401
from .samplers import SAMPLERS, Trajectory  # noqa: F401
from .simulate import evaluate, score_source, simulate  # noqa: F401
from .training import Trainer  # noqa: F401
