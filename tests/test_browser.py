"""The app in a real browser: Debian's Chromium driven by Playwright (never a
downloaded browser). Starts `streamlit run app.py` on a free port, opens every page by
clicking the sidebar links, presses Play and checks the animation advances, checks the
Plotly plots are drawn and the console has no errors, and saves screenshots to
artifacts/screenshots/ (git-ignored) for a person to look at.

Skips when /usr/bin/chromium or playwright is missing, except under CI=true, where a
missing browser is a failure.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = "/usr/bin/chromium"
SHOTS = os.path.join(ROOT, "artifacts", "screenshots")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CI = os.environ.get("CI", "").lower() == "true"


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright; no browser download needed)"
    return None


_reason = _missing()
if _reason:
    if CI:
        pytest.fail(f"browser test cannot run under CI=true: {_reason}", pytrace=False)
    pytest.skip(f"browser test skipped: {_reason}", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(log_name: str, env: dict | None = None):
    """Start `streamlit run app.py` (the repository's .streamlit/config.toml applies) on a
    free port of 127.0.0.1 and wait for its health check: (process, url, log file)."""
    port = _free_port()
    os.makedirs(SHOTS, exist_ok=True)
    log = open(os.path.join(ROOT, "artifacts", log_name), "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.address=127.0.0.1",
                             f"--server.port={port}"], cwd=ROOT, env=env or dict(os.environ), stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, url, log
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail("streamlit did not answer /_stcore/health within 60 s")
        time.sleep(0.3)


def stop(proc, log):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def app_url():
    proc, url, log = serve("streamlit-test.log", {**os.environ, "OMP_NUM_THREADS": "1"})
    yield url
    stop(proc, log)


@pytest.fixture(scope="module")
def chromium():
    os.makedirs(SHOTS, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


class Page:
    """A browser tab on the app that records console errors and page errors."""

    def __init__(self, browser, url, timeout=120_000):
        self.pg = browser.new_page(viewport={"width": 1600, "height": 1300})
        self.errors = []
        self.interrupts = 0
        self.pg.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.pg.on("pageerror", self._pageerror)
        self.not_found = []
        self.pg.on("response", lambda r: self.not_found.append(r.url) if r.status == 404 else None)
        t0 = time.time()
        self.pg.goto(url)
        self.pg.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=60_000)
        self.pg.wait_for_selector(".js-plotly-plot .main-svg", timeout=timeout)
        self.first_load_s = time.time() - t0          # goto -> first Plotly figure drawn
        self.settle(timeout)

    def _pageerror(self, e):
        # Plotly's own Pause button (animate [null], mode 'immediate') interrupts the
        # running Play, and plotly.js leaves that Play's promise rejected with
        # `undefined`, unhandled ("API call to Plotly.animate rejected"). Counted apart,
        # and allowed only in tests that press Pause.
        if str(e) == "undefined":
            self.interrupts += 1
        else:
            self.errors.append(str(e))

    def settle(self, timeout=120_000):
        """Wait for the script run to finish and a plot to be drawn; returns the
        seconds until then (the fixed pauses after it are not counted)."""
        t0 = time.time()
        time.sleep(0.5)
        self.pg.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout)
        self.pg.wait_for_selector(".js-plotly-plot .main-svg", timeout=timeout)
        ready = time.time() - t0
        time.sleep(1.0)
        return ready

    def open(self, title):
        self.pg.locator("[data-testid='stSidebarNav'] a", has_text=title).first.click()
        return self.settle()

    def plots(self) -> list[dict]:
        return self.pg.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(g => ({
            traces: (g._fullData || []).length,
            frames: g._transitionData ? g._transitionData._frames.length : 0,
            points: g.querySelectorAll('.scatterlayer .point').length,
            images: g.querySelectorAll('.layer-below image, .imagelayer image').length,
            heatmaps: g.querySelectorAll('.heatmaplayer image, .hm image').length,
            frame: g._fullLayout ? g._fullLayout._currentFrame : null}))""")

    def shot(self, name):
        self.pg.screenshot(path=os.path.join(SHOTS, f"{name}.png"))

    def play(self, frames, plot=0, button=0):
        """Press a plot's Play (button 0; 2 is Fast) and wait until it has drawn ``frames``
        frames; return the frame reached, the frames seen, the median ms between frames and
        the corner label. A wait for frames, not a rate: the ms are figures to report, and
        the 60 s timeout only ends a stuck animation (Play draws a frame every ~67 ms here)."""
        self.pg.evaluate("""(i) => { const g = document.querySelectorAll('.js-plotly-plot')[i]; window._ft = [];
            if (!g._ftListening) { g._ftListening = true;
                g.on('plotly_animatingframe', () => window._ft.push(performance.now())); } }""", plot)
        self.pg.locator(".js-plotly-plot").nth(plot).locator(".updatemenu-button").nth(button).click()
        self.pg.wait_for_function("(n) => window._ft.length >= n", arg=frames, timeout=60_000, polling=100)
        info = self.pg.evaluate("""(i) => { const g = document.querySelectorAll('.js-plotly-plot')[i];
            const t = window._ft; const d = t.slice(1).map((v, k) => v - t[k]).sort((a, b) => a - b);
            return {frame: g._fullLayout._currentFrame, n: t.length, median: d.length ? d[d.length >> 1] : null,
                    label: Array.from(g.querySelectorAll('.textpoint text')).map(e => e.textContent).join('|')}; }""",
                                plot)
        return info


