"""Every setting of the app and the CLI, declared once.

A ``Setting`` holds its URL name (``key``: the query parameter of a shared link and the
widget's key), the name the engine knows it by (``name``), its default, its ``Rule``
(allowed values or range, ``validate.Rule``, capped by the server's ``Limits``), its
label and help, and the widget that shows it. From this table come the app's widgets
(``pages/_widgets.py``), the URL read and write (``pages/_state.py``), each page's
defaults (``defaults``), the CLI's flag types (``check``) and the validation of links,
flags and ``--params`` (``check``, ``parse``, ``check_params``).

Groups: ``target`` (the sidebar: density or data set, its parameters, the KDE),
``density``, ``sample``, ``compare``, ``train`` (the pages), ``app`` (presentation
mode) and ``cli`` (flags the app does not have). A help text may name defaults that
depend on the target in braces (``{step_size:.3g}``); ``help_text`` fills them in.

Sampler settings follow ``registry.py``: 0 means "the sampler's default for this
target". No Streamlit here.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import drawing as DR
from . import registry
from .samplers import LEVELS
from .simulate import INITS
from .training import OBJECTIVES
from .validate import InvalidInput, Rule, convert

SEED_MAX = 2**31 - 1
DATASETS = ("moons", "circles", "swiss-roll")
OWN_DATA = ("drawn", "csv")      # the user's own points: drawn on the canvas, or an uploaded file
KERNELS = ("gaussian", "epanechnikov", "uniform")
SCORES = ("exact", "kde", "learned")
SDE_TIMES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
SIGMAS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
PARTICLES = (100, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)


def targets() -> tuple:
    """Every target the sidebar offers: built-in densities, data sets, an uploaded CSV."""
    from .densities import names
    return tuple(n for n in names() if n not in DATASETS) + DATASETS + OWN_DATA


@dataclass(frozen=True)
class Setting:
    """One setting. ``widget``: slider, number, select, select_slider, radio, toggle or
    multiselect; ``step`` and ``fmt`` are the number widgets'; ``param``: (density,
    parameter name) for a target's parameter."""
    key: str
    group: str
    default: object
    rule: Rule
    label: str = ""
    widget: str = "number"
    help: str = ""
    name: str = ""
    step: float | None = None
    fmt: str | None = None
    param: tuple | None = None

    @property
    def code(self) -> str:
        return self.name or self.key


def _int(lo, hi, limit=None):
    return Rule(int, lo=lo, hi=hi, limit=limit)


def _float(lo, hi, open_lo=False):
    return Rule(float, lo=lo, hi=hi, open_lo=open_lo)


def _choice(options, limit=None):
    kind = type(options[0]) if not isinstance(options[0], bool) else bool
    return Rule(kind, choices=tuple(options), limit=limit)


BOOL = Rule(bool)
_TARGET = Rule(str, choices=None)           # choices from the densities: rule("target")

_STEP_HELP = "0 = default: {step_size:.3g}. Step: x + ε s(x) + √(2ε) z (NCSN's lr is 2ε)."
_ARROWS_HELP = ("Langevin, MALA, underdamped: the score they follow, ∇ log p. Annealed: the score at the frame's noise "
                "level σ. CLD: ∇ₓ log pₜ, the score of the x-marginal of the forward law pₜ at the frame's time t (the "
                "field the particles' velocity score ∇ᵥ log pₜ(x, v) is built around); none for a learned CLD network.")

