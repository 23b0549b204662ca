"""App timings in a real browser: cold start, warm opens, a widget change.

    python benchmarks/app_timings.py      (needs Debian's chromium and playwright)

Prints one JSON object of seconds."""
import json
import os
import subprocess
import sys
import time
import urllib.request

from playwright.sync_api import sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def start_server(port: int) -> subprocess.Popen:
    """`streamlit run app.py` on 127.0.0.1:port (the repository's .streamlit/config.toml
    applies), returned once it answers its health check."""
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.address=127.0.0.1",
                             f"--server.port={port}"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)


def main():
    port = 8611
    t0 = time.time()
    proc = start_server(port)
    health = time.time() - t0
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        res = {"server_health_s": round(health, 2)}
        for i in range(3):
            pg = b.new_page(viewport={"width": 1600, "height": 1000})
            t = time.time()
            pg.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
            pg.wait_for_selector("[data-testid='stApp']", timeout=60000, state="attached")
            res[f"open_{i}_shell_s"] = round(time.time() - t, 2)
            pg.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=60000, state="attached")
            res[f"open_{i}_connected_s"] = round(time.time() - t, 2)
            pg.wait_for_selector(".js-plotly-plot", timeout=60000, state="attached")
            res[f"open_{i}_plot_div_s"] = round(time.time() - t, 2)
            pg.wait_for_selector(".js-plotly-plot .heatmaplayer image, .js-plotly-plot .layer-below image, .js-plotly-plot .scatterlayer .point", timeout=60000)
            res[f"open_{i}_figure_s"] = round(time.time() - t, 2)
            if i == 0: res["cold_start_to_first_figure_s"] = round(time.time() - t0, 2)
            if i == 2:
                # a widget change on the density page: the noise slider, measured to the redrawn figure
                sl = pg.locator("[data-testid='stSlider']").first
                box = sl.bounding_box()
                t = time.time()
                pg.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.7)
                time.sleep(0.05)
                pg.wait_for_function("document.querySelector('[data-testid=\"stApp\"]').getAttribute('data-test-script-state') == 'notRunning'", timeout=20000)
                res["widget_change_s"] = round(time.time() - t, 2)
            pg.close()
        print(json.dumps(res))
    proc.terminate()


if __name__ == "__main__":
    main()
