"""The drawing surface of the 'drawn' target (Density & field page): a
streamlit-drawable-canvas over ``explorer.drawing.BOX`` with the plots' axes behind it.
Its strokes and clicks become the target's points (``explorer.drawing``); its toolbar
has undo, redo and clear. A ready shape or a CSV file starts a fresh canvas with their
points as dots to edit."""
from __future__ import annotations

import io

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw, ImageFont
from streamlit_drawable_canvas import st_canvas

from explorer import drawing as DR
from explorer.data import DataError, accepted, read_xy
from pages import _state
from pages._widgets import widget

SIZE = 480                  # canvas pixels per side: 8 units / 480 px = 0.017 units a pixel
INK = "#c2185b"


@st.cache_data(show_spinner=False)
def _axes(size: int) -> bytes:
    """The plots' coordinates behind the canvas: a line at every integer, the axes darker,
    labels along the left and bottom edges (PNG)."""
    im = Image.new("RGB", (size, size), "#ffffff")
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=13)
    x0, x1, y0, y1 = DR.BOX
    for v in range(int(x0), int(x1) + 1):
        px, py = DR.to_canvas(np.array([[v, v]]), size)[0]
        colour = "#9e9e9e" if v == 0 else "#e6e6e6"
        d.line([(px, 0), (px, size)], fill=colour, width=1)
        d.line([(0, py), (size, py)], fill=colour, width=1)
        if x0 < v < x1:
            d.text((px + 2, size - 16), f"{v}", fill="#757575", font=font)
            d.text((3, py - 15), f"{v}", fill="#757575", font=font)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _load(points: np.ndarray, notes=()):
    st.session_state.pop("drawing_error", None)
    xy, more = DR.check(points)
    _state.set_drawing(DR.encode(xy), base=DR.decode(DR.encode(xy)))
    st.session_state["drawing_notes"] = [*notes, *more]


def _load_shape():
    _load(DR.shape(st.session_state["draw_shape"]))


def _load_csv():
    up = st.session_state.get("draw_csv")
    if up is None:
        return
    try:
        got = read_xy(up.getvalue())
        _load(got.points, got.notes)
    except (DataError, DR.DrawingError) as e:
        st.session_state["drawing_error"] = f"{up.name}: {e}"


def _clear():
    st.session_state["drawing_base"] = np.zeros((0, 2))
    st.session_state["drawing_version"] = st.session_state.get("drawing_version", 0) + 1
    st.session_state["drawing_notes"] = []


def panel():
    """The canvas, its tools, the point count and the drawing as a CSV file."""
    code = _state.drawing()
    base = st.session_state["drawing_base"]
    left, right = st.columns([3, 2])
    with right:
        tool = widget("draw_tool")
        spacing = widget("draw_spacing", disabled=tool != "strokes")
        jitter = widget("draw_jitter", disabled=tool != "strokes")
        a, b = st.columns([3, 2], vertical_alignment="bottom")
        a.selectbox("ready drawing", DR.SHAPES, key="draw_shape")
        b.button("Load", on_click=_load_shape, key="draw_load", help="replaces the canvas with this shape")
        st.button("Clear the canvas", on_click=_clear, key="draw_clear", icon="🗑️",
                  help="an empty canvas to draw on (the pages keep the last drawing until you draw)")
        st.file_uploader("or put a CSV file on the canvas", type=["csv", "txt", "tsv"], key="draw_csv",
                         on_change=_load_csv, help=accepted())
    with left:
        res = st_canvas(stroke_width=3, stroke_color=INK, fill_color=INK, background_image=_axes(SIZE),
                        drawing_mode="freedraw" if tool == "strokes" else "point", point_display_radius=3,
                        initial_drawing=DR.canvas_drawing(base, SIZE, colour=INK), width=SIZE, height=SIZE,
                        key=f"drawing_canvas_{st.session_state.get('drawing_version', 0)}")
    current = DR.decode(code)
    with right:
        # until its first send the canvas holds its start: the base points, one dot each
        drawn = res.json_data if res.json_data is not None else DR.canvas_drawing(base, SIZE)
        strokes, clicks = DR.from_canvas(drawn, SIZE)
        try:
            xy, notes = DR.check(DR.points(strokes, clicks, spacing=spacing, jitter=jitter))
        except DR.DrawingError as e:
            st.error(f"{str(e)[0].upper()}{str(e)[1:]}. The pages keep the last drawing ({len(current):,} points).")
        else:
            for note in notes:
                st.info(note)
            new = DR.encode(xy)
            if new != code:
                _state.set_drawing(new)
                st.rerun()
        for note in st.session_state.get("drawing_notes", []):
            st.info(note)
        if st.session_state.get("drawing_error"):
            st.error(f"{st.session_state['drawing_error']}. The canvas keeps its drawing.")
        st.metric("points", f"{len(current):,}")
        csv = "x,y\n" + "\n".join(f"{x:.4f},{y:.4f}" for x, y in current)
        st.download_button("⬇ CSV of the drawing", csv, file_name="drawing.csv", mime="text/csv", key="draw_dl")
    st.caption("Draw on the canvas (its axes are the plots' coordinates). The toolbar above it (hover) has undo, "
               "redo and reset (back to the drawing the canvas started from). The target is the drawn points: every page, the KDE and the Train page use them, and the "
               "link carries them.")
