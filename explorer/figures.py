"""Plotly figure builders: density heatmaps, arrow quivers, sampler animations,
side-by-side comparisons, final samples against the truth, and metric tables.

Pure functions of arrays (no Streamlit): the app, the CLI and a notebook share them.
Choices measured on the project's machines:

* Animations use ``go.Scatter`` particle traces (not Scattergl), frames with
  ``redraw=False`` that carry only the traces that move (``traces=[...]``), fixed axis
  ranges, and float32 arrays (plotly sends numpy arrays base64-encoded).
* At most ``POINT_FRAMES`` particle positions are drawn over a one-panel animation
  (5000 particles x 200 frames; several panels keep 1000 x 200 over all of them);
  beyond that, and above ``MAX_DRAWN`` particles a frame, a fixed subsample is drawn:
  the particles are i.i.d., so the first n are a random subsample. Metrics are
  computed on all of them elsewhere. SVG Scatter stays at 5000: WebGL with redraw=True
  was no faster in headless Chromium and with redraw=False leaves the old frame on
  screen (``benchmarks/play_fps.py``); markers without a rim were faster in one run of
  two (docs/performance.md) and are not switched on.
* The quiver is one Scatter of ``symbol="arrow"`` markers rotated by ``marker.angle``
  (one trace; never an annotation per arrow). Raw lengths are shown by the marker
  size, clipped at the 95th percentile of |s|.
* Colours: Viridis for densities (it keeps its order in lightness on a washed-out
  projector), white arrows with a dark rim, particles in a saturated red-orange that
  no Viridis shade is close to. Fonts are large (``FONT``).
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import registry
from .fields import DensityGrid, FieldGrid, field_of_frame

FONT = 18
TITLE_FONT = 22
DENSITY_SCALE = "Viridis"
ARROW_SCALE = [[0.0, "#ffffff"], [0.45, "#ffd166"], [1.0, "#ef476f"]]   # white -> amber -> red
PARTICLE = "#ff4b1f"
REFERENCE = "#222222"
ARROW = "#ffffff"           # quiver arrows (normalised mode) ...
ARROW_EDGE = "#1b1b1b"      # ... with a dark rim
TRAIL = "#ffffff"
# The Play button's frame duration (GIF/MP4 exports use the same). plotly.js starts the
# next frame at the first animation tick (~16.7 ms apart) after the current one began
# drawing and this much passed: 60 ms gives ~67 ms, and where drawing takes longer (5000
# particles, docs/performance.md) the drawing sets the pace, so a longer duration would
# only slow a faster machine.
FRAME_MS = 60
MAX_DRAWN = 5000
POINT_FRAMES = 1_005_000   # 5000 particles x (200 frames + the start): one panel
PANELS_POINT_FRAMES = 201_000   # several panels (phase space, Compare): 1000 x 201 over all of them
TRAIL_PARTICLES = 8
TRAIL_BANDS = ((0, 2, 0.75), (2, 5, 0.3))   # (newest age, oldest age, opacity)
SPEEDS = (("▶ Play", 60), ("▶▶ Fast", 20), ("▶ Slow", 160))


def f32(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


# ----- static pieces ----------------------------------------------------------------
_LUT = None


def _viridis_lut() -> np.ndarray:
    global _LUT
    if _LUT is None:
        from plotly.colors import sample_colorscale
        cols = sample_colorscale(DENSITY_SCALE, list(np.linspace(0, 1, 256)))
        _LUT = np.array([[int(float(c)) for c in col[col.index("(") + 1:-1].split(",")] for col in cols],
                        dtype=np.uint8)
    return _LUT


def density_rgb(dg: DensityGrid, *, log: bool = False) -> np.ndarray:
    """(ny, nx, 3) uint8 Viridis image of p (or clipped log p), top row = ymax: the one
    colour mapping the Plotly figures and the matplotlib GIF/MP4 exports share."""
    z = np.clip(dg.logz, float(np.nanmax(dg.logz)) - 12.0, None) if log else dg.z
    z = np.nan_to_num(np.asarray(z, dtype=np.float64), nan=0.0)
    lo, hi = float(z.min()), float(z.max())
    idx = np.zeros(z.shape, dtype=np.int64) if hi <= lo else np.rint(255 * (z - lo) / (hi - lo)).astype(np.int64)
    return _viridis_lut()[idx][::-1]                     # image rows run top (ymax) to bottom


def density_image(dg: DensityGrid, *, log: bool = False, xref: str = "x", yref: str = "y",
                  opacity: float = 1.0) -> dict:
    """The density as a layout image (a PNG in a data URI) stretched over the grid's box.

    Animations need this instead of a Heatmap trace: a frame with redraw=False replots
    only the trace types in the frame, and plotly.js removes the layers of the other
    types (a heatmap vanishes on Play; measured with Chromium, plotly.py 7.1). Layout
    images are not traces, so they stay, and a 120 x 120 PNG is ~20 KB."""
    import base64
    import io

    from PIL import Image

    rgb = density_rgb(dg, log=log)
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, format="PNG", optimize=True)
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    x0, x1, y0, y1 = dg.box
    dx = (x1 - x0) / max(len(dg.x) - 1, 1)
    dy = (y1 - y0) / max(len(dg.y) - 1, 1)
    return dict(source=uri, xref=xref, yref=yref, x=x0 - dx / 2, y=y1 + dy / 2, sizex=x1 - x0 + dx,
                sizey=y1 - y0 + dy, sizing="stretch", layer="below", opacity=opacity)


def density_trace(dg: DensityGrid, *, log: bool = False, showscale: bool = True, colorbar_x: float = 1.01,
                  opacity: float = 1.0, xaxis: str = "x", yaxis: str = "y", name: str = "density") -> go.Heatmap:
    """Heatmap of p (or log p, clipped 12 nats below its peak so the tails show)."""
    if log:
        top = float(np.nanmax(dg.logz))
        z = np.clip(dg.logz, top - 12.0, None)
        title = "log p"
    else:
        z = dg.z
        title = "p"
    return go.Heatmap(x=f32(dg.x), y=f32(dg.y), z=f32(z), colorscale=DENSITY_SCALE, showscale=showscale,
                      zsmooth="best", opacity=opacity, name=name, hoverinfo="skip", xaxis=xaxis, yaxis=yaxis,
                      colorbar=dict(title=dict(text=title), x=colorbar_x, len=0.85, thickness=18))


def quiver_style(fg: FieldGrid, *, normalise: bool = True, colour: bool = False, size: float = 17.0,
                 ref: float | None = None) -> dict:
    """Marker attributes of the arrow quiver: angle (clockwise from up), size and colour.
    ``ref`` is the magnitude drawn at full ``size`` in raw mode (default: the 95th
    percentile of |s| on this grid); NaN scores get size 0."""
    mag = fg.magnitude.astype(np.float64)
    ok = np.isfinite(mag)
    angle = np.where(ok, 90.0 - np.degrees(np.arctan2(fg.v, fg.u)), 0.0)
    if ref is None:
        ref = float(np.percentile(mag[ok], 95)) if ok.any() else 1.0
    ref = ref if ref > 0 else 1.0
    if normalise:
        sizes = np.where(ok, size, 0.0)
    else:
        sizes = np.where(ok, np.clip(size * mag / ref, 0.0, 1.25 * size), 0.0)
        sizes = np.where(ok & (sizes > 0), np.maximum(sizes, 3.0), sizes)
    style = {"angle": f32(angle), "size": f32(sizes)}
    if colour:
        style["color"] = f32(np.where(ok, np.minimum(mag, ref), 0.0))
        style["cmin"], style["cmax"] = 0.0, ref
    return style


def quiver_trace(fg: FieldGrid, *, normalise: bool = True, colour: bool = False, size: float = 17.0,
                 ref: float | None = None, showscale: bool = True, colorbar_x: float = 1.13,
                 xaxis: str = "x", yaxis: str = "y", name: str = "score") -> go.Scatter:
    st = quiver_style(fg, normalise=normalise, colour=colour, size=size, ref=ref)
    marker = dict(symbol="arrow", angle=st["angle"], size=st["size"], line=dict(width=1, color=ARROW_EDGE))
    if colour:
        marker.update(color=st["color"], cmin=st["cmin"], cmax=st["cmax"], colorscale=ARROW_SCALE,
                      showscale=showscale,
                      colorbar=dict(title=dict(text="|s|"), x=colorbar_x, len=0.85, thickness=18))
    else:
        marker.update(color=ARROW)
    return go.Scatter(x=f32(fg.x), y=f32(fg.y), mode="markers", marker=marker, name=name, hoverinfo="skip",
                      showlegend=False, xaxis=xaxis, yaxis=yaxis)


def _axes(fig, box, *, row=None, col=None, equal=True, title_x="x₁", title_y="x₂"):
    x0, x1, y0, y1 = box
    kw = {} if row is None else dict(row=row, col=col)
    fig.update_xaxes(range=[x0, x1], autorange=False, constrain="domain", showgrid=False, zeroline=False,
                     title=dict(text=title_x), **kw)
    fig.update_yaxes(range=[y0, y1], autorange=False, constrain="domain", showgrid=False, zeroline=False,
                     title=dict(text=title_y, standoff=4), **kw)


def _layout(fig, *, height, title=None, top=70, bottom=60):
    fig.update_layout(height=height, font=dict(size=FONT), plot_bgcolor="white",
                      margin=dict(l=60, r=30, t=top, b=bottom), showlegend=False, uirevision="keep",
                      title=dict(text=title, font=dict(size=TITLE_FONT), x=0.01, xanchor="left") if title else None)
    fig.update_annotations(font_size=FONT + 2)
    return fig


def panels_figure(panels, box, *, normalise=True, colour=False, log=False, height=640) -> go.Figure:
    """Side-by-side panels sharing axes ranges. Each panel is a dict with ``density``
    (DensityGrid or None), ``field`` (FieldGrid or None), ``samples`` ((n, 2) or None)
    and ``title``; a density colour bar is shown once and arrow colours share a scale."""
    k = len(panels)
    fig = make_subplots(1, k, subplot_titles=[p.get("title") or "" for p in panels], horizontal_spacing=0.06)
    refs = [float(np.nanpercentile(p["field"].magnitude, 95)) for p in panels
            if p.get("field") is not None and np.isfinite(p["field"].magnitude).any()]
    ref = max(refs) if refs else None
    for i, p in enumerate(panels):
        ax = "" if i == 0 else str(i + 1)
        if p.get("density") is not None:
            fig.add_trace(density_trace(p["density"], log=log, showscale=(i == k - 1) and not colour,
                                        xaxis="x" + ax, yaxis="y" + ax), row=1, col=i + 1)
        if p.get("samples") is not None:
            s = np.asarray(p["samples"])[:MAX_DRAWN]
            fig.add_trace(go.Scatter(x=f32(s[:, 0]), y=f32(s[:, 1]), mode="markers", hoverinfo="skip",
                                     marker=dict(size=5, color=PARTICLE, line=dict(width=0.5, color="white"))),
                          row=1, col=i + 1)
        if p.get("field") is not None:
            fig.add_trace(quiver_trace(p["field"], normalise=normalise, colour=colour, ref=ref,
                                       showscale=(i == k - 1), colorbar_x=1.01,
                                       xaxis="x" + ax, yaxis="y" + ax), row=1, col=i + 1)
        _axes(fig, box, row=1, col=i + 1)
        fig.update_yaxes(scaleanchor="x" + ax, scaleratio=1, row=1, col=i + 1)
    return _layout(fig, height=height, top=60)


# ----- animations -------------------------------------------------------------------
def drawn_count(n_particles: int, n_frames: int, panels: int = 1) -> int:
    """How many particles an animation draws: all of them while the whole animation
    holds at most POINT_FRAMES positions (and MAX_DRAWN a frame), else a subsample."""
    # a second panel adds its own per-frame overhead: keep 8% in hand. Several panels keep
    # the budget they had before 5,000 particles were drawn in one (not measured beyond it)
    budget = int(POINT_FRAMES if panels == 1 else PANELS_POINT_FRAMES * 0.92) // max(1, n_frames * panels)
    return int(max(1, min(n_particles, MAX_DRAWN, max(budget, 50))))


def _trail_arrays(pos: np.ndarray, band, max_jump: float = np.inf) -> np.ndarray:
    """(F, n*(L+1), 2): for each frame the polyline of each particle through ages
    a0..a1 (frames f - a, clamped at 0), a NaN after each particle (a gap). A point
    more than ``max_jump`` from the one before it is dropped: at a high noise level one
    frame holds several large random steps, and a straight line across the plot would
    not show the path anyway."""
    a0, a1, _ = band
    f = np.arange(pos.shape[0])
    idx = np.clip(f[:, None] - np.arange(a0, a1 + 1)[None, :], 0, None)      # (F, L)
    seg = pos[idx]                                                              # (F, L, n, 2)
    seg = np.transpose(seg, (0, 2, 1, 3)).copy()                                # (F, n, L, 2)
    if np.isfinite(max_jump) and seg.shape[2] > 1:
        jump = np.linalg.norm(np.diff(seg, axis=2), axis=-1)                    # (F, n, L-1)
        far = np.concatenate([np.zeros(jump.shape[:2] + (1,), bool), ~(jump <= max_jump)], axis=2)
        seg[far] = np.nan
    gap = np.full(seg.shape[:2] + (1, 2), np.nan, dtype=np.float32)
    return np.concatenate([seg, gap], 2).reshape(pos.shape[0], -1, 2)


def _frame_labels(traj, unit_levels: str | None) -> list[str]:
    from .diffusions import sde_from_config
    sde = sde_from_config(traj.params["sde"]) if isinstance(traj.params.get("sde"), dict) else None
    labels = []
    for s, lev in zip(traj.steps, traj.levels):
        lab = f"step {int(s)}"
        if unit_levels == "sigma":
            lab += f" · σ = {lev:.3g}" if lev > 0 else " · denoised"
        elif unit_levels == "t":
            lab += f" · t = {lev:.3f}"
            if sde is not None:             # a score SDE: the noise level sigma(t) the data carry at t
                lab += " · " + sde.label(float(lev))
        labels.append(lab)
    return labels


def _controls(names, labels, *, frame_ms=60, plot_px=500.0):
    """Play / Pause / Fast / Slow buttons and a frame slider under the x axis title
    (positions in pixels below the plot area, converted to paper units)."""
    def play(label, ms):
        return dict(label=label, method="animate",
                    args=[None, {"frame": {"duration": ms, "redraw": False}, "fromcurrent": True,
                                 "transition": {"duration": 0}, "mode": "immediate"}])
    speeds = [play(lab, ms if lab != "▶ Play" else frame_ms) for lab, ms in SPEEDS]
    pause = dict(label="❚❚ Pause", method="animate",
                 args=[[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate",
                                "transition": {"duration": 0}}])
    buttons = [speeds[0], pause, speeds[1], speeds[2]]
    y_buttons = -72.0 / plot_px
    y_slider = -118.0 / plot_px
    menus = [dict(type="buttons", direction="left", showactive=False, x=0.0, y=y_buttons, xanchor="left",
                  yanchor="top", pad=dict(t=0, r=8), font=dict(size=FONT), bgcolor="#f3f3f3",
                  bordercolor="#999999", buttons=buttons)]
    steps = [dict(method="animate", label=lab,
                  args=[[nm], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate",
                               "transition": {"duration": 0}}]) for nm, lab in zip(names, labels)]
    sliders = [dict(active=0, steps=steps, x=0.0, len=1.0, y=y_slider, xanchor="left", yanchor="top",
                    pad=dict(t=0, b=0), ticklen=0, minorticklen=0, tickcolor="rgba(0,0,0,0)",
                    font=dict(size=2, color="rgba(0,0,0,0)"),
                    currentvalue=dict(prefix="", visible=True, xanchor="left", offset=8,
                                      font=dict(size=FONT + 2, color="#222222")),
                    transition=dict(duration=0))]
    return menus, sliders


BOTTOM = 200     # px under the plot area: tick labels, axis title, buttons, slider


def animation_figure(traj, box, *, density: DensityGrid | None = None, field: FieldGrid | None = None,
                     level_fields: list[FieldGrid] | None = None, normalise=True, trails=True, frame_ms=FRAME_MS,
                     title=None, height=760, max_points: int = POINT_FRAMES) -> go.Figure:
    """A Play/Pause animation of a Trajectory over the density and the score arrows.

    * Each frame updates only the particle traces (and, with ``level_fields``, the
      arrows' angles and sizes: annealed Langevin's field at the current sigma, or for
      CLD grad_x log p_t at the frame's time t, ``fields.cld_fields``; each frame takes
      the field whose level is nearest its ``traj.levels`` entry).
      Frames use redraw=False; axis ranges are fixed to ``box``.
    * Kinetic samplers (``traj.velocities``) get a second panel with the velocities
      (phase space), animated in lockstep, with the 95% circle of N(0, M I).
    * The slider's label names the step and, for annealed Langevin, sigma (CLD: t).
    """
    pos = traj.positions
    n_frames, n = pos.shape[0], pos.shape[1]
    kinetic = traj.velocities is not None
    panels = 2 if kinetic else 1
    k = min(drawn_count(n, n_frames, panels), max(1, max_points // max(1, n_frames * panels)))
    p = f32(pos[:, :k])
    if kinetic:
        fig = make_subplots(1, 2, column_widths=[0.58, 0.42], horizontal_spacing=0.08,
                            subplot_titles=["position x", "velocity v"])
    else:
        fig = go.Figure()
    images = [density_image(density)] if density is not None else []
    quiver_idx = None
    fields = level_fields or None
    level_of_frame = None
    if fields is not None:
        level_of_frame = field_of_frame(fields, traj.levels)
        field = fields[level_of_frame[0]]
    if field is not None:
        ref = max(float(np.nanpercentile(f.magnitude, 95)) for f in (fields or [field])
                  if np.isfinite(f.magnitude).any()) if (fields or [field]) else None
        quiver_idx = len(fig.data)
        fig.add_trace(quiver_trace(field, normalise=normalise, colour=False, size=14, ref=None if normalise else ref))
    trail_idx = []
    n_trail = min(TRAIL_PARTICLES, k) if trails and n_frames > 2 else 0
    trail_data = []
    if n_trail:
        for band in TRAIL_BANDS:
            arr = _trail_arrays(p[:, :n_trail], band, max_jump=0.12 * max(box[1] - box[0], box[3] - box[2]))
            trail_data.append(arr)
            trail_idx.append(len(fig.data))
            fig.add_trace(go.Scatter(x=arr[0, :, 0], y=arr[0, :, 1], mode="lines", hoverinfo="skip",
                                     line=dict(color=TRAIL, width=1.6), opacity=band[2], connectgaps=False))
    part_idx = len(fig.data)
    marker = dict(size=6 if k > 400 else 8, color=PARTICLE, line=dict(width=0.6, color="#ffffff"))
    fig.add_trace(go.Scatter(x=p[0, :, 0], y=p[0, :, 1], mode="markers", marker=marker, hoverinfo="skip",
                             name=traj.sampler))
    vel_idx = None
    if kinetic:
        vel = f32(traj.velocities[:, :k])
        mass = float(traj.params.get("mass", traj.params.get("cld", {}).get("mass", 1.0)))
        r95 = math.sqrt(mass * 5.991)                   # P(chi2_2 < 5.991) = 0.95
        th = np.linspace(0, 2 * np.pi, 120)
        fig.add_trace(go.Scatter(x=f32(r95 * np.cos(th)), y=f32(r95 * np.sin(th)), mode="lines", hoverinfo="skip",
                                 line=dict(color=REFERENCE, width=2, dash="dash")), row=1, col=2)
        vel_idx = len(fig.data)
        fig.add_trace(go.Scatter(x=vel[0, :, 0], y=vel[0, :, 1], mode="markers", marker=marker, hoverinfo="skip"),
                      row=1, col=2)
        finite = np.abs(vel[np.isfinite(vel)])
        vmax = max(1.6 * r95, float(np.percentile(finite, 99.5)) if finite.size else r95) * 1.05
        _axes(fig, box, row=1, col=1)
        fig.update_yaxes(scaleanchor="x", scaleratio=1, row=1, col=1)
        _axes(fig, (-vmax, vmax, -vmax, vmax), row=1, col=2, title_x="v₁", title_y="v₂")
        fig.update_yaxes(scaleanchor="x2", scaleratio=1, row=1, col=2)
    else:
        _axes(fig, box)
        fig.update_yaxes(scaleanchor="x", scaleratio=1)

    # frames: only what moves
    if level_of_frame is not None:
        styles = [quiver_style(f, normalise=normalise, size=14, ref=None if normalise else ref) for f in fields]
        # frames carry whole degrees as int16 in [-180, 180): half of float32's bytes (CLD
        # sends a field every frame); a 0.5 degree turn moves a 14 px arrow's tip by 0.1 px.
        # Signed and already in plotly.py's angle range: its validator wraps angles to
        # [-180, 180) in the array's own dtype, which corrupts unsigned arrays.
        turns = [np.rint(np.mod(st["angle"] + 180.0, 360.0) - 180.0).astype(np.int16) for st in styles]
    # a text trace in the corner names the step and the noise level (sigma, or CLD's t)
    # as the frames advance: a frame's layout (title, annotations) is not redrawn with
    # redraw=False, a scatter trace's text is (checked in Chromium)
    unit = registry.get(traj.sampler).level if traj.sampler in registry.SAMPLERS else None
    labels = _frame_labels(traj, unit)
    x0, x1, y0, y1 = box
    label_idx = len(fig.data)
    fig.add_trace(go.Scatter(x=[x0 + 0.02 * (x1 - x0)], y=[y1 - 0.02 * (y1 - y0)], mode="text", text=[labels[0]],
                             textposition="bottom right", hoverinfo="skip", showlegend=False,
                             textfont=dict(size=FONT + 4, color="#ffffff", weight=700, shadow="0px 0px 4px #000000")),
                  **({"row": 1, "col": 1} if kinetic else {}))
    sub = f"{k:,} of {n:,} particles drawn" if k < n else f"{n:,} particles"
    frames, names = [], []
    for i in range(n_frames):
        data, idx = [], []
        if level_of_frame is not None:
            j = level_of_frame[i]
            mk = dict(angle=turns[j]) if normalise else dict(angle=turns[j], size=styles[j]["size"])
            data.append(go.Scatter(marker=mk))
            idx.append(quiver_idx)
        for arr, t in zip(trail_data, trail_idx):
            data.append(go.Scatter(x=arr[i, :, 0], y=arr[i, :, 1]))
            idx.append(t)
        data.append(go.Scatter(x=p[i, :, 0], y=p[i, :, 1]))
        idx.append(part_idx)
        if vel_idx is not None:
            data.append(go.Scatter(x=vel[i, :, 0], y=vel[i, :, 1]))
            idx.append(vel_idx)
        data.append(go.Scatter(text=[labels[i]]))
        idx.append(label_idx)
        names.append(str(i))
        frames.append(go.Frame(name=str(i), data=data, traces=idx))
    fig.frames = frames
    fig.update_layout(images=images)
    menus, sliders = _controls(names, labels, frame_ms=frame_ms, plot_px=height - 70 - BOTTOM)
    fig.update_layout(updatemenus=menus, sliders=sliders)
    _layout(fig, height=height, title=f"<b>{title or traj.sampler}</b> · {sub}", top=70, bottom=BOTTOM)
    return fig


def compare_drawn_count(n_particles: int, n_frames: int, panels: int, max_points: int = POINT_FRAMES) -> int:
    """Particles drawn per panel of a Compare animation (``compare_figure``; the GIF/MP4
    export draws the same subsample so it looks the same)."""
    return min(drawn_count(n_particles, n_frames, panels), max(1, max_points // max(1, n_frames * panels)))


def timeline_frames(traj, n_frames: int) -> np.ndarray:
    """Which of ``traj``'s frames timeline frame i shows when runs of different lengths
    share one timeline of ``n_frames``: frame round(i (F - 1)/(n_frames - 1)), the same
    fraction of the run; a run that diverged holds its last frame."""
    fj = traj.positions.shape[0]
    if traj.diverged_at is not None:
        return np.minimum(np.arange(n_frames), fj - 1)
    if fj < n_frames:
        return np.rint(np.arange(n_frames) * (fj - 1) / max(n_frames - 1, 1)).astype(int)
    return np.arange(n_frames)


def _compare_times(trajs: dict, n_frames: int, i: int) -> str:
    """The time t of each run whose frames carry one (CLD, the score SDEs) at timeline
    frame i: once where they agree to the label's 3 decimals, else one per run."""
    ts = {t.sampler: float(t.levels[timeline_frames(t, n_frames)[i]]) for t in trajs.values()
          if registry.get(t.sampler).level == "t" and t.levels is not None}
    shown = {f"{v:.3f}" for v in ts.values()}
    if not ts:
        return ""
    if len(shown) == 1:
        return f" · t = {shown.pop()}"
    return " · " + " · ".join(f"{name} t = {v:.3f}" for name, v in ts.items())


