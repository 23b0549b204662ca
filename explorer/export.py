"""Take it to the lecture hall: a Sample-page scene as files that play with no network.

* ``scene_trajectory(preset or density/sampler/score/options, seed)`` computes the
  trajectory the app's Sample page computes for the same settings (the same target
  construction, ``presets.sampler_options`` and ``presets.lockstep``), so a file
  exported here and the app's download hold the same positions.
* ``write_html``: the app's Plotly animation (``figures.animation_figure``) with
  plotly.js embedded, Play/Pause and the slider inside; no script is fetched.
* ``write_gif`` / ``write_mp4``: the same scene drawn with matplotlib in the same style
  (the constants of ``explorer.figures``: Viridis density image, white arrows with a
  dark rim, red-orange particles, white fading trails, FONT), one frame per recorded
  frame at ``figures.FRAME_MS``. The static layer (density, fixed arrows, axes) is
  drawn once and blitted; each frame redraws only the particles, trails and label,
  then goes to Pillow (GIF) or imageio-ffmpeg's bundled ffmpeg (MP4, H.264).
* ``write_npz`` / ``write_csv``: the raw trajectory.

Presets on the Compare page export the trajectory of their *first* sampler (the
Compare page's settings: its particles, seed, init, eps and steps); presets of the
Density and Train pages export the Sample page's defaults on the preset's target.
No Streamlit here. ``python -m explorer.export --bench`` prints timings.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field as _field

import numpy as np
import torch

from . import densities as D
from . import fields as F
from . import figures as G
from . import presets as P
from .kde import KDE
from .samplers import Trajectory
from .simulate import score_source

FORMATS = ("html", "gif", "mp4", "npz", "csv")
DATASETS = ("moons", "circles", "swiss-roll")
VIDEO_PX = 720          # GIF/MP4 frame side in pixels (a multiple of 16 for H.264)
LABELS = {"langevin": "Langevin (ULA)", "mala": "MALA", "annealed": "annealed Langevin",
          "underdamped": "underdamped (BAOAB)", "cld": "CLD (SSCS)", "cld-ode": "CLD probability-flow ODE"}


@dataclass
class Scene:
    """A computed Sample-page scene: the run and what is drawn under it."""
    name: str
    title: str
    sampler: str
    seed: int
    settings: dict
    traj: Trajectory
    box: tuple
    density_grid: F.DensityGrid | None = None
    field: F.FieldGrid | None = None
    level_fields: list | None = None
    trails: bool = True
    meta: dict = _field(default_factory=dict)


# ----- the target and the score, as the app builds them ------------------------------
def target_density(values: dict):
    """The target density from settings named as the app's URL parameters (the
    sidebar's construction in pages/_ui.py: data sets are 'n' seeded draws)."""
    v = {**P.TARGET_DEFAULTS, **values}
    name = v["target"]
    if name == "ring":
        return D.get(name, radius=float(v["radius"]), width=float(v["width"]))
    if name == "two-rings":
        return D.get(name, inner=float(v["inner"]), outer=float(v["outer"]), width=float(v["rwidth"]))
    if name == "double-well":
        return D.get(name, barrier=float(v["barrier"]))
    if name == "banana":
        return D.get(name, curvature=float(v["curvature"]))
    if name in DATASETS:
        data = D.get(name).sample(int(v["data_n"]), torch.Generator().manual_seed(0))
        return D.from_array(data.numpy(), name=name)
    if name == "csv":
        raise ValueError("a csv target exists only in the app session that uploaded it")
    return D.get(name)


