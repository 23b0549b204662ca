"""The one input boundary: every parameter that reaches the engine from a widget, a
shared link, the command line or a file is checked here, against one rule and the
server's limits, and bad input raises ``InvalidInput`` (a ``ValueError``) whose message
says what is accepted.

Two kinds of check live here:

* ``check(name, value)`` / ``parse(name, texts)``: one setting, by its URL name (the
  app's widgets and links) or its flag (``--particles``: the CLI). Text is converted,
  then the value must be one of the choices or inside the range.
* The work one request may cost, checked where the work starts (so no path around it):
  ``check_work`` in ``simulate.simulate`` (particles x steps), ``check_network`` in the
  Trainer and the model-file reader (width, depth, batch, training steps), and the row
  and byte limits in ``data.read_xy``.

Limits keep one request from taking a classroom server down. A lecturer on their own
(GPU) machine raises them with environment variables, ``SFE_MAX_<NAME>`` (for example
``SFE_MAX_PARTICLES=100000``); ``python -m explorer limits`` prints those in force.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from functools import lru_cache


# ----- limits -------------------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """What one request may ask for. Defaults suit a 2-core server shared by a class:
    the largest allowed run costs about 15 s of one core (annealed Langevin does
    ~7e6 particle-steps a second; README, ``python -m explorer bench``)."""

    particles: int = 10_000          # particles in one run
    steps: int = 50_000              # steps of one run (annealed: levels x steps per level)
    work: int = 100_000_000          # particles x steps of one run
    frames: int = 400                # recorded frames (what goes to the browser)
    levels: int = 50                 # annealing noise levels
    grid: int = 41                   # arrows per side of the field plot
    width: int = 512                 # hidden units of a score network
    depth: int = 6                   # hidden layers
    batch: int = 2048                # training batch
    train_steps: int = 16_000        # training steps per press of Start
    upload_mb: int = 20              # a CSV or model file (.streamlit/config.toml: maxUploadSize)
    rows: int = 2_000_000            # CSV rows read
    kde_points: int = 5_000          # points a KDE keeps (its score costs O(points) per particle)
    torch_threads: int = 1           # torch threads per server process (sessions run in parallel threads)
    workers: int = 0                 # heavy jobs (runs, training slices) at once; 0: one per CPU core

    def env_name(self, name: str) -> str:
        return "SFE_" + ("" if name in ("torch_threads", "workers") else "MAX_") + name.upper()


@lru_cache(maxsize=1)
def limits() -> Limits:
    """The limits in force: the defaults, each replaced by ``SFE_MAX_<NAME>`` (or
    ``SFE_TORCH_THREADS`` / ``SFE_WORKERS``) when set. A bad value stops the start with
    a message (a server should not come up with limits nobody asked for)."""
    base = Limits()
    values = {}
    for f in fields(Limits):
        env = base.env_name(f.name)
        raw = os.environ.get(env)
        if raw is None:
            continue
        try:
            v = int(float(raw))
            if v < (0 if f.name == "workers" else 1) or v != float(raw):
                raise ValueError
        except ValueError:
            raise InvalidInput(env, raw, "a positive whole number") from None
        values[f.name] = v
    return Limits(**values) if values else base


def workers() -> int:
    n = limits().workers
    return n if n > 0 else max(1, os.cpu_count() or 1)


# ----- the error ------------------------------------------------------------------------
class InvalidInput(ValueError):
    """Bad input: ``name`` (a setting or flag), the ``raw`` value and what is ``expected``."""

    def __init__(self, name: str, raw, expected: str, why: str = ""):
        self.name, self.raw, self.expected, self.why = name, raw, expected, why
        shown = raw if isinstance(raw, str) else repr(raw)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(f"{name}={shown}: {why + '; ' if why else ''}expected {expected}")


# ----- rules ----------------------------------------------------------------------------
def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


@dataclass(frozen=True)
class Rule:
    """One setting's rule. ``kind`` is int, float, bool, str or list (2-4 of the
    choices); ``choices`` or the range ``lo``..``hi`` (``open_lo``: lo itself excluded);
    ``limit`` names a ``Limits`` field that caps the choices or the range."""

    kind: type
    choices: tuple | None = None
    lo: float | None = None
    hi: float | None = None
    limit: str | None = None
    open_lo: bool = False

    def options(self) -> tuple:
        if self.choices is None:
            return ()
        cap = getattr(limits(), self.limit) if self.limit else None
        return tuple(c for c in self.choices if cap is None or c <= cap)

    def high(self):
        cap = getattr(limits(), self.limit) if self.limit else None
        return self.hi if cap is None else min(self.hi, cap) if self.hi is not None else cap

    def expected(self) -> str:
        if self.kind is bool:
            return "true or false"
        if self.choices is not None:
            return ("2 to 4 of " if self.kind is list else "one of ") + ", ".join(_fmt(c) for c in self.options())
        what = "a whole number" if self.kind is int else "a number"
        if self.open_lo and self.lo == 0:
            return f"a positive number up to {_fmt(self.high())}"
        lo = f"above {_fmt(self.lo)}" if self.open_lo else f"from {_fmt(self.lo)}"
        return f"{what} {lo} to {_fmt(self.high())}"

    def limit_note(self, value) -> str:
        """Why a value that is fine by the rule's own range is refused: the server's limit."""
        if self.limit is None:
            return ""
        env = limits().env_name(self.limit)
        cap = getattr(limits(), self.limit)
        try:
            over = value > cap
        except TypeError:
            return ""
        return f"more than this server allows ({_fmt(cap)}; {env} raises it)" if over else ""


def _int(lo, hi, limit=None):
    return Rule(int, lo=lo, hi=hi, limit=limit)


def _float(lo, hi, open_lo=False):
    return Rule(float, lo=lo, hi=hi, open_lo=open_lo)


def _choice(options, limit=None):
    kind = type(options[0]) if not isinstance(options[0], bool) else bool
    return Rule(kind, choices=tuple(options), limit=limit)


SEED_MAX = 2**31 - 1
SAMPLERS = ("langevin", "mala", "annealed", "underdamped", "cld", "cld-ode")
OBJECTIVES = ("ncsn", "dsm", "esm", "ism", "ssm", "hsm")
INITS = ("gaussian", "uniform", "prior")
SCORES = ("exact", "kde", "learned")
DATASETS = ("moons", "circles", "swiss-roll")
KERNELS = ("gaussian", "epanechnikov", "uniform")
SIGMAS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
PARTICLES = (100, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)
BOOL = Rule(bool)


def _targets() -> tuple:
    from .densities import names
    return tuple(n for n in names() if n not in DATASETS) + DATASETS + ("csv",)


# Every setting of the app by its URL name (the widgets' keys), then the CLI's flags.
RULES: dict[str, Rule] = {
    # the target (sidebar)
    "radius": _float(0.5, 4.0), "width": _float(0.05, 1.0), "inner": _float(0.3, 3.0), "outer": _float(0.5, 5.0),
    "rwidth": _float(0.05, 1.0), "barrier": _float(0.5, 10.0), "curvature": _float(0.0, 2.0),
    "data_n": _choice((200, 500, 1000, 2000, 5000), "kde_points"),
    "kernel": _choice(KERNELS), "bw": _choice(("scott", "silverman", "number")), "bw_h": _float(0.005, 10.0),
    "bw_shape": _choice(("full", "isotropic")), "kde_n": _choice((100, 200, 500, 1000, 2000), "kde_points"),
    # Density & field
    "sigma": _choice(SIGMAS), "arrows": _choice(("normalised", "raw")), "colour": BOOL, "logp": BOOL,
    "arrows_n": _int(11, 31, "grid"), "kde_side": BOOL, "kde_pts": BOOL,
    # Sample
    "sampler": _choice(SAMPLERS), "score": _choice(SCORES), "particles": _choice(PARTICLES, "particles"),
    "init": _choice(INITS), "seed": _int(0, SEED_MAX),
    "eps": _float(0.0, 100.0), "a_eps": _float(0.0, 100.0), "h": _float(0.0, 100.0),
    "steps": _int(0, 200_000, "steps"), "levels": _int(2, 50, "levels"), "per_level": _int(0, 10_000, "steps"),
    "sig_max": _float(0.0, 100.0), "sig_min": _float(0.0, 10.0), "mass": _float(0.01, 100.0),
    "friction": _float(0.0, 1000.0), "cld_mass": _float(0.01, 10.0), "cld_friction": _float(0.0, 100.0),
    "frames": _choice((50, 100, 200, 300, 400), "frames"), "trails": BOOL, "field": BOOL,
    # Compare
    "cmp": Rule(list, choices=SAMPLERS), "c_score": _choice(SCORES),
    "c_particles": _choice((100, 250, 500, 1000, 2000, 5000), "particles"), "c_init": _choice(INITS),
    "c_seed": _int(0, SEED_MAX), "c_eps": _float(0.0, 100.0), "c_steps": _int(0, 100_000, "steps"),
    "c_friction": _float(0.0, 1000.0),
    "c_frames": _choice((50, 100, 200, 300), "frames"),
    # Train
    "tr_objective": _choice(OBJECTIVES), "tr_width": _choice((32, 64, 128, 256, 512, 1024), "width"),
    "tr_depth": _choice((1, 2, 3, 4, 5, 6, 8), "depth"),
    "tr_steps": _choice((250, 500, 1000, 2000, 4000, 8000, 16000, 32000), "train_steps"),
    "tr_lr": _choice((1e-4, 3e-4, 1e-3, 3e-3, 5e-3, 1e-2)), "tr_batch": _choice((64, 128, 256, 512, 1024, 2048), "batch"),
    "tr_seed": _int(0, SEED_MAX),
    "present": BOOL,
    # the command line
    "--particles": _int(1, None, "particles"), "--steps": _int(1, None, "steps"),
    "--frames": _int(2, None, "frames"), "--seed": _int(0, SEED_MAX),
    "--step-size": _float(0.0, 1e4, open_lo=True), "--lr": _float(0.0, 1.0, open_lo=True),
    "--width": _int(16, None, "width"), "--depth": _int(1, None, "depth"), "--batch": _int(1, None, "batch"),
    "--train-steps": _int(1, None, "train_steps"),
}


def rule(name: str) -> Rule:
    if name == "target":
        return _choice(_targets())
    try:
        return RULES[name]
    except KeyError:
        raise InvalidInput("setting", name, "one of " + ", ".join(sorted(RULES))) from None


def options(name: str) -> tuple:
    """The choices of a setting within the limits (for a select widget)."""
    return rule(name).options()


def high(name: str):
    """The upper end of a setting's range within the limits (for a number widget)."""
    return rule(name).high()