def compare_figure(trajs: dict, box, *, density: DensityGrid | None = None, frame_ms=60, height=640,
                   max_points: int = POINT_FRAMES, notes: dict | None = None) -> go.Figure:
    """2-4 runs in lockstep: one panel each over the same density, one timeline.

    Runs record different step counts, so the timeline is the fraction of each run
    done: timeline frame i shows frame round(i (F_j - 1)/(F - 1)) of run j (a run that
    diverged holds its last frame). Every frame updates every particle trace."""
    names = list(trajs)
    m = len(names)
    n_frames = max(t.positions.shape[0] for t in trajs.values())
    n = max(t.positions.shape[1] for t in trajs.values())
    k = compare_drawn_count(n, n_frames, m, max_points)
    notes = notes or {}
    titles = [name + (f" ({notes[name]})" if notes.get(name) else "") for name in names]
    fig = make_subplots(1, m, subplot_titles=titles, horizontal_spacing=0.03)
    part_idx, series, images = [], [], []
    for j, name in enumerate(names):
        ax = "" if j == 0 else str(j + 1)
        if density is not None:
            images.append(density_image(density, xref="x" + ax, yref="y" + ax))
        pos = f32(trajs[name].positions[:, :k])
        series.append(pos[timeline_frames(trajs[name], n_frames)])
        part_idx.append(len(fig.data))
        fig.add_trace(go.Scatter(x=series[-1][0, :, 0], y=series[-1][0, :, 1], mode="markers", hoverinfo="skip",
                                 marker=dict(size=5 if k > 400 else 7, color=PARTICLE,
                                             line=dict(width=0.5, color="#ffffff"))),
                      row=1, col=j + 1)
        _axes(fig, box, row=1, col=j + 1, title_y="x₂" if j == 0 else "")
        fig.update_yaxes(scaleanchor="x" + ax, scaleratio=1, row=1, col=j + 1, showticklabels=(j == 0))
    frames = []
    for i in range(n_frames):
        frames.append(go.Frame(name=str(i), traces=part_idx,
                               data=[go.Scatter(x=s[i, :, 0], y=s[i, :, 1]) for s in series]))
    fig.frames = frames
    fig.update_layout(images=images)
    labels = [f"{round(100 * i / max(n_frames - 1, 1))}% of each run" + _compare_times(trajs, n_frames, i)
              for i in range(n_frames)]
    menus, sliders = _controls([str(i) for i in range(n_frames)], labels, frame_ms=frame_ms,
                               plot_px=height - 90 - BOTTOM)
    fig.update_layout(updatemenus=menus, sliders=sliders)
    sub = f"{k:,} of {n:,} particles drawn per panel" if k < n else f"{n:,} particles per panel"
    return _layout(fig, height=height, title=sub, top=90, bottom=BOTTOM)


