"""Lessons: named lecture scenes. Pick one to see it here with what to watch; one click
sets every widget of its page (session state, hence the URL) and opens that page."""
import streamlit as st

from explorer import figures as G
from explorer import presets as P
from explorer import scene as SC
from explorer.training import objectives_table
from pages import _cache, _downloads, _likelihood, _sidebar, _state, _style
from pages._style import show_chart

PAGE_TITLES = {"density": "Density & field", "sample": "Sample", "compare": "Compare", "train": "Train"}


def _open(values, page):
    _state.apply_scene(values)
    if values.get("target") == "gmm":
        _state.set_gmm_rows(_state.DEFAULT_GMM)
    st.session_state["_goto"] = page


def _run(values: dict, page: str, pick: str):
    """A Sample or Compare scene, as its page shows it, with its files."""
    spec = SC.scene_spec(values, page)
    t = _cache.target(spec.target)
    model = _cache.model(t, spec.run.score)
    mkey = _cache.model_key(t, spec.run.score)
    anim, _, modes, runs = _cache.view(mkey, spec, model, t.density)
    for r in runs.values():
        if r["traj"].diverged_at is not None:
            st.error(f"⚠️ {r['traj'].message}")
    if page == "compare":
        show_chart(anim, key="lesson_fig")
        with st.container(key="downloads"):     # the preview as files, named after the lesson
            _downloads.download_row(pick, mkey, spec, model, t.density, key="lesson_dl")
    if page == "sample" and values.get("fp"):       # the Fokker-Planck density beside the particles
        fp_fig, kl_fig, _ = _cache.fokker_planck(mkey, spec, model, t.density)
        show_chart(fp_fig, key="lesson_fp")
        if kl_fig is not None:
            show_chart(kl_fig, key="lesson_kl")
        contrast = P.get(pick).get("contrast")
        if contrast is not None:                    # one knob turned: its KL curves on one axis
            show_chart(_cache.fp_contrast(values, contrast[0], tuple(contrast[1]), contrast[2]), key="lesson_contrast")
        st.table(_style.metrics_table(runs))
        return
    a, b = st.columns([3, 2])
    if page == "sample":
        with a:
            show_chart(anim, key="lesson_fig")
        b.table(_style.metrics_table(runs))
        if spec.run.samplers == ("pf-ode",):
            with b:
                _likelihood.panel(mkey, spec.run, model, t.density, key="lesson_likelihood")
        with st.container(key="downloads"):
            _downloads.download_row(pick, mkey, spec, model, t.density, key="lesson_dl")
    else:
        a.table(_style.metrics_table(runs))
        if modes is not None:
            with b:
                show_chart(modes, key="lesson_modes")


def _density(values: dict):
    """The Density page's figure for the scene's settings."""
    t = _cache.target(SC.target_spec(values))
    sigma, n = float(values["sigma"]), int(values["arrows_n"])
    if t.is_data:          # a data set has no density of its own: its points beside their KDE
        panels = [dict(density=None, field=None, samples=t.density.fixed.numpy(),
                       title=f"{t.name}: {len(t.density.fixed):,} points")]
    else:
        dg, fg, _ = _cache.grids(_cache.model_key(t, "exact"), t.density, t.box, sigma, n)
        panels = [dict(density=dg, field=fg, title=f"{t.name}, σ = {sigma:g}")]
    if values["kde_side"] or t.is_data:
        kde = _cache.kde(t)
        kd, kf, _ = _cache.grids(_cache.model_key(t, "kde"), kde, t.box, sigma, n)
        bw = f"h = {values['bw_h']:g}" if values["bw"] == "number" else values["bw"]
        what = "the data" if t.is_data else f"{len(kde.data):,} draws"
        panels.append(dict(density=kd, field=kf, samples=kde.data.numpy() if values["kde_pts"] else None,
                           title=f"KDE of {what} ({bw})"))
    show_chart(G.panels_figure(panels, t.box, normalise=values["arrows"] == "normalised", colour=values["colour"],
                               log=values["logp"], height=600), key="lesson_fig")


st.title("Lessons")

names = P.names()
if "lesson_pick" not in st.session_state:
    q = st.query_params.get("lesson")
    st.session_state["lesson_pick"] = q if q in names else names[0]
left, right = st.columns([1, 3.2])
with left:
    pick = st.radio("scene", names, key="lesson_pick", format_func=lambda n: P.get(n)["title"],
                    persist_state="session")
_state.write_url("lessons", {"lesson": pick})
preset = P.get(pick)
scene = P.scene(pick)

goto = st.session_state.pop("_goto", None)
if goto is not None:
    # query_params={}: switch_page's default clears the URL, which Streamlit refuses while
    # widgets are bound to it; the bound widgets write their new values back themselves
    st.switch_page(_sidebar.PAGES[goto], query_params={})

with right:
    st.subheader(preset["title"])
    st.caption(f"Target: {scene['target']} · opens on the {PAGE_TITLES[preset['page']]} page, which sets the "
               "sidebar's target too")
    st.info("**What to watch.** " + preset["watch"])
    st.button(f"▶ Set up this scene on the {PAGE_TITLES[preset['page']]} page", type="primary",
              on_click=_open, args=(scene, preset["page"]), key="lesson_open")
    try:
        with st.spinner("Preparing the scene…"):
            if preset["page"] in ("sample", "compare"):
                _run(scene, preset["page"], pick)
            elif preset["page"] == "train":
                st.markdown("Training runs on the Train page (a few seconds each). What each objective "
                            "matches and what it gives:")
                st.table(objectives_table())
            else:
                _density(scene)
    except ValueError as e:
        st.error(str(e))