def _convert(r: Rule, value):
    """Text (a link or a flag) or a Python value to the rule's kind; None if it is not one."""
    if r.kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        return {"true": True, "false": False, "1": True, "0": False}.get(text)
    if r.kind is int:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return int(value) if math.isfinite(value) and value.is_integer() else None
        text = str(value).strip().replace("_", "")
        if not text.lstrip("+-").isdigit() or len(text) > 30:
            return None
        return int(text)
    if r.kind is float:
        if isinstance(value, bool):
            return None
        try:
            v = float(value) if not isinstance(value, str) or len(value) <= 40 else math.nan
        except (TypeError, ValueError, OverflowError):
            return None
        return v if math.isfinite(v) else None
    if r.kind is str:
        return value if isinstance(value, str) else None
    return None


def check(name: str, value):
    """``value`` (text or a Python value) as a valid setting ``name``; else InvalidInput."""
    r = rule(name)
    if r.kind is list:
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if not 2 <= len(items) <= 4 or not all(isinstance(v, str) and v in r.choices for v in items):
            raise InvalidInput(name, ",".join(map(str, items)), r.expected())
        return items
    v = _convert(r, value)
    if v is None:
        raise InvalidInput(name, value, r.expected())
    if r.choices is not None:
        if v not in r.options():
            raise InvalidInput(name, value, r.expected(), r.limit_note(v) if v in r.choices else "")
        return r.choices[r.choices.index(v)]      # the option itself (1000 not 1000.0)
    if r.lo is not None and (v < r.lo or (r.open_lo and v == r.lo)):
        raise InvalidInput(name, value, r.expected())
    hi = r.high()
    if hi is not None and v > hi:
        within_rule = r.hi is None or v <= r.hi
        raise InvalidInput(name, value, r.expected(), r.limit_note(v) if within_rule else "")
    return v


