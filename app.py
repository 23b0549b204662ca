"""Score Field Explorer: `streamlit run app.py`.

Streamlit finds the ``st.App`` below, serves ``main.py`` (the page list and the shared
sidebar) to every browser session, and runs ``_lifespan`` once when the server starts.
The lifespan warms, in a background thread, what the first visitor would otherwise wait
for: torch's import and the first page's grid (``pages/_runtime.warm_up``). The server
answers at once; a session that arrives before the warm-up is done waits for it (Python's
import lock, Streamlit's cache), never computes twice. ``streamlit run main.py`` serves
the same app without the warm-up."""
import threading
import time
from contextlib import asynccontextmanager

import streamlit as st
from streamlit.logger import get_logger  # the server console's format and level

log = get_logger("score_field_explorer.warm_up")


def _warm_up():
    t = time.perf_counter()
    try:
        from pages import _runtime
        _runtime.warm_up()
    except Exception:           # the app still serves; its first visitor just does the work
        log.exception("warm-up failed")
    else:
        log.info("warm-up done in %.2f s", time.perf_counter() - t)


@asynccontextmanager
async def _lifespan(_app):
    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
    yield


app = st.App("main.py", lifespan=_lifespan)
