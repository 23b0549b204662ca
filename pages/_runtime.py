"""The server's runtime: torch threads per session, the gate that queues heavy jobs for
a core, and the warm-up app.py runs once at start."""
from __future__ import annotations

import threading

import streamlit as st
import torch

from explorer import figures as G
from explorer import scene as SC
from explorer import settings as S
from explorer import validate as V


def torch_threads():
    """Sessions run in threads of one process: torch ops of one session use
    limits().torch_threads threads (default 1), so N sessions use N cores instead of
    fighting over all of them (two 2-thread torch processes on 2 cores ran 50-100x
    slower here). SFE_TORCH_THREADS sets it."""
    if torch.get_num_threads() != V.limits().torch_threads:
        torch.set_num_threads(V.limits().torch_threads)


@st.cache_resource(show_spinner=False)
def gate() -> threading.BoundedSemaphore:
    """One per server: at most ``validate.workers()`` heavy jobs (a sampling run, a
    training slice) at once, one per CPU core by default (SFE_WORKERS). With a class
    pressing Run together, jobs queue for a core instead of slicing every core N ways,
    and page loads (Python under the GIL) still get their turn."""
    return threading.BoundedSemaphore(V.workers())


def warm_up():
    """The first page's work for a visitor with the defaults, done once at server start
    (app.py's lifespan): the imports (torch, plotly, pandas), the default target, its grid
    under the Density page's own cache key, and one figure (plotly loads its validators on
    first use). tests/test_app.py checks that the page then finds the grid cached, so
    these defaults cannot drift from the page's."""
    from pages import _cache
    torch_threads()
    t = _cache.target(SC.target_spec({}))
    df = S.defaults("density")
    dg, fg, _ = _cache.grids(_cache.model_key(t, "exact"), t.density, t.box, float(df["sigma"]), int(df["arrows_n"]))
    G.panels_figure([dict(density=dg, field=fg, title="")], t.box)