_ALL = [
    # ----- the target (sidebar) -----
    Setting("target", "target", "eight-gaussians", _TARGET, "density or data set", "select",
            "moons, circles, swiss-roll: data sets known only through samples (their score is a KDE's); drawn: "
            "points you draw with the mouse (Density & field page); csv: your own x,y points"),
    Setting("radius", "target", 2.0, _float(0.5, 4.0), "radius r", "slider", step=0.1, param=("ring", "radius")),
    Setting("width", "target", 0.2, _float(0.05, 1.0), "width w", "slider", step=0.05, param=("ring", "width")),
    Setting("inner", "target", 1.0, _float(0.3, 3.0), "inner radius", "slider", step=0.1, param=("two-rings", "inner")),
    Setting("outer", "target", 2.5, _float(0.5, 5.0), "outer radius", "slider", step=0.1, param=("two-rings", "outer")),
    Setting("rwidth", "target", 0.15, _float(0.05, 1.0), "width w", "slider", step=0.05, name="width",
            param=("two-rings", "width")),
    Setting("barrier", "target", 2.0, _float(0.5, 10.0), "barrier height a", "slider", step=0.5,
            param=("double-well", "barrier")),
    Setting("curvature", "target", 1.0, _float(0.0, 2.0), "curvature b", "slider", step=0.1,
            param=("banana", "curvature")),
    Setting("data_n", "target", 1000, _choice((200, 500, 1000, 2000, 5000), "kde_points"), "points",
            "select_slider", name="n"),      # every data set's: its number of seeded draws
    Setting("kernel", "target", "gaussian", _choice(KERNELS), "kernel", "select"),
    Setting("bw", "target", "scott", _choice(("scott", "silverman", "number")), "bandwidth", "select"),
    Setting("bw_h", "target", 0.2, _float(0.005, 10.0), "bandwidth h (kernel std)", "number",
            "h is each kernel's standard deviation, for every kernel. scikit-learn's bandwidth is its support radius "
            "instead: h (gaussian), √6·h (epanechnikov), 2h (tophat = uniform).", step=0.01, fmt="%.3f"),
    Setting("bw_shape", "target", "full", _choice(("full", "isotropic")), "bandwidth matrix", "select"),
    Setting("kde_n", "target", 1000, _choice((100, 200, 500, 1000, 2000), "kde_points"), "draws of a built-in target",
            "select_slider"),
    # ----- Density & field -----
    Setting("sigma", "density", 0.0, _choice(SIGMAS), "noise level σ (shows p_σ = p ∗ N(0, σ²I) and its score)",
            "select_slider"),
    Setting("noise", "density", "sigma", _choice(("sigma", "ve", "vp")), "noise", "radio",
            "sigma: p_σ = p ∗ N(0, σ²I) at the level σ (annealed Langevin's fields); ve or vp: p_t, the law of the "
            "score SDE's forward process at time t (Song et al. 2021), its prior at t = 1"),
    Setting("sde_t", "density", 0.5, _choice(SDE_TIMES), "SDE time t (p_t and ∇log p_t)", "select_slider"),
    Setting("arrows", "density", "normalised", _choice(("normalised", "raw")), "arrow length", "radio"),
    Setting("colour", "density", False, BOOL, "colour by |score|", "toggle"),
    Setting("logp", "density", False, BOOL, "log density", "toggle"),
    Setting("arrows_n", "density", 21, _int(11, 31, "grid"), "arrows per side", "slider", step=2),
    Setting("kde_side", "density", False, BOOL, "KDE beside the truth", "toggle"),
    Setting("kde_pts", "density", True, BOOL, "KDE data points", "toggle"),
    Setting("draw_tool", "density", "strokes", _choice(("strokes", "clicks")), "drawing tool", "radio",
            "strokes: freehand lines, turned into points spaced along them; clicks: one point per click, exactly "
            "where you click"),
    Setting("draw_spacing", "density", DR.SPACING, _float(0.02, 1.0), "point spacing along a stroke", "slider", step=0.02),
    Setting("draw_jitter", "density", DR.JITTER, _float(0.0, 0.5), "stroke thickness (std of the jitter)", "slider",
            "each stroke's points are moved by N(0, s²I): a stroke of thickness s (clicks are not moved)",
            step=0.01),
    # ----- Sample -----
    Setting("sampler", "sample", "annealed", Rule(str, choices=registry.names()), "sampler", "select"),
    Setting("score", "sample", "exact", _choice(SCORES), "score", "radio",
            "exact: the density's own score (every noise level); kde: a Gaussian-mixture KDE (sidebar settings); "
            "learned: a network from the Train page (offered once one is trained)"),
    Setting("particles", "sample", 1000, _choice(PARTICLES, "particles"), "particles", "select_slider"),
    Setting("init", "sample", "gaussian", _choice(INITS), "initial particles", "select",
            ("gaussian: N(centre, (box/4)²); uniform: on the box; prior: N(0, I); left: N(left quarter of the box, "
             "(box/12)²), one side of a symmetric target. CLD always starts from its prior.")),
    Setting("seed", "sample", 0, _int(0, SEED_MAX), "seed", "number", step=1),
    Setting("eps", "sample", 0.0, _float(0.0, 100.0), "step size ε", "number", _STEP_HELP, name="step_size",
            fmt="%.4g"),
    Setting("a_eps", "sample", 0.0, _float(0.0, 100.0), "step size ε at the last level", "number",
            "0 = default: 0.1 σ_L². Level i uses ε σ_i²/σ_L².", name="step_size", fmt="%.4g"),
    Setting("h", "sample", 0.0, _float(0.0, 100.0), "time step h", "number",
            "0 = default: scale·√M/4 (here {quarter_scale:.3g} at M = 1)", name="step_size", fmt="%.4g"),
    Setting("steps", "sample", 0, _int(0, 200_000, "steps"), "steps", "number", "0 = default: {steps}", step=100),
    Setting("levels", "sample", LEVELS, _int(2, 50, "levels"), "noise levels L", "number", step=1),
    Setting("per_level", "sample", 0, _int(0, 10_000, "steps"), "steps per level", "number",
            "0 = default: scheduled by each level's relaxation time, {per_level_min}–{per_level_max} a level, "
            "{per_level_total:,} in all (the small σ relax slowest)", name="steps_per_level", step=10),
    Setting("sig_max", "sample", 0.0, _float(0.0, 100.0), "σ_max", "number",
            "0 = default: {sigma_max:.3g} (the data's spread; a VE SDE: five times it)", fmt="%.3g"),
    Setting("sig_min", "sample", 0.0, _float(0.0, 10.0), "σ_min", "number",
            "0 = default: {sigma_min:.3g} (annealed Langevin; a VE SDE: a tenth of it)", fmt="%.3g"),
    Setting("mass", "sample", 1.0, _float(0.01, 100.0), "mass M", "number", fmt="%.3g"),
    Setting("friction", "sample", 0.0, _float(0.0, 1000.0), "friction Γ", "number",
            "0 = critical damping at the stiffest curvature, 2√M/scale", fmt="%.3g"),
    Setting("cld_mass", "sample", 0.25, _float(0.01, 10.0), "mass M", "number", fmt="%.3g"),
    Setting("cld_friction", "sample", 0.0, _float(0.0, 100.0), "friction Γ", "number", "0 = critical damping Γ = 2√M",
            fmt="%.3g"),
    Setting("sde", "sample", "vp", _choice(("vp", "ve")), "SDE", "radio",
            "vp: variance preserving, dx = −β(t) x/2 dt + √β(t) dW, prior N(0, I); ve: variance exploding, "
            "dx = √(dσ²/dt) dW, σ(t) = σ_min (σ_max/σ_min)^t, prior N(0, σ_max² I) (Song et al. 2021)"),
    Setting("beta_min", "sample", 0.1, _float(0.001, 100.0), "β_min (VP)", "number", fmt="%.3g"),
    Setting("beta_max", "sample", 20.0, _float(0.01, 200.0), "β_max (VP)", "number", fmt="%.3g"),
    Setting("snr", "sample", 0.1, _float(0.0, 1.0), "signal-to-noise ratio r", "number",
            "the corrector's Langevin step is 2 a (r |z| / |s|)²: 0 turns the corrector off", fmt="%.3g"),
    Setting("frames", "sample", 200, _choice((50, 100, 200, 300, 400), "frames"), "frames recorded", "select_slider"),
    Setting("trails", "sample", True, BOOL, "fading trails", "toggle"),
    Setting("fp", "sample", False, BOOL, "Fokker–Planck density beside the particles", "toggle",
            "langevin, annealed and reverse-sde (VP): the law the particles sample, p_t, solved on a grid "
            "(Langevin: ∂p/∂t = −∇·(p s) + Δp) from their starting law, on the same timeline, with KL(p_t ‖ π) and "
            "the particles' distance from p_t"),
    Setting("field", "sample", True, BOOL, "score arrows (annealed: at the current σ; CLD: ∇ₓ log pₜ at the frame's t)",
            "toggle", _ARROWS_HELP),
    # ----- Compare -----
    Setting("cmp", "compare", ("langevin", "annealed", "cld"), Rule(list, choices=registry.names()),
            "samplers (2 to 4)", "multiselect"),
    Setting("c_score", "compare", "exact", _choice(SCORES), "score", "radio",
            "exact: the density's own score (every noise level); kde: a Gaussian-mixture KDE (sidebar settings); "
            "learned: a network from the Train page (offered once one is trained)"),
    Setting("c_particles", "compare", 1000, _choice((100, 250, 500, 1000, 2000, 5000), "particles"), "particles",
            "select_slider"),
    Setting("c_init", "compare", "prior", _choice(INITS), "initial particles", "select",
            "One draw shared by every sampler. CLD needs a draw of its prior: with 'prior' it shares it, otherwise "
            "it starts from its own. The score-SDE samplers always start from their own law (the SDE's prior; "
            "the data for the forward process), shared among them."),
    Setting("c_seed", "compare", 0, _int(0, SEED_MAX), "seed", "number", step=1),
    Setting("c_eps", "compare", 0.0, _float(0.0, 100.0), "step size ε for Langevin and MALA", "number", name="eps",
            fmt="%.4g"),
    Setting("c_steps", "compare", 0, _int(0, 100_000, "steps"), "steps (Langevin, MALA, underdamped, CLD, SDEs)",
            "number", name="steps", step=100),
    Setting("c_friction", "compare", 0.0, _float(0.0, 1000.0), "underdamped friction Γ", "number",
            "0 = critical damping at the narrowest mode, Γ = 2√(M/s²): the fastest settling without oscillation. "
            "Smaller Γ swings through the modes.", name="friction", fmt="%.4g"),
    Setting("c_sde", "compare", "vp", _choice(("vp", "ve")), "SDE (forward, reverse-sde, pc, pf-ode)", "radio",
            "One SDE for every score-SDE sampler in the comparison: vp (variance preserving, prior N(0, I)) or "
            "ve (variance exploding, prior N(0, σ_max² I))", name="sde"),
    Setting("c_frames", "compare", 200, _choice((50, 100, 200, 300), "frames"), "frames recorded", "select_slider"),
    # ----- Train -----
    Setting("tr_objective", "train", "ncsn", _choice(OBJECTIVES), "objective", "select", name="objective"),
    Setting("tr_width", "train", 128, _choice((32, 64, 128, 256, 512, 1024), "width"), "width", "select_slider",
            name="width"),
    Setting("tr_depth", "train", 3, _choice((1, 2, 3, 4, 5, 6, 8), "depth"), "depth", "select_slider", name="depth"),
    Setting("tr_steps", "train", 4000, _choice((250, 500, 1000, 2000, 4000, 8000, 16000, 32000), "train_steps"),
            "steps", "select_slider", name="steps"),
    Setting("tr_lr", "train", 0.0, _choice((0.0, 1e-4, 3e-4, 1e-3, 3e-3, 5e-3, 1e-2)), "learning rate",
            "select_slider", "auto: the objective's own (training.TRAINING_DEFAULTS; hsm trains at 0.01)", name="lr"),
    Setting("tr_batch", "train", 512, _choice((64, 128, 256, 512, 1024, 2048), "batch"), "batch", "select_slider",
            name="batch"),
    Setting("tr_seed", "train", 0, _int(0, SEED_MAX), "seed", "number", name="seed", step=1),
    # ----- the app -----
    Setting("present", "app", False, BOOL, "🎦 presentation mode", "toggle",
            "hide the sidebar and the settings, larger fonts for a projector (?present=true)"),
    # ----- the command line -----
    Setting("--particles", "cli", 1000, _int(1, None, "particles")),
    Setting("--steps", "cli", None, _int(1, None, "steps")),
    Setting("--frames", "cli", 200, _int(2, None, "frames")),
    Setting("--seed", "cli", 0, _int(0, SEED_MAX)),
    Setting("--step-size", "cli", None, _float(0.0, 1e4, open_lo=True)),
    Setting("--snr", "cli", None, _float(0.0, 1.0)),
    Setting("--fp-grid", "cli", 201, _int(3, None, "fp_grid")),
    Setting("--lr", "cli", None, _float(0.0, 1.0, open_lo=True)),
    Setting("--width", "cli", 128, _int(16, None, "width")),
    Setting("--depth", "cli", 3, _int(1, None, "depth")),
    Setting("--batch", "cli", 512, _int(1, None, "batch")),
    Setting("--train-steps", "cli", 4000, _int(1, None, "train_steps")),
]
SETTINGS: dict[str, Setting] = {s.key: s for s in _ALL}
PAGES = ("density", "sample", "compare", "train")


