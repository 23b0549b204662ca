"""Every built-in density x every sampler, run with its defaults (2,000 particles, seeds
0-2), lands on its target: energy distance at its noise floor, mode weights and
within-mode spread right. The few scenes that cannot are listed in ``CANNOT``, each with
the measured reason, and ``test_the_scenes_that_cannot_fail_as_their_lesson_says``
checks that they fail the way the lesson says.

The runs are independent and single-threaded, so a pool of one process per core runs
them (``_pool``), submitted ahead in the order the tests will ask for them; a test then
only judges. The module takes about 1/cores of its serial time."""
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import scipy.stats
import torch

from explorer import densities as D
from explorer import metrics as M
from explorer import registry
from explorer import samplers as S
from explorer import settings as SET
from explorer.kde import KDE
from explorer.simulate import defaults, evaluate, known_bias, simulate

pytestmark = pytest.mark.slow
torch.set_num_threads(1)

SEEDS = (0, 1, 2)
PARTICLES = 2000
TARGETS = ["eight-gaussians", "mixture-1to4", "grid-25", "gmm", "ring", "two-rings", "double-well", "banana"]
DATASETS = ["moons", "circles", "swiss-roll"]

# Scenes whose point is that they cannot reach the target: samplers that follow the
# score of p itself keep the mode weights their start gives them when the barrier
# between modes is high, because a particle crosses a barrier of height dU at a rate
# that falls like exp(-dU) (the crossing samplers of double-well, dU = 2, and
# eight-gaussians, dU ~ 16, do land). Measured with the defaults, seeds 0-2:
_WIDE = ("Song & Ermon's lesson: modes 14 apart with std 1, a barrier of ~25 nats; no particle crosses in "
         "the default run and the heavy share stays at the start's ~0.50 instead of 0.80")
_GRID = ("25 modes of std 0.05 spaced 2 apart, a barrier of ~200 nats: the modes keep the share of the "
         "Gaussian start that fell into their basin (largest weight error 0.045 against 0.04 weights)")
_RINGS = ("the two rings are 1.5 apart with width 0.15, a barrier of ~12 nats: the rings keep the share of "
          "the start that fell inside the gap's midline (energy distance ~0.01 against a floor ~0.003)")
# every sampler that ends on the data: the forward SDE ends on noise (p_1), and
# tests/test_sdes.py checks its frames against the exact p_t
LANDING = [name for name in registry.names() if registry.get(name).ends == "data"]
CANNOT = {(target, sampler): why
          for target, why in (("mixture-1to4", _WIDE), ("grid-25", _GRID), ("two-rings", _RINGS))
          for sampler in ("langevin", "mala", "underdamped")}


class Smoothed:
    """p * N(0, h0^2 I), the law CLD samples on an analytic target (its lattice
    surrogate; ``simulate.known_bias`` says so on the page and in the CLI): exact draws
    x + h0 z, and modes widened by h0^2."""

    kind = "analytic"

    def __init__(self, density):
        self.d, self.h0 = density, float(density.surrogate_bandwidth)
        self.modes = None
        if density.modes is not None:
            m = density.modes
            self.modes = type(m)(m.weights, m.means, m.covs + self.h0**2 * torch.eye(2, dtype=m.covs.dtype))

    def sample(self, n, generator=None):
        x = self.d.sample(n, generator)
        return x + self.h0 * torch.randn(x.shape, generator=generator, dtype=x.dtype)


# ----- the runs, in a pool --------------------------------------------------------------
def _run(job):
    """One default run of ``sampler`` on ``target`` (a density's name; a data set's is
    the default Scott KDE of 1,000 draws), with its divergence, and judged: ``evaluate``
    against the target (``against="smoothed"``: against p * N(0, h0^2 I), see
    ``Smoothed``), or ``against="modes"``: its mode stats alone. What every test here
    asks of the pool, as a ``_job``; module-level so that a spawned worker imports it
    (and with it this module's one thread)."""
    target, sampler, seed, against, opts = job
    opts = dict(opts)
    d = D.get(target)
    if target in DATASETS:
        d = KDE(d.sample(1000, torch.Generator().manual_seed(0)))
    if "sde" in opts:
        opts["sde"] = registry.sde_of(d, {"sde": opts["sde"]})
    tr = simulate(d, sampler, particles=PARTICLES, seed=seed, **opts)
    out = {"diverged_at": tr.diverged_at, "message": tr.message}
    if tr.diverged_at is not None:
        return out
    if against == "modes":
        return {**out, **M.mode_stats(tr.samples, d.modes)}
    return {**out, **evaluate(tr, Smoothed(d) if against == "smoothed" else d, seed=seed)}


