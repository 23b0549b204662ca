"""Two workers behind nginx (explorer/serving.py, `python -m explorer serve`), eight
Chromium sessions through the proxy: the engine's config and affinity rule, then the
real thing. Every session keeps its own upload across a page change, new visitors
alternate between the workers (the round robin of one nginx process), each worker holds
the websockets of its four, and when w0 is killed its students' pages reconnect to w1
and say what happened while w1's students are untouched.

Starts and stops everything it uses, on free ports of 127.0.0.1. Skips when nginx,
/usr/bin/chromium or playwright is missing, except under CI=true, where it fails.
"""
from __future__ import annotations

import collections
import os
import shutil
import time

import pytest

from explorer import serving

CI = os.environ.get("CI", "").lower() == "true"


# ----- the engine, no processes ------------------------------------------------------
def test_config_routes_each_cookie_to_its_worker_with_the_others_as_backup():
    conf = serving.nginx_config([9001, 9002, 9003], 8500, "127.0.0.1", "/tmp/p")
    assert "listen 127.0.0.1:8500;" in conf and "worker_processes 1;" in conf
    assert "w1 sfe_w1;" in conf and "default sfe_any;" in conf
    w1 = conf.split("upstream sfe_w1 {")[1].split("}")[0]
    assert "127.0.0.1:9002 max_fails=1" in w1
    assert "127.0.0.1:9001 backup;" in w1 and "127.0.0.1:9003 backup;" in w1
    assert "backup" not in conf.split("upstream sfe_any {")[1].split("}")[0]
    assert "~127\\.0\\.0\\.1:9003$ w2;" in conf              # the last address tried names the cookie
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "/etc/nginx" not in conf and "/var/" not in conf  # unprivileged: every path under the prefix


def test_moved_from_names_the_stopped_worker_only():
    assert serving.moved_from({"sfe_worker": "w0"}, "w1") == "w0"
    assert serving.moved_from({"sfe_worker": "w1"}, "w1") is None
    assert serving.moved_from({}, "w1") is None                       # a first visit
    assert serving.moved_from({"sfe_worker": "w0"}, None) is None     # plain `streamlit run`


def test_bad_worker_counts_and_a_missing_nginx_say_what_is_accepted(monkeypatch):
    with pytest.raises(ValueError, match="at least 1"):
        serving.start(0)
    from explorer.cli import main
    assert main(["serve", "--workers", "0"]) == 2 and main(["serve", "--port", "http"]) == 2
    monkeypatch.setattr(serving.shutil, "which", lambda _: None)
    monkeypatch.setattr(serving, "NGINX_PATHS", ())
    with pytest.raises(ValueError, match="apt-get install nginx"):
        serving.start(2)


# ----- the real thing ----------------------------------------------------------------
def _missing() -> str | None:
    try:
        serving.find_nginx()
    except ValueError as e:
        return str(e)
    import test_browser  # noqa: F401  (its own skip, or CI failure, for Chromium)
    return None


def _established(port: int) -> int:
    """Established TCP connections to 127.0.0.1:port (nginx -> worker: the websockets, as
    nginx closes a plain request's upstream connection after its answer)."""
    n = 0
    with open("/proc/net/tcp") as fh:
        for line in fh.readlines()[1:]:
            local, _, state = line.split()[1:4]
            n += state == "01" and int(local.split(":")[1], 16) == port
    return n


@pytest.fixture(scope="module")
def cluster():
    reason = _missing()
    if reason:
        if CI:
            pytest.fail(f"serving test cannot run under CI=true: {reason}", pytrace=False)
        pytest.skip(f"serving test skipped: {reason}")
    c = serving.start(2, port=serving.free_port(), worker_ports=[serving.free_port(), serving.free_port()],
                      env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        yield c
    finally:
        c.stop()
        shutil.rmtree(c.prefix, ignore_errors=True)


NOTICE = "[data-testid='stAlertContentInfo']:has-text('server process you were on stopped')"


def _csv(rows: int) -> bytes:
    return ("x,y\n" + "\n".join(f"{(i % 17) / 5 - 1.6:.3f},{(i * 7 % 13) / 4 - 1.5:.3f}"
                                for i in range(rows))).encode()


def _open(browser, url):
    """A fresh context (no cookie) on url, its console errors recorded; returns once the
    page's response (with its cookie) has arrived, so the next visitor's first request
    comes after this one's, and the tabs load at the same time."""
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(url, wait_until="commit")
    return pg


def _ran(pg, text, where="[data-testid='stMain']", timeout=120_000):
    """Wait until ``text`` is shown in ``where`` and the script run is over."""
    pg.wait_for_selector(f"{where} :text('{text}')", timeout=timeout)
    pg.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout)


