"""Score Field Explorer: `streamlit run app.py`. The page list and shared config only."""
import streamlit as st

st.set_page_config(page_title="Score Field Explorer", page_icon="🧭", layout="wide")
nav = st.navigation([st.Page("pages/density.py", title="Density & field", icon="🌀", default=True)])
nav.run()
