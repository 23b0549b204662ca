"""Drawn data sets: strokes drawn with the mouse over a fixed box become a point set that
is a data set like ``moons`` (its KDE, every sampler, training, exports).

* ``BOX`` is the canvas: a point drawn at (1, 2) is the data point (1, 2). The canvas is
  square and maps pixels linearly, y upwards (``to_data`` / ``to_canvas``).
* A stroke becomes points spaced evenly along its arc length (``spacing``), each moved by
  Gaussian ``jitter`` (the stroke's thickness); a single click adds one point.
* ``encode`` packs a drawing into a short URL-safe code (each coordinate quantised to 12
  bits over the box, 3 bytes a point, zlib, base64url): 300 points take ~1,000 characters,
  well under the ~32,000 a browser accepts in a link.
* ``check`` refuses what has no density (no points, one point, all on one line) with a
  message that says what is accepted, and thins an over-long drawing with a note.
"""
from __future__ import annotations

import base64
import math
import zlib

import numpy as np

BOX = (-4.0, 4.0, -4.0, 4.0)
MAX_POINTS = 1000          # more are thinned (every k-th point): the KDE's cost grows with them
LEVELS = 4096              # 12 bits a coordinate: 8 / 4095 = 0.002 units, under a 600-px canvas's pixel (0.013)
MAX_CODE = 40_000          # characters of a code read from a link (MAX_POINTS points take ~4,000)
SPACING = 0.1              # data units between points along a stroke
JITTER = 0.05              # std of the Gaussian jitter around a stroke (its thickness)


class DrawingError(ValueError):
    """A drawing that cannot be a data set, in words for the user."""


# ----- canvas pixels <-> data coordinates ------------------------------------------------
def to_data(px: np.ndarray, size: int, box=BOX) -> np.ndarray:
    """Canvas pixels (x right, y down, 0..size) to data coordinates (y up) over ``box``."""
    px = np.asarray(px, dtype=np.float64).reshape(-1, 2)
    x0, x1, y0, y1 = box
    return np.stack([x0 + px[:, 0] / size * (x1 - x0), y1 - px[:, 1] / size * (y1 - y0)], 1)


