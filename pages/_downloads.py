"""Download buttons for the app's animations (the Sample, Compare and Lessons pages call
``download_row``; the files come from ``explorer/export.py``).

A row offers HTML, NPZ and CSV at once and renders GIF and MP4 on a click ("Make GIF",
then a download button): a few seconds of matplotlib each, too slow for every rerun.
"""
from __future__ import annotations

import streamlit as st

from explorer import export as E
from explorer import scene as SC
from pages import _cache

MIME = {"html": "text/html", "gif": "image/gif", "mp4": "video/mp4", "npz": "application/octet-stream",
        "csv": "text/csv"}
HELP = {"html": "this animation, plays offline (plotly.js embedded)",
        "npz": "the raw run(s): positions (frames, particles, 2), steps, levels",
        "csv": "the raw run(s), one row per frame and particle",
        "gif": "renders every frame with matplotlib: a few seconds",
        "mp4": "renders every frame with matplotlib: a few seconds"}


@st.cache_data(show_spinner=False, max_entries=8)
def file_bytes(fmt: str, mkey: str, spec: SC.SceneSpec, _model, _density) -> bytes:
    """The page's current animation as a file: html (the very figure shown, a cache hit),
    gif and mp4 (matplotlib, same style; a Compare scene one panel per sampler), npz and
    csv (the run, or every run with a ``sampler`` column)."""
    if fmt == "html":
        return E.html_bytes(_cache.view(mkey, spec, _model, _density)[0])
    scene = _cache.scene(mkey, spec, _model, _density, parts=fmt in ("gif", "mp4"))
    return E.video_bytes(scene, fmt) if fmt in ("gif", "mp4") else E.data_bytes(scene, fmt)


def download_row(stem: str, mkey: str, spec: SC.SceneSpec, model, density, key: str = "dl"):
    """Download buttons for the current animation, files named ``stem``.<format>:
    HTML, NPZ and CSV at once; GIF and MP4 rendered on a click, then offered for
    download. ``key`` prefixes the widget keys."""
    cols = st.columns(5)
    for col, fmt in zip(cols, ("html", "npz", "csv")):
        col.download_button(f"⬇ {fmt.upper()}", file_bytes(fmt, mkey, spec, model, density), file_name=f"{stem}.{fmt}",
                            mime=MIME[fmt], key=f"{key}_{fmt}", on_click="ignore", width="stretch", help=HELP[fmt])
    sig = (mkey, spec)                   # what the animation depends on
    for col, fmt in zip(cols[3:], ("gif", "mp4")):
        made = st.session_state.get(f"_export_{key}_{fmt}")
        if made is not None and made[0] == sig:
            col.download_button(f"⬇ {fmt.upper()}", made[1], file_name=f"{stem}.{fmt}", mime=MIME[fmt],
                                key=f"{key}_{fmt}", on_click="ignore", width="stretch")
        elif col.button(f"Make {fmt.upper()}", key=f"{key}_make_{fmt}", width="stretch", help=HELP[fmt]):
            with st.spinner(f"Rendering the {fmt.upper()}…"):
                data = file_bytes(fmt, mkey, spec, model, density)
            st.session_state[f"_export_{key}_{fmt}"] = (sig, data)
            st.rerun()