def test_eight_sessions_through_nginx_keep_their_state_and_fail_over(cluster):
    from playwright.sync_api import sync_playwright

    from test_browser import CHROMIUM, LAUNCH_ARGS, SHOTS
    os.makedirs(SHOTS, exist_ok=True)
    side = "[data-testid='stSidebar']"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            pages = [_open(browser, cluster.url + "/?target=csv") for _ in range(8)]
            workers = [{c["name"]: c["value"] for c in pg.context.cookies()}[serving.COOKIE] for pg in pages]
            # new visitors alternate: 4 and 4, every run (nginx's one process, round robin)
            assert collections.Counter(workers) == {"w0": 4, "w1": 4}
            for pg in pages:
                _ran(pg, "Upload a CSV", side)
            # each worker itself holds the websockets of its four
            deadline = time.time() + 10
            while [_established(w.port) for w in cluster.workers] != [4, 4] and time.time() < deadline:
                time.sleep(0.2)
            assert [_established(w.port) for w in cluster.workers] == [4, 4]
            rows = [40 + i for i in range(8)]                       # each session its own data set
            for i, pg in enumerate(pages):
                pg.locator(f"{side} input[type='file']").set_input_files(
                    files=[{"name": f"s{i}.csv", "mimeType": "text/csv", "buffer": _csv(rows[i])}])
            for pg, n in zip(pages, rows):
                _ran(pg, f"{n} points read", side)
            # ... and keeps it across a page change (a rerun of the same session on its worker)
            for pg in pages:
                pg.locator("[data-testid='stSidebarNav'] a", has_text="Train").first.click()
            for pg, n in zip(pages, rows):
                _ran(pg, "Train a score network")
                assert f"{n} points read" in pg.inner_text(side)
                assert not pg.errors, pg.errors[:3]
            moved = [i for i, w in enumerate(workers) if w == "w0"]
            pages[moved[0]].screenshot(path=os.path.join(SHOTS, "serving_before.png"))

            cluster.workers[0].proc.kill()          # w0 dies (SIGKILL: no goodbye to its browsers)
            time.sleep(0.5)
            pages[moved[0]].screenshot(path=os.path.join(SHOTS, "serving_during.png"))
            for i in moved:
                pg = pages[i]
                pg.wait_for_selector(NOTICE, timeout=60_000)
                _ran(pg, "Train a score network")
                text = pg.inner_text(side)
                assert "Upload a CSV" in text and f"{rows[i]} points read" not in text   # the upload was w0's
                assert "target=csv" in pg.url                                         # the link's settings
                assert pg.locator("[data-testid='stMain'] .js-plotly-plot").count() > 0  # not a blank page
            pages[moved[0]].screenshot(path=os.path.join(SHOTS, "serving_after.png"))
            assert _established(cluster.workers[1].port) == 8
            for i, pg in enumerate(pages):
                if i not in moved:                  # w1's students: untouched
                    assert pg.locator(NOTICE).count() == 0
                    assert f"{rows[i]} points read" in pg.inner_text(side)
            # the student closes the message; it stays closed across their reruns
            pg = pages[moved[0]]
            pg.get_by_role("button", name="OK, got it").click()
            pg.wait_for_selector(NOTICE, state="detached", timeout=30_000)
            pg.locator("[data-testid='stSidebarNav'] a", has_text="Density").first.click()
            _ran(pg, "Density & score field")
            assert pg.locator(NOTICE).count() == 0
        finally:
            browser.close()
