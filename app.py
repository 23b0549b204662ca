"""Score Field Explorer: `streamlit run app.py`. Torch threads, the page config, the page
list (_ui.navigation) and the shared sidebar (the target density or data set); each page is a file in pages/."""
import streamlit as st
import torch

from explorer import validate as V
from pages import _ui

# Sessions run in threads of one process: torch ops of one session use limits().torch_threads
# threads (default 1), so N sessions use N cores instead of fighting over all of them
# (two 2-thread torch processes on 2 cores ran 50-100x slower here). SFE_TORCH_THREADS sets it.
if torch.get_num_threads() != V.limits().torch_threads:
    torch.set_num_threads(V.limits().torch_threads)

st.set_page_config(page_title="Score Field Explorer", page_icon="🧭", layout="wide",
                   initial_sidebar_state="expanded")
_ui.style()

nav = _ui.navigation()
_ui.sidebar()
_ui.presentation()
st.session_state["_app_ran"] = True     # pages/_ui.py target(): the sidebar is drawn
nav.run()