def score_model(density, score: str, values: dict):
    """The score a sampler follows: 'exact' (the density) or 'kde' (the sidebar's KDE)."""
    v = {**P.TARGET_DEFAULTS, **values}
    if score == "exact":
        if density.kind == "samples":
            raise ValueError(f"'{density.name}' is known only through samples: use the kde score")
        return density
    if score != "kde":
        raise ValueError(f"unknown score source '{score}'; choose exact or kde")
    bw = float(v["bw_h"]) if v["bw"] == "number" else v["bw"]
    kw = dict(kernel=v["kernel"], bandwidth=bw, shape=v["bw_shape"])
    if density.kind == "samples":
        return KDE(density.fixed, name=f"kde({density.name})", **kw)
    return score_source(density, "kde", kde_points=int(v["kde_n"]), seed=0, **kw)


def scene_parts(model, density, sampler: str, traj: Trajectory, arrows: bool = True):
    """(density grid, field, level fields) drawn under a run, as the Sample page draws
    them: the target's density (else the KDE's), 17 x 17 arrows, for annealed Langevin
    one field per noise level."""
    box = density.box
    src = density if F.has_density(density) else (model if F.has_density(model) else None)
    dg = None
    if src is not None:
        try:
            dg = F.density_grid(src, box, 120, 0.0)
        except ValueError:
            dg = None
    fg = lf = None
    if arrows:
        try:
            if sampler == "annealed":
                lf = F.level_fields(model, box, traj.params["sigmas"], 17)
            elif sampler not in ("cld", "cld-ode") or getattr(model, "kind", "") != "learned":
                fg = F.field_grid(model, box, 17, 0.0)
        except ValueError:
            fg = lf = None
    return dg, fg, lf


def run_settings(values: dict, page: str = "sample") -> dict:
    """(sampler, settings for sampler_options, particles, seed, init, frames) of a page."""
    if page == "compare":
        return dict(sampler=values["cmp"][0], settings={"eps": values["c_eps"], "steps": values["c_steps"]},
                    particles=int(values["c_particles"]), seed=int(values["c_seed"]), init=values["c_init"],
                    frames=int(values["c_frames"]), score=values["c_score"], trails=True, arrows=True)
    s = {k: values[k] for k in ("eps", "a_eps", "h", "steps", "levels", "per_level", "sig_max", "sig_min",
                                "mass", "friction", "cld_mass", "cld_friction")}
    return dict(sampler=values["sampler"], settings=s, particles=int(values["particles"]), seed=int(values["seed"]),
                init=values["init"], frames=int(values["frames"]), score=values["score"],
                trails=bool(values["trails"]), arrows=bool(values["field"]))


def scene_values(preset: str | None = None, *, density: str | None = None, sampler: str | None = None,
                 score: str | None = None, **overrides) -> tuple[dict, str]:
    """(every setting by URL name, page whose settings they are) of a preset or of an
    explicit density + sampler on the Sample page's defaults."""
    if preset is not None:
        p = P.get(preset)
        page = p["page"] if p["page"] in ("sample", "compare") else "sample"
        values = {**P.TARGET_DEFAULTS, **P.PAGE_DEFAULTS[page], **p["settings"]}
    else:
        page = "sample"
        values = {**P.TARGET_DEFAULTS, **P.PAGE_DEFAULTS["sample"]}
        if density is not None:
            if density not in D.names():
                raise ValueError(f"unknown density '{density}'; choose one of: {', '.join(D.names())}")
            values["target"] = density
            if density in DATASETS:
                values["score"] = "kde"
    if sampler is not None:
        values["cmp" if page == "compare" else "sampler"] = ([sampler] if page == "compare" else sampler)
    if score is not None:
        values["c_score" if page == "compare" else "score"] = score
    keys = {"particles": ("particles", "c_particles"), "seed": ("seed", "c_seed"), "frames": ("frames", "c_frames")}
    for k, v in overrides.items():
        if v is None:
            continue
        if k not in keys:
            raise ValueError(f"unknown setting '{k}'")
        values[keys[k][page == "compare"]] = v
    return values, page


