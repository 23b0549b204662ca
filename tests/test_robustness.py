"""Hostile input at the boundary (explorer/settings.py, explorer/validate.py, explorer/data.py,
explorer/modelio.py), diverging dynamics, and per-session state, through the engine and
through the app's own code path (AppTest). The many-sessions test against a real server
is tests/test_classroom.py."""
from __future__ import annotations

import io
import math
import os
import re

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import app, charts
from explorer import densities as D
from explorer import modelio
from explorer import settings as SET
from explorer import validate as V
from explorer.data import DataError, read_xy
from explorer.simulate import defaults, simulate, stable_step

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture
def limits_env(monkeypatch):
    """Set SFE_* variables for one test; the limits are re-read before and after."""
    def set_(**values):
        for k, v in values.items():
            monkeypatch.setenv(k, str(v))
        V.limits.cache_clear()
    yield set_
    monkeypatch.undo()
    V.limits.cache_clear()


# ----- property tests: any input gives a valid result or the documented error ----------------
def _valid_points(got):
    p = got.points
    assert p.dtype == np.float64 and p.ndim == 2 and p.shape[1] == 2
    assert 2 <= len(p) <= V.limits().kde_points and got.rows_read >= len(p)
    assert np.isfinite(p).all() and (np.abs(p) <= 1e6).all() and (p.std(0) > 0).all()
    assert all(isinstance(n, str) and n for n in got.notes)


def _read_or_documented_error(raw):
    try:
        got = read_xy(raw)
    except DataError as e:
        assert "expected" in str(e) or "spread" in str(e)
        return
    _valid_points(got)


@FAST
@given(st.binary(max_size=2000))
def test_the_csv_reader_on_any_bytes(raw):
    _read_or_documented_error(raw)


CELL = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str),
                 st.sampled_from(["", "nan", "inf", "-inf", "x", "y", "NA", "1e400", "1,5", '"3"', " 7 ", "é"]),
                 st.text(max_size=6))


@FAST
@given(st.lists(st.lists(CELL, min_size=1, max_size=4), max_size=30), st.sampled_from([",", ";", "\t", " ", "|", ":"]),
       st.booleans(), st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_the_csv_reader_on_csv_like_text(rows, delim, header, encoding):
    text = ("x" + delim + "y\n" if header else "") + "\n".join(delim.join(r) for r in rows)
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        raw = text.encode("utf-8")
    _read_or_documented_error(raw)


ANY = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                st.text(max_size=12), st.lists(st.text(max_size=12), max_size=5),
                st.sampled_from(["0", "1", "1000", "100000", "true", "False", "1e3", "3.0", "-1", "annealed",
                                 "langevin", "nan", "1_000"]))


def _satisfies(name, value):
    r = SET.rule(name)
    if r.kind is list:
        return 2 <= len(value) <= 4 and all(v in r.choices for v in value)
    if r.choices is not None:
        return value in r.options()
    if r.kind is bool:
        return isinstance(value, bool)
    ok = isinstance(value, r.kind) and not isinstance(value, bool) and value >= r.lo and (not r.open_lo or value > r.lo)
    return ok and (r.high() is None or value <= r.high()) and (r.kind is int or math.isfinite(value))


@FAST
@given(st.sampled_from(sorted(SET.SETTINGS) + ["target"]), ANY)
def test_every_setting_validator_on_any_value(name, value):
    try:
        got = SET.check(name, value)
    except V.InvalidInput as e:
        assert e.expected and str(e).startswith(f"{name}=")
        return
    assert _satisfies(name, got), (name, value, got)


@FAST
@given(st.sampled_from(sorted(SET.SETTINGS) + ["target"]), st.lists(st.text(max_size=10), max_size=5))
def test_every_link_parameter_on_any_text(name, texts):
    try:
        got = SET.parse(name, texts)
    except V.InvalidInput:
        return
    assert _satisfies(name, got)


