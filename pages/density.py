"""Density & field: the target's density as a heatmap, its score as arrows, at any noise
level; a KDE beside it (data sets: the data beside their KDE); the GMM table."""
import numpy as np
import pandas as pd
import streamlit as st
import torch

from explorer import fields as F
from explorer import figures as G
from explorer import presets as P
from pages import _ui

KEEP = _ui.KEEP
DF = P.PAGE_DEFAULTS["density"]
t = _ui.target()
_ui.seed(DF)
_ui.url_errors()

st.title("Density & score field")

# ----- the mixture table (gmm only) ---------------------------------------------------
if t.spec["name"] == "gmm":
    with st.expander("Mixture components (edit the table: weight, mean, covariance)", expanded=True):
        rows = _ui.gmm_rows()
        edited = st.data_editor(pd.DataFrame(rows, columns=_ui.GMM_COLUMNS), num_rows="dynamic", hide_index=True,
                                key=f"gmm_editor_{st.session_state.get('gmm_version', 0)}",
                                column_config={c: st.column_config.NumberColumn(c, format="%.3g")
                                               for c in _ui.GMM_COLUMNS})
        new_rows = edited.to_dict("records")
        if new_rows != rows:
            try:
                _ui.gmm_params(new_rows)
            except ValueError as e:
                st.error(f"{e}. The figure keeps the last valid mixture.")
            else:
                _ui.set_gmm_rows(new_rows)
                st.rerun()

# ----- controls -------------------------------------------------------------------------
c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
with c1:
    sigma = st.select_slider("noise level σ (shows p_σ = p ∗ N(0, σ²I) and its score)", _ui.SIGMAS, DF["sigma"],
                             key="sigma", **KEEP)
with c2:
    arrows = st.radio("arrow length", ("normalised", "raw"), key="arrows", horizontal=True, **KEEP)
    colour = st.toggle("colour by |score|", DF["colour"], key="colour", **KEEP)
with c3:
    log = st.toggle("log density", DF["logp"], key="logp", **KEEP)
    n_arrows = st.slider("arrows per side", 11, 31, DF["arrows_n"], 2, key="arrows_n", **KEEP)
with c4:
    side = st.toggle("KDE beside the truth", DF["kde_side"], key="kde_side", disabled=t.is_data, **KEEP)
    show_pts = st.toggle("KDE data points", DF["kde_pts"], key="kde_pts", **KEEP)

_ui.write_url("density")

box = t.box
panels, notes = [], []
with st.spinner("Evaluating the density and its score on the grid…"):
    try:
        if not t.is_data:
            dg, fg, note = _ui.grids(_ui.model_key(t, "exact"), t.density, box, float(sigma), int(n_arrows))
            if note:
                raise ValueError(note)
            panels.append(dict(density=dg, field=fg, title=f"{t.name}: p_σ and its score, σ = {sigma:g}"))
        if t.is_data or side:
            kde = _ui.build_kde(t.key)
            dg, fg, note = _ui.grids(_ui.model_key(t, "kde"), kde, box, float(sigma), int(n_arrows))
            if note:
                notes.append(note + " — the KDE is shown at σ = 0.")
                dg, fg, _ = _ui.grids(_ui.model_key(t, "kde"), kde, box, 0.0, int(n_arrows))
            pts = kde.data.numpy() if show_pts else None
            what = "the data" if t.is_data else f"{len(kde.data):,} exact draws"
            bw = t.spec["kde"]["bandwidth"]
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
        _ui.show_chart(fig, key="density_fig")
    cols = [info, info, info]
else:
    _ui.show_chart(fig, key="density_fig")
    cols = st.columns(3)
for n in notes:
    st.warning(n)

# ----- numbers beside or under the figure --------------------------------------------
d = t.density
if not t.is_data:
    cols[0].metric("local scale s", f"{d.scale:.3g}", help="the target's narrowest local standard deviation where it has its mass (banana: the width across the curve at x₁ = s₁; its arms are narrower still): it sets the default step sizes")
    cols[1].metric("σ_max", f"{d.sigma_max:.3g}", help="about the largest distance between data points: the top noise level of annealing (NCSNv2 rule)")
    if side:
        kde = _ui.build_kde(t.key)
        g = torch.Generator().manual_seed(1)
        x = d.sample(2000, g)
        x = x + float(sigma) * torch.randn(x.shape, generator=g, dtype=x.dtype)   # draws of p_σ, where p_σ lives
        try:
            rf = F.relative_fisher(kde, d, x, float(sigma))
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
    kde = _ui.build_kde(t.key)
    H = kde.H.numpy()
    cols[0].metric("data points", f"{len(kde.data):,}")
    cols[1].metric("bandwidth h₁, h₂", f"{np.sqrt(H[0, 0]):.3g}, {np.sqrt(H[1, 1]):.3g}")
    cols[2].metric("kernel", kde.kernel)

st.caption("Arrows: the score ∇log p_σ — normalised to one length (direction only) or raw (length ∝ |score|, "
           "clipped at its 95th percentile). Everything on this page is in the URL: copy it to bring the scene back.")
