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
from .densities import get as get_density
from .densities import names as density_names
from .diffusions import CLD, VE, VP
from .kde import KDE, fit_kde
from .mixture import GaussianMixture
from .modelio import load_model, save_model
from .registry import SAMPLERS
from .samplers import Trajectory
from .scene import from_preset
from .simulate import evaluate, score_source, simulate
from .training import Trainer

__all__ = ["get_density", "density_names", "CLD", "VE", "VP", "KDE", "fit_kde", "GaussianMixture", "load_model",
           "save_model", "SAMPLERS", "Trajectory", "from_preset", "evaluate", "score_source", "simulate", "Trainer"]
