"""Compare: 2-4 samplers from the same seed and the same initial particles, animated in
lockstep on one timeline, their numbers side by side."""
import json

import streamlit as st

from explorer.simulate import INITS
from explorer import presets as P
from explorer import validate as V
from pages import _downloads, _ui

KEEP = _ui.KEEP
DF = P.PAGE_DEFAULTS["compare"]
t = _ui.target()
_ui.seed(DF)
_ui.url_errors()

st.title("Compare samplers")

c1, c2, c3, c4, c5 = st.columns([3.2, 2, 1.6, 1.6, 1.1])
with c1:
    chosen = st.multiselect("samplers (2 to 4)", _ui.SAMPLER_NAMES, DF["cmp"], key="cmp",
                            max_selections=4, **KEEP)
with c2:
    source = _ui.score_widget(t, "c_score")
with c3:
    particles = st.select_slider("particles", V.options("c_particles"), DF["c_particles"], key="c_particles", **KEEP)
with c4:
    init = st.selectbox("initial particles", INITS, INITS.index(DF["c_init"]), key="c_init",
                        help="One draw shared by every sampler. CLD needs a draw of its prior: with 'prior' it "
                             "shares it, otherwise it starts from its own.", **KEEP)
with c5:
    seed = st.number_input("seed", 0, 2**31 - 1, DF["c_seed"], 1, key="c_seed", **KEEP)
with st.expander("Shared settings (0 = each sampler's default)", expanded=False):
    e1, e2, e3, e4 = st.columns(4)
    eps = e1.number_input("step size ε for Langevin and MALA", 0.0, 100.0, DF["c_eps"], format="%.4g", key="c_eps", **KEEP)
    steps = e2.number_input("steps (Langevin, MALA, underdamped, CLD)", 0, V.high("c_steps"), DF["c_steps"], 100, key="c_steps", **KEEP)
    friction = e3.number_input("underdamped friction Γ", 0.0, 1000.0, DF["c_friction"], format="%.4g", key="c_friction",
                               help="0 = critical damping at the narrowest mode, Γ = 2√(M/s²): the fastest "
                                    "settling without oscillation. Smaller Γ swings through the modes.", **KEEP)
    frames = e4.select_slider("frames recorded", V.options("c_frames"), DF["c_frames"], key="c_frames", **KEEP)

_ui.write_url("compare")
if len(chosen) < 2:
    st.error("Choose 2 to 4 samplers to compare (accepted: any of " + ", ".join(_ui.SAMPLER_NAMES) + ").")
    st.stop()

try:
    model = _ui.score_model(t, source)
except ValueError as e:
    st.error(str(e))
    st.stop()

settings = json.dumps({"eps": eps, "steps": steps, "friction": friction}, sort_keys=True)
try:
    with st.spinner(f"Running {len(chosen)} samplers with {particles:,} particles each…"):
        fig, modes, runs = _ui.compare_figures(_ui.model_key(t, source), model, t.density, tuple(chosen), settings,
                                               int(particles), int(seed), init, int(frames))
except ValueError as e:
    st.error(str(e))
    st.stop()

for name, r in runs.items():
    if r["traj"].diverged_at is not None:
        st.error(f"⚠️ {r['traj'].message}")
_ui.show_chart(fig, key="compare_anim")
with st.container(key="downloads"):            # hidden in presentation mode
    _downloads.download_row(f"{t.name}-compare-seed{int(seed)}",
                            (_ui.model_key(t, source), model, t.density, tuple(chosen), settings, int(particles),
                             int(seed), init, int(frames)), make=_downloads.compare_bytes, key="cmp_dl")
st.caption("One timeline: each panel shows the same fraction of its own run (runs take different numbers of "
           "steps). Same seed, same initial particles.")
left, right = st.columns([3, 2])
with left:
    st.table(_ui.metrics_table(runs))
with right:
    if modes is not None:
        st.markdown("**Per-mode weights vs the truth**")
        _ui.show_chart(modes, key="compare_modes")
