"""Sample: one sampler on the target, animated over the density and the score; beside
it the final samples against exact draws and the numbers that judge them."""
import json

import streamlit as st

from explorer.simulate import INITS, defaults, known_bias
from explorer import presets as P
from explorer import validate as V
from pages import _downloads, _ui

KEEP = _ui.KEEP


def _field_note(sampler, model) -> str:
    """What the arrows under the animation are (explorer.export.scene_parts)."""
    if sampler == "annealed":
        return "Arrows show the score at the current noise level σ. "
    if sampler in ("cld", "cld-ode"):
        if getattr(model, "kind", "") == "learned":
            return "No arrows: a learned CLD network gives only the velocity score ∇ᵥ log pₜ(x, v). "
        return ("Arrows show ∇ₓ log pₜ, the score of the x-marginal of the CLD forward law pₜ at the frame's "
                "time t (t = 1: about the prior N(0, I); t = 0: the data), the field the particles' velocity score "
                "∇ᵥ log pₜ(x, v) is built around; they are not the data's score until t = 0. ")
    return "Arrows show the score the sampler follows, ∇ log p. "


DF = P.PAGE_DEFAULTS["sample"]
t = _ui.target()
_ui.seed(DF)
_ui.url_errors()

st.title("Sample a target")

with st.container(key="widget_rows"):     # hidden in presentation mode
    c1, c2, c3, c4, c5 = st.columns([2.2, 2.2, 1.6, 1.6, 1.2])
    with c1:
        sampler = st.selectbox("sampler", _ui.SAMPLER_NAMES, _ui.SAMPLER_NAMES.index(DF["sampler"]), key="sampler", **KEEP)
        st.caption(_ui.SAMPLER_LABELS[sampler])
    with c2:
        source = _ui.score_widget(t, "score")
    with c3:
        particles = st.select_slider("particles", V.options("particles"), DF["particles"], key="particles", **KEEP)
    with c4:
        init = st.selectbox("initial particles", INITS, INITS.index(DF["init"]), key="init", disabled=sampler in ("cld", "cld-ode"),
                            help="gaussian: N(centre, (box/4)²); uniform: on the box; prior: N(0, I). "
                                 "CLD always starts from its prior.", **KEEP)
    with c5:
        seed = st.number_input("seed", 0, 2**31 - 1, DF["seed"], 1, key="seed", **KEEP)

    try:
        model = _ui.score_model(t, source)
    except ValueError as e:
        st.error(str(e))
        st.stop()

    auto = defaults(sampler, model)
    with st.expander("Sampler parameters (0 = the default for this target)", expanded=False):
        p1, p2, p3, p4 = st.columns(4)
        s = {}
        if sampler in ("langevin", "mala"):
            s["eps"] = p1.number_input("step size ε", 0.0, 100.0, DF["eps"], format="%.4g", key="eps",
                                       help=f"0 = default: {auto['step_size']:.3g}. Step: x + ε s(x) + √(2ε) z "
                                            "(NCSN's lr is 2ε).", **KEEP)
        if sampler == "annealed":
            s["a_eps"] = p1.number_input("step size ε at the last level", 0.0, 100.0, DF["a_eps"], format="%.4g", key="a_eps",
                                       help="0 = default: 0.1 σ_L². Level i uses ε σ_i²/σ_L².", **KEEP)
        if sampler == "underdamped":
            s["h"] = p1.number_input("time step h", 0.0, 100.0, DF["h"], format="%.4g", key="h",
                                       help=f"0 = default: scale·√M/4 (here {0.25 * model.scale:.3g} at M = 1)", **KEEP)
        if sampler in ("langevin", "mala", "underdamped", "cld", "cld-ode"):
            s["steps"] = p2.number_input("steps", 0, V.high("steps"), DF["steps"], 100, key="steps",
                                         help=f"0 = default: {auto.get('steps')}", **KEEP)
        if sampler == "annealed":
            s["levels"] = p2.number_input("noise levels L", 2, V.high("levels"), DF["levels"], 1, key="levels", **KEEP)
            s["per_level"] = p3.number_input("steps per level", 0, V.high("per_level"), DF["per_level"], 10, key="per_level",
                                             help="0 = default: scheduled by each level's relaxation time, "
                                                  f"{min(auto['steps_per_level'])}–{max(auto['steps_per_level'])} a "
                                                  f"level, {sum(auto['steps_per_level']):,} in all (the small σ "
                                                  "relax slowest)", **KEEP)
            s["sig_max"] = p4.number_input("σ_max", 0.0, 100.0, DF["sig_max"], format="%.3g", key="sig_max",
                                           help=f"0 = default: {model.sigma_max:.3g} (the data's spread)", **KEEP)
            s["sig_min"] = p4.number_input("σ_min", 0.0, 10.0, DF["sig_min"], format="%.3g", key="sig_min",
                                           help=f"0 = default: {0.1 * model.scale:.3g}", **KEEP)
        if sampler == "underdamped":
            s["mass"] = p3.number_input("mass M", 0.01, 100.0, DF["mass"], format="%.3g", key="mass", **KEEP)
            s["friction"] = p4.number_input("friction Γ", 0.0, 1000.0, DF["friction"], format="%.3g", key="friction",
                                            help="0 = critical damping at the stiffest curvature, 2√M/scale", **KEEP)
        if sampler in ("cld", "cld-ode"):
            s["cld_mass"] = p3.number_input("mass M", 0.01, 10.0, DF["cld_mass"], format="%.3g", key="cld_mass", **KEEP)
            s["cld_friction"] = p4.number_input("friction Γ", 0.0, 100.0, DF["cld_friction"], format="%.3g", key="cld_friction",
                                                help="0 = critical damping Γ = 2√M", **KEEP)
        q1, q2, q3 = st.columns(3)
        frames = q1.select_slider("frames recorded", V.options("frames"), DF["frames"], key="frames", **KEEP)
        trails = q2.toggle("fading trails", DF["trails"], key="trails", **KEEP)
        arrows = q3.toggle("score arrows (annealed: at the current σ; CLD: ∇ₓ log pₜ at the frame's t)", DF["field"],
                           key="field", help="Langevin, MALA, underdamped: the score they follow, ∇ log p. Annealed: the "
                                             "score at the frame's noise level σ. CLD: ∇ₓ log pₜ, the score of the "
                                             "x-marginal of the forward law pₜ at the frame's time t (the field the "
                                             "particles' velocity score ∇ᵥ log pₜ(x, v) is built around); none for a "
                                             "learned CLD network.", **KEEP)

