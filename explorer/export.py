"""Take it to the lecture hall: a Sample- or Compare-page scene as files that play
with no network.

* ``scene_trajectory(preset or density/sampler/score/options, seed)`` computes what the
  app computes for the same settings (the same target construction,
  ``presets.sampler_options`` and ``presets.lockstep``), so a file exported here and
  the app's download hold the same positions: a ``Scene`` (one run, the Sample page)
  or, for a Compare preset, a ``CompareScene`` (every sampler of the preset from the
  same particles and seed, the Compare page).
* HTML: the app's Plotly animation (``figures.animation_figure``, or
  ``figures.compare_figure`` for several samplers) with plotly.js embedded,
  Play/Pause and the slider inside; no script is fetched.
* GIF / MP4: the same scene drawn with matplotlib in the same style
  (``explorer.frames``), one frame per recorded (timeline) frame at
  ``figures.FRAME_MS``, to Pillow (GIF) or imageio-ffmpeg's bundled ffmpeg (MP4, H.264).
* NPZ / CSV: the raw runs (a Compare scene: every run, CSV with a ``sampler`` column).

Presets of the Density and Train pages export the Sample page's defaults on the
preset's target. No Streamlit here. ``python -m explorer.export --bench`` prints
timings (``--compare``: a three-panel Compare scene).
"""
from __future__ import annotations

import io
import json
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
from .diffusions import CLD
from .frames import PANEL_PX, VIDEO_PX, FrameRenderer, Panel
from .kde import KDE
from .samplers import Trajectory
from .simulate import score_source

FORMATS = ("html", "gif", "mp4", "npz", "csv")
DATASETS = ("moons", "circles", "swiss-roll")
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

    @property
    def n_frames(self) -> int:
        return self.traj.n_frames


@dataclass
class CompareScene:
    """A computed Compare-page scene: several samplers from the same particles and seed
    (``presets.lockstep``), one panel each over the same density, one timeline."""
    name: str
    seed: int
    settings: dict
    runs: dict                      # sampler -> Trajectory, in the page's order
    box: tuple
    density_grid: F.DensityGrid | None = None
    trails: bool = False            # the app's Compare animation (figures.compare_figure) draws none
    meta: dict = _field(default_factory=dict)

    @property
    def n_frames(self) -> int:      # the timeline: the longest run's frames
        return max(t.n_frames for t in self.runs.values())

    def trajs(self) -> dict:
        """The runs by panel title (the app's sampler labels)."""
        return {LABELS.get(k, k): t for k, t in self.runs.items()}

    def notes(self) -> dict:
        """Panel title -> what the title adds, as the Compare page says it."""
        return {LABELS.get(k, k): ("own prior start" if t.params.get("start") == "own prior" else
                                   (f"diverged at step {t.diverged_at}" if t.diverged_at is not None else ""))
                for k, t in self.runs.items()}


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


def background(model, density):
    """The density drawn under the particles: the target's own, else the KDE's (data
    sets), on a 120 x 120 grid; None where neither has one."""
    src = density if F.has_density(density) else (model if F.has_density(model) else None)
    if src is None:
        return None
    try:
        return F.density_grid(src, density.box, 120, 0.0)
    except ValueError:
        return None


def scene_parts(model, density, sampler: str, traj: Trajectory, arrows: bool = True):
    """(density grid, field, level fields) drawn under a run, as the Sample page draws
    them: ``background``, 17 x 17 arrows; for annealed Langevin one field per noise
    level; for CLD one field per frame time t, grad_x log p_t of the forward law's
    x-marginal (``fields.cld_fields``; Dockhorn et al. 2022), none for a learned network,
    whose p_t has no mixture form."""
    box = density.box
    dg = background(model, density)
    fg = lf = None
    if arrows:
        try:
            if sampler == "annealed":
                lf = F.level_fields(model, box, traj.params["sigmas"], 17)
            elif sampler in ("cld", "cld-ode"):
                if getattr(model, "kind", "") != "learned":
                    lf = F.cld_fields(model, box, traj.levels, CLD(**traj.params["cld"]), 17)
            else:
                fg = F.field_grid(model, box, 17, 0.0)
        except ValueError:
            fg = lf = None
    return dg, fg, lf


