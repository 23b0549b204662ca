"""The limits and the checks at the input boundary: bad input raises ``InvalidInput``
(a ``ValueError``) whose message says what is accepted.

* ``Rule``: what one setting accepts (choices or a range, capped by a ``Limits``
  field); every setting's rule is declared with it in ``settings.py``, which checks
  widgets, links and flags through ``convert`` and ``Rule``.
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
    """What one request may ask for. Defaults suit a 2-core server shared by a class: the
    largest allowed run (``work`` particle-steps) costs seconds of one core, not minutes
    (docs/performance.md, ``python -m explorer bench``)."""

    particles: int = 10_000          # particles in one run
    steps: int = 50_000              # steps of one run (annealed: levels x steps per level)
    work: int = 100_000_000          # particles x steps of one run
    frames: int = 400                # recorded frames (what goes to the browser)
    levels: int = 50                 # annealing noise levels
    grid: int = 41                   # arrows per side of the field plot
    fp_grid: int = 301               # cells per side of a Fokker-Planck grid (one sparse LU: O(N^3) time)
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


def convert(r: Rule, value):
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
        if not (text.isascii() and text.lstrip("+-").isdigit()) or len(text) > 30:   # '²'.isdigit() is True
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