_ui.write_url("sample")
settings = json.dumps(s, sort_keys=True)
mkey = _ui.model_key(t, source)
steps_hint = f"{particles:,} particles"
try:
    with st.spinner(f"Running {_ui.SAMPLER_LABELS[sampler]} with {steps_hint}…"):
        tall = _ui.PRESENT_HEIGHT if st.session_state.get("present") else 760
        anim, final, modes, runs = _ui.sample_figures(mkey, model, t.density, sampler, settings, int(particles),
                                                      int(seed), init, int(frames), bool(trails), bool(arrows), tall)
except ValueError as e:
    st.error(f"{e}")
    st.stop()

run = runs[sampler]
traj, ev = run["traj"], run["eval"]
if traj.diverged_at is not None:       # the frames up to the blow-up are animated below
    st.error(f"⚠️ {traj.message} The animation shows the {traj.n_frames} frames up to step {traj.diverged_at}.")
    widget = {"langevin": "eps", "mala": "eps", "annealed": "a_eps", "underdamped": "h"}.get(sampler, "steps")
    fix = traj.params.get("suggested")
    fix = min(fix, V.high("steps")) if fix is not None and widget == "steps" else fix
    if fix is not None:
        st.button(f"Use the suggested {'steps' if widget == 'steps' else 'step'} ({fix:.3g})", key="use_stable",
                  on_click=_ui.apply_scene, args=({widget: int(fix) if widget == "steps" else float(fix)},))

kinetic = traj.velocities is not None
present = bool(st.session_state.get("present"))
if kinetic or present:      # two panels (x and v): the animation takes the full width
    _ui.show_chart(anim, key="sample_anim")
    left, right = st.columns([3, 2])
else:
    left, right = st.columns([3, 2])
    with left:
        _ui.show_chart(anim, key="sample_anim")
with left:
    st.caption("▶ Play / ❚❚ Pause / faster / slower, or drag the slider. "
               + ("Right panel: velocities (dashed: 95% circle of N(0, M I)). " if kinetic else "")
               + (_field_note(sampler, model) if arrows else ""))
    bias = known_bias(sampler, model)
    if bias:
        st.caption("⚠️ " + bias)
    if sampler == "mala":
        st.caption(f"MALA's proposal uses the score capped at length {auto['drift_cap']:.3g} = 5/s (MALTA, Roberts & "
                   "Tweedie 1996): where the score grows faster than linearly (double-well, banana), plain MALA's "
                   "proposals from the far tails overshoot and are all rejected, so those particles never move; the "
                   "cap walks them in. Within ~5 std of a mode the cap is not reached, and the chain stays exact.")
    if (kinetic or present) and final is not None:
        _ui.show_chart(final, key="sample_final")
with right:
    if final is not None and not (kinetic or present):
        _ui.show_chart(final, key="sample_final")
    elif final is None:
        st.info("No metrics: the run has no finite samples.")
    st.table(_ui.metrics_table(runs))
    if modes is not None:
        st.markdown("**Per-mode weights vs the truth**")
        _ui.show_chart(modes, key="sample_modes")
n_eval = min(particles, _ui.EVAL_MAX)
st.caption(f"Energy distance to 2,000 exact draws beside its noise floor, the value 99% of exact sample sets of the "
           f"same size stay below: under it the run is indistinguishable from exact draws. Spread: the std around each "
           f"mode over the mode's true std. Metrics use {n_eval:,} of the {particles:,} particles.")

with st.container(key="downloads"):      # the current animation as files (explorer/export.py)
    st.markdown("**Take it to the lecture hall** — the animation above as a file that plays offline, or the raw run:")
    _downloads.download_row(f"{t.name}-{sampler}-seed{int(seed)}",
                     (mkey, model, t.density, sampler, settings, int(particles), int(seed), init, int(frames),
                      bool(trails), bool(arrows)))