def _is_base_path_probe(url: str) -> bool:
    """/<page>/_stcore/health or /<page>/_stcore/host-config (not /_stcore/... itself)."""
    path = url.split("?")[0].split("//", 1)[-1].split("/", 1)[-1]
    parts = path.split("/")
    return len(parts) == 3 and parts[1] == "_stcore" and parts[2] in ("health", "host-config")


def _no_errors(page, interrupts=0):
    errors = list(page.errors)
    # Opened on a sub-page URL (a shared link such as /compare?...), Streamlit's frontend
    # first looks for its server under that path (/compare/_stcore/health, host-config),
    # gets 404 and falls back to the root: its own base-path discovery, not an app error.
    probes = [u for u in page.not_found if _is_base_path_probe(u)]
    if probes and len(probes) == len(page.not_found):
        for _ in probes:
            if any("status of 404" in e for e in errors):
                errors.remove(next(e for e in errors if "status of 404" in e))
    assert not errors, (errors[:5], page.not_found[:5])
    assert page.interrupts <= interrupts, f"{page.interrupts} unhandled promise rejections"


def test_server_start_warms_the_first_page(app_url):
    """app.py's st.App lifespan runs pages/_runtime.warm_up() in a thread at server start.
    A failure there is only logged (the app still serves, its first visitor does the
    work), so the server's log must say the warm-up finished."""
    path = os.path.join(ROOT, "artifacts", "streamlit-test.log")
    deadline = time.time() + 120           # ~1.5 s on a quiet 2-core machine
    while True:
        with open(path) as fh:
            text = fh.read()
        if "warm-up done in" in text or "warm-up failed" in text or time.time() > deadline:
            break
        time.sleep(0.5)
    assert "warm-up done in" in text and "warm-up failed" not in text, text[-3000:]


def test_every_page_draws_its_figure(app_url, chromium):
    page = Page(chromium, app_url)
    timings = {"first_load_s": round(page.first_load_s, 2)}
    plots = page.plots()
    assert plots and plots[0]["traces"] >= 2 and plots[0]["points"] > 100     # density page: heatmap + arrows
    assert plots[0]["heatmaps"] >= 1
    page.shot("density")
    for title, name in (("Sample", "sample"), ("Compare", "compare"), ("Lessons", "lessons")):
        timings[f"{name}_load_s"] = round(page.open(title), 2)
        plots = page.plots()
        assert plots and plots[0]["frames"] > 10, (name, plots)
        assert plots[0]["points"] > 100
        page.shot(name)
    _no_errors(page)
    os.makedirs(os.path.join(ROOT, "artifacts"), exist_ok=True)
    with open(os.path.join(ROOT, "artifacts", "browser_timings.json"), "w") as fh:
        json.dump(timings, fh, indent=1)
    page.pg.close()