def fokker_planck_figure(traj, sol, box, *, density: DensityGrid | None = None, cells: int = 40,
                         frame_ms=FRAME_MS, height=640, max_points: int = POINT_FRAMES) -> go.Figure:
    """The particles (left) beside their Fokker-Planck density p_t (right) on one timeline:
    frame f of both is the run's recorded step ``traj.steps[f]`` (``sol.steps``). p_t is
    drawn as ``cells`` x ``cells`` square markers over ``box`` whose colours (uint8, one
    log scale for every frame: sent as compact typed arrays) change per frame, so the frames
    keep redraw=False like the other animations."""
    from .fokker_planck import Grid
    n_frames = len(sol.times)
    pos = f32(traj.positions)
    k = min(pos.shape[1], max(1, max_points // max(1, n_frames)))
    fig = make_subplots(1, 2, horizontal_spacing=0.06,
                        subplot_titles=["particles", f"Fokker–Planck density p_t, log scale ({sol.grid.n}² cells)"])
    if density is not None:
        fig.update_layout(images=[density_image(density, xref="x", yref="y")])
    fig.add_trace(go.Scatter(x=pos[0, :k, 0], y=pos[0, :k, 1], mode="markers", hoverinfo="skip",
                             marker=dict(size=5 if k > 400 else 7, color=PARTICLE, line=dict(width=0.5, color="#ffffff"))),
                  row=1, col=1)
    view = Grid(tuple(box), cells)                # the displayed cells: p_t sampled at their centres
    g = sol.grid
    ix = np.clip(np.round((view.x - g.box[0]) / g.dx - 0.5).astype(int), 0, g.n - 1)
    iy = np.clip(np.round((view.y - g.box[2]) / g.dy - 0.5).astype(int), 0, g.n - 1)
    shown = sol.density[:, iy][:, :, ix]                              # (F, cells, cells)
    # log colours over 8 nats below the largest value of any frame: the broad start and the
    # narrow end both readable on one scale
    logs = np.log(np.maximum(shown, 1e-300))
    top = float(logs.max())
    colours = np.clip(np.round(255 * (logs - top + 8) / 8), 0, 255).astype(np.uint8).reshape(n_frames, -1)
    xx, yy = np.meshgrid(view.x, view.y)
    fig.add_trace(go.Scatter(x=f32(xx.ravel()), y=f32(yy.ravel()), mode="markers", hoverinfo="skip",
                             marker=dict(symbol="square", size=max(3, int(0.9 * 460 / cells)), color=colours[0],
                                         colorscale="Viridis", cmin=0, cmax=255, line=dict(width=0))),
                  row=1, col=2)
    fig.frames = [go.Frame(name=str(i), traces=[0, 1],
                           data=[go.Scatter(x=pos[i, :k, 0], y=pos[i, :k, 1]), go.Scatter(marker=dict(color=colours[i]))])
                  for i in range(n_frames)]
    for col in (1, 2):
        _axes(fig, box, row=1, col=col, title_y="x₂" if col == 1 else "")
    fig.update_yaxes(scaleanchor="x", scaleratio=1, row=1, col=1)
    fig.update_yaxes(scaleanchor="x2", scaleratio=1, row=1, col=2)
    kl = sol.kl if sol.kl is not None else [None] * n_frames
    labels = [f"step {int(s)} · t = {t:.3g}" + (f" · KL(p_t ‖ π) = {v:.3g}" if v is not None else "")
              for s, t, v in zip(sol.steps, sol.times, kl)]
    menus, sliders = _controls([str(i) for i in range(n_frames)], labels, frame_ms=frame_ms,
                               plot_px=height - 90 - BOTTOM)
    fig.update_layout(updatemenus=menus, sliders=sliders, showlegend=False)
    return _layout(fig, height=height, top=90, bottom=BOTTOM)


def kl_figure(sol, gaps=None, *, by_step: bool = False, height=360) -> go.Figure | None:
    """KL(p_t || pi) against t (``by_step``: against the run's step, which spreads annealed
    Langevin's levels by their steps rather than by their time) on a log axis, and
    (``gaps``: per frame (TV, noise)) how far the particles' histogram is from p_t in units
    of its sampling noise."""
    if sol.kl is None:
        return None
    fig = make_subplots(1, 2 if gaps is not None else 1, horizontal_spacing=0.12,
                        subplot_titles=["KL(p_t ‖ π)", "particles vs p_t: TV ÷ its noise"][: 2 if gaps is not None else 1])
    t = np.asarray(sol.steps if by_step and sol.steps is not None else sol.times, dtype=float)
    axis = "step" if by_step else "t"
    fig.add_trace(go.Scatter(x=t, y=np.maximum(sol.kl, 1e-12), mode="lines", line=dict(color="#3b528b", width=3)),
                  row=1, col=1)
    fig.update_yaxes(type="log", exponentformat="power", dtick=1, row=1, col=1)     # decades only
    fig.update_xaxes(title=axis, row=1, col=1)
    if gaps is not None:
        g = np.asarray(gaps, dtype=float)
        fig.add_trace(go.Scatter(x=t, y=g[:, 0] / g[:, 1], mode="lines", line=dict(color="#21918c", width=3)),
                      row=1, col=2)
        fig.add_hline(y=1.0, line=dict(color="#888", dash="dash"), row=1, col=2)
        fig.update_xaxes(title=axis, row=1, col=2)
    if t[-1] < t[0]:           # a reverse-time run: t falls from 1, so time still flows left to right
        fig.update_xaxes(autorange="reversed")
    fig.update_layout(showlegend=False)
    return _layout(fig, height=height, top=50, bottom=60)


def contrast_kl_figure(curves: list[dict], label: str, height=380) -> go.Figure:
    """KL(p_t || pi) against t on a log axis, one line per value of a knob
    (``scene.fp_contrast``), each named with its fitted rate and the rates it is set
    against."""
    fig = go.Figure()
    colours = ["#3b528b", "#d95f02", "#21918c", "#7570b3"]
    for i, c in enumerate(curves):
        name = f"{label} {c['value']:g}: KL ∝ e^(−{c['rate']:.2f} t) · 2λ = {c['gap_rate']:.2f}"
        if c.get("kramers") is not None:
            name += f" · Kramers {c['kramers']:.2f}"
        fig.add_trace(go.Scatter(x=c["times"], y=np.maximum(c["kl"], 1e-12), mode="lines", name=name,
                                 line=dict(color=colours[i % len(colours)], width=3)))
    fig.update_yaxes(type="log", title="KL(p_t ‖ π)", exponentformat="power", dtick=1)
    fig.update_xaxes(title="t")
    _layout(fig, height=height, title=f"KL(p_t ‖ π) for each {label.rstrip(' =')}", top=60, bottom=130)
    return fig.update_layout(showlegend=True, legend=dict(orientation="h", y=-0.28, x=0, font=dict(size=FONT)))


# ----- results ----------------------------------------------------------------------
def final_figure(samples, reference, box, *, density: DensityGrid | None = None, label="last frame",
                 reference_label="exact draws", height=360) -> go.Figure:
    """Final samples beside exact draws, over the same density and axes."""
    panels = [dict(density=density, samples=reference, title=reference_label),
              dict(density=density, samples=samples, title=label)]
    fig = panels_figure(panels, box, height=height)
    for tr in fig.data:
        if isinstance(tr, go.Heatmap):
            tr.showscale = False
            tr.opacity = 0.85
    return fig


def likelihood_figure(got: dict, *, height=360) -> go.Figure | None:
    """Each point's log-likelihood through the probability-flow ODE against its exact
    log-density (``scene.likelihood``), with the line where they agree."""
    if not got or got.get("exact") is None:
        return None
    exact, ode = np.asarray(got["exact"]), np.asarray(got["ode"])
    lo, hi = float(min(exact.min(), ode.min())), float(max(exact.max(), ode.max()))
    fig = go.Figure([go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line=dict(color="#888", dash="dash"),
                                name="agreement"),
                     go.Scatter(x=exact, y=ode, mode="markers", marker=dict(size=7, color="#1f77b4"),
                                name="points")])
    fig.update_xaxes(title="exact log p(x)")
    fig.update_yaxes(title="log p(x) through the ODE")
    _layout(fig, height=height, title=f"{len(ode)} draws: ODE vs exact log p", top=50)
    fig.update_layout(showlegend=False)
    return fig


def mode_weights_figure(evals: dict, *, height=360) -> go.Figure | None:
    """Per-mode weights of each run (bars) against the true weights (black ticks)."""
    evs = {k: e for k, e in evals.items() if e and "mode_weights" in e}
    if not evs:
        return None
    first = next(iter(evs.values()))
    true = np.asarray(first["true_mode_weights"])
    modes = [str(i + 1) for i in range(len(true))]
    fig = go.Figure()
    for j, (name, e) in enumerate(evs.items()):
        fig.add_trace(go.Bar(x=modes, y=f32(e["mode_weights"]), name=name,
                             marker_color=["#3b528b", "#21918c", "#5ec962", "#fde725"][j % 4]))
    fig.add_trace(go.Scatter(x=modes, y=f32(true), mode="markers", name="truth",
                             marker=dict(symbol="line-ew-open", size=34, color=REFERENCE,
                                         line=dict(width=4, color=REFERENCE))))
    fig.update_layout(barmode="group", yaxis=dict(title="weight", rangemode="tozero"), xaxis=dict(title="mode"),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0), showlegend=True)
    _layout(fig, height=height, top=80, bottom=50)
    fig.update_layout(showlegend=True)
    return fig