def get(key: str) -> Setting:
    try:
        return SETTINGS[key]
    except KeyError:
        raise InvalidInput("setting", key, "one of " + ", ".join(sorted(SETTINGS))) from None


def defaults(group: str) -> dict:
    """Every setting of a group (``target``, a page, ``app``) with its default, by URL name."""
    return {s.key: (list(s.default) if isinstance(s.default, tuple) else s.default)
            for s in _ALL if s.group == group}


def keys(group: str) -> tuple:
    return tuple(s.key for s in _ALL if s.group == group)


def target_keys(name: str) -> tuple:
    """The URL names of a target's parameters (the sidebar shows these)."""
    if name in DATASETS:
        return ("data_n",)
    return tuple(s.key for s in _ALL if s.param and s.param[0] == name)


KDE_KEYS = ("kernel", "bw", "bw_h", "bw_shape", "kde_n")


def rule(key: str) -> Rule:
    if key == "target":
        return Rule(str, choices=targets())
    return get(key).rule


def options(key: str) -> tuple:
    """The choices of a setting within the limits (for a select widget)."""
    return rule(key).options()


def high(key: str):
    """The upper end of a setting's range within the limits (for a number widget)."""
    return rule(key).high()


def help_text(key: str, **facts) -> str:
    """The setting's help with the target's defaults filled in (``facts``)."""
    text = get(key).help
    try:
        return text.format(**facts) if "{" in text else text
    except (KeyError, ValueError, IndexError):
        return text.split(" {")[0]