def to_canvas(xy: np.ndarray, size: int, box=BOX) -> np.ndarray:
    """Data coordinates to canvas pixels (the inverse of ``to_data``)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    x0, x1, y0, y1 = box
    return np.stack([(xy[:, 0] - x0) / (x1 - x0) * size, (y1 - xy[:, 1]) / (y1 - y0) * size], 1)


# ----- strokes -> points -------------------------------------------------------------------
def resample(polyline: np.ndarray, spacing: float = SPACING) -> np.ndarray:
    """Points every ``spacing`` along a polyline's arc length, from its start (a polyline
    shorter than ``spacing`` gives its first point)."""
    p = np.asarray(polyline, dtype=np.float64).reshape(-1, 2)
    if len(p) == 1:
        return p.copy()
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    at = np.arange(0.0, arc[-1] + 1e-12, spacing)
    return np.stack([np.interp(at, arc, p[:, 0]), np.interp(at, arc, p[:, 1])], 1)


def points(strokes, clicks=(), *, spacing: float = SPACING, jitter: float = JITTER, seed: int = 0) -> np.ndarray:
    """The data set of a drawing: each stroke (a (k, 2) polyline in data coordinates)
    resampled every ``spacing`` and moved by N(0, jitter² I), stroke i from the seed
    (seed, i) so that a stroke's points stay put while others are drawn or undone; then
    each click exactly where it was made."""
    parts = []
    for i, s in enumerate(strokes):
        if len(s):
            pts = resample(s, spacing)
            if jitter > 0:
                pts = pts + jitter * np.random.default_rng((seed, i)).standard_normal(pts.shape)
            parts.append(pts)
    parts += [np.asarray(c, dtype=np.float64).reshape(1, 2) for c in clicks]
    return np.concatenate(parts) if parts else np.zeros((0, 2))


def _path_polyline(path) -> np.ndarray:
    """The vertices of a Fabric.js path (M/L/Q/C commands; curves by their end points
    and control points, which lie within a pixel of a freehand stroke's curve)."""
    out = []
    for cmd in path:
        vals = [float(v) for v in cmd[1:]]
        out += [vals[i:i + 2] for i in range(0, len(vals) - 1, 2)]
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def from_canvas(json_data: dict | None, size: int, box=BOX) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(strokes, clicks) in data coordinates from a streamlit-drawable-canvas drawing
    (``CanvasResult.json_data``): freehand 'path' objects are strokes, 'circle' objects
    (point mode) are clicks at their centres."""
    strokes, clicks = [], []
    for obj in (json_data or {}).get("objects", []):
        kind = obj.get("type", "").lower()
        if kind == "path" and obj.get("path"):
            strokes.append(to_data(_path_polyline(obj["path"]), size, box))
        elif kind == "circle":
            # Fabric places an object by its origin on the box around it, stroke included:
            # the point tool's dots have originX 'left', so their centre is half that box right
            half = (2 * float(obj.get("radius", 0.0)) + float(obj.get("strokeWidth", 0.0))) / 2
            shift = {"left": half, "center": 0.0, "right": -half, "top": half, "bottom": -half}
            cx = float(obj.get("left", 0.0)) + shift.get(obj.get("originX", "left"), 0.0) * float(obj.get("scaleX", 1.0))
            cy = float(obj.get("top", 0.0)) + shift.get(obj.get("originY", "top"), 0.0) * float(obj.get("scaleY", 1.0))
            clicks.append(to_data(np.array([[cx, cy]]), size, box)[0])
    return strokes, clicks


def canvas_drawing(xy: np.ndarray, size: int, box=BOX, radius: float = 2.5, colour: str = "#c2185b") -> dict:
    """A drawing (``initial_drawing``) that shows the points ``xy`` on the canvas, one
    small circle each (a shared link, an uploaded CSV or a starting shape)."""
    px = to_canvas(xy, size, box)
    objs = [{"type": "circle", "originX": "center", "originY": "center", "left": float(x), "top": float(y),
             "radius": radius, "fill": colour, "stroke": colour, "strokeWidth": 0} for x, y in px]
    return {"version": "7.0.0", "objects": objs}


# ----- what a data set needs ----------------------------------------------------------------
def check(xy, max_points: int = MAX_POINTS) -> tuple[np.ndarray, list[str]]:
    """(points, notes): the drawing as a data set, or DrawingError saying what is accepted.
    Points outside ``BOX`` are dropped with a note; above ``max_points`` every k-th point
    is kept, with a note."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    notes = []
    xy = xy[np.isfinite(xy).all(1)]
    inside = (xy[:, 0] >= BOX[0]) & (xy[:, 0] <= BOX[1]) & (xy[:, 1] >= BOX[2]) & (xy[:, 1] <= BOX[3])
    if not inside.all():
        notes.append(f"{int((~inside).sum())} points outside the canvas's box [{BOX[0]:g}, {BOX[1]:g}]² were left out")
        xy = xy[inside]
    need = "draw at least three points, not all on one line (a stroke, or clicks in two directions)"
    if len(xy) == 0:
        raise DrawingError(f"the drawing is empty: {need}")
    if len(np.unique(xy.round(6), axis=0)) < 3:
        raise DrawingError(f"the drawing has {len(np.unique(xy.round(6), axis=0))} distinct point(s): {need}")
    centred = xy - xy.mean(0)
    sv = np.linalg.svd(centred, compute_uv=False)
    if sv[1] <= 1e-3 * max(sv[0], 1e-12):
        raise DrawingError("every point lies on one line, which has no 2-D density (its KDE would be flat across it): "
                           "add points off the line, or draw with some jitter")
    if len(xy) > max_points:
        k = math.ceil(len(xy) / max_points)
        notes.append(f"{len(xy):,} points thinned to {len(xy[::k]):,} (one in {k} kept): at most {max_points:,} are used")
        xy = xy[::k]
    return xy, notes


# ----- sharing: a short URL-safe code ----------------------------------------------------------
def encode(xy, box=BOX) -> str:
    """A URL-safe code for the points (12 bits a coordinate over ``box``, zlib, base64url)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    x0, x1, y0, y1 = box
    qx = np.clip(np.round((xy[:, 0] - x0) / (x1 - x0) * (LEVELS - 1)), 0, LEVELS - 1).astype(np.uint32)
    qy = np.clip(np.round((xy[:, 1] - y0) / (y1 - y0) * (LEVELS - 1)), 0, LEVELS - 1).astype(np.uint32)
    word = (qx << 12) | qy
    raw = np.stack([(word >> 16) & 255, (word >> 8) & 255, word & 255], 1).astype(np.uint8).tobytes()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def decode(code: str, box=BOX) -> np.ndarray:
    """The points of a code from ``encode`` (within one quantum, 8/4095 units, of those encoded)."""
    if not isinstance(code, str) or len(code) > MAX_CODE:
        raise DrawingError(f"a drawing's code is a string of at most {MAX_CODE:,} characters")
    try:
        raw = zlib.decompress(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4)), bufsize=3 * MAX_POINTS)
    except (ValueError, zlib.error):
        raise DrawingError("the link's drawing could not be read (a code from 'Copy link' or the URL's drawing=…)") from None
    if len(raw) % 3 or len(raw) > 3 * 4 * MAX_POINTS:
        raise DrawingError("the link's drawing could not be read (a code from 'Copy link' or the URL's drawing=…)")
    b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.uint32)
    word = (b[:, 0] << 16) | (b[:, 1] << 8) | b[:, 2]
    x0, x1, y0, y1 = box
    return np.stack([x0 + (word >> 12) / (LEVELS - 1) * (x1 - x0), y0 + (word & 4095) / (LEVELS - 1) * (y1 - y0)], 1)


# ----- starting shapes ----------------------------------------------------------------------------
def _arc(cx, cy, r, a0, a1, n=60):
    t = np.linspace(a0, a1, n)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1)


def _shapes() -> dict:
    spiral_t = np.linspace(0.6, 4.2 * math.pi, 300)
    return {
        # a capital S: two half circles joined at the middle
        "letter S": [np.concatenate([_arc(0, 1.2, 1.2, 0.15 * math.pi, 1.5 * math.pi),
                                     _arc(0, -1.2, 1.2, 0.5 * math.pi, -1.0 * math.pi + 0.15 * math.pi)])],
        "smiley": [_arc(0, 0, 3.0, 0, 2 * math.pi, 160), _arc(0, -0.2, 1.8, -0.85 * math.pi, -0.15 * math.pi),
                   _arc(-1.1, 1.1, 0.3, 0, 2 * math.pi, 12), _arc(1.1, 1.1, 0.3, 0, 2 * math.pi, 12)],
        "spiral": [np.stack([0.25 * spiral_t * np.cos(spiral_t) - 0.4, 0.25 * spiral_t * np.sin(spiral_t) + 0.4], 1)],
    }


SHAPES = tuple(_shapes())


def shape(name: str, *, spacing: float = SPACING, jitter: float = JITTER, seed: int = 0) -> np.ndarray:
    """A ready drawing a lecturer can load and edit: 'letter S', 'smiley' or 'spiral'."""
    got = _shapes()
    if name not in got:
        raise DrawingError(f"unknown shape '{name}'; choose one of: {', '.join(got)}")
    return points(got[name], spacing=spacing, jitter=jitter, seed=seed)


DEFAULT_SHAPE = "smiley"
DEFAULT_CODE = encode(shape(DEFAULT_SHAPE))     # what 'drawn' shows before anything is drawn