def metrics_rows(runs: dict) -> list[dict]:
    """One row per metric, one column per run: ``runs`` maps a name to a dict with
    ``traj`` (Trajectory), ``eval`` (``simulate.evaluate``'s dict) and ``seconds``."""
    rows = {}

    def put(metric, name, value):
        rows.setdefault(metric, {"metric": metric})[name] = value

    for name, r in runs.items():
        tr, ev = r["traj"], r.get("eval") or {}
        ed, fl = ev.get("energy_distance"), ev.get("energy_distance_floor")
        if any(registry.get(x["traj"].sampler).ends == "noise" for x in runs.values()):
            noise = registry.get(tr.sampler).ends == "noise"
            put("judged against", name, "exact p₁, where it ends" if noise else "the target")
        put("energy distance", name, energy_text(ed, fl))
        put("noise floor (99% of exact sets below)", name, _fmt(fl))
        put("verdict", name, _verdict(ed, fl))
        if "mode_weights" in ev:
            put("modes hit", name, f"{ev['modes_hit']} of {ev['n_modes']}")
            put("largest weight error", name, _fmt(ev["max_weight_error"]))
            put("within-mode spread (std ÷ true std)", name, _fmt(ev["spread"]))
        if any(x["traj"].acceptance is not None for x in runs.values()):
            put("MALA acceptance", name, _fmt(tr.acceptance) if tr.acceptance is not None else "—")
        put("steps", name, str(int(tr.steps[-1])))
        put("seconds", name, _fmt(r.get("seconds")))
        put("status", name, f"diverged at step {tr.diverged_at}" if tr.diverged_at is not None else "ok")
    # the mode rows in their place and "—" where a run has none (a forward run ends on noise)
    order = ["judged against", "energy distance", "noise floor (99% of exact sets below)", "verdict", "modes hit",
             "largest weight error", "within-mode spread (std ÷ true std)", "MALA acceptance", "steps", "seconds",
             "status"]
    return [{**{"metric": m}, **{name: rows[m].get(name, "—") for name in runs}} for m in order if m in rows]


