"""Compare: 2-4 samplers from the same seed and the same initial particles, animated in
lockstep on one timeline, their numbers side by side."""
import streamlit as st

from explorer import registry
from explorer import scene as SC
from pages import _cache, _downloads, _sidebar, _state, _style
from pages import _widgets as widgets
from pages._style import show_chart
from pages._widgets import widget

t = _sidebar.target()
_state.page_settings("compare")

st.title("Compare samplers")

c1, c2, c3, c4, c5 = st.columns([3.2, 2, 1.6, 1.6, 1.1])
chosen = widget("cmp", c1)
source = widgets.score(t, "c_score", c2)
particles = widget("c_particles", c3)
widget("c_init", c4)
seed = widget("c_seed", c5)
with st.expander("Shared settings (0 = each sampler's default)", expanded=False):
    for col, key in zip(st.columns(4), ("c_eps", "c_steps", "c_friction", "c_frames")):
        widget(key, col)

_state.write_url("compare")
if len(chosen) < 2:
    st.error("Choose 2 to 4 samplers to compare (accepted: any of " + ", ".join(registry.names()) + ").")
    st.stop()

try:
    model = _cache.model(t, source)
except ValueError as e:
    st.error(str(e))
    st.stop()

spec = SC.SceneSpec(t.spec, SC.run_spec(dict(st.session_state), "compare"), "compare")
mkey = _cache.model_key(t, source)
try:
    with st.spinner(f"Running {len(chosen)} samplers with {particles:,} particles each…"):
        fig, _, modes, runs = _cache.view(mkey, spec, model, t.density)
except ValueError as e:
    st.error(str(e))
    st.stop()

for name, r in runs.items():
    if r["traj"].diverged_at is not None:
        st.error(f"⚠️ {r['traj'].message}")
show_chart(fig, key="compare_anim")
with st.container(key="downloads"):            # hidden in presentation mode
    _downloads.download_row(f"{t.name}-compare-seed{int(seed)}", mkey, spec, model, t.density, key="cmp_dl")
st.caption("One timeline: each panel shows the same fraction of its own run (runs take different numbers of "
           "steps). Same seed, same initial particles.")
left, right = st.columns([3, 2])
with left:
    st.table(_style.metrics_table(runs))
with right:
    if modes is not None:
        st.markdown("**Per-mode weights vs the truth**")
        show_chart(modes, key="compare_modes")