def _job(target, sampler, seed, against="target", **opts):
    """A run as ``_run`` takes it: hashable (the pool's key) and picklable."""
    return (target, sampler, seed, against, tuple(sorted(opts.items())))


_FUTURES = {}


def _results(jobs):
    """The pool's answers to ``jobs`` (run here when the pool was not asked ahead, e.g. a
    test called by name without its module's fixture)."""
    return [_FUTURES[job].result() if job in _FUTURES else _run(job) for job in jobs]


def _landed(jobs):
    evals = _results(jobs)
    for e in evals:
        assert e["diverged_at"] is None, e["message"]
    return evals


@pytest.fixture(scope="module", autouse=True)
def _pool(request):
    """Submit every run that this module's selected tests will ask for, in their order,
    to one single-threaded worker per core. Spawned, not forked: a child forked from a
    process whose OpenMP threads have started can hang."""
    jobs = []
    for item in request.session.items:
        if item.module is request.module and item.originalname in PLANS:
            spec = getattr(item, "callspec", None)
            jobs += PLANS[item.originalname](**(spec.params if spec else {}))
    if not jobs:
        yield
        return
    workers = min(len(os.sched_getaffinity(0)), 8, len(jobs))      # ~0.55 GB a worker (torch)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for job in dict.fromkeys(jobs):
            _FUTURES[job] = pool.submit(_run, job)
        yield
        for fut in _FUTURES.values():
            fut.cancel()
        _FUTURES.clear()


def _judge(evals, name):
    # the noise floor is the largest of 99 null draws, so an exact sample set lies
    # above it 1% of the time; allowing one of three seeds above keeps the chance that
    # an exact sampler fails one of these ~60 cells near 2% (3 x 0.01^2 per cell)
    above = [round(e["energy_distance"] / e["energy_distance_floor"], 1) for e in evals
             if e["energy_distance"] > e["energy_distance_floor"]]
    assert len(above) <= 1, f"{name}: energy distance above its floor in {len(above)} of 3 seeds ({above}x)"
    if "mode_weights" not in evals[0]:
        return
    for e in evals:
        n = PARTICLES * e["good_share"]
        w, w_true = np.asarray(e["mode_weights"]), np.asarray(e["true_mode_weights"])
        # Pearson's chi-square of the mode counts, K - 1 degrees of freedom, p < 1e-4
        chi2 = float(n * np.sum((w - w_true) ** 2 / w_true))
        assert chi2 < scipy.stats.chi2.ppf(1 - 1e-4, len(w) - 1), (name, chi2, w.round(3).tolist())
    # the spread statistic of 2,000 exact draws scatters with sd 0.013 (measured over
    # 100 sets), so the mean of three seeds with sd 0.0076: 0.03 is 4 sd
    spread = float(np.mean([e["spread"] for e in evals]))
    assert spread == pytest.approx(1.0, abs=0.03), (name, [round(e["spread"], 3) for e in evals])


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("sampler", LANDING)
def test_default_run_lands_on_its_target(target, sampler):
    if (target, sampler) in CANNOT:
        pytest.skip("cannot, by design: " + CANNOT[(target, sampler)])
    d = D.get(target)
    evals = _landed(_lands_jobs(target, sampler))
    if sampler in ("cld", "cld-ode") and d.kind == "analytic":
        # the CLD samplers sample the lattice surrogate p * N(0, h0^2 I): a known bias,
        # stated on the Sample page and in the CLI (simulate.known_bias); judged against it
        assert known_bias(sampler, d) is not None
        _judge(evals, f"{target}/{sampler} against p * N(0, h0²I)")
        return
    assert known_bias(sampler, d) is None
    _judge(evals, f"{target}/{sampler}")


