"""Download buttons for the app's animations (the pages call these; the files come
from ``explorer/export.py``). Kept apart from ``pages/_ui.py`` so export work and
the settings/validation code there change independently."""
from __future__ import annotations

import io
import json

import numpy as np
import streamlit as st

from explorer import export as E
from pages import _ui


@st.cache_data(show_spinner=False, max_entries=8)
def export_bytes(fmt: str, mkey: str, _model, _density, sampler: str, settings_json: str, particles: int, seed: int,
                 init: str, frames: int, trails: bool, arrows: bool) -> bytes:
    """The Sample page's current animation as a file (explorer/export.py): html (the
    very figure shown), gif and mp4 (matplotlib, same style), npz and csv (the run)."""
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
    import os
    import tempfile
    bg, field, lf = E.scene_parts(_model, _density, sampler, traj, arrows)
    scene = E.Scene(name=_density.name, title=_ui.SAMPLER_LABELS[sampler], sampler=sampler, seed=seed, settings={},
                    traj=traj, box=tuple(_density.box), density_grid=bg, field=field, level_fields=lf, trails=trails)
    fd, path = tempfile.mkstemp(suffix="." + fmt)
    os.close(fd)
    try:
        (E.write_gif if fmt == "gif" else E.write_mp4)(scene, path)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


def compare_export(fmt: str, fig, runs: dict) -> bytes:
    """The Compare page's animation as self-contained HTML, or all its runs as one NPZ
    (arrays prefixed by the sampler's name)."""
    if fmt == "html":
        return E.html_bytes(fig)
    arrays = {}
    for name, r in runs.items():
        tr = r["traj"]
        arrays.update({f"{name}_positions": tr.positions, f"{name}_steps": tr.steps, f"{name}_levels": tr.levels})
        if tr.velocities is not None:
            arrays[f"{name}_velocities"] = tr.velocities
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


MIME = {"html": "text/html", "gif": "image/gif", "mp4": "video/mp4", "npz": "application/octet-stream",
        "csv": "text/csv"}


def download_row(stem: str, args: tuple):
    """Download buttons for the current animation: HTML, NPZ and CSV at once; GIF and
    MP4 rendered on a click (seconds), then offered for download."""
    cols = st.columns(5)
    for col, fmt in zip(cols, ("html", "npz", "csv")):
        col.download_button(f"⬇ {fmt.upper()}", export_bytes(fmt, *args), file_name=f"{stem}.{fmt}", mime=MIME[fmt],
                            key=f"dl_{fmt}", on_click="ignore", width="stretch")
    for col, fmt in zip(cols[3:], ("gif", "mp4")):
        made = st.session_state.get(f"_export_{fmt}")
        if made is not None and made[0] == args[0:1] + args[3:]:
            col.download_button(f"⬇ {fmt.upper()}", made[1], file_name=f"{stem}.{fmt}", mime=MIME[fmt],
                                key=f"dl_{fmt}", on_click="ignore", width="stretch")
        elif col.button(f"Make {fmt.upper()}", key=f"make_{fmt}", width="stretch",
                        help="renders every frame with matplotlib: a few seconds"):
            with st.spinner(f"Rendering the {fmt.upper()}…"):
                data = export_bytes(fmt, *args)
            st.session_state[f"_export_{fmt}"] = (args[0:1] + args[3:], data)
            st.rerun()
