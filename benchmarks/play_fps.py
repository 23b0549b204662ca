"""Play's frame time in headless Chromium: every way Plotly offers to animate many points.

    python benchmarks/play_fps.py [--particles 1000 2000 5000] [--frames 200] [--repeats 3]
                                  [--shots DIR]      (needs Debian's chromium and playwright)

Builds the Sample page's default scene through the engine (annealed Langevin on
eight-gaussians: arrows that follow σ, trails, the corner label, the density as a layout
image) with every particle drawn, rewrites its figure into each variant below, writes
each to an HTML file (plotly.js from the plotly package, no network), and in headless
Chromium calls ``Plotly.animate`` over all frames with frame duration ``--ask`` ms
(default 0: as fast as the browser draws; plotly.js advances at most once per
requestAnimationFrame tick, ~16.7 ms). The time of a frame is the interval between
consecutive ``plotly_animatingframe`` events (the first 5 intervals, warm-up, dropped).
Variants run interleaved, ``--repeats`` rounds, and each round's median is kept; the
table gives the median of those medians, the p90 over every interval, and the load
average. Each run checks that the last frame's positions are what the trace holds.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:        # run from a checkout without `pip install -e .`
    sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))     # the browser tests' Chromium and flags

from explorer import figures as G  # noqa: E402
from explorer import scene as SC  # noqa: E402
from test_browser import CHROMIUM, LAUNCH_ARGS  # noqa: E402

WARMUP = 5          # intervals dropped at the start of each run (first draws, JIT)


def scene(particles: int, frames: int):
    return SC.from_preset(density="eight-gaussians", sampler="annealed", particles=particles, frames=frames,
                          parts=True)


def base_figure(sc, particles: int) -> dict:
    """The app's figure of ``sc`` with all ``particles`` drawn (caps lifted for the benchmark)."""
    keep = G.MAX_DRAWN, G.POINT_FRAMES
    G.MAX_DRAWN = max(G.MAX_DRAWN, particles)
    G.POINT_FRAMES = max(G.POINT_FRAMES, particles * sc.n_frames)
    try:
        fig = G.animation_figure(sc.traj, sc.box, density=sc.density_grid, field=sc.field,
                                 level_fields=sc.level_fields, trails=sc.trails, title=sc.title,
                                 max_points=particles * sc.n_frames * 2)
    finally:
        G.MAX_DRAWN, G.POINT_FRAMES = keep
    d = json.loads(fig.to_json())
    assert len(d["data"][_particle_index(d)]["x"]["bdata"]) > 0
    return d


def _particle_index(d) -> int:
    return next(i for i, t in enumerate(d["data"]) if t.get("name") == "annealed")


# ----- variants: rewrites of the app's figure dict -----------------------------------------
def _gl(d, redraw: bool):
    i = _particle_index(d)
    d["data"][i]["type"] = "scattergl"
    for fr in d["frames"]:
        for tr, idx in zip(fr["data"], fr["traces"]):
            if idx == i:
                tr["type"] = "scattergl"
    return dict(redraw=redraw)


def _only_particles(d):
    """Frames carry the particles alone (no trails, corner label or arrow turns)."""
    i = _particle_index(d)
    for fr in d["frames"]:
        keep = [(tr, idx) for tr, idx in zip(fr["data"], fr["traces"]) if idx == i]
        fr["data"], fr["traces"] = [k[0] for k in keep], [k[1] for k in keep]


def _drawn(d) -> int:
    import base64
    return len(base64.b64decode(d["data"][_particle_index(d)]["x"]["bdata"])) // 4


def _marker(d, **kw):
    d["data"][_particle_index(d)]["marker"].update(kw)


def _heatmap_behind(d, sc):
    """The density as a Heatmap trace (first, under everything) instead of a layout image."""
    d["layout"]["images"] = []
    hm = json.loads(G.go.Figure(G.density_trace(sc.density_grid, showscale=False)).to_json())["data"][0]
    d["data"].insert(0, hm)
    for fr in d["frames"]:
        fr["traces"] = [t + 1 for t in fr["traces"]]