def _lands_jobs(target, sampler):
    if (target, sampler) in CANNOT:
        return []
    smoothed = sampler in ("cld", "cld-ode") and D.get(target).kind == "analytic"
    return [_job(target, sampler, seed, "smoothed" if smoothed else "target") for seed in SEEDS]


@pytest.mark.parametrize("target,sampler", [(t, s) for s in ("reverse-sde", "pc", "pf-ode") for t in TARGETS
                                            if not (s == "pc" and D.get(t).kind == "analytic")])
def test_the_ve_sde_lands_on_every_target(target, sampler):
    """The score-SDE samplers' defaults run VP; VE (sigma_min a hundredth of the narrowest
    scale, sigma_max five times the spread: registry.sde_of) lands too. No barrier to
    cross, so mixture-1to4, grid-25 and two-rings land as well. pc under VE runs on the
    mixtures only: its predictor is reverse-sde's, checked here on every target, and on an
    analytic target each of its 2,000 score calls sums a surrogate lattice (banana: 45 s a
    seed, a CI budget better spent elsewhere)."""
    _judge(_landed(_ve_jobs(target, sampler)), f"{target}/{sampler}/ve")


def _ve_jobs(target, sampler):
    return [_job(target, sampler, seed, sde="ve") for seed in SEEDS]


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("sampler", LANDING)
def test_default_run_lands_on_the_kde_of_a_data_set(data, sampler):
    """A data set's target is the KDE the sampler follows (the default Scott KDE of
    1,000 draws). One seed: the KDE's score sums 1,000 kernels a particle and step."""
    (e,) = _landed(_seed0_jobs(data, sampler))
    assert e["energy_distance"] <= e["energy_distance_floor"], (data, sampler, e["energy_distance"],
                                                               e["energy_distance_floor"])


@pytest.mark.parametrize("target,sampler", sorted(CANNOT))
def test_the_scenes_that_cannot_fail_as_their_lesson_says(target, sampler):
    (e,) = _results(_seed0_jobs(target, sampler))
    assert e["energy_distance"] > 3 * e["energy_distance_floor"], CANNOT[(target, sampler)]
    if target == "mixture-1to4":
        assert e["mode_weights"][1] == pytest.approx(0.5, abs=0.05)
    if target == "grid-25":
        assert e["max_weight_error"] > 0.02


def _seed0_jobs(target, sampler):
    return [_job(target, sampler, 0)]


def test_the_app_runs_the_cli_defaults():
    """The Sample page's settings at their defaults (0 = the target's default) give the
    engine's defaults: the same run from the app and the CLI."""
    d = D.get("eight-gaussians")
    page = SET.defaults("sample")
    for sampler in registry.names():
        opts = registry.get(sampler).options(d, page)
        a = simulate(d, sampler, particles=20, seed=3, frames=5, **opts)
        b = simulate(d, sampler, particles=20, seed=3, frames=5)
        assert np.array_equal(a.positions, b.positions), sampler


# ----- the known failures this round fixed, each measured first ----------------------
def test_mala_walks_particles_in_from_the_quartic_tails():
    """Plain MALA on double-well leaves the particles that start in the quartic tails
    stuck (every proposal overshoots and is rejected); the MALTA cap walks them in."""
    d = D.get("double-well")
    moved = {}
    for cap in (math.inf, None):                        # None: the default cap
        tr = simulate(d, "mala", particles=PARTICLES, seed=0, **({"drift_cap": cap} if cap else {}))
        half = tr.n_frames // 2
        still = np.all(tr.positions[half:] == tr.positions[-1], axis=(0, 2))
        moved[cap] = (float(still.mean()), float(np.mean(tr.samples[:, 0] ** 2)))
    # E[x1^2] of the target: quadrature of exp(-2 (x^2 - 1)^2)
    x = np.linspace(-3, 3, 60001)
    p = np.exp(-2 * (x**2 - 1) ** 2)
    ex2 = float(np.sum(x**2 * p) / np.sum(p))
    stuck, ex2_plain = moved[math.inf]
    assert stuck > 0.05 and ex2_plain > 1.5 * ex2          # measured: 10.6% stuck, 1.72 vs 0.852
    stuck, ex2_capped = moved[None]
    # sd of x1^2 is ~0.43, so the mean of 2,000 has SE 0.01: 0.04 is 4 SE
    assert stuck < 0.01 and ex2_capped == pytest.approx(ex2, abs=0.04)


