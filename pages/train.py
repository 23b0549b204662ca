"""Train: a score network learns a score field from samples alone, live.

What it learns depends on the objective (``explorer.targets``): esm the KDE's score, ism
and ssm grad log p, dsm and ncsn grad log p_sigma, hsm the CLD velocity score; the page
compares the network with that field, not always with grad log p.

Widgets and figures only; the Trainer, the objectives and the diagnostics live in
``explorer.training``. Training runs in short slices inside an ``st.fragment`` that
reruns itself while training is on, so the loss curve and the learned field update
without rerunning the page, Stop is answered within a slice, and a closed tab stops
the work (no session, no reruns). The trainer is per user (``st.session_state``).
"""
import hashlib
import time
import uuid

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from explorer import devices, modelio
from explorer import fields as F
from explorer import presets as P
from explorer import validate as V
from explorer import figures as G
from explorer.targets import objective_target, training_kde
from explorer.training import OBJECTIVES, Trainer, field_error, make_grid
from pages import _ui

SLICE_SECONDS = 0.4          # training per fragment rerun: Stop answers within this
WAIT_SECONDS = 2.0           # a session waiting for a free core redraws this often, not every 0.05 s:
                             # redraws hold the GIL and slowed the sessions that were training
OBJECTIVE_LABELS = {"ncsn": "ncsn: multi-σ denoising (NCSN) — for annealed Langevin",
                    "dsm": "dsm: denoising at one σ (Vincent)", "esm": "esm: explicit, against the KDE score",
                    "ism": "ism: implicit (Hyvärinen)", "ssm": "ssm: sliced (Song et al.)",
                    "hsm": "hsm: CLD velocity score — for the CLD samplers"}

t = _ui.target()
st.title("Train a score network")
st.caption("The density is unknown to the network: it sees only samples. What it learns depends on the "
           "objective (the line under the settings); the left panel shows that field, and the charts compare "
           "the network with it.")

# settings: from a shared link the first time, then the widgets (the URL follows them)
_ui.seed(list(P.PAGE_DEFAULTS["train"]))
_ui.url_errors()
for key, value in P.PAGE_DEFAULTS["train"].items():
    st.session_state.setdefault(key, value)
c = st.columns([2.2, 1, 1, 1.2, 1, 1, 1.2, 1])
objective = c[0].selectbox("objective", OBJECTIVES, format_func=OBJECTIVE_LABELS.get, key="tr_objective",
                           **_ui.KEEP)
width = c[1].select_slider("width", V.options("tr_width"), key="tr_width", **_ui.KEEP)
depth = c[2].select_slider("depth", V.options("tr_depth"), key="tr_depth", **_ui.KEEP)
steps = c[3].select_slider("steps", V.options("tr_steps"), key="tr_steps", **_ui.KEEP)
lr = c[4].select_slider("learning rate", V.options("tr_lr"), key="tr_lr", **_ui.KEEP)
batch = c[5].select_slider("batch", V.options("tr_batch"), key="tr_batch", **_ui.KEEP)
device_choice = c[6].selectbox("device", ["auto", *devices.available()], key="tr_device")
seed = int(c[7].number_input("seed", 0, 2**31 - 1, key="tr_seed", **_ui.KEEP))
device = devices.resolve(device_choice)
threads = torch.get_num_threads()
st.caption(f"device in use: **{device}**" + ("" if device != "cpu" else
                                             f" ({threads} torch thread{'s' if threads != 1 else ''})"))
about = st.empty()          # what the objective learns: filled once the σ (or t) shown is known

config = dict(objective=objective, width=width, depth=depth, steps=steps, lr=lr, batch=batch, device=device, seed=seed)
config_key = hashlib.sha256(repr((t.key, sorted(config.items()))).encode()).hexdigest()[:16]
state = st.session_state
if state.get("tr_key") != config_key and not state.get("tr_running"):
    state["tr_trainer"], state["tr_key"], state["tr_history"] = None, config_key, []
    state.pop("tr_error", None)             # it was about the settings just changed