def check(key: str, value):
    """``value`` (text or a Python value) as a valid setting ``key``; else InvalidInput."""
    r = rule(key)
    if r.kind is list:
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if not 2 <= len(items) <= 4 or not all(isinstance(v, str) and v in r.choices for v in items):
            raise InvalidInput(key, ",".join(map(str, items)), r.expected())
        return items
    v = convert(r, value)
    if v is None:
        raise InvalidInput(key, value, r.expected())
    if r.choices is not None:
        if v not in r.options():
            raise InvalidInput(key, value, r.expected(), r.limit_note(v) if v in r.choices else "")
        return r.choices[r.choices.index(v)]      # the option itself (1000 not 1000.0)
    if r.lo is not None and (v < r.lo or (r.open_lo and v == r.lo)):
        raise InvalidInput(key, value, r.expected())
    hi = r.high()
    if hi is not None and v > hi:
        within_rule = r.hi is None or v <= r.hi
        raise InvalidInput(key, value, r.expected(), r.limit_note(v) if within_rule else "")
    return v


def parse(key: str, texts: list[str]):
    """A setting from a link's query parameter (``st.query_params.get_all``: a list of
    strings; repeated for list settings such as ``cmp``)."""
    r = rule(key)
    if r.kind is list:
        return check(key, list(texts))
    if not texts:
        raise InvalidInput(key, "", r.expected())
    return check(key, texts[-1])