CANVAS_JS = """window.canvasPlay = (ask) => new Promise(res => {
  const gd = document.querySelector('.js-plotly-plot'), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const cv = document.createElement('canvas'), dpr = window.devicePixelRatio || 1;
  cv.width = xa._length * dpr; cv.height = ya._length * dpr;
  Object.assign(cv.style, {position: 'absolute', left: xa._offset + 'px', top: ya._offset + 'px',
                           width: xa._length + 'px', height: ya._length + 'px', pointerEvents: 'none'});
  gd.querySelector('.svg-container').appendChild(cv);
  const ctx = cv.getContext('2d'); ctx.scale(dpr, dpr);
  const P = new Float32Array(Uint8Array.from(atob(window.POS), c => c.charCodeAt(0)).buffer);
  const n = window.N, F = window.NF, r = window.R, x0 = xa.range[0], y1 = ya.range[1];
  const sx = xa._length / (xa.range[1] - x0), sy = ya._length / (y1 - ya.range[0]);
  const t = []; let f = 0, last = -1e9;
  function draw(now) {
    if (now - last >= ask) {
      last = now; ctx.clearRect(0, 0, xa._length, ya._length); ctx.beginPath();
      const o = f * n * 2;
      for (let i = 0; i < n; i++) {
        const px = (P[o + 2 * i] - x0) * sx, py = (y1 - P[o + 2 * i + 1]) * sy;
        ctx.moveTo(px + r, py); ctx.arc(px, py, r, 0, 6.2832);
      }
      ctx.fillStyle = window.COL; ctx.fill(); ctx.lineWidth = 0.6; ctx.strokeStyle = '#ffffff'; ctx.stroke();
      t.push(performance.now()); f++;
    }
    if (f < F) requestAnimationFrame(draw);
    else res({intervals: t.slice(1).map((v, k) => v - t[k]), frame: String(F - 1), frames: F, drawn: n,
              x0: P[(F - 1) * n * 2]});
  }
  requestAnimationFrame(draw);
});"""


def _canvas(d, sc, n):
    """Not Plotly: the static figure (density, arrows, axes) with the particles drawn on a
    2D canvas over the plot area each requestAnimationFrame (particles only: no trails,
    label or arrow turns), the same float32 positions, size and colour."""
    import base64
    i = _particle_index(d)
    d["frames"] = []
    d["data"][i]["x"], d["data"][i]["y"] = [], []
    pos = G.f32(sc.traj.positions[:, :n])
    size = d["data"][i]["marker"]["size"]
    post = (f"window.POS = '{base64.b64encode(pos.tobytes()).decode()}'; window.N = {n}; "
            f"window.NF = {pos.shape[0]}; window.R = {size / 2}; window.COL = '{G.PARTICLE}';\n" + CANVAS_JS)
    return {"canvas": True, "post_script": post}


def variants(d: dict, sc) -> dict:
    """name -> (figure dict, animate options). Built from deep copies of ``d``."""
    def v(fn):
        c = json.loads(json.dumps(d))
        opts = fn(c) or {}
        return c, {"redraw": False, "transition": 0, **opts}

    return {
        "svg (today)": v(lambda c: None),
        "svg, particles only in frames": v(_only_particles),
        "svg, no marker line": v(lambda c: _marker(c, line=dict(width=0))),
        "svg, size 4, no line, opacity 0.8": v(lambda c: _marker(c, size=4, line=dict(width=0), opacity=0.8)),
        "svg, transition = 30 ms tween": v(lambda c: {"transition": 30}),
        "gl, redraw=True": v(lambda c: _gl(c, True)),
        "gl, redraw=False": v(lambda c: _gl(c, False)),
        "gl, redraw=False, particles only": v(lambda c: (_only_particles(c), _gl(c, False))[1]),
        "gl, redraw=False, no marker line": v(lambda c: (_marker(c, line=dict(width=0)), _gl(c, False))[1]),
        "gl, redraw=True, heatmap trace behind": v(lambda c: (_heatmap_behind(c, sc), _gl(c, True))[1]),
        "not Plotly: 2D canvas over a static figure": v(lambda c: _canvas(c, sc, _drawn(d))),
    }


# ----- the browser ------------------------------------------------------------------------
MEASURE = """async (o) => {
  const gd = document.querySelector('.js-plotly-plot');
  const t = [];
  gd.on('plotly_animatingframe', () => t.push(performance.now()));
  const names = gd._transitionData._frames.map(f => f.name);
  await Plotly.animate(gd, names, {frame: {duration: o.ask, redraw: o.redraw}, mode: 'immediate',
                                   transition: {duration: o.transition}});
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const d = t.slice(1).map((v, k) => v - t[k]);
  return {intervals: d, frame: gd._fullLayout._currentFrame, frames: names.length,
          drawn: gd._fullData[o.part].x.length, x0: Number(gd._fullData[o.part].x[0])};
}"""


def _stale(page) -> float:
    """Mean |difference| (0-255) of the plot's pixels before and after ``Plotly.redraw``:
    above ~1, what the screen showed was not the last frame's data."""
    import io

    from PIL import Image
    box = page.locator(".js-plotly-plot").bounding_box()
    a = np.asarray(Image.open(io.BytesIO(page.screenshot(clip=box))).convert("L"), dtype=np.float64)
    page.evaluate("() => Plotly.redraw(document.querySelector('.js-plotly-plot'))")
    page.wait_for_timeout(300)
    c = np.asarray(Image.open(io.BytesIO(page.screenshot(clip=box))).convert("L"), dtype=np.float64)
    return float(np.abs(a - c).mean())