def _start(density, config, budget):
    """Start, Continue or Train on. A callback: it runs when the click arrives, before the
    script, so a click landing while the page is still running cannot be lost with an
    interrupted run (a return value read halfway down the page can)."""
    state.pop("tr_error", None)
    try:
        tr = state.get("tr_trainer")
        if tr is None:
            tr = state["tr_trainer"] = Trainer(density, **config)
        if tr.step >= tr.steps:
            tr.steps += budget              # 'train on': another budget at the final learning rate
        state["tr_running"] = True
    except ValueError as e:
        state["tr_running"], state["tr_error"] = False, str(e)


def _stop():
    state["tr_running"] = False


def _reset():
    state["tr_trainer"], state["tr_history"] = None, []


b = st.columns([1, 1, 1, 4])
trainer = state.get("tr_trainer")
label = "▶ Start" if trainer is None or trainer.step == 0 else ("▶ Continue" if trainer.step < trainer.steps else "▶ Train on")
running = bool(state.get("tr_running"))
b[0].button(label, type="primary", disabled=running, on_click=_start, args=(t.density, config, steps))
b[1].button("■ Stop", disabled=not running, on_click=_stop)
b[2].button("↺ Reset", disabled=running, on_click=_reset)
if state.get("tr_error"):
    st.error(state["tr_error"])


def _publish(tr: Trainer):
    """Hand the (EMA) model to the Sample and Compare pages."""
    state["learned_score"] = tr.model
    # the session's own token: cached runs of a learned model are never shared between sessions
    state["learned_score_key"] = f"{config_key}@{tr.step}@{state.setdefault('_token', uuid.uuid4().hex[:12])}"