def test_play_advances_the_animation_and_keeps_the_density(app_url, chromium):
    page = Page(chromium, app_url)
    page.open("Sample")
    before = page.plots()[0]
    assert before["frame"] in (None, "0")
    info = page.play(40)
    assert info["frame"] is not None and int(info["frame"]) > 10, info
    assert "σ = " in info["label"]                 # annealed: the corner label follows sigma
    after = page.plots()[0]
    assert after["images"] >= 1                    # the density (a layout image) survives Play
    page.shot("sample_playing")
    # Pause stops it
    page.pg.locator(".js-plotly-plot").first.locator(".updatemenu-button").nth(1).click()
    time.sleep(0.5)
    f1 = page.plots()[0]["frame"]
    time.sleep(1.0)
    assert page.plots()[0]["frame"] == f1
    # Fast asks for 20 ms a frame: the median interval is what drawing a frame costs
    fast = page.play(30, button=2)
    assert fast["n"] > 20, fast
    _no_errors(page, interrupts=1)
    with open(os.path.join(ROOT, "artifacts", "browser_frame_ms.json"), "w") as fh:
        json.dump({"sample_annealed_1000_particles_play_60ms": info,
                   "sample_annealed_1000_particles_fast_20ms": fast}, fh, indent=1)
    page.pg.close()


PARTICLE_POINTS = """() => { const g = document.querySelector('.js-plotly-plot');
    const i = g._fullData.findIndex(t => t.name === 'annealed');
    const f = g._transitionData._frames, last = f[f.length - 1];
    const j = (last.traces || []).findIndex(t => Number(t) === i);
    const len = (x) => x == null ? null : (x.length !== undefined ? x.length : atob(x.bdata).length / 4);
    return {data: g._fullData[i].x.length, last_frame: j < 0 ? null : len(last.data[j].x), frames: f.length,
            traces: last.traces, svg: g.querySelectorAll('.scatterlayer .trace')[i].querySelectorAll('.point').length,
            frame: g._fullLayout._currentFrame, title: g.querySelector('.gtitle').textContent}; }"""


def test_sample_draws_5000_particles_and_plays(app_url, chromium):
    """5,000 particles are all drawn: the particle trace holds 5,000 points in the browser,
    as SVG markers, in the first and the last frame, before and after Play advances."""
    # 5,000 annealed particles take minutes to run and judge on a busy 2-core machine
    page = Page(chromium, app_url + "/sample?particles=5000", timeout=400_000)
    before = page.pg.evaluate(PARTICLE_POINTS)
    assert before["data"] == before["last_frame"] == before["svg"] == 5000, before
    assert "5,000 particles" in before["title"] and "drawn" not in before["title"], before
    info = page.play(10)
    assert int(info["frame"]) >= 9, info
    after = page.pg.evaluate(PARTICLE_POINTS)
    assert after["data"] == after["svg"] == 5000, after
    page.shot("sample_5000_playing")
    _no_errors(page)
    with open(os.path.join(ROOT, "artifacts", "browser_frame_ms_5000.json"), "w") as fh:
        json.dump({"sample_annealed_5000_particles_play": info}, fh, indent=1)
    page.pg.close()


def test_compare_plays_all_panels_in_lockstep(app_url, chromium):
    page = Page(chromium, app_url)
    page.open("Compare")
    info = page.play(12)
    assert int(info["frame"]) > 5
    page.shot("compare_playing")
    _no_errors(page)
    page.pg.close()