def scene_trajectory(preset: str | None = None, *, density: str | None = None, sampler: str | None = None,
                     score: str | None = None, seed: int | None = None, particles: int | None = None,
                     frames: int | None = None, parts: bool = True) -> Scene:
    """The trajectory the app shows for these settings (same seed -> same positions).

    ``preset``: a lesson preset name (``presets.PRESETS``); else ``density`` (a built-in
    name) with ``sampler`` and ``score`` on the Sample page's defaults. ``seed``,
    ``particles``, ``frames`` override the scene's. ``parts``: also compute the density
    grid and the arrows drawn under it."""
    values, page = scene_values(preset, density=density, sampler=sampler, score=score, seed=seed,
                                particles=particles, frames=frames)
    r = run_settings(values, page)
    dens = target_density(values)
    model = score_model(dens, r["score"], values)
    opts = {r["sampler"]: P.sampler_options(r["sampler"], model, r["settings"])}
    traj = P.lockstep(model, [r["sampler"]], particles=r["particles"], seed=r["seed"], init=r["init"],
                      frames=r["frames"], box=dens.box, options=opts)[r["sampler"]]
    dg = fg = lf = None
    if parts:
        dg, fg, lf = scene_parts(model, dens, r["sampler"], traj, r["arrows"])
    name = preset or f"{dens.name}-{r['sampler']}"
    title = LABELS.get(r["sampler"], r["sampler"])
    meta = {"preset": preset, "page": page, "target": values["target"], "score": r["score"],
            "sampler": r["sampler"], "seed": r["seed"], "particles": r["particles"], "init": r["init"],
            "frames_requested": r["frames"]}
    return Scene(name=name, title=title, sampler=r["sampler"], seed=r["seed"], settings=values, traj=traj,
                 box=tuple(dens.box), density_grid=dg, field=fg, level_fields=lf, trails=r["trails"], meta=meta)


# ----- writers ----------------------------------------------------------------------
def _open(path, mode="wb"):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OSError(f"cannot write '{path}': folder '{folder}' does not exist")
    return open(path, mode)


def figure(scene: Scene):
    """The app's Plotly animation of the scene."""
    return G.animation_figure(scene.traj, scene.box, density=scene.density_grid, field=scene.field,
                              level_fields=scene.level_fields, trails=scene.trails, title=scene.title)


def html_bytes(fig) -> bytes:
    """A full HTML page with plotly.js embedded (plays offline), not auto-playing."""
    html = fig.to_html(include_plotlyjs=True, full_html=True, auto_play=False,
                       config={"displaylogo": False, "displayModeBar": False, "scrollZoom": False})
    return html.encode("utf-8")


def npz_bytes(traj: Trajectory, meta: dict | None = None) -> bytes:
    arrays = dict(positions=traj.positions.astype(np.float32), steps=np.asarray(traj.steps),
                  levels=np.asarray(traj.levels, dtype=np.float64), sampler=np.array(traj.sampler),
                  meta=np.array(json.dumps(meta or {}, default=str)))
    if traj.velocities is not None:
        arrays["velocities"] = traj.velocities.astype(np.float32)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def csv_bytes(traj: Trajectory) -> bytes:
    """Long format: one row per frame and particle: frame, step, level, particle, x, y
    (and vx, vy for kinetic samplers)."""
    pos = traj.positions
    nf, n = pos.shape[:2]
    fr = np.repeat(np.arange(nf), n)
    cols = [fr, np.asarray(traj.steps)[fr], np.asarray(traj.levels, dtype=np.float64)[fr], np.tile(np.arange(n), nf),
            pos[..., 0].ravel(), pos[..., 1].ravel()]
    header = ["frame", "step", "level", "particle", "x", "y"]
    fmts = ["%d", "%d", "%.6g", "%d", "%.7g", "%.7g"]
    if traj.velocities is not None:
        cols += [traj.velocities[..., 0].ravel(), traj.velocities[..., 1].ravel()]
        header += ["vx", "vy"]
        fmts += ["%.7g", "%.7g"]
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack(cols), fmt=fmts, delimiter=",", header=",".join(header), comments="")
    return buf.getvalue().encode()


