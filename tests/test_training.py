"""Learned scores: objectives minimised by the right field, ISM = SSM in
expectation, the default training reaching the target Fisher divergence, samplers on the
learned nets, save/load and refusal of bad files, and seeded reproducibility.

Fixed seeds throughout; every threshold says where it comes from."""
import io
import math
import os

import numpy as np
import pytest
import torch

from explorer import densities as D
from explorer import metrics, modelio, registry
from explorer.diffusions import CLD
from explorer.fields import lattice
from explorer.models import (
    CLDScoreNet,
    LearnedScore,
    NoiseConditionalScoreNet,
    ScoreNet,
    check_architecture,
    cld_kernel,
    cld_lt,
)
from explorer.samplers import LEVELS
from explorer.simulate import simulate
from explorer.training import (
    NET_KIND,
    OBJECTIVE_REGISTRY,
    OBJECTIVES,
    Trainer,
    default_sigma,
    default_sigmas,
    dsm_loss,
    esm_loss,
    field_error,
    get_objective,
    hsm_loss,
    ism_loss,
    ncsn_loss,
    objectives_table,
    ssm_loss,
)

C2 = 0.64          # data ~ N(0, C2 I) for the optimality tests
N_OPT = 100_000    # samples: the fitted optimum's relative MC error is ~ sqrt(2 / N) ~ 0.5%