def url_value(v):
    """A setting as URL text: true/false, a list of strings (a repeated parameter),
    whole floats without '.0'."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return [str(x) for x in v]
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# ----- density parameters (the sidebar, --params, a link's gmm table) -----------------
GMM_COLUMNS = ("weight", "mean_x", "mean_y", "var_x", "cov_xy", "var_y")
GMM_MAX = 12
GMM_ACCEPTED = (f"1 to {GMM_MAX} rows of numbers: weight ≥ 0 (not all 0), mean x and y within ±100, and a "
                "covariance [[var x, cov xy], [cov xy, var y]] that is positive definite (var x > 0, var y > 0, "
                "cov xy² < var x · var y) with variances from 1e-4 to 100")


def gmm_from_rows(rows) -> dict:
    """Mixture parameters (weights, means, covs) from table rows (dicts by
    ``GMM_COLUMNS``; rows with every cell empty are skipped); InvalidInput otherwise."""
    import numpy as np
    try:
        rows = [r for r in rows if any(r.get(c) is not None and r.get(c) == r.get(c) for c in GMM_COLUMNS)]
    except (TypeError, AttributeError):
        raise InvalidInput("gmm", str(rows)[:60], GMM_ACCEPTED) from None
    if not 1 <= len(rows) <= GMM_MAX:
        raise InvalidInput("gmm", f"{len(rows)} components", GMM_ACCEPTED)
    try:
        vals = np.array([[float(r[c]) for c in GMM_COLUMNS] for r in rows])
    except (TypeError, ValueError, KeyError, OverflowError):
        raise InvalidInput("gmm", "a cell", GMM_ACCEPTED, "every cell must be a number") from None
    if not np.isfinite(vals).all():
        raise InvalidInput("gmm", "a cell", GMM_ACCEPTED, "every cell must be a finite number")
    w, mx, my, vx, cxy, vy = vals.T
    if (w < 0).any() or w.sum() <= 0:
        raise InvalidInput("gmm", "weights", GMM_ACCEPTED, "weights must be ≥ 0 and not all 0")
    if (np.abs(mx) > 100).any() or (np.abs(my) > 100).any():
        raise InvalidInput("gmm", "means", GMM_ACCEPTED, "a mean lies beyond ±100")
    bad = (vx <= 0) | (vy <= 0) | (cxy**2 >= vx * vy)
    if bad.any():
        raise InvalidInput("gmm", f"component {int(np.argmax(bad)) + 1}", GMM_ACCEPTED,
                           "its covariance is not positive definite")
    if (vx < 1e-4).any() or (vy < 1e-4).any() or (vx > 100).any() or (vy > 100).any():
        raise InvalidInput("gmm", "variances", GMM_ACCEPTED, "a variance lies outside 1e-4 to 100")
    covs = np.stack([np.stack([vx, cxy], 1), np.stack([cxy, vy], 1)], 1)
    return {"weights": w.tolist(), "means": np.stack([mx, my], 1).tolist(), "covs": covs.tolist()}


def check_params(name: str, params: dict | None) -> dict:
    """A built-in density's parameters (``--params`` JSON, the sidebar) by the sidebar's
    rules; the mixture's weights, means and covs as ``gmm_from_rows`` accepts them."""
    params = dict(params or {})
    if name == "gmm":
        if not params:
            return params
        try:
            w, m, c = params.pop("weights"), params.pop("means"), params.pop("covs")
            if params:
                raise KeyError
            rows = [{"weight": wi, "mean_x": mi[0], "mean_y": mi[1], "var_x": (ci[0][0] if isinstance(ci, list) else ci),
                     "cov_xy": (ci[0][1] if isinstance(ci, list) else 0.0),
                     "var_y": (ci[1][1] if isinstance(ci, list) else ci)} for wi, mi, ci in zip(w, m, c, strict=True)]
            if isinstance(c[0], list) and any(ci[0][1] != ci[1][0] for ci in c):
                raise InvalidInput("gmm", "covs", GMM_ACCEPTED, "a covariance is not symmetric")
        except (KeyError, TypeError, ValueError, IndexError) as e:
            if isinstance(e, InvalidInput):
                raise
            raise InvalidInput("--params", "gmm", "a JSON object {\"weights\": [...], \"means\": [[x, y], ...], "
                               "\"covs\": [[[a, b], [b, c]], ...]} of equal lengths") from None
        return gmm_from_rows(rows)
    allowed = {s.param[1]: s.key for s in _ALL if s.param and s.param[0] == name}
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) if allowed else "no parameters"
        raise InvalidInput("--params", ",".join(unknown), f"a parameter {name} takes: {takes}")
    out = {k: check(allowed[k], v) for k, v in params.items()}
    if name == "two-rings" and not out.get("inner", 1.0) < out.get("outer", 2.5):
        raise InvalidInput("two-rings", f"inner {out.get('inner', 1.0):g}, outer {out.get('outer', 2.5):g}",
                           "0 < inner < outer")
    return out


def target_params(values: dict) -> dict:
    """A target's engine parameters from sidebar settings by URL name (defaults filled in)."""
    name = values.get("target", SETTINGS["target"].default)
    out = {}
    for key in target_keys(name):
        s = SETTINGS[key]
        v = values.get(key, s.default)
        out[s.code] = int(v) if key == "data_n" else float(v)
    return out
