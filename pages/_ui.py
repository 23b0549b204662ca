"""What the pages share: the sidebar's target (density or data set, its parameters,
the KDE), cached engine calls and small layout helpers. Not a page (st.navigation in
main.py lists the pages); Streamlit lives here, the maths in ``explorer``.

State: every setting is a widget with ``key=<URL name>`` and ``persist_state="session"``
(it survives page switches). The URL is kept by hand, not with ``bind="query-params"``:
``seed()`` fills a setting from the URL the first time a session meets it (a shared
link), and ``write_url()`` puts every non-default setting of the target and the page
back (plus ``gmm=<JSON>`` for the mixture table). Streamlit 1.67's binding does not
write values set through ``st.session_state`` (a lesson's scene) into the URL, and it
refuses ``st.switch_page`` while bound parameters exist, so it could not serve the
Lessons page. Expensive pure work is cached on its real inputs:
``st.cache_resource`` for the target objects (immutable apart from their own lazy
caches, safe to share), ``st.cache_data`` for grids, runs and figures (an animated
figure rebuilt identically keeps playing across reruns).

Hook for the Train page (not built here): it stores a trained
``explorer.models.LearnedScore`` in ``st.session_state["learned_score"]`` and a string
that identifies it (e.g. its training fingerprint and step) in
``st.session_state["learned_score_key"]``. The Sample and Compare pages then offer the
score source "learned" (``learned()`` below); until then it is shown greyed out.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import threading
import time
from types import SimpleNamespace

import numpy as np
# pandas whole, at import: plotly and st.table look it up in sys.modules, and with several
# sessions starting at once one thread saw another's half-imported pandas ("partially
# initialized module 'pandas' has no attribute 'Series'": tests/test_classroom.py)
import pandas as pd
import streamlit as st
import torch

from explorer import densities as D
from explorer import fields as F
from explorer import figures as G
from explorer import export as E
from explorer import presets as P
from explorer import validate as V
from explorer.data import DataError, accepted, read_xy
from explorer.kde import KDE
from explorer.samplers import SAMPLERS
from explorer.simulate import evaluate, score_source

KEEP = dict(persist_state="session")     # every setting survives page switches; the URL: write_url()
DATASETS = V.DATASETS
BUILTIN = tuple(n for n in D.names() if n not in DATASETS)
TARGETS = BUILTIN + DATASETS + ("csv",)
KERNELS = V.KERNELS
SAMPLER_NAMES = tuple(SAMPLERS)
SAMPLER_LABELS = {"langevin": "Langevin (ULA)", "mala": "MALA", "annealed": "annealed Langevin",
                  "underdamped": "underdamped (BAOAB)", "cld": "CLD (SSCS)", "cld-ode": "CLD probability-flow ODE"}
KINETIC = ("underdamped", "cld", "cld-ode")
EVAL_MAX = 2000          # metrics on at most this many particles (energy distance is O(n^2))
SIGMAS = V.SIGMAS
PAGES = {"density": "pages/density.py", "sample": "pages/sample.py", "compare": "pages/compare.py",
         "lessons": "pages/lessons.py", "train": "pages/train.py"}

CSS = """
<style>
html { font-size: 19px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.05rem; }
[data-testid="stWidgetLabel"] p { font-size: 1.0rem; font-weight: 600; }
[data-testid="stTable"] td, [data-testid="stTable"] th { font-size: 1.0rem; }
h1 { font-size: 2.0rem !important; padding-top: 0 !important; padding-bottom: 0.4rem !important; }
[data-testid="stMainBlockContainer"], .block-container { padding-top: 3.2rem !important; padding-bottom: 1rem; }
</style>
"""


# ----- settings in the URL -----------------------------------------------------------
ALL_DEFAULTS = {**P.TARGET_DEFAULTS, **{k: v for d in P.PAGE_DEFAULTS.values() for k, v in d.items()}}
SCORES = V.SCORES
TARGET_PARAMS = {"ring": ("radius", "width"), "two-rings": ("inner", "outer", "rwidth"), "double-well": ("barrier",),
                 "banana": ("curvature",), **{d: ("data_n",) for d in DATASETS}}
KDE_KEYS = ("kernel", "bw", "bw_h", "bw_shape", "kde_n")


def parse_setting(key: str, raw: list[str]):
    """A setting from its URL text (explorer.validate's rule); ValueError saying what is accepted."""
    try:
        return V.parse(key, raw)
    except V.InvalidInput as e:
        raise ValueError(f"link parameter {key}={','.join(map(str, raw))[:60]} ignored: "
                         f"{e.why + '; ' if e.why else ''}expected {e.expected}") from None


def seed(keys):
    """Fill settings this session has not met yet from the URL (a shared link)."""
    for k in keys:
        if k in st.session_state or k not in st.query_params:
            continue
        try:
            st.session_state[k] = parse_setting(k, st.query_params.get_all(k))
        except ValueError as e:
            st.session_state.setdefault("_url_errors", []).append(str(e))


def url_errors(where=None):
    for msg in st.session_state.pop("_url_errors", []):
        (where or st).error(msg)


def write_url(page: str, extra: dict | None = None):
    """Put the target's and this page's non-default settings (and ``extra``) in the URL."""
    target_name = st.session_state.get("target", ALL_DEFAULTS["target"])
    keys = ["target", *TARGET_PARAMS.get(target_name, ()), *KDE_KEYS, *P.PAGE_DEFAULTS.get(page, {})]
    new = {}
    for k in keys:
        if k not in st.session_state:
            continue
        v = st.session_state[k]
        if k != "target" and v == ALL_DEFAULTS[k]:
            continue
        new[k] = P.url_value(v)
    if st.session_state.get("present"):
        new["present"] = "true"
    if target_name == "gmm":
        new["gmm"] = json.dumps(gmm_rows(), separators=(",", ":"))
    new.update(extra or {})
    now = {k: (st.query_params.get_all(k) if isinstance(new.get(k), list) else st.query_params.get(k))
           for k in st.query_params}
    if now != new:
        st.query_params.from_dict(new)


def style():
    st.html(CSS)


# ----- the target (sidebar) ---------------------------------------------------------
DEFAULT_GMM = [dict(weight=w, mean_x=m[0], mean_y=m[1], var_x=c[0][0], cov_xy=c[0][1], var_y=c[1][1])
               for w, m, c in zip(D.DEFAULT_GMM["weights"], D.DEFAULT_GMM["means"], D.DEFAULT_GMM["covs"])]
GMM_COLUMNS = V.GMM_COLUMNS
GMM_ACCEPTED = V.GMM_ACCEPTED


def gmm_params(rows) -> dict:
    """GMM parameters from table rows (explorer.validate); ValueError saying what is accepted."""
    try:
        return V.gmm_from_rows(rows)
    except V.InvalidInput as e:
        raise ValueError(f"{e.raw}: {e.why + '; ' if e.why else ''}expected {e.expected}") from None


def gmm_rows() -> list[dict]:
    """The GMM table of this session: the URL's ``gmm`` on first load, else the default."""
    if "gmm_rows" not in st.session_state:
        rows = DEFAULT_GMM
        raw = st.query_params.get("gmm")
        if raw:
            try:
                cand = json.loads(raw)
                gmm_params(cand)
                rows = cand
            except (ValueError, TypeError, AttributeError):
                st.session_state["gmm_url_error"] = f"the link's mixture could not be read; expected {GMM_ACCEPTED}"
        st.session_state["gmm_rows"] = [dict(r) for r in rows]
    return st.session_state["gmm_rows"]


def set_gmm_rows(rows):
    st.session_state["gmm_rows"] = [dict(r) for r in rows]
    st.session_state["gmm_version"] = st.session_state.get("gmm_version", 0) + 1


TD = P.TARGET_DEFAULTS


def _param_widgets(name) -> dict:
    """The target's parameter widgets; returns their values by URL name."""
    seed(TARGET_PARAMS.get(name, ()))
    if name == "ring":
        return {"radius": st.slider("radius r", 0.5, 4.0, TD["radius"], 0.1, key="radius", **KEEP),
                "width": st.slider("width w", 0.05, 1.0, TD["width"], 0.05, key="width", **KEEP)}
    if name == "two-rings":
        return {"inner": st.slider("inner radius", 0.3, 3.0, TD["inner"], 0.1, key="inner", **KEEP),
                "outer": st.slider("outer radius", 0.5, 5.0, TD["outer"], 0.1, key="outer", **KEEP),
                "rwidth": st.slider("width w", 0.05, 1.0, TD["rwidth"], 0.05, key="rwidth", **KEEP)}
    if name == "double-well":
        return {"barrier": st.slider("barrier height a", 0.5, 10.0, TD["barrier"], 0.5, key="barrier", **KEEP)}
    if name == "banana":
        return {"curvature": st.slider("curvature b", 0.0, 2.0, TD["curvature"], 0.1, key="curvature", **KEEP)}
    if name == "gmm":
        st.caption("Edit the components in the table on the **Density & field** page.")
    if name in DATASETS:
        return {"data_n": st.select_slider("points", V.options("data_n"), TD["data_n"], key="data_n",
                                           **KEEP)}
    return {}


def _csv_widget():
    """The CSV upload: read once per file (explorer.data: the CLI's reader), every
    cleaning note shown, a bad file reported and the previous data kept."""
    up = st.file_uploader("CSV of x,y points", type=["csv", "txt", "tsv"], key="csv_file", help=accepted())
    if up is not None:
        raw = up.getvalue()
        digest = hashlib.sha256(raw).hexdigest()[:16]
        if st.session_state.get("csv_digest") != digest and st.session_state.get("csv_bad") != digest:
            try:
                with st.spinner(f"Reading {up.name}…"):
                    got = read_xy(raw)
            except DataError as e:
                st.session_state["csv_bad"] = digest
                st.session_state["csv_error"] = f"{up.name}: {e}"
            else:
                st.session_state.update(csv_xy=got.points, csv_digest=digest, csv_name=up.name,
                                        csv_notes=got.notes, csv_rows=got.rows_read, csv_error=None)
        if st.session_state.get("csv_bad") == digest and st.session_state.get("csv_error"):
            st.error(st.session_state["csv_error"])
    if "csv_xy" in st.session_state:
        st.caption(f"{st.session_state['csv_name']}: {st.session_state.get('csv_rows', 0):,} points read")
        for note in st.session_state.get("csv_notes", []):
            st.warning(note)
        return st.session_state["csv_digest"]
    if up is None:
        st.info("Upload a CSV (accepted: " + accepted() + "). Until then the moons data set stands in.")
    return None


def make_spec(v: dict, csv: str | None = None) -> dict:
    """The target spec (JSON-able; its JSON is the cache key) from settings by URL name."""
    v = {**TD, **v}
    name = v["target"]
    params = {}
    if name == "ring":
        params = {"radius": float(v["radius"]), "width": float(v["width"])}
    elif name == "two-rings":
        params = {"inner": float(v["inner"]), "outer": float(v["outer"]), "width": float(v["rwidth"])}
    elif name == "double-well":
        params = {"barrier": float(v["barrier"])}
    elif name == "banana":
        params = {"curvature": float(v["curvature"])}
    elif name == "gmm":
        params = gmm_params(v.get("gmm_rows") or DEFAULT_GMM)
    elif name in DATASETS:
        params = {"n": int(v["data_n"])}
    elif name == "csv" and csv is None:
        name, params = "moons", {"n": 1000}
    bw = float(v["bw_h"]) if v["bw"] == "number" else v["bw"]
    return {"name": name, "params": params, "csv": csv if name == "csv" else None,
            "kde": {"kernel": v["kernel"], "bandwidth": bw, "shape": v["bw_shape"], "n": int(v["kde_n"])}}


def make_target(spec: dict) -> SimpleNamespace:
    density = build_density(json.dumps(spec, sort_keys=True))
    return SimpleNamespace(key=json.dumps(spec, sort_keys=True), spec=spec, name=spec["name"], density=density,
                           box=density.box, is_data=density.kind == "samples")


def sidebar() -> SimpleNamespace:
    """The target picker (every page): returns and stores ``st.session_state['_target']``."""
    with st.sidebar:
        st.markdown("### Target")
        seed(["target", *TARGET_PARAMS.get(st.session_state.get("target") or st.query_params.get("target", ""), ()),
              *KDE_KEYS])
        name = st.selectbox("density or data set", TARGETS, key="target", **KEEP,
                            help="moons, circles, swiss-roll: data sets known only through samples (their "
                                 "score is a KDE's); csv: your own x,y points")
        values = {"target": name, **_param_widgets(name)}
        csv = _csv_widget() if name == "csv" else None
        if name == "gmm":
            values["gmm_rows"] = gmm_rows()
        with st.expander("KDE (data sets and the 'kde' score)", expanded=name in DATASETS + ("csv",)):
            values["kernel"] = st.selectbox("kernel", KERNELS, key="kernel", **KEEP)
            values["bw"] = st.selectbox("bandwidth", ("scott", "silverman", "number"), key="bw", **KEEP)
            if values["bw"] == "number":
                values["bw_h"] = st.number_input("bandwidth h (kernel std)", min_value=0.005, max_value=10.0,
                                                 value=TD["bw_h"], step=0.01, format="%.3f", key="bw_h",
                                                 help="h is each kernel's standard deviation, for every kernel. "
                                                      "scikit-learn's bandwidth is its support radius instead: "
                                                      "h (gaussian), √6·h (epanechnikov), 2h (tophat = uniform).",
                                                 **KEEP)
            values["bw_shape"] = st.selectbox("bandwidth matrix", ("full", "isotropic"), key="bw_shape",
                                              disabled=values["bw"] == "number", **KEEP)
            values["kde_n"] = st.select_slider("draws of a built-in target", V.options("kde_n"),
                                               TD["kde_n"], key="kde_n", **KEEP)
        try:
            t = make_target(make_spec(values, csv))
        except ValueError as e:
            st.error(f"{e} — showing the default parameters instead.")
            t = make_target(make_spec({k: v for k, v in values.items() if k in ("target", "kernel", "bw", "bw_h",
                                                                                 "bw_shape", "kde_n")}, csv))
        url_errors(st)
        if st.session_state.get("gmm_url_error"):
            st.error(st.session_state.pop("gmm_url_error"))
    st.session_state["_target"] = t
    return t


def navigation():
    """The app's pages, one file each in pages/ (st.navigation; main.py runs the one asked for)."""
    return st.navigation([
        st.Page("pages/density.py", title="Density & field", icon="🌀", default=True),
        st.Page("pages/sample.py", title="Sample", icon="🎲"),
        st.Page("pages/compare.py", title="Compare", icon="⚖️"),
        st.Page("pages/train.py", title="Train", icon="🏋️"),
        st.Page("pages/lessons.py", title="Lessons", icon="🎓"),
    ])


def target() -> SimpleNamespace:
    """The page's target. main.py draws the sidebar before every page and marks the run.

    A page that runs without main.py is Streamlit's legacy ``pages/``-folder mode: until
    some session has run ``st.navigation``, a shared link to a page (``/train?...``) on a
    fresh server runs that file alone, with a sidebar listing every file in pages/ and
    without main.py's settings (torch threads, page config). Declaring the navigation
    ends that mode for the whole server, and the rerun goes through main.py. Should it
    happen twice in a session (it does not on a server), the page draws the sidebar."""
    if not st.session_state.pop("_app_ran", False):
        if not st.session_state.get("_left_legacy_mode"):
            st.session_state["_left_legacy_mode"] = True
            navigation()
            st.rerun()
        style()
        return sidebar()
    return st.session_state["_target"]


def apply_scene(values: dict):
    """Set every widget of a scene (a callback: runs before the widgets exist); the
    page it opens writes them into the URL."""
    for k, v in values.items():
        st.session_state[k] = list(v) if isinstance(v, (list, tuple)) else v


@st.cache_resource(show_spinner=False, max_entries=32)
def build_density(key: str):
    spec = json.loads(key)
    name, params = spec["name"], dict(spec["params"])
    if name == "csv":
        return D.from_array(_csv_array(spec["csv"]), name="csv")
    if name in DATASETS:
        n = int(params.pop("n", 1000))
        data = D.get(name).sample(n, torch.Generator().manual_seed(0))
        return D.from_array(data.numpy(), name=name)
    return D.get(name, **params)


def _csv_array(digest):
    xy = st.session_state.get("csv_xy")
    if xy is None or st.session_state.get("csv_digest") != digest:
        raise ValueError("the uploaded file is no longer in this session; upload it again")
    return xy


@st.cache_resource(show_spinner=False, max_entries=32)
def build_kde(key: str) -> KDE:
    """The Gaussian (or chosen-kernel) KDE of the target: of the data for data sets, of
    ``n`` exact draws (seed 0) for built-in densities."""
    spec = json.loads(key)
    k = spec["kde"]
    density = build_density(key)
    kw = dict(kernel=k["kernel"], bandwidth=k["bandwidth"], shape=k["shape"])
    if density.kind == "samples":
        return KDE(density.fixed, name=f"kde({density.name})", **kw)
    return score_source(density, "kde", kde_points=int(k["n"]), seed=0, **kw)


def learned():
    """(model, key) of a network trained on the Train page, or None."""
    m = st.session_state.get("learned_score")
    return (m, str(st.session_state.get("learned_score_key", id(m)))) if m is not None else None


def score_model(t, source: str):
    """The score model for a source: 'exact' (the density), 'kde' or 'learned'."""
    if source == "exact":
        if t.is_data:
            raise ValueError(f"'{t.name}' is known only through samples: use the kde score")
        return t.density
    if source == "kde":
        return build_kde(t.key)
    if source == "learned":
        got = learned()
        if got is None:
            raise ValueError("no trained network yet: train one on the Train page")
        return got[0]
    raise ValueError(f"unknown score source '{source}'; choose exact, kde or learned")


def model_key(t, source: str) -> str:
    extra = learned()[1] if source == "learned" and learned() else ""
    return f"{t.key}|{source}|{extra}"


def score_widget(t, key: str):
    """Score-source radio: exact (where the target has one), kde, and learned once the
    Train page has stored a network (else a greyed-out stand-in)."""
    opts = (["kde"] if t.is_data else ["exact", "kde"]) + (["learned"] if learned() else [])
    if key in st.session_state and st.session_state[key] not in opts:
        st.session_state[key] = opts[0]          # e.g. 'exact' on a data set, 'learned' before training
    src = st.radio("score", opts, key=key, horizontal=True,
                   help="exact: the density's own score (every noise level); kde: a Gaussian-mixture KDE "
                        "(sidebar settings); learned: a network from the Train page", **KEEP)
    if not learned():
        st.checkbox("learned (needs the Train page)", value=False, disabled=True, key=key + "_hook",
                    help="A score network trained on the Train page appears here as a third source.")
    return src


# ----- cached grids, runs and figures ----------------------------------------------
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


def torch_threads():
    """Sessions run in threads of one process: torch ops of one session use
    limits().torch_threads threads (default 1), so N sessions use N cores instead of
    fighting over all of them (two 2-thread torch processes on 2 cores ran 50-100x
    slower here). SFE_TORCH_THREADS sets it."""
    if torch.get_num_threads() != V.limits().torch_threads:
        torch.set_num_threads(V.limits().torch_threads)


def warm_up():
    """The first page's work for a visitor with the defaults, done once at server start
    (app.py's lifespan): the imports above (torch, plotly, pandas), the default target,
    its grid under the Density page's own cache key, and one figure (plotly loads its
    validators on first use). tests/test_app.py checks that the page then finds the grid
    cached, so these defaults cannot drift from the page's."""
    torch_threads()
    t = make_target(make_spec({}))
    df = P.PAGE_DEFAULTS["density"]
    dg, fg, _ = grids(model_key(t, "exact"), t.density, t.box, float(df["sigma"]), int(df["arrows_n"]))
    G.panels_figure([dict(density=dg, field=fg, title="")], t.box)


@st.cache_resource(show_spinner=False)
def gate() -> threading.BoundedSemaphore:
    """One per server: at most ``validate.workers()`` heavy jobs (a sampling run, a
    training slice) at once, one per CPU core by default (SFE_WORKERS). With a class
    pressing Run together, jobs queue for a core instead of slicing every core N ways,
    and page loads (Python under the GIL) still get their turn."""
    return threading.BoundedSemaphore(V.workers())


sampler_options = P.sampler_options      # engine options from page settings (explorer/presets.py)


def _check(sampler, model):
    if sampler == "mala" and getattr(model, "kernel", "gaussian") != "gaussian":
        raise ValueError("MALA needs a smooth log-density: choose the Gaussian KDE kernel")
    if sampler in ("annealed", "cld", "cld-ode") and getattr(model, "kernel", "gaussian") != "gaussian":
        raise ValueError(f"{SAMPLER_LABELS[sampler]} needs noised scores, which exist in closed form only for "
                         "the Gaussian KDE kernel: choose it in the sidebar's KDE section")


def _judge(traj, density, seed):
    sub = SimpleNamespace(samples=traj.samples[:EVAL_MAX])
    try:
        return evaluate(sub, density, seed=seed)
    except ValueError:
        return {}


@st.cache_data(show_spinner=False, max_entries=32)
def run_many(mkey: str, _model, _density, samplers: tuple, settings_json: str, particles: int, seed: int,
             init: str, frames: int):
    """Lockstep runs (same initial particles) and their metrics: {name: {traj, eval, seconds}}."""
    s = json.loads(settings_json)
    for name in samplers:
        _check(name, _model)
    options = {name: sampler_options(name, _model, s) for name in samplers}
    out = {}
    for name in samplers:
        with gate():
            t0 = time.perf_counter()
            traj = P.lockstep(_model, [name], particles=particles, seed=seed, init=init, frames=frames,
                              box=_density.box, options=options)[name]
            secs = time.perf_counter() - t0
        out[name] = {"traj": traj, "eval": _judge(traj, _density, seed), "seconds": secs}
    return out


@st.cache_data(show_spinner=False, max_entries=16)
def sample_figures(mkey: str, _model, _density, sampler: str, settings_json: str, particles: int, seed: int,
                   init: str, frames: int, trails: bool, arrows: bool, height: int = 760):
    """Everything the Sample page shows, built once per real input (so a rerun hands
    the browser the identical animation and it keeps playing). ``height`` is the
    animation's (presentation mode asks for a taller one)."""
    runs = run_many(mkey, _model, _density, (sampler,), settings_json, particles, seed, init, frames)
    r = runs[sampler]
    traj, ev = r["traj"], r["eval"]
    box = _density.box
    bg, field, lf = E.scene_parts(_model, _density, sampler, traj, arrows)
    title = SAMPLER_LABELS[sampler]
    anim = G.animation_figure(traj, box, density=bg, field=field, level_fields=lf, trails=trails, title=title,
                              height=height)
    final = None
    if "reference" in ev:
        ok = np.isfinite(traj.samples).all(1)
        final = G.final_figure(traj.samples[ok], ev["reference"], box, density=bg, label="last frame")
    modes = G.mode_weights_figure({sampler: ev})
    return canonical(anim), canonical(final), canonical(modes), runs


@st.cache_data(show_spinner=False, max_entries=16)
def compare_figures(mkey: str, _model, _density, samplers: tuple, settings_json: str, particles: int, seed: int,
                    init: str, frames: int):
    runs = run_many(mkey, _model, _density, samplers, settings_json, particles, seed, init, frames)
    bg = E.background(_model, _density)
    trajs = {SAMPLER_LABELS[k]: r["traj"] for k, r in runs.items()}
    notes = {SAMPLER_LABELS[k]: ("own prior start" if r["traj"].params.get("start") == "own prior" else
                                 (f"diverged at step {r['traj'].diverged_at}" if r["traj"].diverged_at is not None
                                  else "")) for k, r in runs.items()}
    fig = G.compare_figure(trajs, _density.box, density=bg, notes=notes)
    modes = G.mode_weights_figure({SAMPLER_LABELS[k]: r["eval"] for k, r in runs.items()})
    return canonical(fig), canonical(modes), runs


PRESENT_HEIGHT = 940      # px: fits a 1080p projector window, plot area ~ 680 px (760 otherwise)

PRESENT_CSS = """
<style>
html { font-size: 24px; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
header[data-testid="stHeader"] { display: none !important; }
.st-key-widget_rows, .st-key-downloads, [data-testid="stCaptionContainer"] { display: none !important; }
[data-testid="stMainBlockContainer"], .block-container { padding-top: 0.6rem !important; max-width: 100% !important;
  padding-left: 1rem !important; padding-right: 1rem !important; }
h1 { font-size: 2.4rem !important; }
</style>
"""


def presentation():
    """Presentation mode (``?present=true`` or the sidebar toggle): CSS hides the
    sidebar, the widget rows and captions and enlarges fonts; Play/Pause and the slider
    live inside the Plotly figure and stay. A small button in the page turns it off."""
    if "present" not in st.session_state and st.query_params.get("present") is not None:
        st.session_state["present"] = st.query_params.get("present", "").lower() in ("true", "1", "yes")
    with st.sidebar:
        st.toggle("🎦 presentation mode", key="present",
                  help="hide the sidebar and the settings, larger fonts for a projector (?present=true)")
    if st.session_state.get("present"):
        st.html(PRESENT_CSS)
        st.button("✕ leave presentation mode", key="leave_present", on_click=_leave_present)
    return bool(st.session_state.get("present"))


def _leave_present():
    st.session_state["present"] = False


def canonical(fig):
    """The figure as st.cache_data hands it back on a hit (a pickle round trip), so the
    first run and every rerun send the browser the same JSON (plotly's template keys
    come back in another order after pickling) and a playing animation is left alone."""
    return pickle.loads(pickle.dumps(fig)) if fig is not None else None


def metrics_table(runs: dict):
    rows = G.metrics_rows({SAMPLER_LABELS.get(k, k): r for k, r in runs.items()})
    return pd.DataFrame(rows).set_index("metric")


def show_chart(fig, key=None):
    """A Plotly chart; animations without the mode bar (it sits on the title and a
    projector does not need zoom buttons mid-animation)."""
    animated = bool(getattr(fig, "frames", None))
    st.plotly_chart(fig, key=key, config={"displaylogo": False, "scrollZoom": False,
                                          "displayModeBar": False if animated else "hover",
                                          "modeBarButtonsToRemove": ["select2d", "lasso2d"]})


def page_link(page: str, label: str, query: dict | None = None):
    st.page_link(PAGES[page], label=label, icon="➡️", query_params=query)
