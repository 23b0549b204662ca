"""A session's state: its settings (widgets keyed by URL name, kept in sync with the
URL), and the few things a session holds beside them, one typed object each under one
key: the uploaded CSV (``CsvUpload``), the network the Train page trained
(``Learned``), the Train page's session (``Training``), the mixture table (``gmm_rows``),
the drawing (``drawing``: its code; ``drawing_base``: the points its canvas started
from) and the messages about a link's bad parameters (``link_errors``).

The URL is kept by hand, not with ``bind="query-params"``: ``seed()`` fills a setting
from the URL the first time a session meets it (a shared link), and ``write_url()`` puts
every non-default setting of the target and the page back (plus ``gmm=<JSON>`` for the
mixture table and ``drawing=<code>`` for a drawing). Streamlit 1.67's binding does not write values set through
``st.session_state`` (a lesson's scene) into the URL, and it refuses ``st.switch_page``
while bound parameters exist, so it could not serve the Lessons page.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from explorer import densities as D
from explorer import drawing as DR
from explorer import settings as S
from explorer.validate import InvalidInput

DEFAULT_GMM = [dict(weight=w, mean_x=m[0], mean_y=m[1], var_x=c[0][0], cov_xy=c[0][1], var_y=c[1][1])
               for w, m, c in zip(D.DEFAULT_GMM["weights"], D.DEFAULT_GMM["means"], D.DEFAULT_GMM["covs"])]


@dataclass
class CsvUpload:
    """The session's uploaded data set (read once per file by ``explorer.data``)."""
    points: np.ndarray | None = None
    digest: str | None = None
    name: str = ""
    rows: int = 0
    notes: list = field(default_factory=list)
    bad_digest: str | None = None        # the last file that could not be read, and why
    error: str | None = None


@dataclass
class Learned:
    """A network trained on the Train page (``explorer.models.LearnedScore``) and a string
    that identifies it (its training fingerprint and step): the Sample and Compare pages
    offer it as the score source 'learned'."""
    model: object
    key: str


@dataclass
class Training:
    """The Train page's session: its trainer (per user), whether it is training, the
    diagnostics recorded so far, the settings it was built for, the last error, the last
    model file loaded, and a token that keeps this session's learned runs its own."""
    trainer: object = None
    running: bool = False
    history: list = field(default_factory=list)
    key: str | None = None
    error: str | None = None
    upload_digest: str | None = None
    token: str = ""

    def reset(self):
        """Reset: a fresh trainer for the same settings (the loaded file and the token stay)."""
        self.trainer, self.history = None, []


def training() -> Training:
    return st.session_state.setdefault("training", Training())


def csv_upload() -> CsvUpload:
    return st.session_state.setdefault("csv_upload", CsvUpload())


def learned() -> Learned | None:
    return st.session_state.get("learned")


def set_learned(model, key: str):
    st.session_state["learned"] = Learned(model, str(key))


def link_errors() -> list:
    return st.session_state.setdefault("link_errors", [])


def show_link_errors(where=None):
    for msg in st.session_state.pop("link_errors", []):
        (where or st).error(msg)


# ----- settings in the URL -------------------------------------------------------------
def parse_setting(key: str, raw: list[str]):
    """A setting from its URL text (its rule in explorer.settings); ValueError saying what is accepted."""
    try:
        return S.parse(key, raw)
    except InvalidInput as e:
        raise ValueError(f"link parameter {key}={','.join(map(str, raw))[:60]} ignored: "
                         f"{e.why + '; ' if e.why else ''}expected {e.expected}") from None


def seed(keys):
    """Fill settings this session has not met yet from the URL (a shared link)."""
    for k in keys:
        if k in st.session_state or k not in st.query_params:
            continue
        try:
            st.session_state[k] = parse_setting(k, st.query_params.get_all(k))
        except ValueError as e:
            link_errors().append(str(e))


def page_settings(page: str):
    """A page's first lines: its settings from a shared link, the link's errors shown."""
    seed(S.keys(page))
    show_link_errors()


def write_url(page: str, extra: dict | None = None):
    """Put the target's and this page's non-default settings (and ``extra``) in the URL."""
    target_name = st.session_state.get("target", S.SETTINGS["target"].default)
    keys = ["target", *S.target_keys(target_name), *S.KDE_KEYS, *S.keys(page)]
    new = {}
    for k in keys:
        if k not in st.session_state:
            continue
        v = st.session_state[k]
        default = S.SETTINGS[k].default
        if k != "target" and (v == default or (isinstance(default, tuple) and list(v) == list(default))):
            continue
        new[k] = S.url_value(v)
    if st.session_state.get("present"):
        new["present"] = "true"
    if target_name == "gmm":
        new["gmm"] = json.dumps(gmm_rows(), separators=(",", ":"))
    if target_name == "drawn":
        new["drawing"] = drawing()
    new.update(extra or {})
    now = {k: (st.query_params.get_all(k) if isinstance(new.get(k), list) else st.query_params.get(k))
           for k in st.query_params}
    if now != new:
        st.query_params.from_dict(new)


def apply_scene(values: dict):
    """Set every widget of a scene (a callback: runs before the widgets exist); the
    page it opens writes them into the URL."""
    for k, v in values.items():
        st.session_state[k] = list(v) if isinstance(v, (list, tuple)) else v


# ----- the mixture table ------------------------------------------------------------------
def gmm_params(rows) -> dict:
    """GMM parameters from table rows; ValueError saying what is accepted."""
    try:
        return S.gmm_from_rows(rows)
    except InvalidInput as e:
        raise ValueError(f"{e.raw}: {e.why + '; ' if e.why else ''}expected {e.expected}") from None


def gmm_rows() -> list[dict]:
    """The GMM table of this session: the URL's ``gmm`` on first load, else the default."""
    if "gmm_rows" not in st.session_state:
        rows = DEFAULT_GMM
        raw = st.query_params.get("gmm")
        if raw:
            try:
                cand = json.loads(raw)
                gmm_params(cand)
                rows = cand
            except (ValueError, TypeError, AttributeError):
                link_errors().append(f"the link's mixture could not be read; expected {S.GMM_ACCEPTED}")
        st.session_state["gmm_rows"] = [dict(r) for r in rows]
    return st.session_state["gmm_rows"]


def set_gmm_rows(rows):
    st.session_state["gmm_rows"] = [dict(r) for r in rows]
    st.session_state["gmm_version"] = st.session_state.get("gmm_version", 0) + 1


# ----- the drawing ------------------------------------------------------------------------
def drawing() -> str:
    """The session's drawing (``explorer.drawing``'s code): the URL's ``drawing`` on first
    load, else the default shape."""
    if "drawing" not in st.session_state:
        code = DR.DEFAULT_CODE
        raw = st.query_params.get("drawing")
        if raw:
            try:
                DR.check(DR.decode(raw))
                code = raw
            except DR.DrawingError as e:
                link_errors().append(f"the link's drawing was not used: {e}")
        set_drawing(code)
    return st.session_state["drawing"]


def set_drawing(code: str, base=None):
    """Make ``code`` the drawing. ``base``: points to put on a fresh canvas (a shape, a
    link, a CSV), which then shows them as dots to edit; None keeps the canvas as drawn."""
    st.session_state["drawing"] = code
    if base is not None or "drawing_base" not in st.session_state:
        st.session_state["drawing_base"] = DR.decode(code) if base is None else base
        st.session_state["drawing_version"] = st.session_state.get("drawing_version", 0) + 1