def _loss_figure(tr: Trainer, history) -> go.Figure:
    fig = go.Figure()
    if tr is not None and tr.losses:
        y = np.asarray(tr.losses, dtype=np.float32)
        k = max(1, len(y) // 400)                        # at most ~400 points on the wire
        smooth = np.convolve(y, np.ones(25) / 25, mode="valid") if len(y) > 25 else y
        fig.add_scatter(x=np.arange(1, len(y) + 1)[::k], y=y[::k], mode="lines", name="batch loss",
                        line=dict(color="#bbbbbb", width=1))
        fig.add_scatter(x=np.arange(len(y) - len(smooth) + 1, len(y) + 1)[::k], y=smooth[::k], mode="lines",
                        name="smoothed", line=dict(color=G.PARTICLE, width=3))
    fig.update_layout(title="loss", xaxis_title="step", height=330, font_size=G.FONT,
                      margin=dict(l=60, r=20, t=50, b=50), legend=dict(orientation="h", y=1.15, x=0.4))
    return fig


def _fisher_figure(history, target) -> go.Figure | None:
    """Relative Fisher divergence against what the objective learns (the trainer's
    ``fisher``); for esm also, dashed, against the exact ∇log p: the KDE's own bias."""
    if not history or "fisher" not in history[-1]:
        return None
    fig = go.Figure()
    what = "t" if objective == "hsm" else "σ"
    rows = [h for h in history if "fisher" in h]
    xs = [h["step"] for h in rows]
    for key in history[-1]["fisher"]:
        name = "vs the KDE (its target)" if objective == "esm" else f"{what} = {key:.3g}"
        fig.add_scatter(x=xs, y=[h["fisher"][key] for h in rows], mode="lines", name=name)
    if objective == "esm" and "fisher_exact" in history[-1]:
        fig.add_scatter(x=xs, y=[h["fisher_exact"][0.0] for h in rows], mode="lines", name="vs exact ∇log p",
                        line=dict(dash="dash", color="#888888"))
    fig.add_hline(y=0.05, line_dash="dot", annotation_text="0.05")
    whose = "exact" if target.source == "exact" else "the KDE's"
    field = ("score" if objective == "esm" else "∇ᵥ log pₜ" if objective == "hsm" else
             "∇log p_σ" if objective in ("dsm", "ncsn") else "∇log p")
    fig.update_layout(title=f"relative Fisher divergence vs {whose} {field}", xaxis_title="step", yaxis_type="log",
                      height=330, font_size=G.FONT, margin=dict(l=60, r=20, t=50, b=50),
                      legend=dict(font_size=12))
    return fig


@st.cache_resource(show_spinner=False, max_entries=16)
def _training_kde(key: str, seed: int):
    """The KDE a Trainer with this seed would build (esm's target; data sets' reference)."""
    return training_kde(_ui.build_density(key), seed)


def _target(tr: Trainer | None, shown_value: float):
    """What this objective learns, at the σ (or t) shown: the trainer's own once it
    exists (its σ, levels, CLD and KDE), else the one it will build."""
    kw = {"t": shown_value} if objective == "hsm" else {"sigma": shown_value if objective in ("dsm", "ncsn") else None}
    if tr is not None:
        return tr.target(**kw)
    kde = _training_kde(t.key, seed) if objective == "esm" or t.is_data else None
    return objective_target(objective, t.density, kde=kde, seed=seed, **kw)


def _field_panels(tr: Trainer | None, target):
    """The field the network learns (and, once it has started, what it has learned and
    the pointwise error against that field)."""
    n = 15
    pts, xs, ys = make_grid(t.box, n, dtype=torch.float64)
    level = target.t if objective == "hsm" else target.sigma
    ref = target.field(pts).numpy()
    p = pts.numpy()
    exact_fg = F.FieldGrid(p[:, 0], p[:, 1], ref[:, 0], ref[:, 1], level)
    dg = _density(level if objective != "hsm" else 0.0)
    title = target.label.replace("(x, v)", "(x, v = 0)") if objective == "hsm" else target.label
    panels = [dict(density=dg, field=exact_fg, title=title)]
    err = None
    if tr is not None and tr.step > 0:
        model = tr.model
        fe = field_error(model, target, pts)
        lf = fe["learned"]
        panels.append(dict(density=dg, field=F.FieldGrid(p[:, 0], p[:, 1], lf[:, 0], lf[:, 1], level),
                           title=f"learned, step {tr.step}"))
        err = (xs.numpy(), ys.numpy(), fe["error"].reshape(n, n))
    return panels, err


@st.cache_data(show_spinner=False, max_entries=64)
def _density_cached(key: str, sigma: float):
    return F.density_grid(_ui.build_density(key), _ui.build_density(key).box, 100, sigma)


def _density(sigma):
    if t.is_data:
        return None
    try:
        return _density_cached(t.key, float(sigma))
    except ValueError:
        return None


def _sigma_choices(tr):
    if objective == "hsm":
        return [0.01, 0.05, 0.1, 0.3, 0.6]
    if objective == "ncsn":
        from explorer.samplers import geometric_sigmas
        d = t.density                                       # the Trainer's default levels
        return [float(s) for s in (tr.sigmas if tr is not None else geometric_sigmas(d.sigma_max, 0.1 * d.scale))]
    if objective == "dsm":                                   # the Trainer's default σ
        return [float(tr.sigma)] if tr is not None else [0.5 * t.density.scale]
    return [0.0]


choices = _sigma_choices(state.get("tr_trainer"))
default_i = len(choices) - 1 if objective != "hsm" else 1
shown = st.select_slider("field shown at " + ("CLD time t" if objective == "hsm" else "noise level σ"), choices,
                         value=choices[min(default_i, len(choices) - 1)], format_func=lambda v: f"{v:.3g}",
                         key=f"tr_shown_{objective}_{len(choices)}")
about.caption(_target(state.get("tr_trainer"), shown).caption
              + (" The dashed line in the Fisher chart compares it with the exact ∇log p instead: it levels "
                 "off near the KDE's own error." if objective == "esm" and not t.is_data else ""))


@st.fragment(run_every=0.05 if state.get("tr_running") else None)
def live():
    tr = state.get("tr_trainer")
    history = state.setdefault("tr_history", [])
    # The note has a fixed place (an empty slot when there is nothing to say), so the
    # elements after it never shift between reruns. Only the note is a placeholder: an
    # st.empty() blanks its slot from the start of a run, so the progress bar and charts
    # are sent whole at the end of the slice, and the old ones stay on screen until then.
    note = st.empty()
    if state.get("tr_running") and tr is not None:
        gate = _ui.gate()                           # one CPU core per job: queue rather than thrash
        got = gate.acquire(blocking=False)
        if not got:
            note.info("Waiting for a free CPU core: other sessions on this server are training or sampling.")
            got = gate.acquire(timeout=WAIT_SECONDS)    # waiting blocks (no GIL, no redraws) for a while
        if got:
            note.empty()
            t0 = time.perf_counter()
            try:
                while tr.step < tr.steps and time.perf_counter() - t0 < SLICE_SECONDS:
                    s0 = time.perf_counter()
                    tr.train_step()
                    tr.elapsed += time.perf_counter() - s0
                snap = tr.snapshot(fisher=True)
                history.append(snap)
            except Exception as e:                      # noqa: BLE001 - the page must keep serving
                state["tr_running"] = False
                note.error(f"training stopped: {e}")
            finally:
                gate.release()
        if tr.step >= tr.steps:
            state["tr_running"] = False
            _publish(tr)
            st.rerun()                               # the page redraws without run_every
    elif tr is not None and tr.step > 0 and state.get("learned_score_key", "").split("@")[0] != config_key:
        _publish(tr)
    if tr is not None:
        done = tr.step / max(tr.steps, 1)
        st.progress(min(done, 1.0), text=f"step {tr.step} of {tr.steps} · {tr.elapsed:.1f} s of training"
                    + (f" · worst Fisher divergence {history[-1]['fisher_max']:.3g}" if history and
                       "fisher_max" in history[-1] else ""))
    target = _target(tr, shown)
    panels, err = _field_panels(tr, target)
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(G.panels_figure(panels, t.box, height=600), width="stretch")
    with right:
        st.plotly_chart(_loss_figure(tr, history), width="stretch")
        ff = _fisher_figure(history, target)
        if ff is not None:
            st.plotly_chart(ff, width="stretch")
        if err is not None:
            xs, ys, e = err
            ef = go.Figure(go.Heatmap(x=xs, y=ys, z=e.astype(np.float32), colorscale="Cividis",
                                      colorbar=dict(title="|s − s*|")))
            ef.update_layout(title="pointwise error |s − s*|, s* = the left panel's field", height=330,
                             font_size=G.FONT,
                             margin=dict(l=60, r=20, t=50, b=40), yaxis_scaleanchor="x")
            st.plotly_chart(ef, width="stretch")


live()

st.divider()
d1, d2 = st.columns(2)
tr = state.get("tr_trainer")
if tr is not None and tr.step > 0 and not state.get("tr_running"):
    d1.download_button("⬇ Download the model (.pt)", modelio.to_bytes(tr), file_name=f"score-{objective}.pt",
                       mime="application/octet-stream")
    d1.caption("Trained networks go to the Sample and Compare pages as the score source 'learned'.")
up = d2.file_uploader("Load a model file (.pt, saved here or by `python -m explorer train`)", type=["pt"],
                      key="tr_upload")
if up is not None:
    data = up.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:16]
    if state.get("tr_upload_digest") != digest:
        try:
            model = modelio.from_bytes(data, device=device)
            state["learned_score"], state["learned_score_key"] = model, f"upload:{digest}"
            state["tr_upload_digest"] = digest
            d2.success(f"loaded {model.name} ({model.net_kind} network): use it on the Sample page")
        except ValueError as e:
            d2.error(str(e))
_ui.write_url("train")
