"""Download buttons for the app's animations (the Sample, Compare and Lessons pages call
``download_row``; the files come from ``explorer/export.py``). Kept apart from
``pages/_ui.py`` so export work and the settings/validation code there change
independently.

A row offers HTML, NPZ and CSV at once and renders GIF and MP4 on a click ("Make GIF",
then a download button): a few seconds of matplotlib each, too slow for every rerun.
"""
from __future__ import annotations

import json

import streamlit as st

from explorer import export as E
from pages import _ui

MIME = {"html": "text/html", "gif": "image/gif", "mp4": "video/mp4", "npz": "application/octet-stream",
        "csv": "text/csv"}
HELP = {"html": "this animation, plays offline (plotly.js embedded)",
        "npz": "the raw run(s): positions (frames, particles, 2), steps, levels",
        "csv": "the raw run(s), one row per frame and particle",
        "gif": "renders every frame with matplotlib: a few seconds",
        "mp4": "renders every frame with matplotlib: a few seconds"}


@st.cache_data(show_spinner=False, max_entries=8)
def export_bytes(fmt: str, mkey: str, _model, _density, sampler: str, settings_json: str, particles: int, seed: int,
                 init: str, frames: int, trails: bool, arrows: bool) -> bytes:
    """The Sample page's current animation as a file (explorer/export.py): html (the
    very figure shown), gif and mp4 (matplotlib, same style), npz and csv (the run).
    Arguments: ``_ui.sample_figures``' (a cache hit for the page's own figure)."""
    anim, _, _, runs = _ui.sample_figures(mkey, _model, _density, sampler, settings_json, particles, seed, init,
                                          frames, trails, arrows)
    traj = runs[sampler]["traj"]
    if fmt == "html":
        return E.html_bytes(anim)
    if fmt == "npz":
        return E.npz_bytes(traj, {"target": _density.name, "sampler": sampler, "seed": seed, "particles": particles,
                                  "init": init, "settings": json.loads(settings_json)})
    if fmt == "csv":
        return E.csv_bytes(traj)
    bg, field, lf = E.scene_parts(_model, _density, sampler, traj, arrows)
    scene = E.Scene(name=_density.name, title=_ui.SAMPLER_LABELS[sampler], sampler=sampler, seed=seed, settings={},
                    traj=traj, box=tuple(_density.box), density_grid=bg, field=field, level_fields=lf, trails=trails)
    return E.video_bytes(scene, fmt)


@st.cache_data(show_spinner=False, max_entries=8)
def compare_bytes(fmt: str, mkey: str, _model, _density, samplers: tuple, settings_json: str, particles: int,
                  seed: int, init: str, frames: int) -> bytes:
    """The Compare page's current animation as a file: html (the very figure shown),
    gif and mp4 (one matplotlib panel per sampler on the same timeline), npz and csv
    (every run; the CSV with a ``sampler`` column). Arguments: ``_ui.compare_figures``'."""
    fig, _, runs = _ui.compare_figures(mkey, _model, _density, samplers, settings_json, particles, seed, init, frames)
    if fmt == "html":
        return E.html_bytes(fig)
    meta = {"target": _density.name, "samplers": list(samplers), "seed": seed, "particles": particles, "init": init,
            "settings": json.loads(settings_json)}
    scene = E.CompareScene(name=_density.name, seed=seed, settings={}, runs={k: r["traj"] for k, r in runs.items()},
                           box=tuple(_density.box), meta=meta,
                           density_grid=E.background(_model, _density) if fmt in ("gif", "mp4") else None)
    return E.video_bytes(scene, fmt) if fmt in ("gif", "mp4") else E.data_bytes(scene, fmt)


def download_row(stem: str, args: tuple, make=export_bytes, key: str = "dl"):
    """Download buttons for the current animation, files named ``stem``.<format>:
    HTML, NPZ and CSV at once; GIF and MP4 rendered on a click, then offered for
    download. ``make(fmt, *args)`` gives a file's bytes (``export_bytes`` for a Sample
    animation, ``compare_bytes`` for a Compare one); ``key`` prefixes the widget keys."""
    cols = st.columns(5)
    for col, fmt in zip(cols, ("html", "npz", "csv")):
        col.download_button(f"⬇ {fmt.upper()}", make(fmt, *args), file_name=f"{stem}.{fmt}", mime=MIME[fmt],
                            key=f"{key}_{fmt}", on_click="ignore", width="stretch", help=HELP[fmt])
    sig = args[0:1] + args[3:]           # what the animation depends on (the model and density: via the key)
    for col, fmt in zip(cols[3:], ("gif", "mp4")):
        made = st.session_state.get(f"_export_{key}_{fmt}")
        if made is not None and made[0] == sig:
            col.download_button(f"⬇ {fmt.upper()}", made[1], file_name=f"{stem}.{fmt}", mime=MIME[fmt],
                                key=f"{key}_{fmt}", on_click="ignore", width="stretch")
        elif col.button(f"Make {fmt.upper()}", key=f"{key}_make_{fmt}", width="stretch", help=HELP[fmt]):
            with st.spinner(f"Rendering the {fmt.upper()}…"):
                data = make(fmt, *args)
            st.session_state[f"_export_{key}_{fmt}"] = (sig, data)
            st.rerun()
