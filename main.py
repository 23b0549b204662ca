"""Score Field Explorer: the script every browser session runs (`streamlit run app.py`
serves it, see app.py). Torch threads, the page config, the page list and the shared
sidebar (the target density or data set); each page is a file in pages/."""
import streamlit as st

from pages import _runtime, _serving, _sidebar, _style

_runtime.torch_threads()
st.set_page_config(page_title="Score Field Explorer", page_icon="🧭", layout="wide",
                   initial_sidebar_state="expanded")
_style.style()

nav = _sidebar.navigation()
_sidebar.sidebar()
_style.presentation()
_serving.failover_notice()              # behind `python -m explorer serve`: a worker stopped
st.session_state["_app_ran"] = True     # pages/_sidebar.py target(): the sidebar is drawn
nav.run()
