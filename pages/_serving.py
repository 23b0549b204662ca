"""The message a student sees after their server process stopped and nginx moved them
to another one (``python -m explorer serve``; explorer/serving.py decides, this draws)."""
from __future__ import annotations

import os

import streamlit as st

from explorer import serving

MESSAGE = ("**The server process you were on stopped; you are now on another one.** Your settings "
           "came back from the link; what lived only in your session (an uploaded CSV, a model you "
           "trained here, a running training) is gone: upload or train again.")


@st.fragment(run_every=3600)
def _rerun_on_reconnect():
    """Empty, on purpose: Streamlit's frontend (1.67, App.handleConnectionStateChanged) asks
    for a script run when its websocket reconnects only if the page has a timed fragment.
    Without one, a page that reconnects to another worker stays as it was, its new session
    never runs, and the student is told nothing until they touch a widget."""


def failover_notice():
    """At the top of every page of a session that began because its worker stopped, until
    the student closes it. Decided once, at the session's first run: the cookie then still
    names the stopped worker (nginx sets it only when it sends a page)."""
    if not os.environ.get(serving.WORKER_ENV):
        return                                  # a plain `streamlit run`: no other worker to move to
    _rerun_on_reconnect()
    if "_moved_from" not in st.session_state:
        st.session_state["_moved_from"] = serving.moved_from(st.context.cookies, os.environ.get(serving.WORKER_ENV))
    if st.session_state["_moved_from"]:
        box = st.container(key="failover_notice")
        box.info(MESSAGE, icon="🔁")
        if box.button("OK, got it", key="failover_ok"):
            st.session_state["_moved_from"] = None
            st.rerun()
