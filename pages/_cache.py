"""The scene pipeline (``explorer/scene.py``) cached for the app: each step on its real
inputs. ``st.cache_resource`` for the target objects (immutable apart from their own lazy
caches, safe to share), ``st.cache_data`` for grids, runs and figures (an animated figure
rebuilt identically keeps playing across reruns). Arguments starting with ``_`` are not
hashed: the string keys before them say what they are."""
from __future__ import annotations

import streamlit as st
import torch

from explorer import fields as F
from explorer import registry
from explorer import scene as SC
from pages import _runtime, _state, _style


@st.cache_resource(show_spinner=False, max_entries=32)
def _density(key: str, _spec: SC.TargetSpec, _data=None):
    return SC.build_density(_spec, _data)


def target(spec: SC.TargetSpec) -> SC.Target:
    """The built target (an uploaded CSV: this session's points)."""
    data = None
    if spec.name == "csv":
        up = _state.csv_upload()
        data = up.points if up.digest == spec.csv else None
        if data is None:
            raise ValueError("the uploaded file is no longer in this session; upload it again")
    return SC.Target(spec, _density(spec.key, spec, data))


@st.cache_resource(show_spinner=False, max_entries=32)
def _kde(key: str, _spec: SC.TargetSpec, _density):
    return SC.build_kde(_spec, _density)


def kde(t: SC.Target):
    """The sidebar's KDE of the target."""
    return _kde(t.key, t.spec, t.density)


def model(t: SC.Target, source: str):
    """The score model for a source: 'exact' (the density), 'kde' or 'learned'."""
    got = _state.learned()
    return SC.score_model(t.density, source, kde=lambda: kde(t), learned=got.model if got else None)


def model_key(t: SC.Target, source: str) -> str:
    got = _state.learned()
    return f"{t.key}|{source}|{got.key if source == 'learned' and got else ''}"


@st.cache_data(show_spinner=False, max_entries=64)
def grids(mkey: str, _model, box: tuple, sigma: float, n_arrows: int, n_grid: int = 120):
    """(DensityGrid or None, FieldGrid, note) of a model at noise level sigma."""
    note = ""
    try:
        dg = F.density_grid(_model, box, n_grid, sigma)
        fg = F.field_grid(_model, box, n_arrows, sigma)
    except ValueError as e:
        dg, fg, note = None, None, str(e)
    return dg, fg, note


@st.cache_data(show_spinner=False, max_entries=64)
def sde_grids(mkey: str, _model, box: tuple, sde: str, t: float, n_arrows: int, n_grid: int = 120):
    """(DensityGrid or None, FieldGrid, note, the SDE) of p_t of a score SDE at time t."""
    note, s = "", None
    try:
        s = registry.sde_of(_model, {"sde": sde})
        dg = F.sde_density_grid(_model, box, s, t, n_grid)
        fg = F.sde_fields(_model, box, [t], s, n_arrows)[0]
    except ValueError as e:
        dg, fg, note = None, None, str(e)
    return dg, fg, note, s


@st.cache_data(show_spinner=False, max_entries=16)
def kde_error(key: str, _t: SC.Target, sigma: float):
    """The KDE's relative Fisher divergence from the exact noised score at ``sigma``, over
    2,000 draws of p_σ (exact draws plus σ-noise, seed 1)."""
    g = torch.Generator().manual_seed(1)
    x = _t.density.sample(2000, g)
    x = x + float(sigma) * torch.randn(x.shape, generator=g, dtype=x.dtype)
    return F.relative_fisher(kde(_t), _t.density, x, float(sigma))


@st.cache_data(show_spinner=False, max_entries=32)
def runs(mkey: str, spec: SC.RunSpec, _model, _density) -> dict:
    """The spec's runs in lockstep and their metrics (one CPU core each: the gate)."""
    return SC.run(_model, _density, spec, guard=_runtime.gate)


@st.cache_data(show_spinner=False, max_entries=16)
def view(mkey: str, spec: SC.SceneSpec, _model, _density, height: int | None = None):
    """Everything a Sample or Compare page shows for a scene, built once per real input
    (a rerun hands the browser the identical animation and it keeps playing):
    (animation, final-frame figure or None, mode-weight figure or None, runs)."""
    got = runs(mkey, spec.run, _model, _density)
    trajs = {k: r["traj"] for k, r in got.items()}
    scene = SC.make_scene(spec, _model, _density, trajs, compare=spec.page == "compare")
    anim = SC.figure(scene, height)
    final = None if spec.page == "compare" else SC.final_figure(scene, next(iter(got.values()))["eval"])
    c = _style.canonical
    return c(anim), c(final), c(SC.modes_figure(got)), got


@st.cache_data(show_spinner=False, max_entries=8)
def scene(mkey: str, spec: SC.SceneSpec, _model, _density, parts: bool = True):
    """The computed scene of the page's runs (for the files made from it)."""
    got = runs(mkey, spec.run, _model, _density)
    return SC.make_scene(spec, _model, _density, {k: r["traj"] for k, r in got.items()}, parts=parts,
                         compare=spec.page == "compare")


@st.cache_data(show_spinner=False, max_entries=8)
def likelihood(mkey: str, spec: SC.RunSpec, _model, _density):
    """The probability-flow ODE's log-likelihood of draws of the target, and its figure."""
    from explorer.figures import likelihood_figure
    with _runtime.gate():
        got = SC.likelihood(_model, _density, spec)
    return got, _style.canonical(likelihood_figure(got))


@st.cache_data(show_spinner=False, max_entries=4)
def fokker_planck(mkey: str, spec: SC.SceneSpec, _model, _density, height: int | None = None):
    """The run's Fokker-Planck density beside its particles, and the KL / gap chart."""
    from explorer import figures as G
    got = runs(mkey, spec.run, _model, _density)
    traj = next(iter(got.values()))["traj"]
    with _runtime.gate():
        sol, gaps = SC.fokker_planck(_model, _density, spec.run, traj)
    dg = SC.background(_model, _density)
    fig = G.fokker_planck_figure(traj, sol, _density.box, density=dg, height=height or 640)
    kl = G.kl_figure(sol, gaps, by_step=spec.run.samplers[0] == "annealed")
    return _style.canonical(fig), _style.canonical(kl), sol.mass_error


@st.cache_data(show_spinner=False, max_entries=4)
def fp_contrast(values: dict, setting: str, choices: tuple, label: str):
    """A lesson's knob turned (``scene.fp_contrast``): KL(p_t || pi) for each value."""
    from explorer import figures as G
    with _runtime.gate():
        curves = SC.fp_contrast(values, setting, choices)
    return _style.canonical(G.contrast_kl_figure(curves, label))
