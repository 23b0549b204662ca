"""The sidebar every page shares: the target (a density or data set, its parameters, an
uploaded CSV, the KDE), and the page list. ``main.py`` draws it before every page; a page
gets the built target from ``target()``."""
from __future__ import annotations

import hashlib

import streamlit as st

from explorer import drawing as DR
from explorer import scene as SC
from explorer import settings as S
from explorer.data import DataError, accepted, read_xy
from pages import _cache, _state, _style
from pages._widgets import widget

PAGES = {"density": "pages/density.py", "sample": "pages/sample.py", "compare": "pages/compare.py",
         "lessons": "pages/lessons.py", "train": "pages/train.py"}


def navigation():
    """The app's pages, one file each in pages/ (st.navigation; main.py runs the one asked for)."""
    return st.navigation([
        st.Page(PAGES["density"], title="Density & field", icon="🌀", default=True),
        st.Page(PAGES["sample"], title="Sample", icon="🎲"),
        st.Page(PAGES["compare"], title="Compare", icon="⚖️"),
        st.Page(PAGES["train"], title="Train", icon="🏋️"),
        st.Page(PAGES["lessons"], title="Lessons", icon="🎓"),
    ])


def _csv_widget():
    """The CSV upload: read once per file (explorer.data: the CLI's reader), every
    cleaning note shown, a bad file reported and the previous data kept."""
    up = st.file_uploader("CSV of x,y points", type=["csv", "txt", "tsv"], key="csv_file", help=accepted())
    state = _state.csv_upload()
    if up is not None:
        raw = up.getvalue()
        digest = hashlib.sha256(raw).hexdigest()[:16]
        if digest not in (state.digest, state.bad_digest):
            try:
                with st.spinner(f"Reading {up.name}…"):
                    got = read_xy(raw)
            except DataError as e:
                state.bad_digest, state.error = digest, f"{up.name}: {e}"
            else:
                state.points, state.digest, state.name = got.points, digest, up.name
                state.notes, state.rows, state.error = list(got.notes), got.rows_read, None
        if state.bad_digest == digest and state.error:
            st.error(state.error)
    if state.points is not None:
        st.caption(f"{state.name}: {state.rows:,} points read")
        for note in state.notes:
            st.warning(note)
        return state.digest
    if up is None:
        st.info("Upload a CSV (accepted: " + accepted() + "). Until then the moons data set stands in.")
    return None


def sidebar() -> SC.Target:
    """The target picker (every page): returns and stores the built target."""
    with st.sidebar:
        st.markdown("### Target")
        chosen = st.session_state.get("target") or st.query_params.get("target", "")
        _state.seed(["target", *S.target_keys(chosen), *S.KDE_KEYS])
        name = widget("target", options=S.targets())
        values = {"target": name}
        for key in S.target_keys(name):
            values[key] = widget(key)
        if name == "gmm":
            st.caption("Edit the components in the table on the **Density & field** page.")
            values["gmm_rows"] = _state.gmm_rows()
        if name == "drawn":
            values["drawing"] = _state.drawing()
            st.caption(f"{len(DR.decode(values['drawing'])):,} drawn points · draw and edit them on the "
                       "**Density & field** page.")
        csv = _csv_widget() if name == "csv" else None
        with st.expander("KDE (data sets and the 'kde' score)", expanded=name in S.DATASETS + S.OWN_DATA):
            values["kernel"] = widget("kernel")
            values["bw"] = widget("bw")
            if values["bw"] == "number":
                values["bw_h"] = widget("bw_h")
            values["bw_shape"] = widget("bw_shape", disabled=values["bw"] == "number")
            values["kde_n"] = widget("kde_n")
        try:
            t = _cache.target(SC.target_spec(values, csv))
        except ValueError as e:
            st.error(f"{e} — showing the default parameters instead.")
            kept = {k: v for k, v in values.items() if k in ("target", *S.KDE_KEYS)}
            t = _cache.target(SC.target_spec(kept, csv))
        _state.show_link_errors(st)
    st.session_state["_target"] = t
    return t


def target() -> SC.Target:
    """The page's target. main.py draws the sidebar before every page and marks the run.

    A page that runs without main.py is Streamlit's legacy ``pages/``-folder mode: until
    some session has run ``st.navigation``, a shared link to a page (``/train?...``) on a
    fresh server runs that file alone, with a sidebar listing every file in pages/ and
    without main.py's settings (torch threads, page config). Declaring the navigation
    ends that mode for the whole server, and the rerun goes through main.py. Should it
    happen twice in a session (it does not on a server), the page draws the sidebar."""
    if not st.session_state.pop("_app_ran", False):
        if not st.session_state.get("_left_legacy_mode"):
            st.session_state["_left_legacy_mode"] = True
            navigation()
            st.rerun()
        _style.style()
        return sidebar()
    return st.session_state["_target"]
