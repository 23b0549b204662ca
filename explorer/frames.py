"""GIF/MP4 frames of the app's animations drawn with matplotlib (Agg), in the style of
``explorer.figures`` (its constants: Viridis density image, white arrows with a dark
rim, red-orange particles, white fading trails, FONT): one style definition serves the
Plotly figures and these frames. ``explorer.export`` sets a renderer up as the Sample
page (one panel) or the Compare page (several panels on one timeline) draws."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import fields as F
from . import figures as G
from . import registry
from .samplers import Trajectory

VIDEO_PX = 720          # GIF/MP4 frame side in pixels (a multiple of 16 for H.264)
PANEL_PX = 480          # side of one Compare panel in a GIF/MP4 frame (pixels)
PT = 0.75               # Plotly's px -> matplotlib points at 100 dpi (1 pt = 1/72 in)


@dataclass
class Panel:
    """One axes of a GIF/MP4 frame: a run, the arrows under it, and which of the run's
    frames each timeline frame shows (None: frame i; see ``figures.timeline_frames``)."""
    traj: Trajectory
    title: str | None = None
    field: F.FieldGrid | None = None
    level_fields: list | None = None
    frames: np.ndarray | None = None


class FrameRenderer:
    """Draws frames with matplotlib (Agg) in the figures' style (the constants of
    ``explorer.figures``), one panel or several side by side on one timeline. The
    static layer (density, fixed arrows, axes, titles) is rendered once and restored
    before each frame (blitting); each frame redraws only particles, trails, arrows
    that follow σ (or CLD's t) and labels."""

    def __init__(self, panels: list[Panel], box, *, density=None, trails=True, drawn: int, marker_px: float,
                 title: str, timeline: list[str] | None = None, size=(VIDEO_PX, VIDEO_PX), rects=None, dpi=100):
        import matplotlib
        matplotlib.use("Agg", force=False)
        import matplotlib.patheffects as pe
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        w, h = size
        fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi, facecolor="white")
        self.canvas = FigureCanvasAgg(fig)
        self.fig = fig
        self.k = drawn
        self._stroke = [pe.withStroke(linewidth=3, foreground="black")]
        fig.suptitle(title, x=0.02 * VIDEO_PX / w, ha="left", fontsize=G.TITLE_FONT * PT, fontweight="bold")
        rects = rects or [[0.11, 0.09, 0.86, 0.82]]
        self.panels = [self._panel(fig.add_axes(rect), p, box, density, trails, marker_px, first=j == 0,
                                   label=timeline is None)
                       for j, (rect, p) in enumerate(zip(rects, panels))]
        self.n_frames = len(self.panels[0]["pos"])
        self.timeline = timeline
        self.timeline_text = None
        if timeline is not None:        # the Compare slider's label: "42% of each run"
            self.timeline_text = fig.text(1 - 0.02 * VIDEO_PX / w, 1 - 0.025 * VIDEO_PX / h, timeline[0],
                                          ha="right", va="top", fontsize=(G.FONT + 2) * PT, color="#222222",
                                          animated=True)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(fig.bbox)

    def _panel(self, ax, p: Panel, box, density, trails, marker_px, *, first: bool, label: bool) -> dict:
        x0, x1, y0, y1 = box
        traj = p.traj
        pick = np.arange(traj.n_frames) if p.frames is None else np.asarray(p.frames)
        pos = G.f32(traj.positions[:, :self.k])[pick]
        ax.set_aspect("equal", adjustable="box")
        fs = G.FONT * PT
        ax.tick_params(labelsize=fs, labelleft=first)
        ax.set_xlabel("x₁", fontsize=fs)
        if first:
            ax.set_ylabel("x₂", fontsize=fs)
        if p.title:
            ax.set_title(p.title, fontsize=(G.FONT + 2) * PT)
        if density is not None:
            dx = (density.box[1] - density.box[0]) / max(len(density.x) - 1, 1)
            dy = (density.box[3] - density.box[2]) / max(len(density.y) - 1, 1)
            ax.imshow(G.density_rgb(density), extent=(density.box[0] - dx / 2, density.box[1] + dx / 2,
                                                      density.box[2] - dy / 2, density.box[3] + dy / 2),
                      interpolation="bilinear", zorder=0, aspect="auto")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        out = {"ax": ax, "pos": pos, "quiver": None, "fields": p.level_fields, "trails": [], "text": None}
        if p.level_fields:              # annealed: sigma per frame; CLD: t per frame
            out["level_of_frame"] = F.field_of_frame(p.level_fields, np.asarray(traj.levels)[pick])
            out["unit"] = [self._unit(f) for f in p.level_fields]
        fg = p.level_fields[out["level_of_frame"][0]] if p.level_fields else p.field
        if fg is not None:
            u, v = self._unit(fg)
            out["quiver"] = ax.quiver(fg.x, fg.y, u, v, color=G.ARROW, edgecolor=G.ARROW_EDGE, linewidth=0.6,
                                      pivot="middle", angles="xy", scale_units="xy", scale=1.0 / (0.75 * fg.spacing),
                                      width=0.006, headwidth=3.5, headlength=4, zorder=2,
                                      animated=bool(p.level_fields))
        n_trail = min(G.TRAIL_PARTICLES, self.k) if trails and len(pos) > 2 else 0
        for band in (G.TRAIL_BANDS if n_trail else ()):
            arr = G._trail_arrays(pos[:, :n_trail], band, max_jump=0.12 * max(x1 - x0, y1 - y0))
            (line,) = ax.plot([], [], color=G.TRAIL, lw=1.6, alpha=band[2], zorder=3, animated=True)
            out["trails"].append((line, arr))
        out["scat"] = ax.scatter(pos[0, :, 0], pos[0, :, 1], s=(marker_px * PT) ** 2, c=G.PARTICLE,
                                 edgecolors="white", linewidths=0.45, zorder=4, animated=True)
        if label:                       # the Sample animation's step / σ / t label
            labels = G._frame_labels(traj, registry.get(traj.sampler).level if traj.sampler in registry.SAMPLERS
                                     else None)
            out["labels"] = [labels[f] for f in pick]
            out["text"] = ax.text(0.02, 0.98, out["labels"][0], transform=ax.transAxes, ha="left", va="top",
                                  fontsize=(G.FONT + 4) * PT, color="white", fontweight="bold", zorder=5,
                                  animated=True, path_effects=self._stroke)
        return out

    @staticmethod
    def _unit(fg):
        mag = np.hypot(fg.u, fg.v)
        ok = np.isfinite(mag) & (mag > 0)
        safe = np.where(ok, mag, 1.0)
        return np.where(ok, fg.u / safe, 0.0), np.where(ok, fg.v / safe, 0.0)

    def frame(self, i: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB of timeline frame i."""
        self.canvas.restore_region(self.background)
        for p in self.panels:
            ax = p["ax"]
            if p["fields"]:
                p["quiver"].set_UVC(*p["unit"][p["level_of_frame"][i]])
                ax.draw_artist(p["quiver"])
            for line, arr in p["trails"]:
                line.set_data(arr[i, :, 0], arr[i, :, 1])
                ax.draw_artist(line)
            p["scat"].set_offsets(p["pos"][i])
            ax.draw_artist(p["scat"])
            if p["text"] is not None:
                p["text"].set_text(p["labels"][i])
                ax.draw_artist(p["text"])
        if self.timeline_text is not None:
            self.timeline_text.set_text(self.timeline[i])
            self.fig.draw_artist(self.timeline_text)
        buf = np.asarray(self.canvas.buffer_rgba())
        return buf[..., :3].copy()
