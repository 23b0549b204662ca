"""The one scene pipeline: settings → target → score model → runs → figures → files.

A scene is described by a hashable ``SceneSpec`` (its ``TargetSpec`` and ``RunSpec``,
made from settings by URL name: ``scene_spec``), and built by the functions below. The
app caches each step (``pages/_cache.py``), the CLI and the exports call ``compute``,
and the lessons hand a preset's settings to the same functions, so a file exported from
the command line holds the positions the app shows for the same settings and seed.

No Streamlit here.
"""
from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass
from dataclasses import field as _field

import numpy as np
import torch

from . import densities as D
from . import drawing as DR
from . import fields as F
from . import figures as G
from . import registry
from . import settings as SET
from .diffusions import CLD, sde_from_config
from .kde import KDE
from .samplers import Trajectory
from .simulate import EVAL_MAX, evaluate, initial, score_source, simulate

ARROWS = 17              # arrows per side under an animation
GRID = 120               # density pixels per side under an animation


# ----- descriptions (hashable: the app's cache keys) ----------------------------------
@dataclass(frozen=True)
class TargetSpec:
    """What the sidebar picks: a built-in density with its parameters (JSON), a data set
    of ``n`` seeded draws, or an uploaded CSV (by its digest); and the KDE settings."""
    name: str = SET.SETTINGS["target"].default
    params: str = "{}"
    csv: str | None = None
    kernel: str = "gaussian"
    bandwidth: str | float = "scott"
    shape: str = "full"
    kde_n: int = 1000

    @property
    def key(self) -> str:
        return json.dumps([self.name, self.params, self.csv, self.kernel, self.bandwidth, self.shape, self.kde_n])

    @property
    def is_data(self) -> bool:
        return self.name in SET.DATASETS + SET.OWN_DATA


@dataclass(frozen=True)
class Target:
    """A built target: its description and its density (a data set: its points)."""
    spec: TargetSpec
    density: D.Density

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def box(self) -> tuple:
        return self.density.box

    @property
    def is_data(self) -> bool:
        return self.density.kind == "samples"


@dataclass(frozen=True)
class RunSpec:
    """What a Sample or Compare page runs: samplers from the same particles and seed
    (``lockstep``), with the score source, sampler settings by URL name (JSON; 0 means the
    sampler's default) and what is drawn."""
    samplers: tuple
    score: str = "exact"
    settings: str = "{}"
    particles: int = 1000
    seed: int = 0
    init: str = "gaussian"
    frames: int = 200
    trails: bool = True
    arrows: bool = True

    def options(self, model) -> dict:
        s = json.loads(self.settings)
        return {name: registry.get(name).options(model, s) for name in self.samplers}


@dataclass(frozen=True)
class SceneSpec:
    target: TargetSpec
    run: RunSpec
    page: str = "sample"


def target_spec(values: dict, csv: str | None = None) -> TargetSpec:
    """The target from sidebar settings by URL name (defaults filled in); ``values['gmm_rows']``
    holds the mixture table. A 'csv' target without a file stands in as moons."""
    v = {**SET.defaults("target"), **values}
    name = v["target"]
    if name == "gmm":
        params = SET.gmm_from_rows(v["gmm_rows"]) if v.get("gmm_rows") else SET.check_params("gmm", D.DEFAULT_GMM)
    elif name == "drawn":           # the points themselves, as the link carries them (explorer.drawing)
        params = {"code": v.get("drawing") or DR.DEFAULT_CODE}
    else:
        params = SET.target_params(v)
    if name == "csv" and csv is None:
        name, params = "moons", {"n": 1000}
    bw = float(v["bw_h"]) if v["bw"] == "number" else v["bw"]
    return TargetSpec(name, json.dumps(params, sort_keys=True), csv if name == "csv" else None, v["kernel"], bw,
                      v["bw_shape"], int(v["kde_n"]))


def run_spec(values: dict, page: str = "sample") -> RunSpec:
    """A page's run from its settings by URL name (defaults filled in). The Compare page
    shares its step, steps and friction among its samplers and, like
    ``figures.compare_figure``, draws neither trails nor arrows."""
    v = {**SET.defaults(page), **values}
    if page == "compare":
        shared = {SET.SETTINGS[k].code: v[k] for k in ("c_eps", "c_steps", "c_friction", "c_sde")}
        return RunSpec(tuple(v["cmp"]), v["c_score"], json.dumps(shared, sort_keys=True), int(v["c_particles"]),
                       int(v["c_seed"]), v["c_init"], int(v["c_frames"]), trails=False, arrows=False)
    mine = registry.get(v["sampler"]).settings
    return RunSpec((v["sampler"],), v["score"], json.dumps({k: v[k] for k in mine}, sort_keys=True),
                   int(v["particles"]), int(v["seed"]), v["init"], int(v["frames"]), bool(v["trails"]),
                   bool(v["field"]))


