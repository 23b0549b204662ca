"""Shared test set-up: the test tiers (markers) and the helpers several test files need.

Tiers (declared in pyproject.toml, ``--strict-markers``); see docs/testing.md:

* ``browser``   -- drives Debian's Chromium with Playwright (a real ``streamlit run``)
* ``classroom`` -- the nine-tab classroom run (also ``browser``)
* ``app``       -- runs pages through ``streamlit.testing.v1.AppTest``
* ``slow``      -- statistical matrices and anything measured over ~20 s on 2 cores

``python -m pytest`` still runs everything (CI); the quick loop is
``python -m pytest -m "not browser and not classroom and not slow"``.
"""
import json
import os
import sys

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# ----- tiers ------------------------------------------------------------------------
# Markers of whole test modules, by file name. Kept here rather than in each file so the
# tiers can be read (and changed) in one place; a module missing from this table is in
# the unit tier unless one of its tests is caught by APP_NAMES or SLOW_TESTS below.
MODULE_MARKERS = {
    "test_browser.py": ("browser",),                # Playwright + /usr/bin/chromium
    "test_classroom.py": ("browser", "classroom"),  # one server, nine Chromium tabs, minutes
    "test_serving.py": ("browser",),                # 2 workers behind nginx, eight Chromium sessions
    "test_app.py": ("app",),                        # every page and widget path through AppTest
    "test_defaults.py": ("slow",),                  # every density x every sampler, 3 seeds
}

# Tests elsewhere that run a page through AppTest get ``app`` too: those whose code names
# the AppTest helpers (tests/test_app.py's ``app``, tests/test_export.py's ``open_app``,
# ``AppTest`` itself) or that ask for this file's ``open_app`` fixture. This catches the
# AppTest tests of test_robustness.py, test_objective_targets.py, test_export.py and
# test_cld_field.py, whose other tests stay in the unit tier.
APP_NAMES = {"app", "open_app", "AppTest"}

# Single tests of the other tiers measured over ~20 s ("file.py::test_name", parameters
# ignored): `--durations` of the unit tier on 2 cores, 2026-12-02, load average ~4 (the
# seconds below; a quiet machine takes about half). A module fixture shared by several
# tests (test_training.py's default_run, 28 s) is not a reason: marking one test saves nothing.
SLOW_TESTS = {
    "test_cli.py::test_train_then_sample_with_the_model",                       # 54 s
    "test_fokker_planck.py::test_100000_ula_particles_follow_p_t_within_their_noise",  # 40 s
    "test_cli.py::test_sample_prints_the_judged_run_and_writes_npz",            # 31 s
    "test_training.py::test_cld_net_trained_by_hsm_generates_samples_on_the_modes",  # 28 s
    "test_training.py::test_cld_on_the_learned_net_lands",                      # 57 s (30,000 particles)
    "test_metrics.py::test_the_noise_floor_calls_exact_draws_off_at_most_1_percent",  # 25 s
    "test_export.py::test_all_presets_into_a_folder",                           # 21 s
}


def _names(code) -> set[str]:
    """Global and attribute names a function's code uses, nested functions and lambdas included."""
    out = set(code.co_names)
    for c in code.co_consts:
        if hasattr(c, "co_names"):
            out |= _names(c)
    return out


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = os.path.basename(str(item.fspath))
        for name in MODULE_MARKERS.get(module, ()):
            item.add_marker(name)
        fn = getattr(item, "function", None)
        if "app" not in MODULE_MARKERS.get(module, ()) and fn is not None and (
                APP_NAMES & _names(fn.__code__) or "open_app" in getattr(item, "fixturenames", ())):
            item.add_marker("app")
        if f"{module}::{getattr(item, 'originalname', item.name)}" in SLOW_TESTS:
            item.add_marker("slow")


# ----- AppTest ----------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _pages_through_main(request, monkeypatch):
    """For tests marked ``app``: AppTest reruns go through main.py, as the server's do.

    A ``pages/`` folder next to the main script switches Streamlit into its legacy (v1)
    multipage mode until ``st.navigation`` runs; the server leaves that mode for good on
    the first run, but AppTest re-derives it before every run, so its reruns execute the
    page file alone (no main.py, no sidebar). Pin the flag to False.
"""
    if request.node.get_closest_marker("app") is None:
        return
    from streamlit.runtime.pages_manager import PagesManager
    init = PagesManager.__init__

    def patched(self, *a, **kw):
        init(self, *a, **kw)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", patched)


def app(page="density", query=None, timeout=180):
    """main.py through AppTest, switched to ``page`` (a page's name, "sample" for
    pages/sample.py, or its path) with ``query`` as its URL parameters, run once. A test
    that calls it is marked ``app`` (its reruns then go through main.py)."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(os.path.join(ROOT, "main.py"), default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if page != "density":
        at.switch_page(page if page.endswith(".py") else f"pages/{page}.py")
    at.run()
    return at


@pytest.fixture
def open_app():
    """``app`` as a fixture (asking for it marks the test ``app``)."""
    return app


def ok(at):
    """No exception and no st.error on an AppTest run."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def charts(at) -> list[dict]:
    """The Plotly specs an AppTest run drew."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


# ----- engine -----------------------------------------------------------------------
@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)