def test_phase_space_view_for_kinetic_samplers(app_url, chromium):
    page = Page(chromium, app_url)
    page.open("Sample")
    page.pg.get_by_label("sampler").first.click()
    page.pg.get_by_role("option", name="underdamped", exact=True).click()
    page.settle()
    assert "sampler=underdamped" in page.pg.url
    info = page.play(12)
    assert int(info["frame"]) > 5
    page.shot("sample_underdamped_phase_space")
    _no_errors(page)
    page.pg.close()


def test_lesson_sets_up_the_scene_and_the_link_brings_it_back(app_url, chromium):
    page = Page(chromium, app_url)
    page.open("Lessons")
    page.pg.get_by_text("Langevin's bias, and how MALA removes it").click()
    page.settle()
    page.shot("lesson_langevin_vs_mala")
    page.pg.get_by_role("button", name="Set up this scene on the Compare page").click()
    page.settle()
    page.pg.wait_for_url("**/compare**", timeout=30_000)
    url = page.pg.url
    from explorer import presets as P
    from explorer import settings as S
    assert f"c_eps={S.url_value(P.scene('langevin-vs-mala')['c_eps'])}" in url and "cmp=mala" in url, url
    page.shot("compare_from_lesson")
    _no_errors(page)
    page.pg.close()
    # a fresh tab on the shared link shows the same scene
    fresh = Page(chromium, url)
    text = fresh.pg.inner_text("[data-testid='stMain']")
    assert "MALA" in text and "Langevin (ULA)" in text
    assert fresh.plots()[0]["frames"] > 10
    _no_errors(fresh)
    fresh.pg.close()


