"""Density & field (first cut): a built-in density's log-density and score arrows."""
import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

import explorer

st.title("Score Field Explorer")
name = st.selectbox("Density", [n for n in explorer.density_names() if n not in ("moons", "circles", "swiss-roll")])
sigma = st.slider("Noise level σ", 0.0, 2.0, 0.0, 0.05)
d = explorer.get_density(name)
x0, x1, y0, y1 = d.box
gx, gy = np.linspace(x0, x1, 120), np.linspace(y0, y1, 120)
pts = torch.tensor(np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2))
logp = d.noised_mixture(sigma).log_prob(pts) if sigma > 0 else d.log_prob(pts)
qx, qy = np.linspace(x0, x1, 21), np.linspace(y0, y1, 21)
q = torch.tensor(np.stack(np.meshgrid(qx, qy), -1).reshape(-1, 2))
s = d.score(q, sigma).numpy()
fig = go.Figure(go.Heatmap(x=gx, y=gy, z=np.exp(logp.numpy()).reshape(120, 120), colorscale="Viridis"))
fig.add_trace(go.Scatter(x=q[:, 0].numpy(), y=q[:, 1].numpy(), mode="markers",
                         marker=dict(symbol="arrow", angle=90 - np.degrees(np.arctan2(s[:, 1], s[:, 0])),
                                     size=10, color="white")))
fig.update_layout(height=650, yaxis_scaleanchor="x", font_size=18)
st.plotly_chart(fig)
