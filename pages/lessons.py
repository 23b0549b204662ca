"""Lessons: named lecture scenes. Pick one to see it here with what to watch; one click
sets every widget of its page (session state, hence the URL) and opens that page."""
import json

import streamlit as st

from explorer import figures as G
from explorer import presets as P
from pages import _downloads, _ui

PAGE_TITLES = {"density": "Density & field", "sample": "Sample", "compare": "Compare", "train": "Train"}

st.title("Lessons")

names = P.names()
if "lesson_pick" not in st.session_state:
    q = st.query_params.get("lesson")
    st.session_state["lesson_pick"] = q if q in names else names[0]
left, right = st.columns([1, 3.2])
with left:
    pick = st.radio("scene", names, key="lesson_pick", format_func=lambda n: P.get(n)["title"],
                    persist_state="session")
_ui.write_url("lessons", {"lesson": pick})
preset = P.get(pick)
scene = P.scene(pick)


def _open(values, page):
    _ui.apply_scene(values)
    if values.get("target") == "gmm":
        _ui.set_gmm_rows(_ui.DEFAULT_GMM)
    st.session_state["_goto"] = page


goto = st.session_state.pop("_goto", None)
if goto is not None:
    # query_params={}: switch_page's default clears the URL, which Streamlit refuses while
    # widgets are bound to it; the bound widgets write their new values back themselves
    st.switch_page(_ui.PAGES[goto], query_params={})

with right:
    st.subheader(preset["title"])
    st.caption(f"Target: {scene['target']} · opens on the {PAGE_TITLES[preset['page']]} page, which sets the "
               "sidebar's target too")
    st.info("**What to watch.** " + preset["watch"])
    st.button(f"▶ Set up this scene on the {PAGE_TITLES[preset['page']]} page", type="primary",
              on_click=_open, args=(scene, preset["page"]), key="lesson_open")

    t = _ui.make_target(_ui.make_spec(scene))
    page = preset["page"]
    try:
        with st.spinner("Preparing the scene…"):
            if page == "compare":
                settings = json.dumps({"eps": scene["c_eps"], "steps": scene["c_steps"], "friction": scene["c_friction"]},
                                      sort_keys=True)
                model = _ui.score_model(t, scene["c_score"])
                args = (_ui.model_key(t, scene["c_score"]), model, t.density, tuple(scene["cmp"]), settings,
                        int(scene["c_particles"]), int(scene["c_seed"]), scene["c_init"], int(scene["c_frames"]))
                fig, modes, runs = _ui.compare_figures(*args)
                _ui.show_chart(fig, key="lesson_fig")
                with st.container(key="downloads"):     # the preview as files, named after the lesson
                    _downloads.download_row(pick, args, make=_downloads.compare_bytes, key="lesson_dl")
                a, b = st.columns([3, 2])
                a.table(_ui.metrics_table(runs))
                if modes is not None:
                    with b:
                        _ui.show_chart(modes, key="lesson_modes")
            elif page == "sample":
                s = {k: scene[k] for k in ("eps", "a_eps", "h", "steps", "levels", "per_level", "sig_max",
                                           "sig_min", "mass", "friction", "cld_mass", "cld_friction")}
                model = _ui.score_model(t, scene["score"])
                args = (_ui.model_key(t, scene["score"]), model, t.density, scene["sampler"],
                        json.dumps(s, sort_keys=True), int(scene["particles"]), int(scene["seed"]), scene["init"],
                        int(scene["frames"]), bool(scene["trails"]), bool(scene["field"]))
                anim, final, modes, runs = _ui.sample_figures(*args)
                traj = runs[scene["sampler"]]["traj"]
                if traj.diverged_at is not None:
                    st.error(f"⚠️ {traj.message}")
                a, b = st.columns([3, 2])
                with a:
                    _ui.show_chart(anim, key="lesson_fig")
                with b:
                    b.table(_ui.metrics_table(runs))
                with st.container(key="downloads"):
                    _downloads.download_row(pick, args, key="lesson_dl")
            elif page == "train":
                st.markdown("Training runs on the Train page (a few seconds each). What each objective "
                            "matches, what it gives, and its speed on 2 CPU cores:")
                st.table(P.OBJECTIVES_TABLE)
                rows = P.OBJECTIVES_TABLE
                bars = G.go.Figure(G.go.Bar(x=[r["objective"] for r in rows], y=[r["steps/s"] for r in rows],
                                            marker_color=G.PARTICLE))
                bars.update_layout(title="training steps per second (2 CPU cores, batch 512)", height=360,
                                   font_size=G.FONT, margin=dict(l=60, r=20, t=60, b=40))
                _ui.show_chart(bars, key="lesson_fig")
            else:
                sigma = float(scene["sigma"])
                dg, fg, _ = _ui.grids(_ui.model_key(t, "exact"), t.density, t.box, sigma, int(scene["arrows_n"]))
                panels = [dict(density=dg, field=fg, title=f"{t.name}, σ = {sigma:g}")]
                if scene["kde_side"]:
                    kde = _ui.build_kde(t.key)
                    kd, kf, _ = _ui.grids(_ui.model_key(t, "kde"), kde, t.box, sigma, int(scene["arrows_n"]))
                    panels.append(dict(density=kd, field=kf, samples=kde.data.numpy() if scene["kde_pts"] else None,
                                       title=f"KDE of {len(kde.data):,} draws ({scene['bw']})"))
                fig = G.panels_figure(panels, t.box, normalise=scene["arrows"] == "normalised",
                                      colour=scene["colour"], log=scene["logp"], height=600)
                _ui.show_chart(fig, key="lesson_fig")
    except ValueError as e:
        st.error(str(e))
