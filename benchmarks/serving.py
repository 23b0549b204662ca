"""Workers behind nginx (explorer/serving.py): each worker's memory idle and with
sessions, and how long a class's first pages take through 1 worker against N.

    python benchmarks/serving.py [--workers 1 2] [--sessions 8]
                                 (needs nginx, Debian's chromium and playwright)

For each worker count, in one run: start the workers and nginx on free 127.0.0.1 ports
(serving.start), wait for every worker's warm-up, read each worker's VmRSS
(/proc/<pid>/status), open ``--sessions`` fresh Chromium contexts through nginx at once
(the Density page with its defaults), wait until every tab has drawn its figure, read
VmRSS again. Prints one JSON object: per worker count the seconds until all tabs drew
(the class's wait), and the MB of each worker idle and with its sessions. Chromium runs
on the same cores as the workers: compare the worker counts with each other, in one run.
"""
import argparse
import json
import os
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from explorer import serving  # noqa: E402


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(x) for x in fh.read().split()]


def warmed(c, timeout=180):
    """Wait for app.py's 'warm-up done' line in every worker's log."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all("warm-up done" in open(w.log.name).read() for w in c.workers):
            return
        time.sleep(0.5)
    raise RuntimeError("a worker did not finish its warm-up")


def one(browser, workers: int, sessions: int) -> dict:
    c = serving.start(workers, port=serving.free_port(),
                      worker_ports=[serving.free_port() for _ in range(workers)],
                      env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        warmed(c)
        time.sleep(2)
        idle = [round(rss_mb(w.proc.pid), 1) for w in c.workers]
        t0 = time.perf_counter()
        pages = []
        for _ in range(sessions):
            pg = browser.new_page(viewport={"width": 1400, "height": 1000})
            pg.goto(c.url)
            pages.append(pg)
        for pg in pages:
            pg.wait_for_selector(".js-plotly-plot .main-svg", timeout=300_000)
            pg.wait_for_selector("[data-test-script-state='notRunning']", timeout=300_000)
        seconds = time.perf_counter() - t0
        time.sleep(2)
        busy = [round(rss_mb(w.proc.pid), 1) for w in c.workers]
        for pg in pages:
            pg.close()
        return {"workers": workers, "sessions": sessions, "all_drawn_s": round(seconds, 2),
                "worker_mb_idle": idle, "worker_mb_with_sessions": busy,
                "nginx_mb": round(sum(rss_mb(q) for q in [c.nginx.pid, *children(c.nginx.pid)]), 1)}
    finally:
        c.stop()
        shutil.rmtree(c.prefix, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--sessions", type=int, default=8)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from test_browser import CHROMIUM, LAUNCH_ARGS
    out = {"cores": os.cpu_count(), "runs": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            for n in args.workers:
                out["runs"].append(one(browser, n, args.sessions))
                print(json.dumps(out["runs"][-1]), file=sys.stderr, flush=True)
        finally:
            browser.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
