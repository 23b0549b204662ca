"""App timings in a real browser (against the budgets in docs/performance.md): cold start, warm opens by new and
returning visitors, a widget change, and the floor that Streamlit and plotly.js set.

    python benchmarks/app_timings.py [--opens 8] [--cold-starts 3] [--port 8611]
                                     (needs Debian's chromium and playwright)

Chromium is started first: a lecturer's browser is already open, so the cold start is
`streamlit run app.py` to the first page's figure drawn. A new visitor is a fresh
browser context (empty cache); a returning visitor reuses one Chromium profile (Streamlit's
static files are cached as immutable, and V8 keeps compiled code). The floor takes the
two parts apart: the first page's figure alone, a two-point chart, and one line of text,
each from a one-line Streamlit script; and the same figure drawn by plotly.js in a plain
HTML page with no Streamlit (the plotly.min.js that the plotly package ships).
Prints one JSON object of seconds (medians with min and max over the opens). The app's
rows and the floor rows are measured in one run, one after the other: compare them with
each other (the app's open over its floor) rather than seconds across machines or days."""
import argparse
import functools
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import plotly
from playwright.sync_api import sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:        # run from a checkout without `pip install -e .`
    sys.path.insert(0, ROOT)

from explorer import densities as D  # noqa: E402
from explorer import fields as F  # noqa: E402
from explorer import figures as G  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FIGURE = ".js-plotly-plot .heatmaplayer image, .js-plotly-plot .layer-below image, .js-plotly-plot .scatterlayer .point"
OPENS = 8                       # opens per measurement (--opens)
COLD_STARTS = 3                 # server starts (--cold-starts)

# The floor: the Density page's default figure (fig.json, written by main), in the page's
# [3, 1] columns, and nothing else; a two-point chart; one line of text.
FLOOR_SCRIPT = """
import plotly.io as pio
import streamlit as st
st.set_page_config(layout="wide")
@st.cache_data
def fig():
    with open("fig.json") as fh:
        return pio.from_json(fh.read())
if "text" in st.query_params:
    st.write("Streamlit alone")
elif "trivial" in st.query_params:
    st.plotly_chart({"data": [{"type": "scatter", "x": [0, 1], "y": [0, 1]}]})
else:
    st.columns([3, 1])[0].plotly_chart(fig(), config={"displaylogo": False})
"""

