"""Train: a score network learns a score field from samples alone, live.

Layout only. What each objective learns (esm the KDE's score, ism and ssm grad log p, dsm
and ncsn grad log p_sigma, hsm the CLD velocity score) and what the page compares the
network with are in the engine: ``training.OBJECTIVE_REGISTRY``, ``explorer.targets``,
``explorer.diagnostics`` (the fields, error map and curves) and ``explorer.figures``.
Training runs in short slices inside an ``st.fragment`` that reruns itself while training
is on, so the charts update without rerunning the page, Stop is answered within a slice,
and a closed tab stops the work. The trainer is per user (``st.session_state``).
"""
import hashlib
import uuid

import streamlit as st
import torch

from explorer import devices, modelio
from explorer import diagnostics as DG
from explorer import figures as G
from explorer.targets import training_kde
from explorer.training import OBJECTIVE_REGISTRY, Trainer
from pages import _runtime, _sidebar, _state
from pages._widgets import widget

SLICE_SECONDS = 0.4          # training per fragment rerun: Stop answers within this
WAIT_SECONDS = 2.0           # a session waiting for a free core redraws this often, not every 0.05 s:
                             # redraws hold the GIL and slowed the sessions that were training


def _start(density, config, budget):
    """Start, Continue or Train on. A callback: it runs when the click arrives, before the
    script, so a click landing while the page is still running cannot be lost with an
    interrupted run (a return value read halfway down the page can)."""
    state = _state.training()
    state.error = None
    try:
        if state.trainer is None:
            state.trainer = Trainer(density, **config)
        tr = state.trainer
        if tr.step >= tr.steps:
            tr.steps += budget              # 'train on': another budget at the final learning rate
        state.running = True
    except ValueError as e:
        state.running, state.error = False, str(e)


def _publish(tr: Trainer, config_key: str):
    """Hand the (EMA) model to the Sample and Compare pages."""
    state = _state.training()
    # the session's own token: cached runs of a learned model are never shared between sessions
    state.token = state.token or uuid.uuid4().hex[:12]
    _state.set_learned(tr.model, f"{config_key}@{tr.step}@{state.token}")


@st.cache_resource(show_spinner=False, max_entries=16)
def _training_kde(key: str, _density, seed: int):
    """The KDE a Trainer with this seed would build (esm's target; data sets' reference)."""
    return training_kde(_density, seed)


@st.cache_data(show_spinner=False, max_entries=64)
def _density(key: str, _density, sigma: float):
    return DG.density_under(_density, sigma)


def _target(t, objective, seed, tr, shown):
    return DG.shown_target(objective, t.density, shown, tr, lambda: _training_kde(t.key, t.density, seed), seed)


def _train_slice(tr: Trainer, history, note):
    """Train for up to SLICE_SECONDS on a free CPU core (queue for one rather than thrash)."""
    gate = _runtime.gate()
    got = gate.acquire(blocking=False)
    if not got:
        note.info("Waiting for a free CPU core: other sessions on this server are training or sampling.")
        got = gate.acquire(timeout=WAIT_SECONDS)    # waiting blocks (no GIL, no redraws) for a while
    if not got:
        return
    note.empty()
    try:
        history.append(tr.train_for(SLICE_SECONDS).snapshot(fisher=True))
    except Exception as e:                      # noqa: BLE001 - the page must keep serving
        _state.training().running = False
        note.error(f"training stopped: {e}")
    finally:
        gate.release()


@st.fragment(run_every=0.05 if _state.training().running else None)
def live(t, objective, seed, shown, config_key):
    state = _state.training()
    tr, history = state.trainer, state.history
    # The note has a fixed place (an empty slot when there is nothing to say), so the
    # elements after it never shift between reruns. Only the note is a placeholder: an
    # st.empty() blanks its slot from the start of a run, so the progress bar and charts
    # are sent whole at the end of the slice, and the old ones stay on screen until then.
    note = st.empty()
    if state.running and tr is not None:
        _train_slice(tr, history, note)
        if tr.step >= tr.steps:
            state.running = False
            _publish(tr, config_key)
            st.rerun()                               # the page redraws without run_every
    elif tr is not None and tr.step > 0 and getattr(_state.learned(), "key", "").split("@")[0] != config_key:
        _publish(tr, config_key)
    if tr is not None:
        done = tr.step / max(tr.steps, 1)
        st.progress(min(done, 1.0), text=f"step {tr.step} of {tr.steps} · {tr.elapsed:.1f} s of training"
                    + (f" · worst Fisher divergence {history[-1]['fisher_max']:.3g}" if history and
                       "fisher_max" in history[-1] else ""))
    target = _target(t, objective, seed, tr, shown)
    view = DG.field_view(target, t.box, tr)
    dg = None if t.is_data else _density(t.key, t.density, DG.density_sigma(target))
    panels = [dict(density=dg, field=view.target, title=DG.field_title(target))]
    if view.learned is not None:
        panels.append(dict(density=dg, field=view.learned, title=f"learned, step {view.step}"))
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(G.panels_figure(panels, t.box, height=600), width="stretch")
    with right:
        st.plotly_chart(G.loss_figure(DG.loss_curve(tr.losses if tr is not None else None)), width="stretch")
        ff = G.fisher_figure(DG.fisher_curves(history, objective, target.source))
        if ff is not None:
            st.plotly_chart(ff, width="stretch")
        if view.error is not None:
            st.plotly_chart(G.error_map_figure(view.error), width="stretch")