# ----- matplotlib frames -------------------------------------------------------------
class FrameRenderer:
    """Draws a scene frame by frame with matplotlib (Agg) in the figures' style; the
    static layer is rendered once and restored before each frame (blitting)."""

    def __init__(self, traj: Trajectory, box, *, density=None, field=None, level_fields=None, trails=True,
                 title=None, px: int = VIDEO_PX, dpi: int = 100):
        import matplotlib
        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        import matplotlib.patheffects as pe

        self.traj = traj
        pos = traj.positions
        nf, n = pos.shape[:2]
        self.k = G.drawn_count(n, nf, 1)
        self.pos = G.f32(pos[:, :self.k])
        x0, x1, y0, y1 = box
        fig = Figure(figsize=(px / dpi, px / dpi), dpi=dpi, facecolor="white")
        self.canvas = FigureCanvasAgg(fig)
        ax = fig.add_axes([0.11, 0.09, 0.86, 0.82])
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal", adjustable="box")
        fs = G.FONT * 0.75          # Plotly's px -> points at 100 dpi (1 pt = 1/72 in)
        ax.tick_params(labelsize=fs)
        ax.set_xlabel("x₁", fontsize=fs)
        ax.set_ylabel("x₂", fontsize=fs)
        sub = f"{self.k:,} of {n:,} particles drawn" if self.k < n else f"{n:,} particles"
        fig.suptitle(f"{title or traj.sampler} · {sub}", x=0.02, ha="left", fontsize=G.TITLE_FONT * 0.75,
                     fontweight="bold")
        if density is not None:
            dx = (density.box[1] - density.box[0]) / max(len(density.x) - 1, 1)
            dy = (density.box[3] - density.box[2]) / max(len(density.y) - 1, 1)
            ax.imshow(G.density_rgb(density), extent=(density.box[0] - dx / 2, density.box[1] + dx / 2,
                                                      density.box[2] - dy / 2, density.box[3] + dy / 2),
                      interpolation="bilinear", zorder=0, aspect="auto")
            ax.set_xlim(x0, x1)
            ax.set_ylim(y0, y1)
        self.fields = level_fields
        self.quiver = None
        fg = level_fields[0] if level_fields else field
        animated_arrows = bool(level_fields)
        if fg is not None:
            u, v = self._unit(fg)
            spacing = fg.spacing
            self.quiver = ax.quiver(fg.x, fg.y, u, v, color=G.ARROW, edgecolor=G.ARROW_EDGE, linewidth=0.6,
                                    pivot="middle", angles="xy", scale_units="xy", scale=1.0 / (0.75 * spacing),
                                    width=0.006, headwidth=3.5, headlength=4, zorder=2,
                                    animated=animated_arrows)
        if level_fields:
            sig = np.array([f.sigma for f in level_fields])
            self.level_of_frame = [int(np.argmin(np.abs(sig - max(lev, sig.min())))) for lev in traj.levels]
            self.unit = [self._unit(f) for f in level_fields]
        self.trail_lines, self.trail_data = [], []
        n_trail = min(G.TRAIL_PARTICLES, self.k) if trails and nf > 2 else 0
        for band in (G.TRAIL_BANDS if n_trail else ()):
            arr = G._trail_arrays(self.pos[:, :n_trail], band, max_jump=0.12 * max(x1 - x0, y1 - y0))
            (line,) = ax.plot([], [], color=G.TRAIL, lw=1.6, alpha=band[2], zorder=3, animated=True)
            self.trail_lines.append(line)
            self.trail_data.append(arr)
        size = 6 if self.k > 400 else 8                      # Plotly marker diameter in px
        self.scat = ax.scatter(self.pos[0, :, 0], self.pos[0, :, 1], s=(size * 0.75) ** 2, c=G.PARTICLE,
                               edgecolors="white", linewidths=0.45, zorder=4, animated=True)
        unit = "sigma" if traj.sampler == "annealed" else ("t" if traj.sampler in ("cld", "cld-ode") else None)
        self.labels = G._frame_labels(traj, unit)
        self.text = ax.text(0.02, 0.98, self.labels[0], transform=ax.transAxes, ha="left", va="top",
                            fontsize=(G.FONT + 4) * 0.75, color="white", fontweight="bold", zorder=5, animated=True,
                            path_effects=[pe.withStroke(linewidth=3, foreground="black")])
        self.ax, self.fig = ax, fig
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(fig.bbox)
        self.n_frames = nf

    @staticmethod
    def _unit(fg):
        mag = np.hypot(fg.u, fg.v)
        ok = np.isfinite(mag) & (mag > 0)
        safe = np.where(ok, mag, 1.0)
        return np.where(ok, fg.u / safe, 0.0), np.where(ok, fg.v / safe, 0.0)

    def frame(self, i: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB of frame i."""
        self.canvas.restore_region(self.background)
        if self.fields:
            u, v = self.unit[self.level_of_frame[i]]
            self.quiver.set_UVC(u, v)
            self.ax.draw_artist(self.quiver)
        for line, arr in zip(self.trail_lines, self.trail_data):
            line.set_data(arr[i, :, 0], arr[i, :, 1])
            self.ax.draw_artist(line)
        self.scat.set_offsets(self.pos[i])
        self.ax.draw_artist(self.scat)
        self.text.set_text(self.labels[i])
        self.ax.draw_artist(self.text)
        buf = np.asarray(self.canvas.buffer_rgba())
        return buf[..., :3].copy()


def _renderer(scene: Scene, px=VIDEO_PX) -> FrameRenderer:
    return FrameRenderer(scene.traj, scene.box, density=scene.density_grid, field=scene.field,
                         level_fields=scene.level_fields, trails=scene.trails, title=scene.title, px=px)


def write_gif(scene: Scene, path, *, frame_ms: int = G.FRAME_MS, px: int = VIDEO_PX, progress=None) -> int:
    """Animated GIF (loops), one frame per recorded frame, ``frame_ms`` each."""
    from PIL import Image
    r = _renderer(scene, px)
    frames = []
    palette = None
    for i in range(r.n_frames):
        im = Image.fromarray(r.frame(i))
        if palette is None:         # one adaptive palette from the first frame: fast, and colours stay put
            palette = im.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
        frames.append(im.quantize(palette=palette, dither=Image.Dither.NONE))
        if progress:
            progress(i + 1, r.n_frames)
    with _open(path) as fh:
        frames[0].save(fh, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0,
                       optimize=False, disposal=1)
    return os.path.getsize(path)


def write_mp4(scene: Scene, path, *, frame_ms: int = G.FRAME_MS, px: int = VIDEO_PX, progress=None) -> int:
    """H.264 MP4 (yuv420p, plays in browsers and PowerPoint) through imageio-ffmpeg's ffmpeg."""
    import imageio_ffmpeg
    r = _renderer(scene, px)
    _open(path).close()
    h, w = r.frame(0).shape[:2]
    writer = imageio_ffmpeg.write_frames(str(path), (w, h), fps=1000.0 / frame_ms, codec="libx264",
                                         pix_fmt_out="yuv420p", quality=6, macro_block_size=16,
                                         ffmpeg_log_level="error", output_params=["-movflags", "+faststart"])
    writer.send(None)
    try:
        for i in range(r.n_frames):
            writer.send(np.ascontiguousarray(r.frame(i)))
            if progress:
                progress(i + 1, r.n_frames)
    finally:
        writer.close()
    return os.path.getsize(path)


def export(scene: Scene, fmt: str, path, *, progress=None) -> dict:
    """Write ``scene`` as ``fmt`` to ``path``; a summary dict (format, out, bytes, frames,
    particles, seconds)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}'; choose one of: {', '.join(FORMATS)}")
    t0 = time.perf_counter()
    if fmt in ("gif", "mp4"):
        size = (write_gif if fmt == "gif" else write_mp4)(scene, path, progress=progress)
    else:
        if fmt == "html":
            data = html_bytes(figure(scene))
        elif fmt == "npz":
            data = npz_bytes(scene.traj, scene.meta)
        else:
            data = csv_bytes(scene.traj)
        with _open(path) as fh:
            fh.write(data)
        size = len(data)
        if progress:
            progress(1, 1)
    return {"format": fmt, "out": str(path), "bytes": int(size), "frames": int(scene.traj.n_frames),
            "particles": int(scene.traj.positions.shape[1]), "seconds": round(time.perf_counter() - t0, 3),
            "preset": scene.meta.get("preset"), "sampler": scene.sampler, "seed": scene.seed}


# ----- benchmark --------------------------------------------------------------------
def _plain_funcanimation(scene: Scene):
    """What a notebook user writes: FuncAnimation updating a scatter over imshow + quiver."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation
    pos = scene.traj.positions
    fig, ax = plt.subplots(figsize=(7.2, 7.2), dpi=100)
    x0, x1, y0, y1 = scene.box
    if scene.density_grid is not None:
        ax.imshow(scene.density_grid.z, origin="lower", extent=scene.density_grid.box, cmap="viridis")
    fg = scene.level_fields[0] if scene.level_fields else scene.field
    if fg is not None:
        ax.quiver(fg.x, fg.y, fg.u, fg.v, color="white")
    sc = ax.scatter(pos[0, :, 0], pos[0, :, 1], s=6, c="#ff4b1f")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)

    def update(i):
        sc.set_offsets(pos[i])
        ax.set_title(f"frame {i}")
        return (sc,)

    anim = FuncAnimation(fig, update, frames=len(pos), interval=G.FRAME_MS)
    return fig, anim


