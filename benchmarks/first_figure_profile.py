"""Where a warm open's time goes (against a 2 s first-figure budget): opens of the app,
each in a fresh browser context (a new visitor: empty cache), with a CDP CPU profile and
Chromium's task metrics.

    python benchmarks/first_figure_profile.py [PATH] [--opens 3] [--port 8622]
                                              (PATH default "/"; needs Debian's chromium and playwright)

Prints per open: seconds to the websocket connection, to the plot's div and to the drawn
figure, and the main thread's task/script/layout/style seconds; for the last open, CPU
seconds by script and by function, and when each response (over 0.3 s) arrived. The
shares (script of tasks, a chunk of script) are measured in one open: compare those, the
seconds depend on the machine and its load."""
import argparse
import collections
import json
import sys
import time

from playwright.sync_api import sync_playwright

from app_timings import ARGS, CHROMIUM, start_server  # the same server and browser (benchmarks/)

PORT = 8622


def _name(url: str, fallback: str) -> str:
    return url.rsplit("/", 1)[-1][:40] or fallback


def profile_open(browser, url: str, last: bool):
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = ctx.new_page()
    cdp = ctx.new_cdp_session(pg)
    cdp.send("Performance.enable")
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 200})     # µs
    cdp.send("Profiler.start")
    arrived = {}
    t0 = time.time()
    pg.on("response", lambda r: arrived.setdefault(_name(r.url, r.url), round(time.time() - t0, 2)))
    pg.goto(url, wait_until="commit")
    pg.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", state="attached",
                         timeout=60_000)
    connected = time.time() - t0
    pg.wait_for_selector(".js-plotly-plot", state="attached", timeout=60_000)
    div = time.time() - t0
    pg.wait_for_selector(".js-plotly-plot .heatmaplayer image, .js-plotly-plot .scatterlayer .point", timeout=60_000)
    figure = time.time() - t0
    prof = cdp.send("Profiler.stop")["profile"]
    m = {x["name"]: x["value"] for x in cdp.send("Performance.getMetrics")["metrics"]}
    print(json.dumps({"connected_s": round(connected, 2), "plot_div_s": round(div, 2), "figure_s": round(figure, 2),
                      "main_thread_tasks_s": round(m["TaskDuration"], 2), "script_s": round(m["ScriptDuration"], 2),
                      "layout_s": round(m["LayoutDuration"], 2), "style_s": round(m["RecalcStyleDuration"], 2)}))
    if last:
        nodes = {n["id"]: n["callFrame"] for n in prof["nodes"]}
        by_script, by_function = collections.Counter(), collections.Counter()
        for sample, dt_us in zip(prof["samples"], prof["timeDeltas"]):
            cf = nodes[sample]
            by_script[_name(cf["url"], cf["functionName"] or "(native)")] += dt_us / 1e6
            by_function[f"{cf['functionName'] or '(anonymous)'} @ {_name(cf['url'], '')}"] += dt_us / 1e6
        print("CPU s by script:", [(k, round(v, 2)) for k, v in by_script.most_common(10)])
        print("CPU s by function:", [(k, round(v, 3)) for k, v in by_function.most_common(12)])
        print("responses after 0.3 s:", {k: v for k, v in arrived.items() if v > 0.3})
    ctx.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python benchmarks/first_figure_profile.py",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("path", nargs="?", default="/", help='the page to open (default: "/")')
    ap.add_argument("--opens", type=int, default=3, help="opens; the last is profiled in detail (default: 3)")
    ap.add_argument("--port", type=int, default=PORT, help=f"the app's port (default: {PORT})")
    a = ap.parse_args(argv)
    proc = start_server(a.port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for i in range(a.opens):
                profile_open(browser, f"http://127.0.0.1:{a.port}{a.path}", last=i == a.opens - 1)
            browser.close()
    finally:
        proc.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
