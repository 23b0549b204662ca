"""Live training in the app: how many steps one Train tab makes in its first 12 s, with
the repository's config (``runner.postScriptGC = false``) and with Streamlit's default
(a full ``gc.collect(2)`` after every script run, each 0.4 s training slice included).

    python benchmarks/train_tab.py [--seconds 12] [--runs 3]
                                   (needs Debian's chromium and playwright)

A fresh server for each run, alternating the two settings, 3 runs each (--runs); defaults of the
Train page (eight-gaussians, ncsn, 4000 steps). Prints one JSON object: steps reached
and the server's resident memory (MB) at that moment, per run. The two settings are
measured in one run, interleaved: compare their steps with each other (a ratio), not the
step counts across machines or loads."""
import argparse
import json
import re
import sys
import time

from playwright.sync_api import sync_playwright

from app_timings import ARGS, CHROMIUM, start_server  # the same server and browser (benchmarks/)

SECONDS = 12                    # after Start (--seconds)
SETTINGS = {"postScriptGC off (config.toml)": {},
            "postScriptGC on (Streamlit's default)": {"STREAMLIT_RUNNER_POST_SCRIPT_GC": "true"}}


def rss_mb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return int(fh.read().split("VmRSS:")[1].split()[0]) // 1024


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python benchmarks/train_tab.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=SECONDS, help=f"seconds after Start (default: {SECONDS})")
    ap.add_argument("--runs", type=int, default=3, help="fresh servers per setting, alternating (default: 3)")
    a = ap.parse_args(argv)
    res = {name: [] for name in SETTINGS}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for run in range(a.runs):
            for i, (name, env) in enumerate(SETTINGS.items()):
                port = 8631 + 2 * run + i
                proc = start_server(port, env={"OMP_NUM_THREADS": "1", **env})
                try:
                    pg = browser.new_page(viewport={"width": 1600, "height": 1000})
                    pg.goto(f"http://127.0.0.1:{port}/train")
                    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                                         state="attached", timeout=60_000)
                    time.sleep(3)                   # the warm-up and the page's first run settle
                    pg.get_by_role("button", name="▶ Start").click()
                    time.sleep(a.seconds)
                    line = pg.locator("text=/step \\d+ of/").first.inner_text()
                    res[name].append({"steps": int(re.search(r"step (\d+)", line).group(1)), "rss_mb": rss_mb(proc.pid)})
                    pg.close()
                finally:
                    proc.terminate()
                    proc.wait()
        browser.close()
    print(json.dumps({"seconds_after_start": a.seconds, **res}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