def scene_spec(values: dict, page: str, csv: str | None = None) -> SceneSpec:
    return SceneSpec(target_spec(values, csv), run_spec(values, page), page)


def preset_spec(preset: str | None = None, **kw) -> SceneSpec:
    """The scene of a lesson preset, or of ``density`` + ``sampler`` on the Sample page's
    defaults (``preset_settings``' arguments)."""
    return scene_spec(*preset_settings(preset, **kw))


def preset_settings(preset: str | None = None, *, density: str | None = None, sampler: str | None = None,
                    score: str | None = None, **overrides) -> tuple[dict, str]:
    """(every setting by URL name, the page they belong to) of a lesson preset, or of an
    explicit density + sampler on the Sample page's defaults. Presets of the Density and
    Train pages give the Sample page's defaults on their target."""
    from . import presets as P
    if preset is not None:
        p = P.get(preset)
        page = p["page"] if p["page"] in ("sample", "compare") else "sample"
        values = {**SET.defaults("target"), **SET.defaults(page), **p["settings"]}
        if p["page"] != page and values["target"] in SET.DATASETS + SET.OWN_DATA:
            values["score"] = "kde"          # a data set's only score
    else:
        page = "sample"
        values = {**SET.defaults("target"), **SET.defaults("sample")}
        if density is not None:
            if density not in D.names():
                raise ValueError(f"unknown density '{density}'; choose one of: {', '.join(D.names())}")
            values["target"] = density
            if density in SET.DATASETS:
                values["score"] = "kde"
    if sampler is not None:
        values["cmp" if page == "compare" else "sampler"] = [sampler] if page == "compare" else sampler
    if score is not None:
        values["c_score" if page == "compare" else "score"] = score
    keys = {"particles": ("particles", "c_particles"), "seed": ("seed", "c_seed"), "frames": ("frames", "c_frames")}
    for k, v in overrides.items():
        if v is None:
            continue
        if k not in keys:
            raise ValueError(f"unknown setting '{k}'")
        values[keys[k][page == "compare"]] = v
    return values, page


# ----- the target and its score --------------------------------------------------------
def build_density(spec: TargetSpec, data=None) -> D.Density:
    """The target: a built-in density, a data set of ``n`` draws (seed 0), a drawing (its
    code), or ``data`` (the uploaded CSV's points) for 'csv'."""
    params = json.loads(spec.params)
    if spec.name == "csv":
        if data is None:
            raise ValueError("the uploaded file is no longer in this session; upload it again")
        return D.from_array(np.asarray(data), name="csv")
    if spec.name == "drawn":
        xy, _ = DR.check(DR.decode(params["code"]))
        return D.from_array(xy, name="drawn", box=DR.BOX)
    if spec.name in SET.DATASETS:
        drawn = D.get(spec.name).sample(int(params.get("n", 1000)), torch.Generator().manual_seed(0))
        return D.from_array(drawn.numpy(), name=spec.name)
    return D.get(spec.name, **params)


def build_kde(spec: TargetSpec, density) -> KDE:
    """The sidebar's KDE: of the data for data sets, of ``kde_n`` exact draws (seed 0)
    for built-in densities."""
    kw = dict(kernel=spec.kernel, bandwidth=spec.bandwidth, shape=spec.shape)
    if density.kind == "samples":
        return KDE(density.fixed, name=f"kde({density.name})", **kw)
    return score_source(density, "kde", kde_points=spec.kde_n, seed=0, **kw)


def score_model(density, source: str, kde=None, learned=None):
    """The score a sampler follows: 'exact' (the density), 'kde' (``kde``: a KDE or a
    function that builds it) or 'learned' (``learned``: a trained network)."""
    if source == "exact":
        if density.kind == "samples":
            raise ValueError(f"'{density.name}' is known only through samples: use the kde score")
        return density
    if source == "kde":
        return kde() if callable(kde) else kde
    if source == "learned":
        if learned is None:
            raise ValueError("no trained network yet: train one on the Train page")
        return learned
    raise ValueError(f"unknown score source '{source}'; choose exact, kde or learned")


