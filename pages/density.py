"""Density & field: the target's density as a heatmap, its score as arrows, at any noise
level; a KDE beside it (data sets: the data beside their KDE); the GMM table."""
import numpy as np
import pandas as pd
import streamlit as st

from explorer import figures as G
from explorer import settings as S
from pages import _cache, _drawing, _sidebar, _state
from pages._style import show_chart
from pages._widgets import widget

t = _sidebar.target()
_state.page_settings("density")

st.title("Density & score field")

# ----- the mixture table (gmm only) ---------------------------------------------------
if t.name == "gmm":
    with st.expander("Mixture components (edit the table: weight, mean, covariance)", expanded=True):
        rows = _state.gmm_rows()
        edited = st.data_editor(pd.DataFrame(rows, columns=S.GMM_COLUMNS), num_rows="dynamic", hide_index=True,
                                key=f"gmm_editor_{st.session_state.get('gmm_version', 0)}",
                                column_config={c: st.column_config.NumberColumn(c, format="%.3g")
                                               for c in S.GMM_COLUMNS})
        new_rows = edited.to_dict("records")
        if new_rows != rows:
            try:
                _state.gmm_params(new_rows)
            except ValueError as e:
                st.error(f"{e}. The figure keeps the last valid mixture.")
            else:
                _state.set_gmm_rows(new_rows)
                st.rerun()

# ----- the drawing surface (drawn only) -----------------------------------------------------
if t.name == "drawn":
    with st.expander("Your drawing (draw on the canvas; its axes are the plots')", expanded=True):
        _drawing.panel()

# ----- controls -------------------------------------------------------------------------
c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
noise = widget("noise", c1)
level = widget("sigma", c1) if noise == "sigma" else widget("sde_t", c1)
sigma = level if noise == "sigma" else 0.0
arrows, colour = widget("arrows", c2), widget("colour", c2)
log, n_arrows = widget("logp", c3), widget("arrows_n", c3)
side, show_pts = widget("kde_side", c4, disabled=t.is_data), widget("kde_pts", c4)

_state.write_url("density")

box = t.box
panels, notes = [], []


def grids(model, source: str, level: float):
    """(density grid, score grid, note, what they show) at the chosen noise."""
    mkey = _cache.model_key(t, source)
    if noise == "sigma":
        dg, fg, note = _cache.grids(mkey, model, box, float(level), int(n_arrows))
        return dg, fg, note, f"p_σ and its score, σ = {level:g}"
    dg, fg, note, sde = _cache.sde_grids(mkey, model, box, noise, float(level), int(n_arrows))
    return dg, fg, note, (f"p_t of the {noise.upper()} SDE at t = {level:g} ({sde.label(level)})" if sde else "")



with st.spinner("Evaluating the density and its score on the grid…"):
    try:
        if not t.is_data:
            dg, fg, note, what = grids(t.density, "exact", level)
            if note:
                raise ValueError(note)
            panels.append(dict(density=dg, field=fg, title=f"{t.name}: {what}"))
        if t.is_data or side:
            kde = _cache.kde(t)
            dg, fg, note, _ = grids(kde, "kde", level)
            if note:
                notes.append(note + " — the KDE is shown at σ = 0.")
                dg, fg, _ = _cache.grids(_cache.model_key(t, "kde"), kde, box, 0.0, int(n_arrows))
            pts = kde.data.numpy() if show_pts else None
            what = "the data" if t.is_data else f"{len(kde.data):,} exact draws"
            bw = t.spec.bandwidth
            bw = f"h = {bw:g}" if isinstance(bw, (int, float)) else bw
            if t.is_data:
                panels.append(dict(density=None, field=None, samples=kde.data.numpy(),
                                   title=f"{t.name}: {len(kde.data):,} points"))
            panels.append(dict(density=dg, field=fg, samples=pts,
                               title=f"KDE of {what} ({kde.kernel}, {bw})"))
    except ValueError as e:
        st.error(f"{e}")
        st.stop()

fig = G.panels_figure(panels, box, normalise=arrows == "normalised", colour=colour, log=log,
                      height=680 if len(panels) == 1 else 600)
if len(panels) == 1:
    fig_col, info = st.columns([3, 1])
    with fig_col:
        show_chart(fig, key="density_fig")
    cols = [info, info, info]
else:
    show_chart(fig, key="density_fig")
    cols = st.columns(3)
for n in notes:
    st.warning(n)

# ----- numbers beside or under the figure --------------------------------------------
d = t.density
if not t.is_data:
    cols[0].metric("local scale s", f"{d.scale:.3g}", help="the target's narrowest local standard deviation where it has its mass (banana: the width across the curve at x₁ = s₁; its arms are narrower still): it sets the default step sizes")
    cols[1].metric("σ_max", f"{d.sigma_max:.3g}", help="about the largest distance between data points: the top noise level of annealing (NCSNv2 rule)")
    if side and noise == "sigma":
        try:
            rf = _cache.kde_error(t.key, t, float(sigma))
            cols[2].metric("KDE score error", f"{rf:.3g}",
                           help="relative Fisher divergence E|s_KDE − s|² / E|s|² of the two noised scores at this σ, "
                                "over 2000 draws of p_σ (exact draws plus σ-noise): 0 is perfect")
        except ValueError as e:
            cols[2].caption(str(e))
    if d.kind == "analytic":
        cols[2].caption(f"For σ ≥ {d.surrogate_bandwidth:.3g} the noised density is a lattice-quadrature "
                        "mixture (log-density within 1e-5 of the convolution; banana 3e-4 at that σ); below it the exact σ = 0 "
                        "density stands in.")
else:
    kde = _cache.kde(t)
    H = kde.H.numpy()
    cols[0].metric("data points", f"{len(kde.data):,}")
    cols[1].metric("bandwidth h₁, h₂", f"{np.sqrt(H[0, 0]):.3g}, {np.sqrt(H[1, 1]):.3g}")
    cols[2].metric("kernel", kde.kernel)

st.caption("Arrows: the score ∇log p_σ (an SDE: ∇log p_t, the field its reverse samplers follow at t) — normalised to one length (direction only) or raw (length ∝ |score|, "
           "clipped at its 95th percentile). Everything on this page is in the URL: copy it to bring the scene back.")
