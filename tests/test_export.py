"""Exports (explorer/export.py, `python -m explorer export`): every format for two
presets, the GIF's frames and size, the MP4's duration, an HTML that fetches nothing,
Compare scenes as several panels on one timeline, and the same trajectory from the
CLI, the engine and the app's download buttons (Sample, Compare and Lessons pages)."""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import app
from explorer import export as E
from explorer import figures as G
from explorer import scene as SC

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
SMALL = dict(particles=120, frames=20)
PRESETS = ("step-too-large", "why-annealing")      # a Sample-page and a Compare-page preset
PARTICLE_RGB = np.array([int(G.PARTICLE[i:i + 2], 16) for i in (1, 3, 5)])


@pytest.fixture(scope="module")
def scenes():
    # noise-smooths (a Density preset) exports the Sample page's default, annealed Langevin:
    # a one-panel scene that runs its 20 frames (step-too-large diverges after 3)
    return {p: SC.from_preset(p, **SMALL) for p in (*PRESETS, "noise-smooths", "kinetic")}


def particle_pixels(rgb: np.ndarray) -> int:
    """Pixels of the particles' colour (figures.PARTICLE) in an RGB image."""
    return int((np.abs(rgb.astype(int) - PARTICLE_RGB).sum(-1) < 40).sum())


def cli(*args):
    return subprocess.run([sys.executable, "-m", "explorer", *args], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("fmt", E.FORMATS)
def test_every_format_for_two_presets(scenes, preset, fmt, tmp_path):
    out = tmp_path / f"x.{fmt}"
    r = E.export(scenes[preset], fmt, out)
    assert out.stat().st_size == r["bytes"] > 0
    assert r["frames"] == scenes[preset].n_frames and r["particles"] == 120


def test_gif_frame_count_and_size(scenes, tmp_path):
    from PIL import Image
    s = scenes["noise-smooths"]
    E.write_gif(s, tmp_path / "a.gif")
    im = Image.open(tmp_path / "a.gif")
    assert im.n_frames == s.traj.n_frames > 10
    assert im.size == (E.VIDEO_PX, E.VIDEO_PX)
    assert im.info["duration"] == G.FRAME_MS
    im.seek(im.n_frames - 1)
    assert particle_pixels(np.asarray(im.convert("RGB"))) > 50


def test_compare_scene_holds_every_sampler_on_one_timeline(scenes):
    s = scenes["why-annealing"]
    assert isinstance(s, SC.CompareScene) and list(s.runs) == ["langevin", "annealed"]
    assert s.n_frames == max(t.n_frames for t in s.runs.values())
    np.testing.assert_array_equal(s.runs["langevin"].positions[0], s.runs["annealed"].positions[0])   # same start
    one = SC.from_preset("why-annealing", sampler="annealed", **SMALL)    # one of them: a one-panel Scene
    assert isinstance(one, SC.Scene) and one.sampler == "annealed"
    np.testing.assert_array_equal(one.traj.positions, s.runs["annealed"].positions)


def _panel_boxes(scene):
    """Each panel's plot area in frame pixels (rows from the top), from the renderer."""
    r = E._renderer(scene)
    h = r.canvas.get_width_height()[1]
    boxes = []
    for p in r.panels:
        b = p["ax"].get_window_extent()
        boxes.append((int(h - b.y1) + 2, int(h - b.y0) - 2, int(b.x0) + 2, int(b.x1) - 2))
    return boxes


def test_compare_gif_has_a_panel_per_sampler_and_the_timeline(scenes, tmp_path):
    from PIL import Image
    s = scenes["kinetic"]                                   # langevin, underdamped, cld
    E.write_gif(s, tmp_path / "c.gif")
    im = Image.open(tmp_path / "c.gif")
    assert im.n_frames == s.n_frames
    assert im.info["duration"] == G.FRAME_MS
    # three 480 px panels with 70 + 2 x 40 + 16 px around and between them, 100 + 70 px above and
    # below, rounded up to multiples of 16 (H.264's macroblock)
    assert im.size == (1616, 656) and E.PANEL_PX == 480
    boxes = _panel_boxes(s)
    assert len(boxes) == 3 and all(b[2] < c[2] for b, c in zip(boxes, boxes[1:]))      # side by side
    firsts = []
    for i in (0, im.n_frames - 1):
        im.seek(i)
        rgb = np.asarray(im.convert("RGB"))
        crops = [rgb[top:bottom, left:right] for top, bottom, left, right in boxes]
        assert all(particle_pixels(c) > 50 for c in crops), [particle_pixels(c) for c in crops]
        firsts.append(crops)
    # the same start in every panel (one draw shared; CLD starts from its own prior draw) ...
    assert np.array_equal(firsts[0][0], firsts[0][1])
    # ... and three different runs at the end
    last = firsts[1]
    assert not np.array_equal(last[0], last[1]) and not np.array_equal(last[1], last[2])


def test_compare_mp4_is_a_video_of_the_expected_duration(scenes, tmp_path):
    import imageio_ffmpeg
    s = scenes["why-annealing"]
    E.write_mp4(s, tmp_path / "c.mp4")
    n, secs = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "c.mp4"))
    assert n == s.n_frames
    assert secs == pytest.approx(s.n_frames * G.FRAME_MS / 1000, abs=0.1)
    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(tmp_path / "c.mp4")],
                           capture_output=True, text=True)
    assert "h264" in probe.stderr and "1088x656" in probe.stderr        # two panels: 70 + 960 + 40 + 16 -> 1088