# ----- runs -----------------------------------------------------------------------------
def lockstep(model, samplers, *, particles: int = 1000, seed: int = 0, init: str = "gaussian", frames: int = 200,
             box=None, options: dict | None = None, device: str = "cpu") -> dict[str, Trajectory]:
    """Run several samplers from the *same* initial particles and the same noise seed.

    One draw x0 from ``initial(init, ...)`` feeds every sampler; kinetic samplers also
    share one velocity draw z (v0 = sqrt(M) z). Samplers with their own prior (CLD:
    N(0, I) x N(0, M I)) share x0 when ``init='prior'`` and otherwise start from their own
    prior draw (their ``params['start']`` says which). Every sampler's noise comes from
    a generator seeded with ``seed + 1``; options are the sampler's defaults updated by
    ``options[sampler]`` (None values ignored)."""
    box = box or model.box
    options = options or {}
    g0 = torch.Generator(device=device).manual_seed(int(seed))
    x0 = initial(init, particles, box, g0, device)
    z = torch.randn(particles, 2, generator=g0, device=device, dtype=torch.float32)
    out = {}
    for name in samplers:
        entry = registry.get(name)
        opts = {k: v for k, v in (options.get(name) or {}).items() if v is not None}
        start, x, v = init, x0.clone(), None
        if entry.own_prior and not entry.kinetic:
            # its own law (an SDE's prior, the data), drawn from the seed: samplers with the
            # same law (reverse-sde and pf-ode of one SDE) start from the same draw
            full = {**entry.defaults(model), **opts}
            x, _ = entry.prior(model, full, particles, torch.Generator(device=device).manual_seed(int(seed)), device)
            start = "own prior"
        elif entry.own_prior:
            if init == "prior":
                v = math.sqrt((opts.get("cld") or getattr(model, "cld", None) or CLD()).mass) * z
            else:
                x, start = None, "own prior"            # simulate draws it from the prior
        elif entry.kinetic:
            v = math.sqrt(opts.get("mass", 1.0)) * z
        traj = simulate(model, name, particles=particles, seed=int(seed) + 1, init=init, device=device,
                        frames=frames, box=box, x0=x, v0=v, **opts)
        traj.params["start"] = start
        traj.params.pop("v", None)
        out[name] = traj
    return out


def judge(traj: Trajectory, density, seed: int) -> dict:
    """``simulate.evaluate`` on the first ``EVAL_MAX`` particles ({} where it cannot)."""
    try:
        return evaluate(traj, density, seed=seed)
    except ValueError:
        return {}


def run(model, density, spec: RunSpec, guard=contextlib.nullcontext) -> dict:
    """The spec's runs from the same particles, and their metrics: {sampler: {'traj',
    'eval', 'seconds'}}. ``guard()`` is entered around each run (the app: one CPU core)."""
    for name in spec.samplers:
        registry.check_model(name, model)
    options = spec.options(model)
    out = {}
    for name in spec.samplers:
        with guard():
            t0 = time.perf_counter()
            traj = lockstep(model, [name], particles=spec.particles, seed=spec.seed, init=spec.init,
                            frames=spec.frames, box=density.box, options=options)[name]
            secs = time.perf_counter() - t0
        out[name] = {"traj": traj, "eval": judge(traj, density, spec.seed), "seconds": secs}
    return out


LIKELIHOOD_POINTS = 200


def likelihood(model, density, spec: RunSpec, points: int = LIKELIHOOD_POINTS) -> dict:
    """The probability-flow ODE as a flow (``sdes.likelihoods``): the log-likelihood of
    ``points`` draws of the target (seeded by the run's seed) under the run's SDE and
    score, beside the exact log-density; {} where the run has no SDE or the target no draws."""
    from . import sdes
    opts = spec.options(model).get(spec.samplers[0], {})
    if "sde" not in opts or not hasattr(density, "sample"):
        return {}
    x = density.sample(points, torch.Generator().manual_seed(spec.seed))
    return {"points": x.double().numpy(), **sdes.likelihoods(model, density, x, sde=opts["sde"])}


FP_GRID = 121       # the app's Fokker-Planck cells per side (the CLI's default is 201)


def fokker_planck(model, density, spec: RunSpec, traj: Trajectory, n: int = FP_GRID):
    """The Fokker-Planck density of the run's sampler at its recorded steps (``traj.steps``)
    from its initial law, and per frame (TV, noise) of the particles' histogram against it
    (``fokker_planck.histogram_gap``)."""
    from . import fokker_planck as FPL
    name = spec.samplers[0]
    sol = FPL.run(model, name, box=density.box, init=spec.init, n=n, options=spec.options(model)[name],
                  steps=traj.steps)
    # annealed Langevin's last frame is its Tweedie denoising step, which no diffusion takes: not compared
    denoised = [name == "annealed" and traj.levels is not None and float(traj.levels[i]) == 0
                for i in range(len(sol.times))]
    gaps = [(np.nan, np.nan) if denoised[i] else
            FPL.histogram_gap(traj.positions[i][:EVAL_MAX], sol.density[i], sol.grid) for i in range(len(sol.times))]
    return sol, gaps


