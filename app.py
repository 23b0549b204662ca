"""Score Field Explorer: `streamlit run app.py`. The page list, the page config and the
shared sidebar (the target density or data set); each page is a file in pages/."""
from pathlib import Path

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

pages = [
    st.Page("pages/density.py", title="Density & field", icon="🌀", default=True),
    st.Page("pages/sample.py", title="Sample", icon="🎲"),
    st.Page("pages/compare.py", title="Compare", icon="⚖️"),
    st.Page("pages/lessons.py", title="Lessons", icon="🎓"),
]
# Hook for the Train page: once pages/train.py exists it joins the list (before Lessons).
# It hands a trained network to the other pages through st.session_state (see pages/_ui.py).
if (Path(__file__).parent / "pages" / "train.py").exists():
    pages.insert(3, st.Page("pages/train.py", title="Train", icon="🏋️"))

nav = st.navigation(pages)
_ui.sidebar()
_ui.presentation()
st.session_state["_app_ran"] = True     # pages/_ui.py target(): the sidebar is drawn
nav.run()