def test_compare_npz_and_csv_hold_every_run(scenes, tmp_path):
    s = scenes["kinetic"]
    E.export(s, "npz", tmp_path / "c.npz")
    E.export(s, "csv", tmp_path / "c.csv")
    z = np.load(tmp_path / "c.npz")
    assert list(z["samplers"]) == ["langevin", "underdamped", "cld"]
    for name, t in s.runs.items():
        np.testing.assert_array_equal(z[f"{name}_positions"], t.positions.astype(np.float32))
    assert "cld_velocities" in z and "langevin_velocities" not in z
    assert json.loads(str(z["meta"]))["samplers"] == ["langevin", "underdamped", "cld"]
    text = (tmp_path / "c.csv").read_text()
    assert text.split("\n", 1)[0] == "sampler,frame,step,level,particle,x,y,vx,vy"
    col = np.array([line.split(",", 1)[0] for line in text.strip().split("\n")[1:]])
    rows = np.genfromtxt(io.StringIO(text), delimiter=",", skip_header=1)[:, 1:]
    for name, t in s.runs.items():
        mine = rows[col == name]
        assert len(mine) == t.n_frames * 120
        last = mine[mine[:, 0] == t.n_frames - 1]
        np.testing.assert_allclose(last[:, 4:6], t.positions[-1], rtol=1e-6, atol=1e-6)
        if t.velocities is None:                    # a column for every run: nan where there is none
            assert np.isnan(mine[:, 6:]).all()
        else:
            np.testing.assert_allclose(last[:, 6:8], t.velocities[-1], rtol=1e-6, atol=1e-6)
    csv2 = E.data_bytes(scenes["why-annealing"], "csv").split(b"\n", 1)[0]
    assert csv2 == b"sampler,frame,step,level,particle,x,y"       # no kinetic run: no velocity columns


def test_compare_html_is_the_compare_figure(scenes):
    s = scenes["why-annealing"]
    fig = SC.figure(s)
    assert [a.text for a in fig.layout.annotations][:2] == ["Langevin (ULA)", "annealed Langevin"]
    assert len(fig.frames) == s.n_frames


def test_mp4_is_a_video_of_the_expected_duration(scenes, tmp_path):
    import imageio_ffmpeg
    s = scenes["step-too-large"]
    E.write_mp4(s, tmp_path / "a.mp4")
    n, secs = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "a.mp4"))
    assert n == s.traj.n_frames
    assert secs == pytest.approx(s.traj.n_frames * G.FRAME_MS / 1000, abs=0.1)
    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(tmp_path / "a.mp4")],
                           capture_output=True, text=True)
    assert "h264" in probe.stderr and f"{E.VIDEO_PX}x{E.VIDEO_PX}" in probe.stderr


def test_html_embeds_plotly_and_fetches_nothing(scenes, tmp_path):
    E.export(scenes["step-too-large"], "html", tmp_path / "a.html")
    html = (tmp_path / "a.html").read_text()
    assert "Plotly.newPlot" in html and len(html) > 3_000_000          # plotly.js itself is inside
    assert not re.search(r"<script[^>]+src\s*=\s*[\"']?https?:", html, re.I)
    tail = html[html.rindex("Plotly.newPlot"):]
    assert "Plotly.animate(" not in tail and "addFrames" in tail         # frames in, not auto-playing


def test_npz_and_csv_hold_the_trajectory(scenes, tmp_path):
    s = scenes["step-too-large"]
    E.export(s, "npz", tmp_path / "a.npz")
    E.export(s, "csv", tmp_path / "a.csv")
    z = np.load(tmp_path / "a.npz")
    np.testing.assert_array_equal(z["positions"], s.traj.positions.astype(np.float32))
    assert json.loads(str(z["meta"]))["preset"] == "step-too-large"
    rows = np.loadtxt(tmp_path / "a.csv", delimiter=",", skiprows=1)
    header = (tmp_path / "a.csv").read_text().split("\n", 1)[0]
    assert header == "frame,step,level,particle,x,y"
    assert len(rows) == s.traj.n_frames * 120
    last = rows[rows[:, 0] == s.traj.n_frames - 1]
    np.testing.assert_allclose(last[:, 4:6], s.traj.positions[-1], rtol=1e-6, atol=1e-6)