def run_one(page, path, opts, part, expect_x0, shot=None) -> dict:
    page.goto("file://" + path)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=120_000)
    if not opts.get("canvas"):
        page.wait_for_function("() => document.querySelector('.js-plotly-plot')._transitionData._frames.length > 0",
                               timeout=120_000)
    if opts.get("canvas"):
        r = page.evaluate("(a) => window.canvasPlay(a)", opts["ask"])
    else:
        r = page.evaluate(MEASURE, {"ask": opts["ask"], "redraw": opts["redraw"], "transition": opts["transition"],
                                "part": part})
    if shot:
        page.screenshot(path=shot)
    r["stale"] = _stale(page)
    assert r["frame"] == str(r["frames"] - 1), r
    assert abs(r["x0"] - expect_x0) < 1e-4, (r["x0"], expect_x0)        # float32 round trip
    r["intervals"] = r["intervals"][WARMUP:]
    return r


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--particles", type=int, nargs="+", default=[1000, 2000, 5000])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ask", type=float, default=0.0, help="frame duration asked of Plotly.animate (ms)")
    ap.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    ap.add_argument("--shots", help="folder for a screenshot of each variant's last frame")
    ap.add_argument("--json", help="write every interval here")
    a = ap.parse_args(argv)
    print("| variant | particles | frames | median ms/frame (round medians) | p90 ms | fps | HTML MB | stale |")
    print("|---|---|---|---|---|---|---|---|")
    import plotly
    from playwright.sync_api import sync_playwright
    tmp = tempfile.mkdtemp(prefix="play_fps_")
    shutil.copy(os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js"), tmp)
    import plotly.io as pio
    rows, raw = [], {}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = b.new_page(viewport={"width": 1000, "height": 900})
        gl = page.evaluate("""() => { const g = document.createElement('canvas').getContext('webgl');
            if (!g) return 'no WebGL'; const e = g.getExtension('WEBGL_debug_renderer_info');
            return e ? g.getParameter(e.UNMASKED_RENDERER_WEBGL) : 'WebGL'; }""")
        print(f"# Chromium {b.version}; WebGL: {gl}; {os.cpu_count()} CPUs; ask {a.ask:g} ms a frame", flush=True)
        for n in a.particles:
            sc = scene(n, a.frames)
            d = base_figure(sc, n)
            part = _particle_index(d)
            x_last = float(np.float32(sc.traj.positions[-1, 0, 0]))
            vs = variants(d, sc)
            if a.only:
                vs = {k: v for k, v in vs.items() if k in a.only}
            paths = {}
            for j, (name, (fd, opts)) in enumerate(vs.items()):
                path = os.path.join(tmp, f"v{n}_{j}.html")
                html = pio.to_html(fd, include_plotlyjs="directory", full_html=True, auto_play=False, validate=False,
                                   post_script=opts.get("post_script"))
                with open(path, "w") as fh:
                    fh.write(html)
                part_i = part + (1 if name.endswith("heatmap trace behind") else 0)
                opts = {k: v for k, v in opts.items() if k != "post_script"}
                paths[name] = (path, {**opts, "ask": a.ask}, part_i, os.path.getsize(path))
            per = {name: [] for name in paths}
            loads, stale = [], {}
            for rep in range(a.repeats):                    # interleaved rounds
                for name, (path, opts, part_i, _) in paths.items():
                    shot = None
                    if a.shots and rep == 0:
                        os.makedirs(a.shots, exist_ok=True)
                        shot = os.path.join(a.shots, f"{n}_{name.replace(' ', '_').replace(',', '')}.png")
                    loads.append(os.getloadavg()[0])
                    r = run_one(page, path, opts, part_i, x_last, shot)
                    assert r["drawn"] == n, (name, r["drawn"])
                    per[name].append(r["intervals"])
                    stale.setdefault(name, []).append(r["stale"])
            for name, runs in per.items():
                meds = [statistics.median(x) for x in runs]
                every = sorted(v for x in runs for v in x)
                med = statistics.median(meds)
                p90 = every[int(0.9 * (len(every) - 1))]
                kb = paths[name][3] / 1e6
                st = max(stale[name])
                rows.append((name, n, a.frames + 1, med, p90, 1000 / med, kb, st))
                raw[f"{n}/{name}"] = {"round_medians": meds, "p90": p90}
                print(f"| {name} | {n:,} | {a.frames + 1} | {med:.1f} ({min(meds):.1f}–{max(meds):.1f}) | "
                      f"{p90:.1f} | {1000 / med:.1f} | {kb:.1f} | {st:.1f} |", flush=True)
            print(f"# {n:,} particles: load average (1 min) during the runs {min(loads):.1f}–{max(loads):.1f}",
                  flush=True)
        b.close()
    shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(raw, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
