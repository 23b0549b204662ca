"""Take it to the lecture hall: a computed scene (``scene.compute``: a ``Scene`` of
one run, or a ``CompareScene`` of several from the same particles and seed) as files
that play with no network. The app's downloads and the CLI write through here.

* HTML: the app's Plotly animation (``figures.animation_figure``, or
  ``figures.compare_figure`` for several samplers) with plotly.js embedded,
  Play/Pause and the slider inside; no script is fetched.
* GIF / MP4: the same scene drawn with matplotlib in the same style
  (``explorer.frames``), one frame per recorded (timeline) frame at
  ``figures.FRAME_MS``, to Pillow (GIF) or imageio-ffmpeg's bundled ffmpeg (MP4, H.264).
* NPZ / CSV: the raw runs (a Compare scene: every run, CSV with a ``sampler`` column).

No Streamlit here.
"""
from __future__ import annotations

import io
import json
import os
import time

import numpy as np

from . import figures as G
from . import scene as S
from .frames import PANEL_PX, VIDEO_PX, FrameRenderer, Panel
from .samplers import Trajectory
from .scene import CompareScene, Scene

FORMATS = ("html", "gif", "mp4", "npz", "csv")


# ----- writers ----------------------------------------------------------------------
def _open(path, mode="wb"):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OSError(f"cannot write '{path}': folder '{folder}' does not exist")
    return open(path, mode)


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


def compare_npz_bytes(runs: dict, meta: dict | None = None) -> bytes:
    """Several runs in one NPZ, arrays prefixed by the sampler's name:
    ``<sampler>_positions`` (frames, N, 2), ``_steps``, ``_levels`` (``_velocities``
    for kinetic samplers); ``samplers`` in the page's order and ``meta`` (JSON)."""
    arrays = {"samplers": np.array(list(runs)), "meta": np.array(json.dumps(meta or {}, default=str))}
    for name, tr in runs.items():
        arrays.update({f"{name}_positions": tr.positions.astype(np.float32), f"{name}_steps": np.asarray(tr.steps),
                       f"{name}_levels": np.asarray(tr.levels, dtype=np.float64)})
        if tr.velocities is not None:
            arrays[f"{name}_velocities"] = tr.velocities.astype(np.float32)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _csv_rows(buf, traj: Trajectory, sampler: str | None = None, velocities: bool = False):
    """One run's rows (frame, step, level, particle, x, y[, vx, vy]) into ``buf``;
    ``sampler`` leads each row; ``velocities``: vx, vy columns (nan where the run has none)."""
    pos = traj.positions
    nf, n = pos.shape[:2]
    fr = np.repeat(np.arange(nf), n)
    cols = [fr, np.asarray(traj.steps)[fr], np.asarray(traj.levels, dtype=np.float64)[fr], np.tile(np.arange(n), nf),
            pos[..., 0].ravel(), pos[..., 1].ravel()]
    fmts = ["%d", "%d", "%.6g", "%d", "%.7g", "%.7g"]
    if velocities:
        vel = traj.velocities if traj.velocities is not None else np.full(pos.shape, np.nan)
        cols += [vel[..., 0].ravel(), vel[..., 1].ravel()]
        fmts += ["%.7g", "%.7g"]
    fmt = ",".join(fmts) if sampler is None else f"{sampler}," + ",".join(fmts)   # a str fmt formats the whole row
    np.savetxt(buf, np.column_stack(cols), fmt=fmt)


CSV_HEADER = "frame,step,level,particle,x,y"


def csv_bytes(traj: Trajectory) -> bytes:
    """Long format: one row per frame and particle: frame, step, level, particle, x, y
    (and vx, vy for kinetic samplers)."""
    kinetic = traj.velocities is not None
    buf = io.StringIO()
    buf.write(CSV_HEADER + (",vx,vy" if kinetic else "") + "\n")
    _csv_rows(buf, traj, velocities=kinetic)
    return buf.getvalue().encode()


def compare_csv_bytes(runs: dict) -> bytes:
    """Several runs in one long CSV: ``sampler`` first, then ``csv_bytes``' columns (each
    run's own frames and steps); vx, vy where any run is kinetic, nan for the others."""
    kinetic = any(t.velocities is not None for t in runs.values())
    buf = io.StringIO()
    buf.write("sampler," + CSV_HEADER + (",vx,vy" if kinetic else "") + "\n")
    for name, traj in runs.items():
        _csv_rows(buf, traj, sampler=name, velocities=kinetic)
    return buf.getvalue().encode()


def data_bytes(scene: Scene | CompareScene, fmt: str) -> bytes:
    """The scene as an html, npz or csv file's bytes."""
    if fmt == "html":
        return html_bytes(S.figure(scene))
    if isinstance(scene, CompareScene):
        return compare_npz_bytes(scene.runs, scene.meta) if fmt == "npz" else compare_csv_bytes(scene.runs)
    return npz_bytes(scene.traj, scene.meta) if fmt == "npz" else csv_bytes(scene.traj)