@FAST
@given(st.sampled_from(["ring", "two-rings", "double-well", "banana", "gmm", "eight-gaussians"]),
       st.dictionaries(st.sampled_from(["radius", "width", "inner", "outer", "barrier", "curvature", "weights",
                                        "means", "covs", "n"]), ANY, max_size=3))
def test_density_parameters_on_any_json(name, params):
    try:
        got = SET.check_params(name, params)
    except V.InvalidInput:
        return
    D.get(name, **got)        # whatever passes builds


ROW = st.fixed_dictionaries({c: st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(),
                                          st.none(), st.text(max_size=4)) for c in SET.GMM_COLUMNS})


@FAST
@given(st.lists(ROW, max_size=14))
def test_the_mixture_table_on_any_rows(rows):
    try:
        params = SET.gmm_from_rows(rows)
    except V.InvalidInput as e:
        assert e.expected == SET.GMM_ACCEPTED
        return
    D.get("gmm", **params)


@FAST
@given(st.integers(-10, 10**9), st.integers(-10, 10**9))
def test_the_work_limit_on_any_run(particles, steps):
    lim = V.limits()
    try:
        V.check_work(particles, steps)
    except V.InvalidInput:
        assert not (1 <= particles <= lim.particles and steps <= lim.steps and particles * steps <= lim.work)
        return
    assert 1 <= particles <= lim.particles and steps <= lim.steps and particles * steps <= lim.work


@FAST
@given(st.one_of(st.integers(-5, 10**6), st.booleans(), st.floats()), st.one_of(st.integers(-5, 100), st.none()))
def test_the_network_limit_on_any_size(width, depth):
    try:
        V.check_network(width, depth if depth is not None else 3)
    except V.InvalidInput:
        return
    assert isinstance(width, int) and 1 <= width <= V.limits().width


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000))
def test_the_model_reader_on_any_bytes(raw):
    with pytest.raises(ValueError):
        modelio.from_bytes(raw)


# ----- limits: configurable, enforced where the work starts -----------------------------------
def test_a_lecturer_raises_a_limit_with_an_environment_variable(limits_env):
    with pytest.raises(V.InvalidInput, match="SFE_MAX_PARTICLES raises it"):
        SET.check("particles", "20000")
    limits_env(SFE_MAX_PARTICLES=20000, SFE_MAX_WIDTH=1024)
    assert SET.check("particles", "20000") == 20000 and 20000 in SET.options("particles")
    assert SET.check("tr_width", "1024") == 1024
    limits_env(SFE_MAX_PARTICLES="lots")
    with pytest.raises(V.InvalidInput, match="SFE_MAX_PARTICLES=lots: expected a positive whole number"):
        V.limits()


def test_too_much_work_is_refused_before_it_starts(limits_env):
    limits_env(SFE_MAX_WORK=10_000)
    d = D.get("eight-gaussians")
    with pytest.raises(V.InvalidInput, match="particle-steps"):
        simulate(d, "langevin", particles=100, steps=101)
    assert simulate(d, "langevin", particles=100, steps=100).n_frames > 1


def test_a_model_file_asking_for_a_huge_network_is_refused_before_allocating():
    import json

    from explorer.training import Trainer
    good = modelio.to_bytes(Trainer("eight-gaussians", steps=1, width=32, depth=1))
    payload = torch.load(io.BytesIO(good), weights_only=True)
    config = json.loads(payload["config"])
    config["network"]["width"] = 10**7          # 10^14 weights if it were built
    buf = io.BytesIO()
    torch.save(dict(payload, config=json.dumps(config)), buf)
    with pytest.raises(ValueError, match="width must be a whole number from 16 to 512"):
        modelio.from_bytes(buf.getvalue())


def test_a_model_file_over_the_upload_limit_is_refused(limits_env):
    limits_env(SFE_MAX_UPLOAD_MB=1)
    with pytest.raises(ValueError, match="at most 1 MB"):
        modelio.from_bytes(b"\0" * (2 * 2**20))


