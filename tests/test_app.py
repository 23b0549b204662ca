"""The app through streamlit.testing.v1.AppTest: every page, every main widget path
(each target, each sampler, exact/kde scores, the lessons), the figures' traces and
frame counts read from the chart specs, bad input, and the figure builders' budget.

AppTest cannot press Plotly's Play: tests/test_browser.py does that in Chromium."""
from __future__ import annotations

import base64
import io
import json
import os

import numpy as np
import pytest
import torch

from conftest import app, charts, ok
from explorer import fields as F
from explorer import figures as G
from explorer import presets as P
from explorer import registry
from explorer import scene as SC
from explorer import settings as SET
from pages._sidebar import PAGES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "main.py")     # the script app.py serves to every session
SAMPLERS = registry.names()
TARGETS = SET.targets()
BUDGET = 3_000_000      # bytes of a figure's JSON: 1000 particles x 200 frames must fit


# ----- helpers ----------------------------------------------------------------------
def arr(v) -> np.ndarray:
    """A plotly array: a list or plotly's base64 typed array {dtype, bdata, shape}."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        if "shape" in v:
            a = a.reshape([int(s) for s in str(v["shape"]).split(",")])
        return a
    return np.asarray(v)


def url(at, key):
    """A query parameter after the run: a string, or a list for repeated ones."""
    v = at.query_params.get(key)
    if isinstance(v, list) and len(v) == 1:
        return v[0]
    return v


def animated(specs):
    return [s for s in specs if s.get("frames")]


def particle_trace(spec):
    """Index of the particle trace: the last markers trace moved by every frame."""
    idx = spec["frames"][0]["traces"]
    return [i for i in idx if spec["data"][i].get("mode") == "markers"
            and spec["data"][i].get("marker", {}).get("symbol") != "arrow"]


# ----- pages on first load ----------------------------------------------------------
def test_density_page_first_load_shows_density_and_arrows():
    at = app()
    ok(at)
    spec = charts(at)[0]
    types = [t["type"] for t in spec["data"]]
    assert types == ["heatmap", "scatter"]
    z = arr(spec["data"][0]["z"])
    assert z.shape == (120, 120) and z.dtype == np.float32 and np.isfinite(z).all() and z.max() > 0
    arrows = spec["data"][1]
    assert arrows["marker"]["symbol"] == "arrow" and len(arr(arrows["x"])) == 21 * 21
    assert url(at, "gmm") is None


def test_server_warm_up_leaves_the_first_pages_grid_cached(monkeypatch):
    """app.py's lifespan runs _runtime.warm_up() when the server starts. The first visitor's
    Density page must then find its grid in the cache: warm_up builds the same defaults
    and the same cache key as the page, or the warm-up would be wasted work."""
    from pages import _cache, _runtime
    calls = []
    real = F.density_grid
    monkeypatch.setattr(F, "density_grid", lambda *a, **kw: calls.append(a[2:]) or real(*a, **kw))
    _cache.grids.clear()
    ok(app())
    assert len(calls) == 1                  # the counter sees a cold page compute its grid
    _cache.grids.clear()
    _runtime.warm_up()
    assert len(calls) == 2
    ok(app())
    assert len(calls) == 2                  # ... and a warmed one find it cached

def test_sample_page_opens_with_an_animation_ready_to_play():
    at = app("sample")
    ok(at)
    specs = charts(at)
    anim = animated(specs)
    assert len(anim) == 1
    spec = anim[0]
    n_frames = len(spec["frames"])
    assert 150 <= n_frames <= 210                           # ~200 frames recorded
    assert len(spec["layout"]["sliders"][0]["steps"]) == n_frames
    labels = [b["label"] for b in spec["layout"]["updatemenus"][0]["buttons"]]
    assert any("Play" in x for x in labels) and any("Pause" in x for x in labels)
    assert spec["layout"]["images"], "the density is drawn as a layout image under the particles"
    assert spec["layout"]["xaxis"]["autorange"] is False
    # every frame: redraw=False, only moving traces, float32 positions of all 1000 particles
    play = spec["layout"]["updatemenus"][0]["buttons"][0]["args"][1]
    assert play["frame"]["redraw"] is False
    moving = set(spec["frames"][0]["traces"])
    quiver = [i for i, t in enumerate(spec["data"]) if t.get("marker", {}).get("symbol") == "arrow"]
    assert quiver and all(t["type"] == "scatter" for t in spec["data"])
    part = particle_trace(spec)[-1]
    x = arr(spec["frames"][-1]["data"][spec["frames"][-1]["traces"].index(part)]["x"])
    assert x.dtype == np.float32 and len(x) == 1000
    # annealed (the default): the arrows follow sigma, the corner label names it
    assert quiver[0] in moving
    texts = [f["data"][-1]["text"][0] for f in spec["frames"]]
    assert "σ = " in texts[0] and texts[0] != texts[len(texts) // 2] and "denoised" in texts[-1]
    assert len(specs) == 3                                  # animation, final samples, mode weights
    table = at.table[0].value
    assert "energy distance" in table.index and "verdict" in table.index


def test_compare_page_runs_samplers_in_lockstep_from_the_same_particles():
    at = app("compare")
    ok(at)
    spec = animated(charts(at))[0]
    names = [a["text"] for a in spec["layout"]["annotations"]]
    assert len(names) == 3 and names[0].startswith("Langevin")
    frames = spec["frames"]
    assert all(len(f["traces"]) == 3 for f in frames)
    first = [arr(d["x"]) for d in frames[0]["data"]]
    assert all(np.array_equal(first[0], x) for x in first[1:]), "same initial particles in every panel"
    assert len(spec["layout"]["images"]) == 3
    table = at.table[0].value
    assert list(table.columns) == ["Langevin (ULA)", "annealed Langevin", "CLD (SSCS)"]


def test_lessons_page_shows_a_scene_and_what_to_watch():
    at = app("lessons")
    ok(at)
    assert "What to watch" in at.info[0].value
    assert animated(charts(at))
    assert url(at, "lesson") == P.names()[0]


def test_animated_figure_is_identical_on_rerun():
    """A rerun must hand the browser the same figure, or the animation resets."""
    at = app("sample", {"particles": "250"})
    first = at.get("plotly_chart")[0].proto.spec
    at.run()
    assert at.get("plotly_chart")[0].proto.spec == first


# ----- every target -----------------------------------------------------------------
@pytest.mark.parametrize("name", TARGETS)
def test_every_target_on_the_density_page(name):
    at = app("density", {"target": name})
    ok(at)
    spec = charts(at)[0]
    kinds = [t["type"] for t in spec["data"]]
    if name in ("moons", "circles", "swiss-roll", "drawn", "csv"):
        assert kinds.count("heatmap") == 1 and len(spec["layout"]["annotations"]) == 2    # data | its KDE
        assert "KDE of the data" in spec["layout"]["annotations"][1]["text"]
    else:
        assert kinds[0] == "heatmap" and arr(spec["data"][0]["z"]).max() > 0
    if name == "csv":
        assert any("Upload a CSV" in i.value for i in at.sidebar.info)


def heatmap_z(spec) -> np.ndarray:
    return [arr(t["z"]) for t in spec["data"] if t["type"] == "heatmap"][-1]


@pytest.mark.parametrize("name", ["ring", "mixture-1to4", "moons"])
def test_noise_slider_shows_the_noised_density_and_field(name):
    at = app("density", {"target": name})
    z0 = heatmap_z(charts(at)[0])
    at.select_slider(key="sigma").set_value(1.0).run()
    ok(at)
    spec = charts(at)[0]
    assert heatmap_z(spec).max() < z0.max()                 # noise spreads the mass out
    assert "σ = 1" in json.dumps(spec["layout"]["annotations"], ensure_ascii=False) or name == "moons"


def test_the_noise_radio_shows_p_t_of_either_sde():
    """VP at t = 1 is its prior N(0, I): peak 1 / 2 pi at the origin; VE's panel names sigma(t)."""
    at = app("density", {"target": "eight-gaussians", "noise": "vp", "sde_t": "1.0"})
    ok(at)
    spec = charts(at)[0]
    assert heatmap_z(spec).max() == pytest.approx(1 / (2 * np.pi), rel=0.02)
    assert "VP SDE at t = 1" in json.dumps(spec["layout"]["annotations"], ensure_ascii=False)
    at.radio(key="noise").set_value("ve").run()
    ok(at)
    titles = json.dumps(charts(at)[0]["layout"]["annotations"], ensure_ascii=False)
    assert "VE SDE at t = 1" in titles and "σ(t) = " in titles


