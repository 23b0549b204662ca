"""Widgets generated from the settings schema (``explorer/settings.py``): the label,
help, range or choices, default and key of each come from its one declaration. Every
widget keeps its value across page switches (``persist_state="session"``); the URL is
``_state.write_url``'s."""
from __future__ import annotations

import streamlit as st

from explorer import settings as S

KEEP = dict(persist_state="session")


def widget(key: str, where=None, *, options=None, **over):
    """The widget of setting ``key`` in ``where`` (a column, the sidebar; default: the
    page). ``options`` replaces a choice setting's options (e.g. the score sources this
    target has); other keyword arguments go to the Streamlit widget (``help``,
    ``disabled``, ``label``, ``format_func``...)."""
    s = S.get(key)
    where = where or st
    label = over.pop("label", s.label)
    kw = dict(key=key, help=over.pop("help", s.help or None), **KEEP, **over)
    r = s.rule
    if s.widget == "toggle":
        return where.toggle(label, s.default, **kw)
    if s.widget in ("select", "radio"):
        opts = tuple(options) if options is not None else S.options(key)
        index = opts.index(s.default) if s.default in opts else 0
        if s.widget == "radio":
            return where.radio(label, opts, index, horizontal=True, **kw)
        return where.selectbox(label, opts, index, **kw)
    if s.widget == "select_slider":
        return where.select_slider(label, S.options(key), s.default, **kw)
    if s.widget == "multiselect":
        return where.multiselect(label, S.options(key), list(s.default), max_selections=4, **kw)
    lo, hi = r.lo, S.high(key)
    if r.kind is int:
        lo, hi = int(lo), int(hi)
    if s.widget == "slider":
        return where.slider(label, lo, hi, s.default, s.step, **kw)
    return where.number_input(label, lo, hi, s.default, s.step, format=s.fmt, **kw)


def score(t, key: str, where=None):
    """The score-source radio: exact (where the target has one), kde, and learned once
    the Train page has stored a network."""
    from pages import _state
    opts = (["kde"] if t.is_data else ["exact", "kde"]) + (["learned"] if _state.learned() else [])
    if key in st.session_state and st.session_state[key] not in opts:
        st.session_state[key] = opts[0]          # e.g. 'exact' on a data set, 'learned' before training
    return widget(key, where, options=opts)