def bench(particles: int = 1000, frames: int = 200, out_dir: str | None = None, formats=("html", "gif", "mp4")) -> dict:
    """Seconds and bytes of this module's exports of a Sample-page scene (annealed
    Langevin on eight Gaussians) beside a plain matplotlib FuncAnimation of the same
    trajectory saved to the same formats (HTML: ``to_jshtml``)."""
    import tempfile
    import matplotlib
    matplotlib.use("Agg", force=False)
    import imageio_ffmpeg
    import matplotlib.pyplot as plt
    from matplotlib.animation import FFMpegWriter, PillowWriter
    matplotlib.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
    matplotlib.rcParams["animation.embed_limit"] = 500.0     # MB: to_jshtml refuses larger by default
    out_dir = out_dir or tempfile.mkdtemp(prefix="sfe-bench-")
    t0 = time.perf_counter()
    scene = scene_trajectory(particles=particles, frames=frames)
    sim = time.perf_counter() - t0
    rows = []
    for fmt in formats:
        ours = export(scene, fmt, os.path.join(out_dir, f"ours.{fmt}"))
        print(f"ours  {fmt:4s} {ours['seconds']:7.2f} s {ours['bytes']:>12,} B", file=sys.stderr, flush=True)
        fig, anim = _plain_funcanimation(scene)
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
    return {"particles": particles, "frames": int(scene.traj.n_frames), "simulate_seconds": round(sim, 3),
            "threads": torch.get_num_threads(), "out_dir": out_dir, "results": rows}


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m explorer.export",
                                 description="Benchmark the exports (the exports themselves: python -m explorer export)")
    ap.add_argument("--bench", action="store_true", help="time HTML/GIF/MP4 against a plain FuncAnimation")
    ap.add_argument("--particles", type=int, default=1000)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--formats", nargs="+", default=["html", "gif", "mp4"], choices=["html", "gif", "mp4"])
    ap.add_argument("--out-dir", default=None)
    a = ap.parse_args(argv)
    if not a.bench:
        ap.print_help(sys.stderr)
        return 2
    print(json.dumps(bench(a.particles, a.frames, a.out_dir, tuple(a.formats))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