def test_bad_upload_shows_what_is_accepted(app_url, chromium):
    page = Page(chromium, app_url)
    sel = page.pg.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first
    sel.click()
    page.pg.get_by_role("option", name="csv", exact=True).click()
    page.settle()
    page.pg.locator("[data-testid='stSidebar'] input[type='file']").set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"x,y\n1,2\nfoo,3\n"}])
    page.pg.wait_for_selector("[data-testid='stSidebar'] [data-testid='stAlertContentError']", timeout=30_000)
    err = page.pg.inner_text("[data-testid='stSidebar'] [data-testid='stAlertContentError']")
    assert "not two finite numbers" in err and "expected" in err
    assert page.plots()                               # the app keeps working (moons stands in)
    page.shot("bad_upload")
    rows = "\n".join(f"{(i % 17) / 5 - 1.6:.3f},{(i * 7 % 13) / 4 - 1.5:.3f}" for i in range(200))
    page.pg.locator("[data-testid='stSidebar'] input[type='file']").set_input_files(
        files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": ("x,y\n" + rows).encode()}])
    page.settle()
    assert "200 points" in page.pg.inner_text("[data-testid='stMain']")
    page.pg.close()


def test_train_page_trains_live(app_url, chromium):
    """Start training: the progress line and the loss curve update without a page rerun."""
    page = Page(chromium, app_url)
    page.open("Train")
    page.pg.get_by_role("button", name="▶ Start").click()
    # The Fisher curve and error map join the field and loss charts at the first evaluation;
    # on a loaded CI machine that can take well over the few seconds it takes on a quiet one.
    deadline = time.time() + 60
    while time.time() < deadline and len(page.plots()) < 3:
        time.sleep(1)
    text = page.pg.locator("[data-testid='stProgress']").first.inner_text()
    step = int(text.split("step ")[1].split(" ")[0])
    assert step > 0, text
    assert len(page.plots()) >= 3
    page.shot("train")
    page.pg.get_by_role("button", name="■ Stop").click()
    time.sleep(1.5)
    _no_errors(page)
    page.pg.close()


def test_exported_html_plays_offline(chromium, tmp_path):
    """An exported HTML file plays with every network request blocked but file://."""
    from explorer import export as E
    from explorer import scene as SC
    scene = SC.from_preset("step-too-large", particles=200, frames=40)
    path = tmp_path / "scene.html"
    E.export(scene, "html", path)
    pg = chromium.new_page(viewport={"width": 1200, "height": 1000})
    blocked, errors = [], []
    pg.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    pg.route("**/*", route)
    pg.goto(path.as_uri())
    pg.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    frame = "() => document.querySelector('.js-plotly-plot')._fullLayout._currentFrame"
    assert pg.evaluate(frame) in (None, "0")                # not auto-playing
    pg.get_by_text("▶ Play", exact=True).first.click()
    time.sleep(1.5)
    now = pg.evaluate(frame)
    assert now is not None and int(now) > 0, now
    pg.screenshot(path=os.path.join(SHOTS, "export-offline.png"))
    assert not blocked and not errors
    pg.close()


def _drawn(page) -> np.ndarray:
    """The drawing the page's URL carries (what a shared link brings back)."""
    from urllib.parse import parse_qs, urlparse

    from explorer import drawing as DR
    code = parse_qs(urlparse(page.pg.url).query).get("drawing", [""])[0]
    return DR.decode(code) if code else np.zeros((0, 2))


def test_drawing_follows_the_mouse_and_the_link_brings_it_back(app_url, chromium):
    """Clicks land where they are made (within a pixel's width in data units), a stroke
    becomes points along it, undo and clear work, the KDE and a sampler follow the
    drawing, and its link brings the same points back."""
    from explorer import drawing as DR
    page = Page(chromium, app_url + "/?target=drawn")
    pg = page.pg
    canvas = pg.locator("canvas.upper-canvas").first
    box = canvas.bounding_box()
    size = box["width"]
    pixel = (DR.BOX[1] - DR.BOX[0]) / size                # one pixel in data units

    def at(x, y):
        px = DR.to_canvas(np.array([[x, y]]), size)[0]
        return box["x"] + px[0], box["y"] + px[1]

    pg.get_by_role("button", name="Clear the canvas").click()
    page.settle()
    assert "The drawing is empty" in pg.inner_text("[data-testid='stMain']")      # a message, not a crash
    pg.get_by_text("clicks", exact=True).click()
    page.settle()
    wanted = [(1.0, 2.0), (-2.0, -1.0), (2.5, -2.5), (-1.5, 1.0)]
    for x, y in wanted:
        pg.mouse.click(*at(x, y))
        page.settle()
    got = _drawn(page)
    assert len(got) == 4, got
    for w in wanted:
        assert np.min(np.linalg.norm(got - np.array(w), axis=1)) <= pixel, (w, got)
    pg.mouse.move(*at(0, 0))
    pg.get_by_role("button", name="Undo").click()
    page.settle()
    assert len(_drawn(page)) == 3
    # a stroke from (-3, 3) to (3, 3): points every 0.1 along it, jittered by 0.05
    pg.get_by_text("strokes", exact=True).click()
    page.settle()
    pg.mouse.move(*at(-3, 3))
    pg.mouse.down()
    for x in np.linspace(-3, 3, 25):
        pg.mouse.move(*at(x, 3), steps=2)
    pg.mouse.up()
    page.settle()
    got = _drawn(page)
    stroke = got[np.abs(got[:, 1] - 3) < 0.5]
    assert len(stroke) == pytest.approx(61, abs=3) and len(got) == len(stroke) + 3
    assert abs(stroke[:, 1].mean() - 3) < 3 * pixel and stroke[:, 0].min() < -2.8 and stroke[:, 0].max() > 2.8
    main = pg.inner_text("[data-testid='stMain']")
    assert f"drawn: {len(got)} points" in main                           # the data figure follows
    page.shot("drawn")
    link = pg.url
    # the link brings the same drawing back in a new tab, and a sampler runs on it
    other = Page(chromium, link.replace("/?", "/sample?", 1) if "/sample" not in link else link)
    assert np.array_equal(_drawn(other), got)
    assert f"{len(got)} drawn points" in other.pg.inner_text("[data-testid='stSidebar']")
    assert other.plots() and "energy distance" in other.pg.inner_text("[data-testid='stMain']")
    _no_errors(page)
    _no_errors(other)
    page.pg.close()
    other.pg.close()