def test_kinetic_csv_has_velocities(tmp_path):
    s = SC.from_preset(density="eight-gaussians", sampler="underdamped", particles=30, frames=10)
    assert (E.csv_bytes(s.traj).split(b"\n", 1)[0]) == b"frame,step,level,particle,x,y,vx,vy"


def test_cli_export_matches_the_engine_for_the_same_seed(tmp_path):
    out = tmp_path / "c.npz"
    r = cli("export", "--preset", "why-annealing", "--format", "npz", "--out", str(out), "--seed", "3",
            "--particles", "120", "--frames", "20")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["format"] == "npz" and summary["bytes"] == out.stat().st_size and summary["particles"] == 120
    assert summary["samplers"] == ["langevin", "annealed"]       # a Compare preset exports all its samplers
    s = SC.from_preset("why-annealing", seed=3, **SMALL)
    z = np.load(out)
    for name, t in s.runs.items():
        np.testing.assert_array_equal(z[f"{name}_positions"], t.positions.astype(np.float32))


def test_cli_presets_lists_every_preset():
    from explorer import presets as P
    r = cli("presets")
    assert r.returncode == 0
    got = json.loads(r.stdout)
    assert [p["name"] for p in got] == list(P.PRESETS)
    assert all({"name", "title", "page", "settings"} <= set(p) for p in got)


def test_bad_preset_and_unwritable_path_exit_2(tmp_path):
    r = cli("export", "--preset", "no-such", "--format", "gif", "--out", str(tmp_path / "a.gif"))
    assert r.returncode == 2 and "unknown preset 'no-such'" in r.stderr and r.stderr.count("\n") == 1
    r = cli("export", "--preset", "kinetic", "--format", "gif", "--out", str(tmp_path / "nope" / "a.gif"))
    assert r.returncode == 2 and "cannot write" in r.stderr and r.stderr.count("\n") == 1
    assert not r.stdout


def test_all_presets_into_a_folder(tmp_path):
    r = cli("export", "--all-presets", "--format", "npz", "--out-dir", str(tmp_path), "--particles", "50",
            "--frames", "10")
    assert r.returncode == 0, r.stderr
    from explorer import presets as P
    assert sorted(os.listdir(tmp_path)) == sorted(f"{n}.npz" for n in P.PRESETS)


@contextlib.contextmanager
def download_spy():
    """Record what the pages give their download buttons: label, file name, the bytes.

    Streamlit 1.67's AppTest shows a download button's label, help and media URL but
    neither its data nor its file name (a known gap: streamlit/streamlit#9003, open), and
    the media file manager holding the bytes belongs to a mock runtime that AppTest drops
    after each run (reaching it meant scanning ``gc`` for private objects). So this wraps
    the public ``DeltaGenerator.download_button`` -- what ``pages/_downloads.py`` calls on
    its columns; AppTest runs the page in this process -- records its arguments, and
    creates the button as usual: the recorded bytes are the very bytes the button serves.
    (The module-level ``st.download_button`` is bound at import and is not recorded.)"""
    from unittest import mock

    from streamlit.delta_generator import DeltaGenerator
    got = []
    original = DeltaGenerator.download_button

    def spy(self, label, data, file_name=None, *args, **kwargs):
        got.append({"label": label, "data": data, "file_name": file_name})
        return original(self, label, data, file_name, *args, **kwargs)

    with mock.patch.object(DeltaGenerator, "download_button", spy):
        yield got


def open_app(page: str, query: dict):
    at = app(page, query)
    assert not at.exception, [e.value for e in at.exception]
    return at


def files(got) -> dict:
    """The last bytes recorded for each file name."""
    return {g["file_name"]: g["data"] for g in got}