def video_bytes(scene: Scene | CompareScene, fmt: str) -> bytes:
    """The scene as a gif or mp4 file's bytes (ffmpeg writes to a file: a temporary one)."""
    import tempfile
    fd, path = tempfile.mkstemp(suffix="." + fmt)
    os.close(fd)
    try:
        (write_gif if fmt == "gif" else write_mp4)(scene, path)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


def _renderer(scene: Scene | CompareScene, px=VIDEO_PX) -> FrameRenderer:
    """A Scene as one ``px`` square panel, as the Sample page's
    ``figures.animation_figure`` draws it; a CompareScene: ``_compare_renderer``."""
    if isinstance(scene, CompareScene):
        return _compare_renderer(scene)
    nf, n = scene.traj.positions.shape[:2]
    k = G.drawn_count(n, nf, 1)
    sub = f"{k:,} of {n:,} particles drawn" if k < n else f"{n:,} particles"
    return FrameRenderer([Panel(scene.traj, field=scene.field, level_fields=scene.level_fields)], scene.box,
                         density=scene.density_grid, trails=scene.trails, drawn=k, marker_px=6 if k > 400 else 8,
                         title=f"{scene.title or scene.traj.sampler} · {sub}", size=(px, px))


def _compare_renderer(scene: CompareScene, panel_px: int = PANEL_PX) -> FrameRenderer:
    """Panels of ``panel_px`` side by side on one timeline, as ``figures.compare_figure``
    draws them: the same subsample, marker size, panel titles (with notes), density,
    and the slider's label ("42% of each run") in the top right corner."""
    trajs = scene.trajs()
    m = len(trajs)
    nf = max(t.positions.shape[0] for t in trajs.values())
    n = max(t.positions.shape[1] for t in trajs.values())
    k = G.compare_drawn_count(n, nf, m)
    sub = f"{k:,} of {n:,} particles drawn per panel" if k < n else f"{n:,} particles per panel"
    left, gap, right, top, bottom = 70, 40, 16, 100, 70          # pixels around and between the panels
    w = -(-(left + m * panel_px + (m - 1) * gap + right) // 16) * 16   # H.264 wants multiples of 16
    h = -(-(top + panel_px + bottom) // 16) * 16
    rects = [[(left + j * (panel_px + gap)) / w, bottom / h, panel_px / w, panel_px / h] for j in range(m)]
    notes = scene.notes()
    panels = [Panel(t, title=label + (f" ({notes[label]})" if notes.get(label) else ""),
                    frames=G.timeline_frames(t, nf)) for label, t in trajs.items()]
    timeline = [f"{round(100 * i / max(nf - 1, 1))}% of each run" for i in range(nf)]
    return FrameRenderer(panels, scene.box, density=scene.density_grid, trails=scene.trails, drawn=k,
                         marker_px=5 if k > 400 else 7, title=sub, timeline=timeline, size=(w, h), rects=rects)


def write_gif(scene: Scene | CompareScene, path, *, frame_ms: int = G.FRAME_MS, px: int = VIDEO_PX,
              progress=None) -> int:
    """Animated GIF (loops), one frame per recorded (timeline) frame, ``frame_ms`` each."""
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


def write_mp4(scene: Scene | CompareScene, path, *, frame_ms: int = G.FRAME_MS, px: int = VIDEO_PX,
              progress=None) -> int:
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


def export(scene: Scene | CompareScene, fmt: str, path, *, progress=None) -> dict:
    """Write ``scene`` as ``fmt`` to ``path``; a summary dict (format, out, bytes, frames
    (a Compare scene: its timeline's), particles (per sampler), seconds, samplers)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}'; choose one of: {', '.join(FORMATS)}")
    t0 = time.perf_counter()
    if fmt in ("gif", "mp4"):
        size = (write_gif if fmt == "gif" else write_mp4)(scene, path, progress=progress)
    else:
        data = data_bytes(scene, fmt)
        with _open(path) as fh:
            fh.write(data)
        size = len(data)
        if progress:
            progress(1, 1)
    runs = scene.runs if isinstance(scene, CompareScene) else {scene.sampler: scene.traj}
    out = {"format": fmt, "out": str(path), "bytes": int(size), "frames": int(scene.n_frames),
           "particles": int(next(iter(runs.values())).positions.shape[1]),
           "seconds": round(time.perf_counter() - t0, 3), "preset": scene.meta.get("preset"),
           "samplers": list(runs), "seed": scene.seed}
    if not isinstance(scene, CompareScene):
        out["sampler"] = scene.sampler
    return out