def energy_text(ed, floor) -> str:
    """The energy distance as a student should read it. The unbiased estimate scatters
    around 0 for exact draws and can be negative; under the noise floor it is shown as
    "≈ 0" (the raw value stays in the JSON and the exports)."""
    if ed is None or floor is None or not (math.isfinite(ed) and math.isfinite(floor)):
        return _fmt(ed)
    return "≈ 0 (within noise)" if ed <= floor else _fmt(ed)


def _verdict(ed, floor) -> str:
    """Energy distance against its noise floor: the value 99% of exact sample sets of the
    same size stay below (``metrics.energy_null``), so exact draws are called off 1% of
    the time."""
    if ed is None or floor is None or not (math.isfinite(ed) and math.isfinite(floor)):
        return "—"
    if ed <= floor:
        return "at the noise floor"
    if floor <= 0:
        return "above the noise floor"
    r = ed / floor
    return f"{r:.1f}× the noise floor" if r < 10 else f"{r:,.0f}× the noise floor"


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    v = float(v)
    return f"{v:.3g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def payload_bytes(fig: go.Figure) -> int:
    """Size of the JSON the browser receives for ``fig``."""
    return len(fig.to_json().encode())


# ----- the Train page ---------------------------------------------------------------
FISHER_TARGET = 0.05      # the Fisher chart's dotted line: the training target (benchmarks/training.py)