def run_settings(values: dict, page: str = "sample") -> dict:
    """(samplers, settings for sampler_options, particles, seed, init, frames, score,
    trails, arrows) of a page; the Compare page runs several samplers and, like
    ``figures.compare_figure``, draws neither trails nor arrows."""
    if page == "compare":
        return dict(samplers=list(values["cmp"]), settings={"eps": values["c_eps"], "steps": values["c_steps"],
                                                              "friction": values["c_friction"]},
                    particles=int(values["c_particles"]), seed=int(values["c_seed"]), init=values["c_init"],
                    frames=int(values["c_frames"]), score=values["c_score"], trails=False, arrows=False)
    s = {k: values[k] for k in ("eps", "a_eps", "h", "steps", "levels", "per_level", "sig_max", "sig_min",
                                "mass", "friction", "cld_mass", "cld_friction")}
    return dict(samplers=[values["sampler"]], settings=s, particles=int(values["particles"]),
                seed=int(values["seed"]), init=values["init"], frames=int(values["frames"]), score=values["score"],
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
                     frames: int | None = None, parts: bool = True) -> Scene | CompareScene:
    """What the app shows for these settings (same seed -> same positions).

    ``preset``: a lesson preset name (``presets.PRESETS``); a Compare preset gives a
    ``CompareScene`` of all its samplers (``sampler`` picks one of them: a ``Scene``);
    else ``density`` (a built-in name) with ``sampler`` and ``score`` on the Sample
    page's defaults. ``seed``, ``particles``, ``frames`` override the scene's.
    ``parts``: also compute the density grid and the arrows drawn under it."""
    values, page = scene_values(preset, density=density, sampler=sampler, score=score, seed=seed,
                                particles=particles, frames=frames)
    r = run_settings(values, page)
    dens = target_density(values)
    model = score_model(dens, r["score"], values)
    opts = {name: P.sampler_options(name, model, r["settings"]) for name in r["samplers"]}
    runs = P.lockstep(model, r["samplers"], particles=r["particles"], seed=r["seed"], init=r["init"],
                      frames=r["frames"], box=dens.box, options=opts)
    meta = {"preset": preset, "page": page, "target": values["target"], "score": r["score"],
            "samplers": r["samplers"], "seed": r["seed"], "particles": r["particles"], "init": r["init"],
            "frames_requested": r["frames"]}
    if len(runs) > 1:
        return CompareScene(name=preset or f"{dens.name}-compare", seed=r["seed"], settings=values, runs=runs,
                            box=tuple(dens.box), density_grid=background(model, dens) if parts else None,
                            trails=r["trails"], meta=meta)
    name, traj = next(iter(runs.items()))
    trails, arrows = (True, True) if page == "compare" else (r["trails"], r["arrows"])   # as the Sample page
    dg = fg = lf = None
    if parts:
        dg, fg, lf = scene_parts(model, dens, name, traj, arrows)
    meta["sampler"] = name
    return Scene(name=preset or f"{dens.name}-{name}", title=LABELS.get(name, name), sampler=name, seed=r["seed"],
                 settings=values, traj=traj, box=tuple(dens.box), density_grid=dg, field=fg, level_fields=lf,
                 trails=trails, meta=meta)


# ----- writers ----------------------------------------------------------------------
def _open(path, mode="wb"):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OSError(f"cannot write '{path}': folder '{folder}' does not exist")
    return open(path, mode)


def figure(scene: Scene | CompareScene):
    """The app's Plotly animation of the scene (the Sample page's, or the Compare page's
    for several samplers)."""
    if isinstance(scene, CompareScene):
        return G.compare_figure(scene.trajs(), scene.box, density=scene.density_grid, notes=scene.notes())
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
        return html_bytes(figure(scene))
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


# ----- benchmark --------------------------------------------------------------------
def _plain_funcanimation(scene: Scene | CompareScene):
    """What a notebook user writes: FuncAnimation updating a scatter over imshow + quiver
    (a Compare scene: one such axes per sampler, every particle, on the same timeline)."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation
    if isinstance(scene, CompareScene):
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


COMPARE_BENCH = "kinetic"       # a three-panel Compare preset: Langevin, underdamped, CLD


def bench(particles: int = 1000, frames: int = 200, out_dir: str | None = None, formats=("html", "gif", "mp4"),
          compare: bool = False) -> dict:
    """Seconds and bytes of this module's exports of a Sample-page scene (annealed
    Langevin on eight Gaussians; ``compare``: the three-panel Compare preset
    ``COMPARE_BENCH``) beside a plain matplotlib FuncAnimation of the same trajectories
    saved to the same formats (HTML: ``to_jshtml``)."""
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
    scene = scene_trajectory(COMPARE_BENCH if compare else None, particles=particles, frames=frames)
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
    return {"scene": COMPARE_BENCH if compare else "eight-gaussians-annealed", "panels": len(scene.runs) if compare
            else 1, "particles": particles, "frames": int(scene.n_frames), "simulate_seconds": round(sim, 3),
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
    ap.add_argument("--compare", action="store_true",
                    help=f"a three-panel Compare scene (preset {COMPARE_BENCH}) instead of one Sample panel")
    a = ap.parse_args(argv)
    if not a.bench:
        ap.print_help(sys.stderr)
        return 2
    print(json.dumps(bench(a.particles, a.frames, a.out_dir, tuple(a.formats), compare=a.compare)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
