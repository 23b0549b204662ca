"""The probability-flow ODE as a flow: its log-likelihood of draws of the target beside
the exact log-density (``explorer.scene.likelihood``), for the Sample page and the Lessons."""
import streamlit as st

from explorer import scene as SC
from pages import _cache
from pages._style import show_chart


def panel(mkey: str, spec: SC.RunSpec, model, density, key: str):
    with st.spinner(f"Integrating the ODE's log-likelihood of {SC.LIKELIHOOD_POINTS} draws of the target…"):
        got, fig = _cache.likelihood(mkey, spec, model, density)
    if fig is None:
        return
    st.markdown("**A score field is a flow: the ODE's log-likelihood**")
    show_chart(fig, key=key)
    end = "the exact p₁" if got["terminal"] == "exact p_1" else "the SDE's prior, standing in for p₁"
    st.caption(f"log p(x) = log p₁(x₁) + ∫ div v dt along each point's ODE path (the divergence is exact in 2-D; "
               f"the flow ends in {end}). Mean over {SC.LIKELIHOOD_POINTS} draws: {got['mean_log_prob_ode']:.3f} nats "
               f"through the ODE, {got['mean_log_prob_exact']:.3f} exact; mean |gap| {got['mean_abs_gap']:.3f} nats "
               f"({got['seconds']:.1f} s).")