def test_density_page_display_options_and_kde_beside():
    at = app("density", {"target": "two-rings"})
    at.radio(key="arrows").set_value("raw")
    at.toggle(key="colour").set_value(True)
    at.toggle(key="logp").set_value(True)
    at.toggle(key="kde_side").set_value(True).run()
    ok(at)
    spec = charts(at)[0]
    quivers = [t for t in spec["data"] if t.get("marker", {}).get("symbol") == "arrow"]
    assert len(quivers) == 2
    sizes = arr(quivers[0]["marker"]["size"])
    assert sizes.max() > sizes.min() > 0 or sizes.min() == 0     # raw: length follows |score|
    assert "color" in quivers[0]["marker"] and quivers[-1]["marker"]["showscale"]
    assert any(m.label == "KDE score error" for m in at.metric)
    assert url(at, "kde_side") == "true"


def test_kde_kernels_and_bandwidth_rules():
    at = app("density", {"target": "moons"})
    at.selectbox(key="kernel").set_value("epanechnikov")
    at.selectbox(key="bw").set_value("number").run()
    at.number_input(key="bw_h").set_value(0.1).run()
    ok(at)
    assert any(m.value == "epanechnikov" for m in at.metric)
    # a noised density needs the Gaussian kernel: said, and the sigma = 0 field shown
    at.select_slider(key="sigma").set_value(0.5).run()
    assert not at.exception
    assert any("Gaussian kernel" in w.value for w in at.warning)
    assert charts(at)