# ----- each hostile CSV, by the reader and through the app ----------------------------------
def _pts(n=40, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 2))


def _rows(a, delim=","):
    return "\n".join(f"{x:.5f}{delim}{y:.5f}" for x, y in a)


HOSTILE = {   # name: (bytes, "error" or "note" or "ok", what the message says)
    "wrong delimiter (colon)": (_rows(_pts(), ":").encode(), "error", "one column"),
    "pipe delimiter": (_rows(_pts(), "|").encode(), "ok", ""),
    "semicolon + decimal comma": (("x;y\n" + _rows(_pts(), ";").replace(".", ",")).encode(), "ok", ""),
    "header only": (b"x,y\n", "error", "0 data row(s)"),
    "header with x and y among others": (("id,y,x\n" + "\n".join(f"{i},{b:.3f},{a:.3f}" for i, (a, b) in
                                                               enumerate(_pts()))).encode(), "ok", ""),
    "all text": (b"name,city\nann,paris\nbob,rome\n", "error", "not two finite numbers"),
    "a few NaN and inf": (("x,y\n" + _rows(_pts()) + "\nnan,1\n2,inf\n").encode(), "note", "dropped 2 of 42 rows"),
    "one row": (b"x,y\n1,2\n", "error", "at least 2"),
    "huge magnitudes": (b"1e300,2\n3,4\n5,6\n", "error", "rescale the data"),
    "non-UTF-8 (Latin-1)": (("x,y\n# mesures: café\n" + _rows(_pts())).encode("latin-1"), "note", "read as Latin-1"),
    "binary (a PNG)": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "error", "binary"),
    "UTF-16 from a spreadsheet": (("x\ty\n" + _rows(_pts(), "\t")).encode("utf-16"), "ok", ""),
    "empty": (b"", "error", "empty"),
    "no spread": (b"1,1\n1,2\n1,3\n", "error", "no spread"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_each_hostile_csv_by_the_reader(name):
    raw, kind, says = HOSTILE[name]
    if kind == "error":
        with pytest.raises(DataError, match=re.escape(says)):
            read_xy(raw)
        return
    got = read_xy(raw)
    _valid_points(got)
    assert (says in " ".join(got.notes)) if kind == "note" else not got.notes


def test_millions_of_rows_are_refused_above_the_limit_and_thinned_below(limits_env):
    limits_env(SFE_MAX_ROWS=1_500_000)
    many = b"1.5,2.5\n" * 1_500_001 + b"3,4\n"
    with pytest.raises(DataError, match="more than this server reads"):
        read_xy(many)
    a = _pts(1_200_000, seed=1)
    got = read_xy(("x,y\n" + _rows(a)).encode())
    assert got.rows_read == 1_200_000 and len(got.points) == 5000
    assert "kept a random 5,000 of the 1,200,000 rows (seed 0)" in got.notes[0]
    assert np.allclose(got.points.std(0), 1.0, atol=0.05)       # a fair subset: 5000 draws of N(0, 1), sd err 0.01


def test_hostile_csvs_through_the_app_upload():
    """The sidebar's uploader, one file after another in one session: each gets its
    message (error or cleaning note) and the page keeps drawing its figure."""
    at = app("density", {"target": "csv"})
    for name, (raw, kind, says) in HOSTILE.items():
        at.sidebar.file_uploader(key="csv_file").upload(f"{name}.csv", raw, "text/csv").run()
        assert not at.exception, (name, [e.value for e in at.exception])
        errors = [e.value for e in at.sidebar.error]
        warnings = [w.value for w in at.sidebar.warning]
        if kind == "error":
            assert any(says in e and "expected" in e or says in e for e in errors), (name, errors)
        elif kind == "note":
            assert not errors and any(says in w for w in warnings), (name, errors, warnings)
        else:
            assert not errors, (name, errors)
        assert charts(at), name


def test_a_crafted_pickle_disguised_as_a_model_is_refused_through_the_train_page(tmp_path):
    marker = tmp_path / "pwned"

    class Crafted:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    buf = io.BytesIO()
    torch.save({"format": modelio.FORMAT, "version": 1, "config": "{}", "state": Crafted()}, buf)
    import pickle
    plain = pickle.dumps(Crafted())
    at = app("train")
    for name, raw in (("score-ncsn.pt", buf.getvalue()), ("model.pt", plain)):
        at.file_uploader(key="tr_upload").upload(name, raw, "application/octet-stream").run()
        assert not at.exception
        msgs = [e.value for e in at.error]
        assert any("refused" in m or "not a readable model" in m for m in msgs), msgs
        assert "learned" not in at.session_state
    assert not marker.exists()


# ----- diverging dynamics ----------------------------------------------------------------
def _bound(sampler, d):
    opts = dict(defaults(sampler, d))
    if sampler == "underdamped":
        opts["mass"] = 1.0
    return stable_step(sampler, d, opts)["bound"], opts


@pytest.mark.parametrize("sampler", ["langevin", "annealed", "underdamped"])
@pytest.mark.parametrize("target", ["eight-gaussians", "mixture-1to4", "ring"])
def test_ten_times_the_stable_step_stops_cleanly_with_the_step_and_a_stable_suggestion(sampler, target):
    """The stability bounds (ULA eps < 2 s^2; annealed a_1 < 4 (sigma_1^2 + s^2); BAOAB
    h < 2 s sqrt(M)); at 10x the run stops at once, says where, and the step it suggests
    runs the default length without diverging."""
    d = D.get(target)
    bound, _ = _bound(sampler, d)
    traj = simulate(d, sampler, particles=500, step_size=10 * bound)
    assert traj.diverged_at is not None and traj.diverged_at <= 50
    assert f"diverged at step {traj.diverged_at}" in traj.message and "try" in traj.message
    assert traj.steps[-1] == traj.diverged_at and traj.n_frames >= 2   # the start and the blow-up
    assert traj.params["bound"] == pytest.approx(bound) and traj.params["suggested"] < bound
    again = simulate(d, sampler, particles=500, step_size=traj.params["suggested"])
    assert again.diverged_at is None and np.isfinite(again.samples).all()


def test_the_sample_page_shows_the_divergence_and_applies_the_suggested_step():
    d = D.get("eight-gaussians")
    at = app("sample", {"sampler": "langevin", "eps": str(10 * 2 * d.scale**2), "particles": "500"})
    assert not at.exception
    msg = " ".join(e.value for e in at.error)
    assert "diverged at step" in msg and "stable bound 2 s²" in msg and "frames up to step" in msg
    assert charts(at)                                   # the frames until the blow-up are drawn
    at.button(key="use_stable").click().run()
    assert not at.exception and not at.error
    assert at.number_input(key="eps").value == pytest.approx(0.05 * d.scale**2)


# ----- per-session state -----------------------------------------------------------------
def test_sessions_do_not_share_uploads_or_learned_models():
    a = app("density", {"target": "csv"})
    a.sidebar.file_uploader(key="csv_file").upload("mine.csv", ("x,y\n" + _rows(_pts(300))).encode(),
                                                    "text/csv").run()
    assert a.session_state["csv_upload"].points is not None
    b = app("density", {"target": "csv"})
    assert "csv_upload" not in b.session_state or b.session_state["csv_upload"].points is None
    assert any("moons data set stands in" in i.value for i in b.sidebar.info)
    from explorer.training import Trainer
    from pages._state import Learned
    a.session_state["learned"] = Learned(Trainer("eight-gaussians", steps=1, width=32, depth=1).model, "a")
    b2 = app("sample")
    assert "learned" not in b2.session_state
    assert "learned" not in b2.radio(key="score").options