def test_the_sample_page_offers_its_animation_as_files(tmp_path):
    """The Sample page (a preset opened by its link) offers HTML, NPZ and CSV at once and
    GIF and MP4 on a click; the NPZ holds the run the page animates."""
    from explorer import presets as P
    with download_spy() as got:
        at = open_app("pages/sample.py", P.query("step-too-large"))
    labels = [b.proto.label for b in at.get("download_button")]
    assert [x.split()[-1] for x in labels] == ["HTML", "NPZ", "CSV"]
    assert [b.label for b in at.button if b.label.startswith("Make")] == ["Make GIF", "Make MP4"]
    stem = "eight-gaussians-langevin-seed0"
    assert set(files(got)) == {f"{stem}.{f}" for f in ("html", "npz", "csv")}
    app_npz = np.load(io.BytesIO(files(got)[f"{stem}.npz"]))
    s = SC.from_preset("step-too-large")
    np.testing.assert_array_equal(app_npz["positions"], s.traj.positions.astype(np.float32))
    assert b"Plotly.newPlot" in files(got)[f"{stem}.html"]


def test_lessons_previews_have_download_buttons(tmp_path):
    """Each previewed animation on the Lessons page: HTML, NPZ, CSV at once, GIF and MP4
    on a click, files named after the lesson; a Compare lesson's NPZ == the CLI's."""
    with download_spy() as got:
        at = open_app("pages/lessons.py", {"lesson": "why-annealing"})
        assert set(files(got)) == {f"why-annealing.{f}" for f in ("html", "npz", "csv")}
        assert [b.label for b in at.button if b.label.startswith("Make")] == ["Make GIF", "Make MP4"]
        app_npz = np.load(io.BytesIO(files(got)["why-annealing.npz"]))
        got.clear()
        at.radio(key="lesson_pick").set_value("step-too-large").run()
        assert not at.exception
        assert set(files(got)) == {f"step-too-large.{f}" for f in ("html", "npz", "csv")}
        assert [b.label for b in at.button if b.label.startswith("Make")] == ["Make GIF", "Make MP4"]
    r = cli("export", "--preset", "why-annealing", "--format", "npz", "--out", str(tmp_path / "w.npz"))
    assert r.returncode == 0, r.stderr
    z = np.load(tmp_path / "w.npz")
    assert list(z["samplers"]) == list(app_npz["samplers"]) == ["langevin", "annealed"]
    for name in z["samplers"]:
        np.testing.assert_array_equal(app_npz[f"{name}_positions"], z[f"{name}_positions"])


def test_compare_page_makes_a_gif_of_its_panels():
    """The Compare page: HTML, NPZ and CSV (sampler column) at once; Make GIF renders
    one panel per sampler, every timeline frame, then offers it for download."""
    from PIL import Image
    q = {"c_particles": "100", "c_frames": "50", "cmp": ["langevin", "annealed", "cld"]}
    with download_spy() as got:
        at = open_app("pages/compare.py", q)
        stem = "eight-gaussians-compare-seed0"
        assert set(files(got)) == {f"{stem}.{f}" for f in ("html", "npz", "csv")}
        assert files(got)[f"{stem}.csv"].startswith(b"sampler,frame,step,level,particle,x,y")
        n_frames = max(len(np.load(io.BytesIO(files(got)[f"{stem}.npz"]))[f"{k}_steps"]) for k in q["cmp"])
        at.button(key="cmp_dl_make_gif").click().run()
        assert not at.exception
    assert f"{stem}.gif" in files(got)
    assert "⬇ GIF" in [b.proto.label for b in at.get("download_button")]
    im = Image.open(io.BytesIO(files(got)[f"{stem}.gif"]))
    assert im.n_frames == n_frames and im.size == (1616, 656)         # three panels (see the Compare GIF test)


def test_presentation_mode_from_the_link():
    at = open_app("pages/sample.py", {"present": "true", "particles": "100"})
    assert at.session_state["present"] is True
    assert any("st-key-widget_rows" in h.proto.body for h in at.get("html"))
    assert at.query_params.get("present") in ("true", ["true"])
    at.button(key="leave_present").click().run()
    assert at.session_state["present"] is False


@pytest.mark.parametrize("fmt", E.FORMATS)
def test_the_score_sde_scenes_export_every_format(fmt, tmp_path):
    """Forward and reverse side by side (a Compare scene) in every format; the NPZ's levels
    hold each run's t, rising 0 -> 1 forward and falling 1 -> ~0 in reverse."""
    s = SC.from_preset("noise-in-data-out", **SMALL)
    out = tmp_path / f"x.{fmt}"
    r = E.export(s, fmt, out)
    assert out.stat().st_size == r["bytes"] > 0 and r["particles"] == 120
    if fmt == "npz":
        z = np.load(out)
        assert list(z["samplers"]) == ["forward", "reverse-sde"]
        fwd, rev = z["forward_levels"], z["reverse-sde_levels"]
        assert fwd[0] == 0 and fwd[-1] == pytest.approx(1) and np.all(np.diff(fwd) > 0)
        assert rev[0] == pytest.approx(1) and rev[-1] < 0.01 and np.all(np.diff(rev) < 0)