def downloads(objective, device):
    state = _state.training()
    d1, d2 = st.columns(2)
    tr = state.trainer
    if tr is not None and tr.step > 0 and not state.running:
        d1.download_button("⬇ Download the model (.pt)", modelio.to_bytes(tr), file_name=f"score-{objective}.pt",
                           mime="application/octet-stream")
        d1.caption("Trained networks go to the Sample and Compare pages as the score source 'learned'.")
    up = d2.file_uploader("Load a model file (.pt, saved here or by `python -m explorer train`)", type=["pt"],
                          key="tr_upload")
    if up is None:
        return
    data = up.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:16]
    if state.upload_digest != digest:
        try:
            model = modelio.from_bytes(data, device=device)
            _state.set_learned(model, f"upload:{digest}")
            state.upload_digest = digest
            d2.success(f"loaded {model.name} ({model.net_kind} network): use it on the Sample page")
        except ValueError as e:
            d2.error(str(e))


t = _sidebar.target()
st.title("Train a score network")
st.caption("The density is unknown to the network: it sees only samples. What it learns depends on the "
           "objective (the line under the settings); the left panel shows that field, and the charts compare "
           "the network with it.")

# settings: from a shared link the first time, then the widgets (the URL follows them)
_state.page_settings("train")
c = st.columns([2.2, 1, 1, 1.2, 1, 1, 1.2, 1])
objective = widget("tr_objective", c[0], format_func=lambda o: OBJECTIVE_REGISTRY[o].label)
width, depth, steps = widget("tr_width", c[1]), widget("tr_depth", c[2]), widget("tr_steps", c[3])
auto_lr = OBJECTIVE_REGISTRY[objective].default("lr")
lr = widget("tr_lr", c[4], format_func=lambda v: f"{v:g}" if v else f"auto ({auto_lr:g})") or None
batch = widget("tr_batch", c[5])
device_choice = c[6].selectbox("device", ["auto", *devices.available()], key="tr_device")
seed = int(widget("tr_seed", c[7]))
device = devices.resolve(device_choice)
threads = torch.get_num_threads()
st.caption(f"device in use: **{device}**" + ("" if device != "cpu" else
                                             f" ({threads} torch thread{'s' if threads != 1 else ''})"))
about = st.empty()          # what the objective learns: filled once the σ (or t) shown is known

config = dict(objective=objective, width=width, depth=depth, steps=steps, lr=lr, batch=batch, device=device, seed=seed)
config_key = hashlib.sha256(repr((t.key, sorted(config.items()))).encode()).hexdigest()[:16]
session = _state.training()
if session.key != config_key and not session.running:
    session.trainer, session.key, session.history = None, config_key, []
    session.error = None             # it was about the settings just changed

b = st.columns([1, 1, 1, 4])
trainer = session.trainer
label = "▶ Start" if trainer is None or trainer.step == 0 else ("▶ Continue" if trainer.step < trainer.steps else "▶ Train on")
running = session.running
b[0].button(label, type="primary", disabled=running, on_click=_start, args=(t.density, config, steps))
b[1].button("■ Stop", disabled=not running, on_click=lambda: setattr(_state.training(), "running", False))
b[2].button("↺ Reset", disabled=running, on_click=lambda: _state.training().reset())
if session.error:
    st.error(session.error)

choices, first = DG.shown_levels(objective, t.density, trainer)
shown = st.select_slider("field shown at " + OBJECTIVE_REGISTRY[objective].level_name, choices,
                         value=choices[first], format_func=lambda v: f"{v:.3g}",
                         key=f"tr_shown_{objective}_{len(choices)}")
about.caption(DG.about(_target(t, objective, seed, trainer, shown), exact=not t.is_data))

live(t, objective, seed, shown, config_key)

st.divider()
downloads(objective, device)
_state.write_url("train")
