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


def test_eight_sessions_through_nginx_keep_their_state_and_fail_over(cluster):
    from playwright.sync_api import sync_playwright

    from test_browser import CHROMIUM, LAUNCH_ARGS, SHOTS, Page
    os.makedirs(SHOTS, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            sessions = []                           # (page, worker its cookie names, rows it uploaded)
            for i in range(8):
                page = Page(browser, cluster.url)      # browser.new_page: a fresh context, no cookie
                worker = {c["name"]: c["value"] for c in page.pg.context.cookies()}[serving.COOKIE]
                rows = 40 + i                       # each session its own data set
                page.pg.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
                page.pg.get_by_role("option", name="csv", exact=True).click()
                page.settle()
                page.pg.locator("[data-testid='stSidebar'] input[type='file']").set_input_files(
                    files=[{"name": f"s{i}.csv", "mimeType": "text/csv", "buffer": _csv(rows)}])
                page.settle()
                sessions.append((page, worker, rows))
            # new visitors alternate: 4 and 4, every run
            assert collections.Counter(w for _, w, _ in sessions) == {"w0": 4, "w1": 4}
            # and each worker itself holds the websockets of its four
            deadline = time.time() + 10
            while [_established(w.port) for w in cluster.workers] != [4, 4] and time.time() < deadline:
                time.sleep(0.2)
            assert [_established(w.port) for w in cluster.workers] == [4, 4]
            # every session keeps its own upload across a page change (a rerun on its worker)
            for page, _, rows in sessions:
                page.open("Train")
                side = page.pg.inner_text("[data-testid='stSidebar']")
                assert f"{rows} points read" in side, side[:300]
            sessions[0][0].shot("serving_before")

            cluster.workers[0].proc.kill()          # w0 dies (SIGKILL: no goodbye to its browsers)
            time.sleep(0.5)
            moved = [s for s in sessions if s[1] == "w0"]
            moved[0][0].shot("serving_during")
            for page, _, rows in moved:
                page.pg.wait_for_selector(NOTICE, timeout=60_000)
                page.settle()
                side = page.pg.inner_text("[data-testid='stSidebar']")
                assert "Upload a CSV" in side and f"{rows} points read" not in side   # the upload was w0's
                assert "target=csv" in page.pg.url                                 # the link brought this back
                assert page.pg.locator("[data-testid='stMain'] .js-plotly-plot").count() > 0   # not blank
            moved[0][0].shot("serving_after")
            assert _established(cluster.workers[1].port) == 8
            for page, _, rows in sessions:
                if (page, _, rows) in moved:
                    continue
                assert page.pg.locator(NOTICE).count() == 0
                assert f"{rows} points read" in page.pg.inner_text("[data-testid='stSidebar']")
            # the student closes the message; it stays closed across their reruns
            page = moved[0][0]
            page.pg.get_by_role("button", name="OK, got it").click()
            page.settle()
            page.open("Density & field")
            assert page.pg.locator(NOTICE).count() == 0
        finally:
            browser.close()