def fp_contrast(values: dict, setting: str, choices, n: int = FP_GRID) -> list[dict]:
    """One knob of a Sample-page scene turned: for each value of ``setting`` (by URL name),
    the Fokker-Planck run of the scene's sampler with the exact score, its KL(p_t || pi)
    curve, the rate r of KL ~ exp(-r t) fitted to it (``fokker_planck.decay_rate``), twice
    the grid generator's spectral gap (the rate r tends to) and, on the double well, twice
    Kramers' estimate."""
    from . import fokker_planck as FPL
    out = []
    for value in choices:
        spec = scene_spec({**values, setting: value}, "sample")
        density = build_density(spec.target)
        name = spec.run.samplers[0]
        sol = FPL.run(density, name, box=density.box, init=spec.run.init, n=n, frames=spec.run.frames,
                      options=spec.run.options(density)[name])
        kramers = 2 * FPL.kramers_rate(density) if density.name == "double-well" else None
        out.append(dict(value=value, times=sol.times, kl=sol.kl, rate=FPL.decay_rate(sol.times, sol.kl),
                        gap_rate=2 * FPL.spectral_gap(density, sol.grid), kramers=kramers))
    return out


# ----- what is drawn under the particles --------------------------------------------------
def background(model, density):
    """The density drawn under the particles: the target's own, else the KDE's (data
    sets), on a ``GRID`` x ``GRID`` grid; None where neither has one."""
    src = density if F.has_density(density) else (model if F.has_density(model) else None)
    if src is None:
        return None
    try:
        return F.density_grid(src, density.box, GRID, 0.0)
    except ValueError:
        return None


def arrows_under(model, density, sampler: str, traj: Trajectory):
    """(field, level fields) drawn under a run, by the sampler's ``field``: 'fixed' the
    score it follows; 'levels' one field per noise level; 'cld' one per frame time t,
    grad_x log p_t of CLD's forward law's x-marginal (``fields.cld_fields``; Dockhorn et
    al. 2022), none for a learned network, whose p_t has no mixture form."""
    box = density.box
    kind = registry.get(sampler).field
    try:
        if kind == "levels":
            return None, F.level_fields(model, box, traj.params["sigmas"], ARROWS)
        if kind == "sde":
            return None, F.sde_fields(model, box, traj.levels, sde_from_config(traj.params["sde"]), ARROWS)
        if kind == "cld":
            if getattr(model, "kind", "") == "learned":
                return None, None
            return None, F.cld_fields(model, box, traj.levels, CLD(**traj.params["cld"]), ARROWS)
        return F.field_grid(model, box, ARROWS, 0.0), None
    except ValueError:
        return None, None


# ----- computed scenes ------------------------------------------------------------------
@dataclass
class Scene:
    """A computed Sample-page scene: the run and what is drawn under it."""
    name: str
    title: str
    sampler: str
    seed: int
    settings: dict
    traj: Trajectory
    box: tuple
    density_grid: F.DensityGrid | None = None
    field: F.FieldGrid | None = None
    level_fields: list | None = None
    trails: bool = True
    meta: dict = _field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return self.traj.n_frames


@dataclass
class CompareScene:
    """A computed Compare-page scene: several samplers from the same particles and seed
    (``lockstep``), one panel each over the same density, one timeline."""
    name: str
    seed: int
    settings: dict
    runs: dict                      # sampler -> Trajectory, in the page's order
    box: tuple
    density_grid: F.DensityGrid | None = None
    trails: bool = False            # the Compare animation (figures.compare_figure) draws none
    meta: dict = _field(default_factory=dict)

    @property
    def n_frames(self) -> int:      # the timeline: the longest run's frames
        return max(t.n_frames for t in self.runs.values())

    def trajs(self) -> dict:
        """The runs by panel title (the samplers' labels)."""
        return {registry.label(k): t for k, t in self.runs.items()}

    def notes(self) -> dict:
        """Panel title -> what the title adds: CLD's own prior start (a score SDE always
        starts from its own law: the Compare page's initial-particles help says so), or
        where it diverged."""
        return {registry.label(k): ("own prior start" if t.params.get("start") == "own prior"
                                    and registry.get(k).kinetic else
                                    (f"diverged at step {t.diverged_at}" if t.diverged_at is not None else ""))
                for k, t in self.runs.items()}


