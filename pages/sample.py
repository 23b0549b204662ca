"""Sample: one sampler on the target, animated over the density and the score; beside
it the final samples against exact draws and the numbers that judge them."""
import streamlit as st

from explorer import registry
from explorer import scene as SC
from explorer import settings as S
from explorer.fokker_planck import SAMPLERS as FP_SAMPLERS
from explorer.simulate import EVAL_MAX, known_bias
from pages import _cache, _downloads, _likelihood, _sidebar, _state, _style
from pages import _widgets as widgets
from pages._style import show_chart
from pages._widgets import widget


def _field_note(sampler, model) -> str:
    """What the arrows under the animation are (explorer.scene.arrows_under)."""
    kind = registry.get(sampler).field
    if kind == "levels":
        return "Arrows show the score at the current noise level σ. "
    if kind == "cld":
        if getattr(model, "kind", "") == "learned":
            return "No arrows: a learned CLD network gives only the velocity score ∇ᵥ log pₜ(x, v). "
        return ("Arrows show ∇ₓ log pₜ, the score of the x-marginal of the CLD forward law pₜ at the frame's "
                "time t (t = 1: about the prior N(0, I); t = 0: the data), the field the particles' velocity score "
                "∇ᵥ log pₜ(x, v) is built around; they are not the data's score until t = 0. ")
    if kind == "sde":
        return ("Arrows show ∇ log pₜ, the score of the SDE's marginal at the frame's time t (its label gives t and "
                "the noise), the field the sampler follows at that moment. ")
    return "Arrows show the score the sampler follows, ∇ log p. "


def _facts(auto: dict, model) -> dict:
    """The target's defaults that the parameter widgets' help texts name."""
    per = auto.get("steps_per_level") or [0]
    return {**auto, "quarter_scale": 0.25 * model.scale, "sigma_max": model.sigma_max,
            "sigma_min": 0.1 * model.scale, "per_level_min": min(per), "per_level_max": max(per),
            "per_level_total": sum(per)}


t = _sidebar.target()
_state.page_settings("sample")

st.title("Sample a target")

with st.container(key="widget_rows"):     # hidden in presentation mode
    c1, c2, c3, c4, c5 = st.columns([2.2, 2.2, 1.6, 1.6, 1.2])
    sampler = widget("sampler", c1)
    c1.caption(registry.label(sampler))
    entry = registry.get(sampler)
    source = widgets.score(t, "score", c2)
    particles = widget("particles", c3)
    init = widget("init", c4, disabled=entry.own_prior)
    seed = widget("seed", c5)

    try:
        model = _cache.model(t, source)
    except ValueError as e:
        st.error(str(e))
        st.stop()

    auto = entry.defaults(model)
    with st.expander("Sampler parameters (0 = the default for this target)", expanded=False):
        cols = st.columns(4)
        facts = _facts(auto, model)
        for i, key in enumerate(entry.settings):       # the sampler's own settings (its registry entry)
            widget(key, cols[min(i, 3)], help=S.help_text(key, **facts) or None)
        q1, q2, q3 = st.columns(3)
        frames = widget("frames", q1)
        trails = widget("trails", q2)
        arrows = widget("field", q3)
        fp = widget("fp", q1, disabled=sampler not in FP_SAMPLERS) and sampler in FP_SAMPLERS

_state.write_url("sample")
spec = SC.SceneSpec(t.spec, SC.run_spec(dict(st.session_state), "sample"), "sample")
mkey = _cache.model_key(t, source)
try:
    with st.spinner(f"Running {registry.label(sampler)} with {particles:,} particles…"):
        tall = _style.PRESENT_HEIGHT if _style.presenting() else _style.ANIMATION_HEIGHT
        anim, final, modes, runs = _cache.view(mkey, spec, model, t.density, tall)
except ValueError as e:
    st.error(f"{e}")
    st.stop()

run = runs[sampler]
traj, ev = run["traj"], run["eval"]
if traj.diverged_at is not None:       # the frames up to the blow-up are animated below
    st.error(f"⚠️ {traj.message} The animation shows the {traj.n_frames} frames up to step {traj.diverged_at}.")
    knob = entry.step_setting
    fix = traj.params.get("suggested")
    fix = min(fix, S.high("steps")) if fix is not None and knob == "steps" else fix
    if fix is not None:
        st.button(f"Use the suggested {'steps' if knob == 'steps' else 'step'} ({fix:.3g})", key="use_stable",
                  on_click=_state.apply_scene, args=({knob: int(fix) if knob == "steps" else float(fix)},))

kinetic = traj.velocities is not None
present = _style.presenting()
if fp:       # the law beside the particles, one timeline (explorer/fokker_planck.py)
    try:
        with st.spinner("Solving the Fokker–Planck equation on the grid…"):
            anim, kl_fig, mass_error = _cache.fokker_planck(mkey, spec, model, t.density)
    except ValueError as e:
        st.error(f"No Fokker–Planck density: {e}")
        fp = False
wide = kinetic or present or fp
if wide:      # two panels (x and v, or particles and p_t): the animation takes the full width
    show_chart(anim, key="sample_anim")
    left, right = st.columns([3, 2])
else:
    left, right = st.columns([3, 2])
    with left:
        show_chart(anim, key="sample_anim")
with left:
    st.caption("▶ Play / ❚❚ Pause / faster / slower, or drag the slider. "
               + ("Right panel: velocities (dashed: 95% circle of N(0, M I)). " if kinetic else "")
               + ("Right panel: p_t, the particles' law from the Fokker–Planck equation, at the same step. " if fp else "")
               + (_field_note(sampler, model) if arrows and not fp else ""))
    bias = known_bias(sampler, model)
    if bias:
        st.caption("⚠️ " + bias)
    if entry.note:
        st.caption(entry.note(auto))
    if fp and kl_fig is not None:
        show_chart(kl_fig, key="sample_kl")
        st.caption(f"Left: KL(p_t ‖ π) on the grid, which never increases under a fixed field. Right: the total-variation "
                   f"distance between the particles' 20 × 20 histogram and p_t, over what exact draws of p_t give (1: "
                   f"within sampling noise). Mass conserved to {mass_error:.0e}.")
    if wide and final is not None:
        show_chart(final, key="sample_final")
with right:
    if final is not None and not wide:
        show_chart(final, key="sample_final")
    elif final is None:
        st.info("No metrics: the run has no finite samples.")
    st.table(_style.metrics_table(runs))
    if modes is not None:
        st.markdown("**Per-mode weights vs the truth**")
        show_chart(modes, key="sample_modes")
if sampler == "pf-ode":       # the ODE is a flow: its exact likelihood
    _likelihood.panel(mkey, spec.run, model, t.density, key="sample_likelihood")
n_eval = min(particles, EVAL_MAX)
st.caption(f"Energy distance to 2,000 exact draws beside its noise floor, the value 99% of exact sample sets of the "
           f"same size stay below: under it the run is indistinguishable from exact draws. Spread: the std around each "
           f"mode over the mode's true std. Metrics use {n_eval:,} of the {particles:,} particles.")

with st.container(key="downloads"):      # the current animation as files (explorer/export.py)
    st.markdown("**Take it to the lecture hall** — the animation above as a file that plays offline, or the raw run:")
    _downloads.download_row(f"{t.name}-{sampler}-seed{int(seed)}", mkey, spec, model, t.density)