def _train_layout(fig, *, title, **kw) -> go.Figure:
    fig.update_layout(title=title, height=330, font_size=FONT, **kw)
    return fig


def loss_figure(curve) -> go.Figure:
    """The loss chart: batch losses (grey) and their moving average, from
    ``diagnostics.loss_curve`` (an empty chart for None)."""
    fig = go.Figure()
    if curve is not None:
        fig.add_scatter(x=curve.step, y=curve.loss, mode="lines", name="batch loss",
                        line=dict(color="#bbbbbb", width=1))
        fig.add_scatter(x=curve.smooth_step, y=curve.smooth, mode="lines", name="smoothed",
                        line=dict(color=PARTICLE, width=3))
    return _train_layout(fig, title="loss", xaxis_title="step", margin=dict(l=60, r=20, t=50, b=50),
                         legend=dict(orientation="h", y=1.15, x=0.4))


def fisher_figure(fisher, *, target=FISHER_TARGET) -> go.Figure | None:
    """The relative Fisher divergence against the step, log scale, from
    ``diagnostics.fisher_curves`` (None for None), with a dotted line at ``target``."""
    if fisher is None:
        return None
    fig = go.Figure()
    for c in fisher.curves:
        fig.add_scatter(x=c["x"], y=c["y"], mode="lines", name=c["name"],
                        **({"line": dict(dash="dash", color="#888888")} if c["dashed"] else {}))
    fig.add_hline(y=target, line_dash="dot", annotation_text=f"{target:g}")
    return _train_layout(fig, title=fisher.title, xaxis_title="step", yaxis_type="log",
                         margin=dict(l=60, r=20, t=50, b=50), legend=dict(font_size=12))


def error_map_figure(error) -> go.Figure:
    """|s − s*| on the field panels' lattice (``diagnostics.ErrorMap``), equal axes."""
    fig = go.Figure(go.Heatmap(x=error.x, y=error.y, z=error.z.astype(np.float32), colorscale="Cividis",
                               colorbar=dict(title="|s − s*|")))
    return _train_layout(fig, title="pointwise error |s − s*|, s* = the left panel's field",
                         margin=dict(l=60, r=20, t=50, b=40), yaxis_scaleanchor="x")