def test_default_mala_is_plain_mala_where_the_target_has_its_mass():
    """The cap 5/s leaves the drift alone within ~5 std of a mode: on a Gaussian the
    capped and plain chains started at the mode take the same steps."""
    d = D.get("gmm", weights=[1.0], means=[[0.0, 0.0]], covs=[[[0.25, 0.0], [0.0, 0.25]]])
    cap = defaults("mala", d)["drift_cap"]
    x = 0.5 * torch.randn(500, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64).clamp(-1.5, 1.5)
    a = S.mala(d, x.clone(), steps=50, step_size=0.25, drift_cap=cap, generator=torch.Generator().manual_seed(1))
    b = S.mala(d, x.clone(), steps=50, step_size=0.25, generator=torch.Generator().manual_seed(1))
    assert np.array_equal(a.positions, b.positions)


def _stats_jobs(target, sampler, seeds=SEEDS, **opts):
    return [_job(target, sampler, s, "modes", **opts) for s in seeds]


def _mean_stats(jobs):
    st = _results(jobs)
    return float(np.mean([x["spread"] for x in st])), np.mean([x["mode_weights"] for x in st], axis=0)


def _linear_jobs():
    return _stats_jobs("grid-25", "cld", seeds=(0,), striding="linear", steps=500)


def _annealed_jobs(target):
    return _stats_jobs(target, "annealed", init="uniform" if target == "mixture-1to4" else "gaussian")


@pytest.mark.parametrize("target", ["eight-gaussians", "mixture-1to4", "grid-25", "gmm"])
@pytest.mark.parametrize("sampler", ["cld", "cld-ode"])
def test_cld_spread_within_3_percent_on_every_mixture(target, sampler):
    # measured before (500 evenly spaced steps): SSCS on grid-25 0.918; with quadratic
    # striding at 500 steps 0.980 (20 seeds), so grid-25 takes 2,000 (0.997; densities.py).
    # The mean of three seeds has sd 0.0076 (see _judge): 3% is 4 sd
    spread, _ = _mean_stats(_stats_jobs(target, sampler))
    assert spread == pytest.approx(1.0, abs=0.03)


def test_evenly_spaced_cld_steps_were_too_narrow_on_grid_25():
    spread, _ = _mean_stats(_linear_jobs())
    assert spread < 0.95                               # measured 0.918: the bias the striding removes


@pytest.mark.parametrize("target", ["eight-gaussians", "mixture-1to4", "grid-25"])
def test_annealed_spread_within_2_percent_and_heavy_share_within_0_015(target):
    # measured before (10 levels x 100 steps): spread 1.044 (grid-25), 1.022 (eight-gaussians),
    # heavy share 0.772 (mixture-1to4, uniform start)
    spread, weights = _mean_stats(_annealed_jobs(target))
    assert spread == pytest.approx(1.0, abs=0.02)
    if target == "mixture-1to4":
        assert weights[1] == pytest.approx(0.8, abs=0.015)


@pytest.mark.parametrize("target", TARGETS + DATASETS)
def test_annealed_costs_at_most_twice_the_old_default(target):
    d = D.get(target)
    model = d if d.has_score else KDE(d.sample(1000, torch.Generator().manual_seed(0)))
    opts = defaults("annealed", model)
    assert sum(opts["steps_per_level"]) <= 2 * 10 * 100     # the old default: 10 levels x 100 steps


# each test that asks the pool, with the runs it asks for (by its parameters)
PLANS = {
    "test_default_run_lands_on_its_target": _lands_jobs,
    "test_the_ve_sde_lands_on_every_target": _ve_jobs,
    "test_default_run_lands_on_the_kde_of_a_data_set": lambda data, sampler: _seed0_jobs(data, sampler),
    "test_the_scenes_that_cannot_fail_as_their_lesson_says": _seed0_jobs,
    "test_cld_spread_within_3_percent_on_every_mixture": _stats_jobs,
    "test_evenly_spaced_cld_steps_were_too_narrow_on_grid_25": _linear_jobs,
    "test_annealed_spread_within_2_percent_and_heavy_share_within_0_015": _annealed_jobs,
}