def test_gmm_table_edits_and_bad_input():
    at = app("density", {"target": "gmm"})
    ok(at)
    assert json.loads(url(at, "gmm"))[0]["weight"] == pytest.approx(0.3)
    # a covariance that is not positive definite: an error naming what is accepted
    at.session_state["gmm_editor_0"] = {"edited_rows": {0: {"cov_xy": 5.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert any("positive definite" in e.value and "expected" in e.value for e in at.error)
    assert charts(at)                                       # the last valid mixture is still drawn
    # a valid edit: a third component
    at2 = app("density", {"target": "gmm"})
    at2.session_state["gmm_editor_0"] = {"edited_rows": {}, "deleted_rows": [],
                                         "added_rows": [{"weight": 1.0, "mean_x": 0.0, "mean_y": 2.0, "var_x": 0.2,
                                                         "cov_xy": 0.0, "var_y": 0.2}]}
    at2.run()
    ok(at2)
    assert len(json.loads(url(at2, "gmm"))) == 3


def test_gmm_from_a_link_and_a_broken_link():
    rows = [dict(weight=1, mean_x=0, mean_y=0, var_x=1, cov_xy=0, var_y=1)]
    at = app("density", {"target": "gmm", "gmm": json.dumps(rows)})
    ok(at)
    at = app("density", {"target": "gmm", "gmm": "{not json"})
    assert not at.exception
    assert any("could not be read" in e.value for e in at.sidebar.error)


def test_bad_parameters_show_an_error_and_the_app_keeps_working():
    at = app("density", {"target": "two-rings", "inner": "3", "outer": "2"})
    assert not at.exception
    assert any("0 < inner < outer" in e.value for e in at.sidebar.error)
    assert charts(at)


def test_csv_upload_good_and_bad():
    at = app("density", {"target": "csv"})
    at.sidebar.file_uploader(key="csv_file").upload("bad.csv", b"x,y\n1,2\nfoo,3\n", "text/csv").run()
    assert not at.exception
    assert any("1 of 2 rows are not two finite numbers (data rows 2)" in e.value and "expected" in e.value
               for e in at.sidebar.error)
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.4f},{b:.4f}" for a, b in rng.normal(size=(300, 2)))
    at.sidebar.file_uploader(key="csv_file").upload("pts.csv", ("x,y\n" + rows).encode(), "text/csv").run()
    ok(at)
    spec = charts(at)[0]
    assert "300 points" in spec["layout"]["annotations"][0]["text"]


# ----- every sampler, both score sources ------------------------------------------------
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_sampler_on_the_sample_page(sampler):
    at = app("sample", {"sampler": sampler, "particles": "250"})
    ok(at)
    spec = animated(charts(at))[0]
    n = len(spec["frames"])
    assert 150 <= n <= 210
    kinetic = sampler in ("underdamped", "cld", "cld-ode")
    xaxes = {spec["data"][i].get("xaxis", "x") for i in particle_trace(spec)}
    if kinetic:      # phase space: x and v panels, both animated
        assert xaxes == {"x", "x2"}
        assert [a["text"] for a in spec["layout"]["annotations"]][:2] == ["position x", "velocity v"]
    else:
        assert xaxes == {"x"}
    table = at.table[0].value
    if sampler == "mala":
        assert 0.3 < float(table.loc["MALA acceptance"].iloc[0]) < 0.95
    assert table.loc["status"].iloc[0] == "ok"


def test_sample_page_says_what_mala_and_cld_do_differently():
    """MALA's capped drift (the remedy for super-linear scores) and CLD's known bias on
    an analytic target are said on the page, where a lecturer sees them."""
    at = app("sample", {"sampler": "mala", "particles": "250", "target": "double-well"})
    ok(at)
    captions = " ".join(c.value for c in at.caption)
    assert "MALTA" in captions and "rejected" in captions
    at = app("sample", {"sampler": "cld", "particles": "250", "target": "double-well", "steps": "50"})
    ok(at)
    captions = " ".join(c.value for c in at.caption)
    assert "lattice surrogate" in captions and "12% wider" in captions
    at = app("sample", {"sampler": "cld", "particles": "250", "steps": "50"})     # a mixture: nothing to say
    assert "lattice surrogate" not in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize("sampler", ["langevin", "annealed", "cld"])
def test_kde_score_source(sampler):
    at = app("sample", {"sampler": sampler, "particles": "250", "score": "kde", "kde_n": "200"})
    ok(at)
    assert animated(charts(at))


def test_data_set_target_samples_with_its_kde():
    at = app("sample", {"target": "moons", "sampler": "langevin", "particles": "250"})
    ok(at)
    assert at.radio(key="score").options == ["kde"]
    assert animated(charts(at))


def test_sampler_parameters_and_initial_distributions():
    at = app("sample", {"sampler": "underdamped", "particles": "100", "init": "uniform", "seed": "3",
                        "mass": "2", "friction": "1", "steps": "300", "frames": "50"})
    ok(at)
    spec = animated(charts(at))[0]
    assert 45 <= len(spec["frames"]) <= 55
    at = app("sample", {"sampler": "annealed", "particles": "100", "levels": "4", "per_level": "20",
                        "sig_max": "3", "sig_min": "0.1"})
    ok(at)
    texts = {f["data"][-1]["text"][0].split("· ")[-1] for f in animated(charts(at))[0]["frames"]}
    assert len(texts) == 5                                   # 4 sigma levels and the denoised frame


def test_bad_sampler_input_shows_what_is_accepted():
    at = app("sample", {"sampler": "mala", "score": "kde", "kernel": "uniform", "particles": "100"})
    assert not at.exception
    assert any("Gaussian KDE kernel" in e.value for e in at.error)
    at = app("sample", {"sampler": "annealed", "sig_max": "0.01", "sig_min": "1", "particles": "100"})
    assert any("σ_max > σ_min" in e.value for e in at.error)


def test_diverged_run_shows_the_message_with_the_step():
    at = app("sample", {"sampler": "langevin", "eps": "0.35", "steps": "100"})
    assert not at.exception
    msg = [e.value for e in at.error]
    assert any("diverged at step" in m for m in msg)
    assert animated(charts(at))                              # the frames it had are still shown


def test_a_trained_network_becomes_a_score_source():
    """The Train page stores a model in session state; the score radio then offers it."""
    at = app("sample", {"particles": "100"})
    assert at.radio(key="score").options == ["exact", "kde"]
    import explorer
    from pages._state import Learned
    at.session_state["learned"] = Learned(explorer.get_density("eight-gaussians"), "test-net")
    at.run()
    at.radio(key="score").set_value("learned").run()
    ok(at)
    assert animated(charts(at))


def test_compare_choices_and_bad_input():
    at = app("compare", {"cmp": ["mala", "underdamped", "cld-ode", "annealed"], "c_particles": "250"})
    ok(at)
    spec = animated(charts(at))[0]
    assert all(len(f["traces"]) == 4 for f in spec["frames"])
    at.multiselect(key="cmp").set_value(["mala"]).run()
    assert not at.exception
    assert any("Choose 2 to 4 samplers" in e.value for e in at.error)


# ----- lessons and links --------------------------------------------------------------
@pytest.mark.parametrize("name", P.names())
def test_each_lesson_renders_and_sets_up_its_page(name):
    at = app("lessons", {"lesson": name})
    assert not at.exception
    assert at.subheader[0].value == P.get(name)["title"]
    assert charts(at) or P.get(name)["page"] == "train"     # a training lesson previews its table
    at.button(key="lesson_open").click().run()
    assert not at.exception
    scene = P.scene(name)
    for k in P.get(name)["settings"]:
        v = at.session_state[k]
        assert (list(v) if isinstance(v, (list, tuple)) else v) == scene[k], k
    assert charts(at)
    # the URL now carries the scene: every setting the preset changes, by its URL name
    for k, v in P.query(name).items():
        assert url(at, k) == v, (k, url(at, k), v)
    if name == "step-too-large":
        assert any("diverged at step" in e.value for e in at.error)


@pytest.mark.parametrize("name", ["why-annealing", "kde-bandwidth"])
def test_a_shared_link_brings_the_scene_back(name):
    page = P.get(name)["page"]
    at = app(page, P.query(name))
    assert not at.exception
    for k, v in P.get(name)["settings"].items():
        got = at.session_state[k]
        assert (list(got) if isinstance(got, (list, tuple)) else got) == v, k


def test_a_bad_link_parameter_is_reported_and_ignored():
    at = app("sample", {"sampler": "nonsense", "particles": "7", "seed": "3"})
    assert not at.exception
    msgs = [e.value for e in at.error]
    assert any("sampler=nonsense ignored: expected one of langevin" in m for m in msgs)
    assert any("particles=7 ignored" in m for m in msgs)
    assert at.selectbox(key="sampler").value == SET.defaults("sample")["sampler"]
    assert at.number_input(key="seed").value == 3
    assert charts(at)


def test_url_follows_the_widgets():
    at = app("sample", {"particles": "100"})
    at.selectbox(key="sampler").set_value("mala").run()
    assert url(at, "sampler") == "mala" and url(at, "particles") == "100"
    at.query_params.clear()
    at.switch_page(PAGES["density"]).run()
    assert "sampler" not in at.query_params                 # another page's settings leave the URL
    at.switch_page(PAGES["sample"]).run()
    assert at.selectbox(key="sampler").value == "mala"       # ... and come back with the page


def test_why_annealing_numbers():
    """Song & Ermon's finding on the Compare page: Langevin ~0.5 in the heavy mode,
    annealed ~0.8 (the engine's tests pin the tolerances; here: the page shows them)."""
    at = app("compare", P.query("why-annealing"))
    ok(at)
    spec = charts(at)[1]
    bars = {t["name"]: arr(t["y"]) for t in spec["data"] if t["type"] == "bar"}
    assert abs(bars["Langevin (ULA)"][1] - 0.5) < 0.1 and abs(bars["annealed Langevin"][1] - 0.8) < 0.08


# ----- the builders: budget, frames, arrays --------------------------------------------
@pytest.mark.parametrize("sampler", ["langevin", "annealed", "underdamped", "cld"])
def test_animation_payload_fits_the_budget(sampler):
    import explorer
    d = explorer.get_density("eight-gaussians")
    traj = explorer.simulate(d, sampler, particles=1000, seed=0, frames=200)
    lf = F.level_fields(d, d.box, traj.params["sigmas"], 17) if sampler == "annealed" else None
    fig = G.animation_figure(traj, d.box, density=F.density_grid(d, d.box, 120), field=F.field_grid(d, d.box, 17),
                             level_fields=lf, title=sampler)
    size = G.payload_bytes(fig)
    assert size <= BUDGET, size
    spec = json.loads(fig.to_json())
    drawn = len(arr(spec["frames"][0]["data"][spec["frames"][0]["traces"].index(particle_trace(spec)[0])]["x"]))
    assert drawn == (1000 if traj.velocities is None else G.drawn_count(1000, traj.n_frames, 2))


def test_large_runs_are_subsampled_for_drawing():
    # one panel draws up to 5,000 particles over 200 frames (issue: a dense cloud on a
    # projector; docs/performance.md, Play at 5,000 particles); more are subsampled
    assert G.drawn_count(5000, 201) == 5000
    assert G.drawn_count(10_000, 201) == 5000
    assert G.drawn_count(10_000, 401) == G.POINT_FRAMES // 401
    assert G.drawn_count(500, 201) == 500
    assert G.drawn_count(20_000, 50) == G.MAX_DRAWN
    # several panels keep their earlier budget: 1,000 x 201 positions over all panels
    assert G.drawn_count(5000, 201, 2) == int(G.PANELS_POINT_FRAMES * 0.92) // (201 * 2)


def test_fields_agree_with_the_engine():
    import explorer
    d = explorer.get_density("mixture-1to4")
    fg = F.field_grid(d, d.box, 9, sigma=2.0)
    pts = torch.tensor(np.stack([fg.x, fg.y], 1), dtype=torch.float64)
    assert np.allclose(np.stack([fg.u, fg.v], 1), d.score(pts, 2.0).numpy(), rtol=1e-5, atol=1e-6)
    dg = F.density_grid(d, (-20, 20, -20, 20), 201, sigma=2.0)
    cell = (dg.x[1] - dg.x[0]) * (dg.y[1] - dg.y[0])
    assert dg.z.sum() * cell == pytest.approx(1.0, abs=1e-3)     # p_sigma is normalised (Riemann sum)
    ring = explorer.get_density("ring")
    with pytest.raises(ValueError):
        F.log_density(explorer.fit_kde(ring, 50, kernel="uniform"), pts, 0.5)
    assert F.density_grid(explorer.get_density("moons"), (-3, 3, -3, 3)) is None


def test_quiver_style_angles_point_along_the_score():
    fg = F.FieldGrid(np.zeros(4, np.float32), np.zeros(4, np.float32), np.array([1, 0, -1, 0], np.float32),
                     np.array([0, 1, 0, -1], np.float32))
    st = G.quiver_style(fg)
    # marker.angle turns the upward arrow clockwise: right 90, up 0, left -90 (= 270), down 180
    assert np.allclose(np.mod(st["angle"], 360), [90, 0, 270, 180])
    raw = G.quiver_style(F.FieldGrid(fg.x, fg.y, fg.u * np.array([1, 2, 3, 4], np.float32), fg.v), normalise=False)
    assert raw["size"][0] < raw["size"][2]


def test_presets_are_complete_and_link_cleanly():
    for name in P.names():
        p = P.get(name)
        assert p["page"] in ("density", "sample", "compare", "train") and len(p["watch"].split(". ")) >= 2
        q = P.query(name)
        assert q["target"] == P.scene(name)["target"]
    trajs = SC.lockstep(__import__("explorer").get_density("eight-gaussians"), ["langevin", "underdamped", "cld"],
                        particles=50, init="prior", frames=10)
    starts = {k: t.positions[0] for k, t in trajs.items()}
    assert all(np.array_equal(starts["langevin"], s) for s in starts.values())


# ----- the Train page ---------------------------------------------------------------
def _train(at, max_runs=60):
    """Press Start and rerun until the trainer stops (AppTest cannot tick run_every:
    each rerun trains one slice, as one fragment tick does in the browser)."""
    at.button[0].click().run()
    for _ in range(max_runs):
        if not at.session_state["training"].running:
            break
        at.run()
    return at.session_state["training"].trainer


def test_train_page_opens_with_the_field_to_learn():
    at = app("train")
    ok(at)
    specs = charts(at)
    assert specs and any(d.get("marker", {}).get("symbol") == "arrow" for d in specs[0]["data"])
    assert [b.label for b in at.button][:3] == ["▶ Start", "■ Stop", "↺ Reset"]


@pytest.mark.parametrize("objective", ["ncsn", "hsm", "ssm"])
def test_train_page_trains_and_hands_the_model_to_sample(objective):
    at = app("train")
    at.selectbox(key="tr_objective").set_value(objective).run()
    at.select_slider(key="tr_steps").set_value(250).run()
    tr = _train(at)
    ok(at)
    assert tr.step == 250 and len(tr.losses) == 250
    specs = charts(at)
    titles = [str(s["layout"].get("title", {}).get("text", "")) for s in specs]
    assert any("loss" in t for t in titles) and any("Fisher" in t for t in titles)
    assert any("pointwise error" in t for t in titles)
    assert at.session_state["learned"].model.net_kind == {"ncsn": "conditional", "hsm": "cld", "ssm": "plain"}[objective]
    at.switch_page(PAGES["sample"])
    at.session_state["sampler"] = {"ncsn": "annealed", "hsm": "cld", "ssm": "langevin"}[objective]
    at.run()
    at.radio(key="score").set_value("learned").run()
    ok(at)
    assert animated(charts(at))


def test_train_page_download_and_upload_round_trip():
    from explorer import modelio
    at = app("train")
    at.select_slider(key="tr_steps").set_value(250).run()
    tr = _train(at)
    data = modelio.to_bytes(tr)
    assert at.session_state["learned"].key
    assert any(b.proto.label.startswith("⬇") for b in at.get("download_button"))
    # the upload path is modelio.from_bytes; a bad file is refused with its message
    with pytest.raises(ValueError, match="model"):
        modelio.from_bytes(b"\x80\x04not a model")
    assert modelio.from_bytes(data).net_kind == "conditional"


def test_train_page_stop_leaves_a_usable_partial_model():
    at = app("train")
    at.select_slider(key="tr_steps").set_value(16000).run()
    at.button[0].click().run()                       # one slice of training
    assert at.session_state["training"].running
    at.button[1].click().run()                       # Stop
    tr = at.session_state["training"].trainer
    assert not at.session_state["training"].running and 0 < tr.step < 16000
    ok(at)
    assert at.session_state["learned"] is not None        # the partial model is kept


def test_train_start_refused_says_why_and_a_second_press_trains(monkeypatch):
    """Start is a callback (the click counts even if it lands mid-run); a trainer the
    engine refuses leaves the page serving with the engine's message."""
    import explorer.training as T
    real = T.Trainer

    class Refusing(real):
        def __init__(self, *a, **k):
            raise ValueError("width=128: more than this server allows")

    monkeypatch.setattr(T, "Trainer", Refusing)
    at = app("train")
    at.button[0].click().run()
    assert not at.exception
    assert not at.session_state["training"].running and at.session_state["training"].trainer is None
    assert any("more than this server allows" in e.value for e in at.error)
    monkeypatch.setattr(T, "Trainer", real)
    at.run()                        # the button's callback is the one the last run defined
    at.button[0].click().run()
    assert at.session_state["training"].running and not at.error


def test_train_settings_come_from_a_link_and_go_back_into_the_url():
    at = app("train", {"tr_objective": "hsm", "tr_steps": "500"})
    ok(at)
    assert at.session_state["tr_objective"] == "hsm" and at.session_state["tr_steps"] == 500
    at.select_slider(key="tr_width").set_value(64).run()
    assert url(at, "tr_width") == "64" and url(at, "tr_objective") == "hsm"
    bad = app("train", {"tr_steps": "12345"})
    assert any("tr_steps" in e.value for e in bad.error) and bad.session_state["tr_steps"] == 4000


def test_presentation_mode_enlarges_the_animation():
    from pages import _style
    normal = animated(charts(app("sample", {"particles": "100"})))[0]
    present = app("sample", {"particles": "100", "present": "true"})
    ok(present)
    big = animated(charts(present))[0]
    assert big["layout"]["height"] == _style.PRESENT_HEIGHT > normal["layout"]["height"]


def test_compare_page_offers_every_format_of_its_runs():
    at = app("compare", {"c_particles": "100"})
    ok(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["⬇ HTML", "⬇ NPZ", "⬇ CSV"]        # GIF and MP4 on a click (tests/test_export.py)
    assert [b.label for b in at.button if b.label.startswith("Make")] == ["Make GIF", "Make MP4"]
    from explorer import export as E
    runs = SC.lockstep(__import__("explorer").get_density("eight-gaussians"), ["langevin", "cld"], particles=20,
                       frames=5)
    z = np.load(io.BytesIO(E.compare_npz_bytes(runs)))
    assert z["langevin_positions"].shape[1:] == (20, 2) and "cld_velocities" in z


def test_the_fokker_planck_toggle_puts_p_t_beside_the_particles():
    """Langevin with the toggle: one animation of two panels on one timeline (the run's
    frames), p_t's colours changing per frame, and the KL / gap chart; MALA has no
    Fokker-Planck form, so its toggle is off and the page is as before."""
    at = app("sample", {"sampler": "langevin", "particles": "250", "fp": "true"}, timeout=300)
    ok(at)
    spec = charts(at)[0]
    assert [a["text"] for a in spec["layout"]["annotations"]][0] == "particles"
    assert "Fokker–Planck density" in spec["layout"]["annotations"][1]["text"]
    assert len(spec["frames"]) >= 150 and len(spec["frames"][0]["data"]) == 2
    assert "KL(p_t ‖ π)" in spec["layout"]["sliders"][0]["steps"][-1]["label"]
    titles = json.dumps([c["layout"].get("annotations") for c in charts(at)[1:]], ensure_ascii=False)
    assert "KL(p_t ‖ π)" in titles and "TV ÷ its noise" in titles
    at = app("sample", {"sampler": "mala", "particles": "250", "fp": "true"})
    ok(at)
    assert "Fokker" not in json.dumps(charts(at)[0]["layout"].get("annotations", []), ensure_ascii=False)


def test_a_drawing_from_a_link_a_broken_link_and_a_csv_on_the_canvas():
    from explorer import drawing as DR
    code = DR.encode(DR.shape("spiral"))
    at = app("density", {"target": "drawn", "drawing": code})
    ok(at)
    assert f"{len(DR.decode(code))} points" in charts(at)[0]["layout"]["annotations"][0]["text"]
    assert url(at, "drawing") == code                         # the link keeps carrying it
    at = app("sample", {"target": "drawn", "drawing": code, "particles": "250"})
    ok(at)
    assert charts(at)
    at = app("density", {"target": "drawn", "drawing": "not-a-drawing"})
    assert not at.exception
    assert any("the link's drawing was not used" in e.value for e in at.sidebar.error)
    default = len(DR.decode(DR.DEFAULT_CODE))
    assert f"{default} points" in charts(at)[0]["layout"]["annotations"][0]["text"]      # the default shape stands in
    # a CSV put on the canvas replaces the drawing; a bad one says what is accepted
    rows = "\n".join(f"{a:.4f},{b:.4f}" for a, b in np.random.default_rng(0).uniform(-3, 3, (120, 2)))
    at.file_uploader(key="draw_csv").upload("pts.csv", ("x,y\n" + rows).encode(), "text/csv").run()
    ok(at)
    assert "120 points" in charts(at)[0]["layout"]["annotations"][0]["text"]
    at.file_uploader(key="draw_csv").upload("line.csv", b"x,y\n0,0\n1,1\n2,2\n", "text/csv").run()
    assert not at.exception
    assert any("line.csv" in e.value and "one line" in e.value for e in at.error)
    at.button(key="draw_load").click().run()                  # a ready shape (the first: the letter S)
    ok(at)
    assert f"{len(DR.shape(DR.SHAPES[0]))} points" in charts(at)[0]["layout"]["annotations"][0]["text"]
