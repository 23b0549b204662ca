"""How the app looks: its CSS (readable on a projector), presentation mode, and how a
chart or a metrics table is shown."""
from __future__ import annotations

import pickle

# pandas whole, at import: plotly and st.table look it up in sys.modules, and with several
# sessions starting at once one thread saw another's half-imported pandas ("partially
# initialized module 'pandas' has no attribute 'Series'": tests/test_classroom.py)
import pandas as pd
import streamlit as st

from explorer import scene as SC
from pages._widgets import widget

CSS = """
<style>
html { font-size: 19px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.05rem; }
[data-testid="stWidgetLabel"] p { font-size: 1.0rem; font-weight: 600; }
[data-testid="stTable"] td, [data-testid="stTable"] th { font-size: 1.0rem; }
h1 { font-size: 2.0rem !important; padding-top: 0 !important; padding-bottom: 0.4rem !important; }
[data-testid="stMainBlockContainer"], .block-container { padding-top: 3.2rem !important; padding-bottom: 1rem; }
</style>
"""

ANIMATION_HEIGHT = 760    # px: the Sample page's animation
PRESENT_HEIGHT = 940      # px: fits a 1080p projector window, plot area ~ 680 px

PRESENT_CSS = """
<style>
html { font-size: 24px; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
header[data-testid="stHeader"] { display: none !important; }
.st-key-widget_rows, .st-key-downloads, [data-testid="stCaptionContainer"] { display: none !important; }
[data-testid="stMainBlockContainer"], .block-container { padding-top: 0.6rem !important; max-width: 100% !important;
  padding-left: 1rem !important; padding-right: 1rem !important; }
h1 { font-size: 2.4rem !important; }
</style>
"""


def style():
    st.html(CSS)


def presentation() -> bool:
    """Presentation mode (``?present=true`` or the sidebar toggle): CSS hides the
    sidebar, the widget rows and captions and enlarges fonts; Play/Pause and the slider
    live inside the Plotly figure and stay. A small button in the page turns it off."""
    if "present" not in st.session_state and st.query_params.get("present") is not None:
        st.session_state["present"] = st.query_params.get("present", "").lower() in ("true", "1", "yes")
    widget("present", st.sidebar)
    if st.session_state.get("present"):
        st.html(PRESENT_CSS)
        st.button("✕ leave presentation mode", key="leave_present", on_click=_leave_present)
    return bool(st.session_state.get("present"))


def presenting() -> bool:
    return bool(st.session_state.get("present"))


def _leave_present():
    st.session_state["present"] = False


def canonical(fig):
    """The figure as st.cache_data hands it back on a hit (a pickle round trip), so the
    first run and every rerun send the browser the same JSON (plotly's template keys
    come back in another order after pickling) and a playing animation is left alone."""
    return pickle.loads(pickle.dumps(fig)) if fig is not None else None


def metrics_table(runs: dict):
    return pd.DataFrame(SC.metrics_rows(runs)).set_index("metric")


def show_chart(fig, key=None):
    """A Plotly chart; animations without the mode bar (it sits on the title and a
    projector does not need zoom buttons mid-animation)."""
    animated = bool(getattr(fig, "frames", None))
    st.plotly_chart(fig, key=key, config={"displaylogo": False, "scrollZoom": False,
                                          "displayModeBar": False if animated else "hover",
                                          "modeBarButtonsToRemove": ["select2d", "lasso2d"]})