@pytest.fixture(scope="module")
def gauss_data():
    return math.sqrt(C2) * torch.randn(N_OPT, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def _argmin_quadratic(values, losses):
    """The minimiser of the parabola through (values, losses)."""
    a, b, _ = np.polyfit(values, losses, 2)
    assert a > 0, "the loss must be convex around the optimum"
    return -b / (2 * a)


def _scan(loss_of_a, a_star, rel=(0.8, 0.9, 1.0, 1.1, 1.25)):
    values = [a_star * r for r in rel]
    losses = [float(loss_of_a(a).detach()) for a in values]
    return values, losses


# ----- objectives on a Gaussian: the exact linear score wins ---------------------------------
def test_esm_minimised_by_the_target(gauss_data):
    x = gauss_data
    exact = -x / C2
    values, losses = _scan(lambda a: esm_loss(lambda y: -a * y, x, exact), 1 / C2)
    assert losses[2] == min(losses)
    # ESM's loss is exactly quadratic in a and zero at the target: the fit is exact
    assert _argmin_quadratic(values, losses) == pytest.approx(1 / C2, rel=1e-9)


def test_ism_minimised_by_the_exact_score(gauss_data):
    x = gauss_data
    values, losses = _scan(lambda a: ism_loss(lambda y: -a * y, x), 1 / C2)
    assert losses[2] == min(losses)
    # minimiser 2 / mean|x|^2: MC relative error ~ sqrt(2/N)/... ~ 0.3%; 2% is > 5 sd
    assert _argmin_quadratic(values, losses) == pytest.approx(1 / C2, rel=0.02)


def test_ssm_minimised_by_the_exact_score(gauss_data):
    x = gauss_data

    def loss(a):      # common random numbers: the same projections for every a
        return ssm_loss(lambda y: -a * y, x, torch.Generator().manual_seed(2))
    values, losses = _scan(loss, 1 / C2)
    assert losses[2] == min(losses)
    # minimiser 2 mean|v|^2 / mean|x|^2: two sample means, ~0.5% MC error; 2% is > 4 sd
    assert _argmin_quadratic(values, losses) == pytest.approx(1 / C2, rel=0.02)


def test_dsm_minimised_by_the_noised_score(gauss_data):
    x, sigma = gauss_data, 0.5
    a_star = 1 / (C2 + sigma**2)       # the score of p_sigma = N(0, (C2 + sigma^2) I)

    def loss(a):
        return dsm_loss(lambda y: -a * y, x, sigma, torch.Generator().manual_seed(3))
    values, losses = _scan(loss, a_star)
    assert losses[2] == min(losses)
    # DSM's regression target z / sigma is noisy: ~1% MC error at N = 1e5; 3% is 3 sd
    assert _argmin_quadratic(values, losses) == pytest.approx(a_star, rel=0.03)


def test_ncsn_minimised_by_the_noised_scores(gauss_data):
    """A one-parameter conditional family s(x, sigma) = -x / (b + sigma^2): the exact
    scores at every level are b = C2."""
    x = gauss_data
    sigmas = [2.0, 1.0, 0.5, 0.25, 0.1]

    def loss(b):
        return ncsn_loss(lambda y, s: -y / (b + s[:, None] ** 2), x, sigmas, torch.Generator().manual_seed(4))
    values, losses = _scan(loss, C2)
    assert losses[2] == min(losses)
    # not quadratic in b: the parabola through five points is within a few % of the
    # minimiser; 5% allows for that and the ~1% MC error
    assert _argmin_quadratic(values, losses) == pytest.approx(C2, rel=0.05)


def test_hsm_minimised_by_the_exact_velocity_score(gauss_data):
    """For data N(0, C2 I), the CLD net whose MLP outputs 0 is the exact E[eps_v | u_t]
    when its Gaussian part uses sigma_data^2 = C2 (the mixed score); HSM must prefer it."""
    x = gauss_data[:50_000]

    def net_for(b):
        net = CLDScoreNet(16, 1, sigma_data=math.sqrt(b), fourier=0).double()
        with torch.no_grad():
            net.net[-1].weight.zero_()
            net.net[-1].bias.zero_()
        return net

    def loss(b, reduction="mean"):      # common random numbers for every b
        return hsm_loss(net_for(b), x, CLD(), torch.Generator().manual_seed(5), reduction=reduction).detach()
    values, losses = _scan(loss, C2, rel=(0.5, 0.7, 1.0, 1.4, 2.0))
    assert losses[2] == min(losses)
    # a strict minimum, beyond MC noise: the paired per-sample excess of the neighbours
    # b = 0.7 C2 and 1.4 C2 measured ~9 standard errors above 0 (seeds 5-7); ask for 4
    exact = loss(C2, "none")
    for r in (0.7, 1.4):
        d = loss(r * C2, "none") - exact
        assert float(d.mean()) > 4 * float(d.std()) / math.sqrt(len(d))


def test_hsm_target_is_minus_lt_eps_v():
    """The HSM target grad_v log p(u_t | x_0) = -l_t eps_v, l_t = 1 / L22 of the
    float64 Cholesky factor of CLD().kernel(t), checked against the kernel's density."""
    cld = CLD()
    for t in (1e-5, 1e-3, 0.1, 0.5, 1.0):
        e, cov = cld.kernel(t)
        e_b, cov_b, chol = cld_kernel(cld, torch.tensor([t], dtype=torch.float64))
        assert torch.allclose(e_b[0], e, rtol=1e-12, atol=1e-14)
        assert torch.allclose(cov_b[0], cov, rtol=1e-10, atol=1e-15)
        assert float(cld_lt(cld, [t])[0]) == pytest.approx(1 / float(torch.linalg.cholesky(cov)[1, 1]), rel=1e-10)
        eps = torch.tensor([0.3, -1.2], dtype=torch.float64)
        u = chol[0] @ eps                               # u - mean, per coordinate
        grad = -torch.linalg.solve(cov, u)              # grad_u log N(u; mean, cov)
        assert float(grad[1]) == pytest.approx(-float(cld_lt(cld, [t])[0]) * 1.0 * float(eps[1]), rel=1e-8)


# ----- ISM and SSM estimate the same thing ----------------------------------------------------
def test_ssm_is_unbiased_for_ism_on_a_fixed_network():
    torch.manual_seed(0)
    net = ScoreNet(64, 2, fourier=0).double()
    x = 1.5 * torch.randn(20_000, 2, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    ism = ism_loss(net, x, reduction="none", create_graph=False)
    ssm = ssm_loss(net, x, torch.Generator().manual_seed(7), reduction="none", create_graph=False)
    d = (ssm - ism).detach()       # v^T J v - tr J: mean zero over v, same x
    se = float(d.std()) / math.sqrt(len(d))
    assert float(d.std()) > 0      # the estimates differ sample by sample ...
    assert abs(float(d.mean())) < 4 * se      # ... but agree in mean (4 standard errors)


# ----- the default training on eight-gaussians ------------------------------------------------
@pytest.fixture(scope="module")
def default_run():
    tr = Trainer("eight-gaussians")          # defaults: ncsn, EDM, 128 x 3, 4000 steps
    reports = list(tr.run(every=1000))
    return tr, reports


def test_default_training_reaches_small_fisher_at_every_sigma(default_run):
    tr, reports = default_run
    assert tr.objective == "ncsn" and tr.step == 4000
    fisher = reports[-1]["fisher"]
    assert list(fisher) == tr.sigmas and len(fisher) == LEVELS
    # the target: <= 0.05 at every level from sigma_max down to 0.05 (measured 0.017 at
    # most, seeds 0 and 1); the smallest level 0.035 measured 0.025-0.036: allow 0.1
    for sigma, value in fisher.items():
        assert value <= (0.05 if sigma >= 0.05 else 0.1), (sigma, value)
    assert [r["step"] for r in reports] == [1000, 2000, 3000, 4000]
    assert all({"step", "loss", "loss_avg", "elapsed", "lr", "fisher_max"} <= set(r) for r in reports)


def _pooled_stats(model, sampler, particles=2000):
    """``mode_stats`` of ``particles`` particles from each of sampling seeds 0, 1, 2, pooled."""
    samples = torch.cat([torch.as_tensor(simulate(model, sampler, particles=particles, seed=s, frames=2).samples)
                         for s in (0, 1, 2)])
    return metrics.mode_stats(samples, D.get("eight-gaussians").modes)


# The learned pipelines' gates (the issue's: 3% in within-mode spread, 0.02 in mode weights),
# on 6,000 pooled particles (CLD: 30,000). A weight's sd at 6,000 is sqrt(1/8 * 7/8 / 6000)
# = 0.0043, so 0.02 is 4.7 sd; the exact scores in the same samplers measured spread 1.002
# (CLD) and 1.011 (annealed), per-seed spreads within 0.011 of their mean
# (benchmarks/learned_cld.py).
SPREAD_TOL, WEIGHT_TOL = 0.03, 0.02


def test_annealed_langevin_on_the_learned_net_lands(default_run):
    st = _pooled_stats(default_run[0].model, "annealed")
    assert st["modes_hit"] == 8
    # exact-score annealed runs measured good share 0.987-0.99
    assert st["good_share"] >= 0.97
    assert abs(st["spread"] - 1) <= SPREAD_TOL, st["spread"]       # measured 1.018
    assert st["max_weight_error"] <= WEIGHT_TOL, st["max_weight_error"]     # measured 0.009


@pytest.mark.parametrize("sde", ["vp", "ve"])
@pytest.mark.parametrize("sampler", ["reverse-sde", "pc", "pf-ode"])
def test_the_score_sdes_on_the_learned_net_find_all_modes(default_run, sampler, sde):
    """The noise-conditional net drives the score SDEs: VE asks it at sigma(t), VP at
    s_t / alpha_t (tests/test_sdes.py), above its largest trained level too (the EDM
    parameterisation's c_skip keeps its score near -x / sigma^2 there)."""
    d = D.get("eight-gaussians")
    model = default_run[0].model
    traj = simulate(model, sampler, particles=2000, seed=0, sde=registry.sde_of(model, {"sde": sde}))
    st = metrics.mode_stats(traj.samples, d.modes)
    assert traj.diverged_at is None and st["modes_hit"] == 8
    # the same bounds as annealed Langevin on this net (above)
    assert st["good_share"] >= 0.97
    assert 0.9 <= st["spread"] <= 1.15, st["spread"]
    assert st["max_weight_error"] <= 0.04


def test_learned_model_runs_langevin_but_not_mala(default_run):
    model = default_run[0].model
    traj = simulate(model, "langevin", particles=200, seed=0, steps=50)
    assert np.isfinite(traj.samples).all()
    with pytest.raises(ValueError, match="MALA needs a log-density"):
        simulate(model, "mala", particles=10, seed=0, steps=5)
    with pytest.raises(ValueError, match="hsm"):
        simulate(model, "cld", particles=10, seed=0, steps=5)


def test_conditional_net_clamps_below_its_smallest_level(default_run):
    model = default_run[0].model
    x = torch.randn(50, 2)
    assert torch.equal(model.score(x, 0.0), model.score(x, model.sigma_min))


def test_save_then_load_gives_identical_outputs(default_run, tmp_path):
    model = default_run[0].model
    path = modelio.save_model(model, tmp_path / "m.pt")
    loaded = modelio.load_model(path)
    x = torch.randn(500, 2, generator=torch.Generator().manual_seed(8))
    for sigma in (model.sigmas[0], 0.3, model.sigmas[-1]):
        assert torch.equal(model.score(x, sigma), loaded.score(x, sigma))
    assert (loaded.scale, loaded.sigma_max, loaded.box, loaded.sigmas) == (model.scale, model.sigma_max,
                                                                           model.box, model.sigmas)
    cfg = loaded.meta["training"]
    assert cfg["objective"] == "ncsn" and cfg["data"]["name"] == "eight-gaussians"
    assert modelio.training_density(loaded).name == "eight-gaussians"


def test_bad_model_files_are_refused(default_run, tmp_path):
    good = modelio.to_bytes(default_run[0].model)
    with pytest.raises(ValueError, match="not a readable model"):
        modelio.from_bytes(good[: len(good) // 2])              # truncated
    with pytest.raises(ValueError, match="not a readable model"):
        modelio.from_bytes(b"x,y\n1,2\n3,4\n")                   # another kind of file
    with pytest.raises(ValueError, match="empty"):
        modelio.from_bytes(b"")
    marker = tmp_path / "pwned"

    class Crafted:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    buf = io.BytesIO()
    torch.save({"format": modelio.FORMAT, "version": 1, "config": "{}", "state": Crafted()}, buf)
    with pytest.raises(ValueError, match="refused: the file asks to build Python objects"):
        modelio.from_bytes(buf.getvalue())
    assert not marker.exists()
    payload = torch.load(io.BytesIO(good), weights_only=True)
    buf = io.BytesIO()
    torch.save(dict(payload, version=modelio.VERSION + 1), buf)
    with pytest.raises(ValueError, match="newer than this explorer reads"):
        modelio.from_bytes(buf.getvalue())
    buf = io.BytesIO()
    torch.save({"weights": torch.zeros(3)}, buf)
    with pytest.raises(ValueError, match="holds no Score Field Explorer model"):
        modelio.from_bytes(buf.getvalue())
    with pytest.raises(ValueError, match="cannot read model file"):
        modelio.load_model(tmp_path / "missing.pt")


# ----- CLD: hybrid score matching ---------------------------------------------------------------
@pytest.fixture(scope="module")
def hsm_model():
    return Trainer("eight-gaussians", "hsm").train().model      # the default training: 4000 steps


def test_cld_net_trained_by_hsm_generates_samples_on_the_modes(hsm_model, tmp_path):
    d = D.get("eight-gaussians")
    model = hsm_model
    with pytest.raises(ValueError, match="cld"):
        model.score(torch.zeros(3, 2))
    traj = simulate(model, "cld", particles=2000, seed=0)
    st = metrics.mode_stats(traj.samples, d.modes)
    # the exact CLD score gives good share 0.99, spread 1.00, weight error 0.018; the
    # default learned net measured spread 1.044 at seed 0 (CLD-SGM's uniform times and the
    # shared defaults, on CLD's earlier random stream: 1.125, good share 0.968, weight error
    # 0.012; benchmarks/learned_cld.py); the gates are test_cld_on_the_learned_net_lands's
    assert st["modes_hit"] == 8
    assert st["good_share"] >= 0.9
    assert st["spread"] <= 1.25
    assert st["max_weight_error"] <= 0.05
    loaded = modelio.load_model(modelio.save_model(model, tmp_path / "cld.pt"))
    x, v = torch.randn(100, 2), torch.randn(100, 2)
    assert torch.equal(model.cld_score(x, v, 0.3, CLD()), loaded.cld_score(x, v, 0.3, CLD()))
    with pytest.raises(ValueError, match="trained for the CLD process"):
        loaded.cld_score(x, v, 0.3, CLD(beta=8.0))


# ----- reproducibility and live control ---------------------------------------------------------
def _small(seed=0, **kw):
    return Trainer("eight-gaussians", width=32, depth=2, steps=60, seed=seed, **kw)


def test_same_seed_same_loss_curve_and_resume_continues():
    a = _small(seed=3)
    a.train()
    b = _small(seed=3)
    for r in b.run(every=10, fisher=False):
        if r["step"] == 30:
            break                                   # stop ...
    assert b.step == 30
    list(b.run(every=10, fisher=False))              # ... and continue where it stopped
    assert b.step == 60
    assert a.losses == b.losses                      # bit for bit on the CPU
    c = _small(seed=4)
    c.train()
    assert c.losses != a.losses
    before = torch.get_rng_state()
    _small(seed=5)
    assert torch.equal(before, torch.get_rng_state())   # seeding leaves the global RNG alone


def test_progress_reports_the_field_on_a_grid():
    tr = _small()
    r = next(tr.run(every=5, grid=7))
    assert r["grid"].shape == (49, 2) and r["field"].shape == (49, 2)
    assert np.isfinite(r["field"]).all()
    assert set(r["fisher"]) == set(tr.sigmas)


def test_sample_only_and_array_data_train_on_a_fixed_set():
    tr = Trainer("moons", "dsm", width=32, depth=1, steps=5)
    assert tr.fixed_data is not None and len(tr.fixed_data) == 2000
    r = list(tr.run(every=5))[-1]
    assert tr.fisher() is None                     # no exact score to compare with ...
    assert set(r["fisher"]) == {tr.sigma}          # ... so the reports measure against the KDE's field
    assert len(tr.config["data"]["sha256"]) == 64
    xy = np.random.default_rng(0).normal(size=(300, 2))
    tr = Trainer(xy, "esm", width=32, depth=1, steps=5)
    assert len(tr.fixed_data) == 300 and tr.kde().kernel == "gaussian"
    tr.train()


# ----- the protocol and the diagnostics ----------------------------------------------------------
def test_plain_net_protocol():
    tr = Trainer("eight-gaussians", "ssm", width=32, depth=1, steps=3)
    tr.train()
    model = tr.model
    x = torch.randn(20, 2, dtype=torch.float64)
    s = model.score(x)
    assert s.dtype == torch.float64 and s.shape == (20, 2)
    with pytest.raises(ValueError, match="annealed Langevin needs a noise-conditional network"):
        model.score(x, 0.5)
    with pytest.raises(ValueError, match="noise-conditional"):
        simulate(model, "annealed", particles=10, seed=0, steps_per_level=2)
    with pytest.raises(ValueError, match="MALA needs a log-density"):
        model.log_prob(x)
    with pytest.raises(ValueError, match="hsm"):
        model.cld_score(x, x, 0.5, CLD())
    dsm = Trainer("eight-gaussians", "dsm", width=32, depth=1, steps=3).train().model
    assert torch.equal(dsm.score(x, dsm.sigma), dsm.score(x))    # its own level, or 0


def test_architecture_bounds_are_checked():
    for bad in ({"width": 8}, {"width": 1024}, {"depth": 0}, {"depth": 7}, {"width": 64.0},
                {"activation": "gelu2"}):
        args = {"width": 64, "depth": 2, "activation": "silu", **bad}
        with pytest.raises(ValueError):
            check_architecture(**args)
        with pytest.raises(ValueError):
            Trainer("eight-gaussians", steps=1, **args)
    with pytest.raises(ValueError, match="preconditioning"):
        NoiseConditionalScoreNet(preconditioning="karras")
    with pytest.raises(ValueError, match="objective"):
        Trainer("eight-gaussians", "nce")


def test_field_error_against_the_exact_score():
    pts = lattice((-2, 2, -2, 2), 9)[2]
    torch.manual_seed(0)
    net = NoiseConditionalScoreNet(32, 2)
    model = LearnedScore(net, scale=0.35, sigma_max=5.0, box=(-4, 4, -4, 4), sigmas=[1.0, 0.1])
    d = D.get("eight-gaussians")
    err = field_error(model, d, pts, sigma=0.5)
    assert np.allclose(err["error"], np.linalg.norm(err["learned"] - err["exact"], axis=1))
    assert np.allclose(err["exact"], d.score(pts, 0.5).numpy()) and err["sigma"] == 0.5


def test_the_objective_registry_names_each_objective_once():
    assert OBJECTIVES == ("ncsn", "dsm", "esm", "ism", "ssm", "hsm") == tuple(OBJECTIVE_REGISTRY)
    assert NET_KIND == {"ncsn": "conditional", "hsm": "cld", "dsm": "plain", "esm": "plain", "ism": "plain",
                        "ssm": "plain"}
    for name, o in OBJECTIVE_REGISTRY.items():
        assert o.name == name and o.label.startswith(f"{name}: ") and o.learns and o.matches and o.gives
        assert Trainer("eight-gaussians", name, width=16, depth=1, steps=1).net.kind == o.net_kind
    with pytest.raises(ValueError, match="unknown objective 'nce'"):
        get_objective("nce")
    rows = objectives_table()
    assert [r["objective"] for r in rows] == ["esm", "ism", "ssm", "dsm", "ncsn", "hsm"]
    assert all(list(r) == ["objective", "matches", "gives"] for r in rows)
    assert f"all {LEVELS} σ" in rows[4]["matches"]
    timed = objectives_table({o: 100.0 for o in OBJECTIVES})     # a benchmark's figures, when given
    assert all(list(r) == ["objective", "matches", "steps/s", "gives"] and r["steps/s"] == 100.0 for r in timed)


def test_the_levels_shown_are_the_trainers_own():
    d = D.get("eight-gaussians")
    reg = OBJECTIVE_REGISTRY
    assert reg["ncsn"].shown(d) == default_sigmas(d) and len(default_sigmas(d)) == LEVELS
    assert reg["dsm"].shown(d) == [default_sigma(d)] == [0.5 * d.scale]
    for o in ("esm", "ism", "ssm"):
        assert reg[o].shown(d) == [0.0] and reg[o].target_kwargs(0.0) == {"sigma": None}
    assert reg["hsm"].target_kwargs(0.05) == {"t": 0.05} and reg["hsm"].symbol == "t"
    ncsn = Trainer(d, "ncsn", width=16, depth=1, steps=1, levels=5)
    dsm = Trainer(d, "dsm", width=16, depth=1, steps=1, sigma=0.3)
    assert ncsn.sigmas == default_sigmas(d, 5) and reg["ncsn"].shown(d, ncsn) == ncsn.sigmas
    assert reg["dsm"].shown(d, dsm) == [0.3] and reg["dsm"].target_kwargs(0.3) == {"sigma": 0.3}


def test_cld_on_the_learned_net_lands(hsm_model):
    """The issue's gates for learned CLD on the default hsm training (seed 0: hsm's own
    lr 0.01, EMA 0.995, Fourier scale 1.0, focused training times), on 30,000 pooled
    particles. The net samples spread 1.022 +- 0.002 over 36 seeds of 2,000 particles and
    1.027 over six seeds of 10,000 (those seeds' own spreads 1.025-1.029): inside 3% by
    about 0.005. One seed of 2,000 particles scatters by 0.011, so three of them pooled
    cannot tell 1.024 from 1.03 (they drew 1.018 and 1.035 on two random streams); seeds
    of 10,000 scatter by 0.002 (benchmarks/learned_cld.py, docs/performance.md)."""
    st = _pooled_stats(hsm_model, "cld", particles=10000)
    assert st["modes_hit"] == 8
    assert st["max_weight_error"] <= WEIGHT_TOL, st["max_weight_error"]
    assert abs(st["spread"] - 1) <= SPREAD_TOL, st["spread"]