# The same figure in a plain HTML page: plotly.js and nothing else, 1,100 px wide as in the app.
PLAIN_HTML = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<div id="p" style="width:1100px;height:680px"></div><script src="plotly.min.js"></script>
<script>fetch("fig.json").then(r => r.json()).then(f => Plotly.newPlot("p", f.data, f.layout, {displaylogo: false}))</script>
</body></html>"""


def start_server(port: int, script: str = "app.py", cwd: str = ROOT, env: dict | None = None) -> subprocess.Popen:
    """`streamlit run <script>` on 127.0.0.1:port (in the repository the .streamlit/config.toml
    applies; ``env`` adds environment variables), returned once it answers its health check."""
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.address=127.0.0.1",
                             f"--server.port={port}", "--server.headless=true", "--browser.gatherUsageStats=false"],
                            cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.05)


def open_page(ctx, url: str, drawn: str = FIGURE, streamlit: bool = True):
    """(page, seconds to a connected app (None without Streamlit), seconds until ``drawn`` is on the page)."""
    pg = ctx.new_page()
    t = time.time()
    pg.goto(url, wait_until="commit")
    connected = None
    if streamlit:
        pg.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=60000, state="attached")
        connected = time.time() - t
    pg.wait_for_selector(drawn, timeout=60000)
    return pg, connected, time.time() - t


def spread(xs) -> dict:
    return {"median": round(statistics.median(xs), 2), "min": round(min(xs), 2), "max": round(max(xs), 2)}


def new_visitors(browser, url: str, keep_last: bool = False, **drawn):
    """OPENS opens, each in a fresh context: (connected seconds, figure seconds, the last
    page if keep_last (its context is the caller's to close), else None). ``drawn`` goes to open_page."""
    conn, fig = [], []
    for i in range(OPENS):
        ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
        pg, c, f = open_page(ctx, url, **drawn)
        conn.append(c), fig.append(f)
        if not (keep_last and i == OPENS - 1):
            ctx.close()
    return conn, fig, pg if keep_last else None


def write_default_figure(d: str):
    """The Density page's default figure (eight Gaussians, its 120-point grid and 21 arrows
    a side, 680 px tall) as ``d``/fig.json: both floors draw this one file."""
    dens = D.get("eight-gaussians")
    panel = dict(density=F.density_grid(dens, dens.box, 120, 0.0), field=F.field_grid(dens, dens.box, 21, 0.0),
                 title="eight-gaussians")
    with open(os.path.join(d, "fig.json"), "w") as fh:
        fh.write(G.panels_figure([panel], dens.box, height=680).to_json())


def plotly_alone(browser, d: str):
    """Seconds to ``d``/fig.json drawn by plotly.js alone: a plain HTML page and the plotly
    package's own plotly.min.js, served from ``d`` by http.server (one open first, so the
    server is warm)."""
    with open(os.path.join(d, "plain.html"), "w") as fh:
        fh.write(PLAIN_HTML)
    shutil.copy(os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js"), d)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=d))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/plain.html"
        open_page(browser.new_context(), url, streamlit=False)[0].context.close()
        return new_visitors(browser, url, streamlit=False)[1]
    finally:
        srv.shutdown()


def main(argv=None) -> int:
    global OPENS, COLD_STARTS
    ap = argparse.ArgumentParser(prog="python benchmarks/app_timings.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--opens", type=int, default=OPENS, help=f"opens per measurement (default: {OPENS})")
    ap.add_argument("--cold-starts", type=int, default=COLD_STARTS,
                    help=f"server starts to the first figure (default: {COLD_STARTS})")
    ap.add_argument("--port", type=int, default=8611, help="the app's port; the floor's is the next (default: 8611)")
    a = ap.parse_args(argv)
    OPENS, COLD_STARTS, port = a.opens, a.cold_starts, a.port
    res = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        url = f"http://127.0.0.1:{port}/"
        health, cold = [], []
        for i in range(COLD_STARTS):             # the last server stays up for the warm opens
            t0 = time.time()
            proc, drawn = start_server(port), False
            try:
                health.append(time.time() - t0)
                ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
                open_page(ctx, url)
                cold.append(time.time() - t0)
                ctx.close()
                drawn = True
            finally:
                if i < COLD_STARTS - 1 or not drawn:
                    proc.terminate(), proc.wait()
        res["server_health_s"] = spread(health)
        res["cold_start_to_first_figure_s"] = [round(c, 2) for c in cold]     # each, in order
        try:
            conn, fig, pg = new_visitors(browser, url, keep_last=True)
            res["new_visitor_connected_s"] = spread(conn)
            res["new_visitor_first_figure_s"] = spread(fig)
            # a widget change on the density page: the noise slider, measured to the end of the rerun
            box = pg.locator("[data-testid='stSlider']").first.bounding_box()
            t = time.time()
            pg.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.7)
            time.sleep(0.05)
            pg.wait_for_function("document.querySelector('[data-testid=\"stApp\"]')"
                                 ".getAttribute('data-test-script-state') == 'notRunning'", timeout=20000)
            res["widget_change_s"] = round(time.time() - t, 2)
            pg.context.close()

            with tempfile.TemporaryDirectory() as profile:
                ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=ARGS,
                                                           viewport={"width": 1600, "height": 1000})
                figs = []
                for i in range(OPENS // 2 + 1):         # the first visit fills the cache
                    pg, _, f = open_page(ctx, url)
                    figs.append(f)
                    pg.close()
                ctx.close()
            res["returning_visitor_first_figure_s"] = spread(figs[1:])
        finally:
            proc.terminate()

        with tempfile.TemporaryDirectory() as d:
            write_default_figure(d)
            with open(os.path.join(d, "floor.py"), "w") as fh:
                fh.write(FLOOR_SCRIPT)
            proc = start_server(port + 1, "floor.py", d)
            try:
                floor = f"http://127.0.0.1:{port + 1}/"
                open_page(browser.new_context(), floor)[0].context.close()      # the server's first run
                res["floor_our_figure_alone_s"] = spread(new_visitors(browser, floor)[1])
                res["floor_two_point_chart_s"] = spread(new_visitors(browser, floor + "?trivial=1")[1])
                res["floor_streamlit_text_only_s"] = spread(new_visitors(browser, floor + "?text=1", drawn="text=Streamlit alone")[1])
            finally:
                proc.terminate()
            res["floor_plotly_alone_plain_html_s"] = spread(plotly_alone(browser, d))
        browser.close()
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