def meta(spec: SceneSpec, name: str | None = None) -> dict:
    """What a file records about its scene."""
    r = spec.run
    return {"target": spec.target.name, "page": spec.page, "score": r.score, "samplers": list(r.samplers),
            "seed": r.seed, "particles": r.particles, "init": r.init, "frames_requested": r.frames,
            "settings": json.loads(r.settings), **({"preset": name} if name else {})}


def make_scene(spec: SceneSpec, model, density, trajs: dict, *, parts: bool = True, name: str | None = None,
               compare: bool | None = None) -> Scene | CompareScene:
    """The computed scene of ``trajs`` (sampler -> Trajectory): a ``CompareScene`` for
    the Compare page's several runs, else a ``Scene`` with its background and arrows
    (``parts``: compute them)."""
    r = spec.run
    info = {**meta(spec, name), "preset": name}
    box = tuple(density.box)
    if compare if compare is not None else len(trajs) > 1:
        return CompareScene(name=name or f"{density.name}-compare", seed=r.seed, settings=json.loads(r.settings),
                            runs=dict(trajs), box=box, density_grid=background(model, density) if parts else None,
                            meta=info)
    sampler, traj = next(iter(trajs.items()))
    trails, arrows = (True, True) if spec.page == "compare" else (r.trails, r.arrows)
    dg = fg = lf = None
    if parts:
        dg = background(model, density)
        if arrows:
            fg, lf = arrows_under(model, density, sampler, traj)
    info["sampler"] = sampler
    return Scene(name=name or f"{density.name}-{sampler}", title=registry.label(sampler), sampler=sampler,
                 seed=r.seed, settings=json.loads(r.settings), traj=traj, box=box, density_grid=dg, field=fg,
                 level_fields=lf, trails=trails, meta=info)


def compute(spec: SceneSpec, *, parts: bool = True, name: str | None = None, learned=None) -> Scene | CompareScene:
    """The whole pipeline for one scene (the CLI's exports): what the app shows for these
    settings, same seed, same positions."""
    density = build_density(spec.target)
    model = score_model(density, spec.run.score, kde=lambda: build_kde(spec.target, density), learned=learned)
    trajs = lockstep(model, spec.run.samplers, particles=spec.run.particles, seed=spec.run.seed,
                     init=spec.run.init, frames=spec.run.frames, box=density.box, options=spec.run.options(model))
    return make_scene(spec, model, density, trajs, parts=parts, name=name)


def from_preset(preset: str | None = None, *, parts: bool = True, **kw) -> Scene | CompareScene:
    """The computed scene of a lesson preset, or of ``density`` + ``sampler`` on the Sample
    page's defaults (``preset_settings``' arguments: ``score``, ``seed``, ``particles``,
    ``frames``)."""
    return compute(preset_spec(preset, **kw), parts=parts, name=preset)


# ----- figures ----------------------------------------------------------------------------
def figure(scene: Scene | CompareScene, height: int | None = None):
    """The scene's Plotly animation: the Sample page's, or the Compare page's panels."""
    if isinstance(scene, CompareScene):
        return G.compare_figure(scene.trajs(), scene.box, density=scene.density_grid, notes=scene.notes())
    kw = {"height": height} if height else {}
    return G.animation_figure(scene.traj, scene.box, density=scene.density_grid, field=scene.field,
                              level_fields=scene.level_fields, trails=scene.trails, title=scene.title, **kw)


def final_figure(scene: Scene, evaluation: dict):
    """The last frame against the exact draws it is judged by (None without them)."""
    if "reference" not in evaluation:
        return None
    samples = scene.traj.samples
    ok = np.isfinite(samples).all(1)
    noise = registry.get(scene.traj.sampler).ends == "noise"       # judged against p_1, not the target
    return G.final_figure(samples[ok], evaluation["reference"], scene.box, density=scene.density_grid,
                          label="last frame", reference_label="exact draws of p₁" if noise else "exact draws")


def modes_figure(runs: dict):
    """Per-mode weights against the truth, one bar group per sampler (None without modes)."""
    return G.mode_weights_figure({registry.label(k) if len(runs) > 1 else k: r["eval"] for k, r in runs.items()})


def metrics_rows(runs: dict) -> list[dict]:
    return G.metrics_rows({registry.label(k): r for k, r in runs.items()})
