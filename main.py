"""Score Field Explorer: the script every browser session runs (`streamlit run app.py`
serves it, see app.py). Torch threads, the page config, the page list (_ui.navigation)
and the shared sidebar (the target density or data set); each page is a file in pages/."""
import streamlit as st

from pages import _ui

_ui.torch_threads()
st.set_page_config(page_title="Score Field Explorer", page_icon="🧭", layout="wide",
                   initial_sidebar_state="expanded")
_ui.style()

nav = _ui.navigation()
_ui.sidebar()
_ui.presentation()
st.session_state["_app_ran"] = True     # pages/_ui.py target(): the sidebar is drawn
nav.run()