def parse(name: str, texts: list[str]):
    """A setting from a link's query parameter (``st.query_params.get_all``: a list of
    strings; repeated for list settings such as ``cmp``)."""
    r = rule(name)
    if r.kind is list:
        return check(name, list(texts))
    if not texts:
        raise InvalidInput(name, "", r.expected())
    return check(name, texts[-1])


# ----- the cost of one request --------------------------------------------------------------
def check_work(particles: int, steps: int):
    """One run: particles and steps each within their limit and their product within
    ``work``; the message says what to lower and how the limit is raised."""
    lim = limits()
    if not 1 <= particles <= lim.particles:
        raise InvalidInput("particles", particles, f"a whole number from 1 to {lim.particles:,}",
                           f"more than this server allows ({lim.env_name('particles')} raises it)"
                           if particles > lim.particles else "")
    if steps > lim.steps:
        raise InvalidInput("steps", steps, f"at most {lim.steps:,} steps in one run (annealed: levels x steps "
                           "per level)", f"more than this server allows ({lim.env_name('steps')} raises it)")
    if particles * steps > lim.work:
        raise InvalidInput("particles x steps", f"{particles:,} x {steps:,}",
                           f"at most {lim.work:,} particle-steps in one run: fewer particles or fewer steps",
                           f"more than this server runs at once ({lim.env_name('work')} raises it)")


