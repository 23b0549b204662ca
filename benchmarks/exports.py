"""Export benchmark: seconds and bytes of the explorer's HTML, GIF and MP4 exports of a
Sample-page scene (annealed Langevin on eight Gaussians; ``--compare``: the three-panel
Compare preset ``kinetic``) beside a plain matplotlib FuncAnimation of the same
trajectories saved to the same formats (HTML: ``to_jshtml``), what a notebook user writes.

    OMP_NUM_THREADS=1 python benchmarks/exports.py [--compare] [--particles N] [--frames F]
                                                   [--formats html gif mp4] [--out-dir DIR]

Prints one JSON object (and a line per file on stderr). ``speedup`` (plain seconds over
ours) and ``bytes_ratio`` are measured in one run, on the same scene one after the
other: compare those across machines and loads, not the seconds.
The files themselves are written by ``python -m explorer export``; this script only times
``explorer.export.export``. (Was ``python -m explorer.export --bench``.)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:        # run from a checkout without `pip install -e .`
    sys.path.insert(0, ROOT)

import torch  # noqa: E402

from explorer import export as E  # noqa: E402
from explorer import figures as G  # noqa: E402
from explorer import scene as S  # noqa: E402

COMPARE_PRESET = "kinetic"      # a three-panel Compare preset: Langevin, underdamped, CLD
FORMATS = ("html", "gif", "mp4")


def compute_scene(preset: str | None, particles: int, frames: int):
    """The scene the app computes for ``preset`` (None: the Sample page's defaults)."""
    return S.from_preset(preset, particles=particles, frames=frames)


def plain_funcanimation(scene):
    """What a notebook user writes: FuncAnimation updating a scatter over imshow + quiver
    (a Compare scene: one such axes per sampler, every particle, on the same timeline)."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation
    if hasattr(scene, "runs"):                          # a Compare scene
        nf = scene.n_frames
        panels = [(t.positions[G.timeline_frames(t, nf)], None) for t in scene.runs.values()]
    else:
        panels = [(scene.traj.positions, scene.level_fields[0] if scene.level_fields else scene.field)]
    side = 7.2 if len(panels) == 1 else 4.8            # inches at 100 dpi: about our frames' pixels
    fig, axes = plt.subplots(1, len(panels), figsize=(side * len(panels), side), dpi=100, squeeze=False)
    x0, x1, y0, y1 = scene.box
    scatters = []
    for ax, (pos, fg) in zip(axes[0], panels):
        if scene.density_grid is not None:
            ax.imshow(scene.density_grid.z, origin="lower", extent=scene.density_grid.box, cmap="viridis")
        if fg is not None:
            ax.quiver(fg.x, fg.y, fg.u, fg.v, color="white")
        scatters.append(ax.scatter(pos[0, :, 0], pos[0, :, 1], s=6, c="#ff4b1f"))
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)

    def update(i):
        for ax, sc, (pos, _) in zip(axes[0], scatters, panels):
            sc.set_offsets(pos[i])
            ax.set_title(f"frame {i}")
        return scatters

    anim = FuncAnimation(fig, update, frames=len(panels[0][0]), interval=G.FRAME_MS)
    return fig, anim


def bench(particles: int = 1000, frames: int = 200, out_dir: str | None = None, formats=FORMATS,
          compare: bool = False) -> dict:
    """Ours against the plain FuncAnimation, format by format, on one computed scene."""
    import imageio_ffmpeg
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.animation import FFMpegWriter, PillowWriter
    matplotlib.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
    matplotlib.rcParams["animation.embed_limit"] = 500.0     # MB: to_jshtml refuses larger by default
    out_dir = out_dir or tempfile.mkdtemp(prefix="sfe-bench-")
    t0 = time.perf_counter()
    scene = compute_scene(COMPARE_PRESET if compare else None, particles, frames)
    sim = time.perf_counter() - t0
    rows = []
    for fmt in formats:
        ours = E.export(scene, fmt, os.path.join(out_dir, f"ours.{fmt}"))
        print(f"ours  {fmt:4s} {ours['seconds']:7.2f} s {ours['bytes']:>12,} B", file=sys.stderr, flush=True)
        fig, anim = plain_funcanimation(scene)
        path = os.path.join(out_dir, f"plain.{fmt}")
        t = time.perf_counter()
        if fmt == "html":
            with open(path, "w") as fh:
                fh.write(anim.to_jshtml(fps=1000 / G.FRAME_MS))
        elif fmt == "gif":
            anim.save(path, writer=PillowWriter(fps=1000 / G.FRAME_MS))
        else:
            anim.save(path, writer=FFMpegWriter(fps=1000 / G.FRAME_MS))
        plain_s = time.perf_counter() - t
        plt.close(fig)
        plain_b = os.path.getsize(path)
        print(f"plain {fmt:4s} {plain_s:7.2f} s {plain_b:>12,} B", file=sys.stderr, flush=True)
        rows.append({"format": fmt, "seconds": ours["seconds"], "bytes": ours["bytes"],
                     "plain_seconds": round(plain_s, 3), "plain_bytes": plain_b,
                     "speedup": round(plain_s / max(ours["seconds"], 1e-9), 2),
                     "bytes_ratio": round(ours["bytes"] / max(plain_b, 1), 3)})
    return {"scene": COMPARE_PRESET if compare else "eight-gaussians-annealed",
            "panels": len(scene.runs) if compare else 1, "particles": particles, "frames": int(scene.n_frames),
            "simulate_seconds": round(sim, 3), "threads": torch.get_num_threads(), "out_dir": out_dir,
            "results": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python benchmarks/exports.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--particles", type=int, default=1000, help="particles per run (default: 1000)")
    ap.add_argument("--frames", type=int, default=200, help="frames recorded (default: 200)")
    ap.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS,
                    help="formats to time (default: all three)")
    ap.add_argument("--out-dir", default=None, help="where the files go (default: a new temporary folder)")
    ap.add_argument("--compare", action="store_true",
                    help=f"a three-panel Compare scene (preset {COMPARE_PRESET}) instead of one Sample panel")
    a = ap.parse_args(argv)
    print(json.dumps(bench(a.particles, a.frames, a.out_dir, tuple(a.formats), compare=a.compare)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
