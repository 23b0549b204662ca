"""What the Train page shows about a training run, as data: the σ (or CLD time t) values
its field is shown at, the field the objective learns there next to what the network has
learned, the pointwise error between them, the smoothed loss curve and the relative
Fisher divergence curves. No Streamlit and no Plotly: ``explorer.figures`` draws them
(``loss_figure``, ``fisher_figure``, ``error_map_figure``, ``panels_figure``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .fields import FieldGrid, density_grid, lattice
from .targets import ObjectiveTarget, has_exact_score, objective_target
from .training import field_error, get_objective

FIELD_POINTS = 15            # arrows a side in the Train page's field panels and error map
SMOOTH_WINDOW = 25           # batches in the loss curve's moving average
LOSS_POINTS = 400            # at most about this many points a loss curve on the wire


def shown_levels(objective: str, density, trainer=None) -> tuple[list[float], int]:
    """The σ (or CLD t) values the Train page offers for ``objective``, and the index of
    the one shown first: the trainer's own levels once it exists, else the defaults it
    will use (``Objective.shown``)."""
    o = get_objective(objective)
    levels = [float(v) for v in o.shown(density, trainer)]
    first = len(levels) - 1 if o.shown_default < 0 else min(o.shown_default, len(levels) - 1)
    return levels, first


def shown_target(objective: str, density, value: float, trainer=None, make_kde: Callable | None = None,
                 seed: int = 0) -> ObjectiveTarget:
    """What ``objective`` learns, at the σ (or t) ``value`` shown: the trainer's own target
    once it exists (its σ, levels, CLD and KDE), else the one it will build.
    ``make_kde()``: the KDE a Trainer with this seed builds (``targets.training_kde``),
    asked for only where it is needed (esm, or data without an exact score), so a caller
    can cache it."""
    kw = get_objective(objective).target_kwargs(value)
    if trainer is not None:
        return trainer.target(**kw)
    need = objective == "esm" or not has_exact_score(density)
    kde = make_kde() if need and make_kde is not None else None
    return objective_target(objective, density, kde=kde, seed=seed, **kw)


def about(target: ObjectiveTarget, exact: bool) -> str:
    """The line under the Train page's settings: what the objective learns and what it is
    compared with; for esm on a target with an exact score (``exact``) also what the
    Fisher chart's dashed line is."""
    note = (" The dashed line in the Fisher chart compares it with the exact ∇log p instead: it levels "
            "off near the KDE's own error." if target.objective == "esm" and exact else "")
    return target.caption + note


def field_title(target: ObjectiveTarget) -> str:
    """The target panel's title: its label, at v = 0 for the CLD velocity score."""
    return target.label.replace("(x, v)", "(x, v = 0)") if target.t is not None else target.label


def density_under(density, sigma: float, n: int = 100):
    """The density drawn under the arrows (``fields.density_grid`` over its box) at noise
    level ``sigma`` (``density_sigma``); None where there is none."""
    try:
        return density_grid(density, density.box, n, sigma)
    except ValueError:
        return None


def density_sigma(target: ObjectiveTarget) -> float:
    """The noise level of the density drawn under the field: the target's σ; 0 for a CLD
    time (the heatmap is of the data, not of p_t)."""
    return 0.0 if target.t is not None else float(target.sigma)


@dataclass
class ErrorMap:
    """|s − s*| on an n x n lattice: ``z[j, i]`` at (x[i], y[j])."""
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray


@dataclass
class FieldView:
    """The field an objective learns (``target``) on a lattice over the box, and once the
    network has trained, what it has learned there (``learned``, at step ``step``) and the
    pointwise error between the two (``error``)."""
    target: FieldGrid
    learned: FieldGrid | None = None
    error: ErrorMap | None = None
    step: int = 0


def field_view(target: ObjectiveTarget, box, trainer=None, n: int = FIELD_POINTS) -> FieldView:
    """The target field on an n x n lattice over ``box``; with a trainer that has taken a
    step, its (EMA) model's field there and the error |s − s*| (``training.field_error``)."""
    xs, ys, pts = lattice(box, n)
    level = target.t if target.t is not None else target.sigma
    p = pts.numpy()
    ref = target.field(pts).numpy()
    view = FieldView(FieldGrid(p[:, 0], p[:, 1], ref[:, 0], ref[:, 1], level))
    if trainer is not None and trainer.step > 0:
        fe = field_error(trainer.model, target, pts)
        lf = fe["learned"]
        view.learned = FieldGrid(p[:, 0], p[:, 1], lf[:, 0], lf[:, 1], level)
        view.error = ErrorMap(xs, ys, fe["error"].reshape(n, n))
        view.step = trainer.step
    return view


@dataclass
class LossCurve:
    """Batch losses (``step``, ``loss``) and their moving average (``smooth_step``,
    ``smooth``), each thinned to about ``LOSS_POINTS`` points."""
    step: np.ndarray
    loss: np.ndarray
    smooth_step: np.ndarray
    smooth: np.ndarray


def loss_curve(losses, window: int = SMOOTH_WINDOW, max_points: int = LOSS_POINTS) -> LossCurve | None:
    """The loss chart's data: every ``k``-th batch loss (k = len // max_points, at least 1)
    and the moving average over ``window`` batches, placed at each window's last step
    (the raw losses when there are no more than ``window``). None without losses."""
    if losses is None or len(losses) == 0:
        return None
    y = np.asarray(losses, dtype=np.float32)
    k = max(1, len(y) // max_points)
    smooth = np.convolve(y, np.ones(window) / window, mode="valid") if len(y) > window else y
    return LossCurve(np.arange(1, len(y) + 1)[::k], y[::k],
                     np.arange(len(y) - len(smooth) + 1, len(y) + 1)[::k], smooth[::k])


@dataclass
class FisherCurves:
    """Relative Fisher divergence against the training step: ``curves`` are dicts with
    ``name``, ``x``, ``y`` and ``dashed``; ``title`` says against which field."""
    title: str
    curves: list


def fisher_curves(history, objective: str, source: str) -> FisherCurves | None:
    """The Fisher chart's data from the trainer's progress reports (``Trainer.snapshot``):
    one curve per σ (or CLD t) against what the objective learns (``source`` 'exact' or
    'kde'); for esm also, dashed, against the exact ∇log p: the KDE's own bias. None
    before the first report with a Fisher divergence."""
    if not history or "fisher" not in history[-1]:
        return None
    o = get_objective(objective)
    rows = [h for h in history if "fisher" in h]
    xs = [h["step"] for h in rows]
    curves = [dict(name="vs the KDE (its target)" if objective == "esm" else f"{o.symbol} = {key:.3g}",
                   x=xs, y=[h["fisher"][key] for h in rows], dashed=False) for key in history[-1]["fisher"]]
    if objective == "esm" and "fisher_exact" in history[-1]:
        curves.append(dict(name="vs exact ∇log p", x=xs, y=[h["fisher_exact"][0.0] for h in rows], dashed=True))
    whose = "exact" if source == "exact" else "the KDE's"
    return FisherCurves(f"relative Fisher divergence vs {whose} {o.field}", curves)