def check_network(width: int, depth: int, batch: int | None = None, steps: int | None = None):
    """A score network's size (and its training batch and steps) within the limits."""
    lim = limits()
    for name, v, lo, cap in (("width", width, 1, lim.width), ("depth", depth, 1, lim.depth),
                             ("batch", batch, 1, lim.batch), ("training steps", steps, 1, lim.train_steps)):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= cap:
            key = {"training steps": "train_steps"}.get(name, name)
            raise InvalidInput(name, v, f"a whole number from {lo} to {cap:,}",
                               f"more than this server allows ({lim.env_name(key)} raises it)"
                               if isinstance(v, int) and v > cap else "")


def check_bytes(n: int, what: str = "the file"):
    lim = limits()
    if n > lim.upload_mb * 2**20:
        raise InvalidInput(what, f"{n / 2**20:.1f} MB", f"at most {lim.upload_mb} MB",
                           f"too large ({lim.env_name('upload_mb')} raises the limit)")


def describe() -> dict:
    """The limits in force and the variables that set them (``python -m explorer limits``)."""
    lim = limits()
    return {f.name: {"value": getattr(lim, f.name), "env": lim.env_name(f.name)} for f in fields(Limits)}


# ----- density parameters (the sidebar, --params, a link's gmm table) -----------------------
PARAMS = {"ring": {"radius": "radius", "width": "width"},
          "two-rings": {"inner": "inner", "outer": "outer", "width": "rwidth"},
          "double-well": {"barrier": "barrier"}, "banana": {"curvature": "curvature"}}
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
    """A built-in density's parameters (``--params`` JSON, the sidebar) by the app's
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
    allowed = PARAMS.get(name, {})
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) if allowed else "no parameters"
        raise InvalidInput("--params", ",".join(unknown), f"a parameter {name} takes: {takes}")
    out = {k: check(allowed[k], v) for k, v in params.items()}
    if name == "two-rings" and not out.get("inner", 1.0) < out.get("outer", 2.5):
        raise InvalidInput("two-rings", f"inner {out.get('inner', 1.0):g}, outer {out.get('outer', 2.5):g}",
                           "0 < inner < outer")
    return out
