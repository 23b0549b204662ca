"""Score SDEs against exact answers: the forward marginals, the reverse samplers' samples,
the probability-flow ODE's round trip and determinism, its log-likelihood against the
exact log-density, and the VP-time to noise-level map a noise-conditional network sees."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from explorer import densities as D
from explorer import metrics as M
from explorer import registry, sdes
from explorer.diffusions import VE, VP
from explorer.simulate import evaluate, simulate

SDES = {"vp": VP(), "ve": VE(sigma_min=0.01, sigma_max=5 * D.get("eight-gaussians").sigma_max)}


@pytest.mark.parametrize("name", ["vp", "ve"])
def test_the_forward_process_draws_the_exact_marginal_at_every_t(name):
    """Frames of a forward run at t are draws of p_t = the data noised by the SDE's kernel:
    their energy distance to exact draws of p_t stays under the noise floor (the value 99%
    of exact sets of the same size stay below)."""
    d = D.get("eight-gaussians")
    sde = SDES[name]
    g = torch.Generator().manual_seed(0)
    traj = sdes.forward(d, d.sample(1000, g), sde=sde, steps=100, generator=g, record_every=25)
    for t, pos in zip(traj.levels, traj.positions):
        mix = sde.marginal_mixture(d.as_mixture(), float(t))
        ref = mix.sample(1000, torch.Generator().manual_seed(1)).float().numpy()
        null = M.energy_null(lambda n, gen: mix.sample(n, gen).float(), ref, 1000, draws=19, seed=2)
        assert M.energy_distance(pos, ref) < M.noise_floor(null) * 1.5, t     # 19 null draws: the floor's top


@pytest.mark.parametrize("sampler", ["reverse-sde", "pc", "pf-ode"])
@pytest.mark.parametrize("name", ["vp", "ve"])
def test_reverse_samplers_land_on_the_target_with_its_weights(sampler, name):
    """From the prior back to the data on mixture-1to4 (weights 0.2 / 0.8): no barrier to
    cross, so the weights come out right (within 0.03, 3 binomial sd at 2,000) and the
    energy distance sits under its floor; the spread within 4%."""
    d = D.get("mixture-1to4")
    traj = simulate(d, sampler, particles=2000, seed=0, frames=10, sde=registry.sde_of(d, {"sde": name}))
    ev = evaluate(traj, d)
    assert ev["energy_distance"] < ev["energy_distance_floor"]
    assert ev["mode_weights"][0] == pytest.approx(0.2, abs=0.03)
    assert ev["spread"] == pytest.approx(1.0, abs=0.04)


def test_the_ode_returns_to_its_start_and_is_deterministic():
    d = D.get("eight-gaussians")
    sde = VP()
    x = d.sample(200, torch.Generator().manual_seed(0))
    a = simulate(d, "pf-ode", particles=200, seed=3, frames=5)
    b = simulate(d, "pf-ode", particles=200, seed=3, frames=5)
    assert np.array_equal(a.positions, b.positions)
    # forward in time from eps to 1, then the sampler back from 1 to eps
    y = x.double()
    grid = torch.linspace(1e-3, 1.0, 201, dtype=torch.float64)
    for t0, t1 in zip(grid[:-1], grid[1:]):
        v0 = sdes.ode_drift(sde, d, y, float(t0))
        z = y + (t1 - t0) * v0
        y = y + 0.5 * (t1 - t0) * (v0 + sdes.ode_drift(sde, d, z, float(t1)))
    back = sdes.pf_ode(d, y, sde=sde, steps=200).samples
    assert np.abs(back - x.numpy()).max() < 0.02          # Heun's O(h^2) both ways, h = 1/200


@pytest.mark.parametrize("name", ["vp", "ve"])
@pytest.mark.parametrize("target", ["eight-gaussians", "mixture-1to4"])
def test_the_ode_likelihood_is_the_exact_log_density(name, target):
    """log p_0 through the ODE (exact divergence, exact p_1) within 0.01 nats of the truth."""
    d = D.get(target)
    sde = registry.sde_of(d, {"sde": name})
    x = d.sample(200, torch.Generator().manual_seed(0)).double()
    ode = sdes.log_likelihood(d, x, sde=sde, steps=200)
    exact = d.log_prob(x.float()).double()
    assert float((ode - exact).abs().mean()) < 0.01


def test_a_noise_conditional_network_is_asked_at_s_t_over_alpha_t():
    """VP's x_t / alpha_t = x_0 + (s_t / alpha_t) z: a network trained on VE noise levels is
    evaluated at sigma = s_t / alpha_t, and its answer scaled by 1 / alpha_t."""
    asked = []

    class Net:
        def score(self, x, sigma):
            asked.append(float(sigma))
            return torch.ones_like(x)

    sde = VP()
    out = sde.score(Net(), torch.zeros(3, 2), 0.5)
    alpha, s = sde.marginal(0.5)
    assert asked == [pytest.approx(s / alpha)] and sde.noise_level(0.5) == pytest.approx(s / alpha)
    assert torch.allclose(out, torch.full((3, 2), 1 / alpha))


def test_bad_sde_settings_say_what_is_accepted():
    d = D.get("eight-gaussians")
    with pytest.raises(ValueError, match="β_max > β_min"):
        registry.sde_of(d, {"sde": "vp", "beta_min": 5.0, "beta_max": 1.0})
    with pytest.raises(ValueError, match="snr must be"):
        sdes.pc(d, torch.zeros(5, 2), sde=VP(), steps=2, snr=-1.0)
    r = subprocess.run([sys.executable, "-m", "explorer", "sample", "--density", "ring", "--sampler", "langevin",
                        "--sde", "ve"], capture_output=True, text=True)
    assert r.returncode == 2 and "score-SDE samplers" in r.stderr


def test_cli_likelihood_prints_both_means(tmp_path):
    d = D.get("eight-gaussians")
    pts = tmp_path / "pts.csv"
    np.savetxt(pts, d.sample(100, torch.Generator().manual_seed(0)).numpy(), delimiter=",", header="x,y",
               comments="")
    r = subprocess.run([sys.executable, "-m", "explorer", "likelihood", "--density", "eight-gaussians", "--points",
                        str(pts), "--sde", "vp", "--out", str(tmp_path / "l.npz")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert abs(got["mean_log_prob_ode"] - got["mean_log_prob_exact"]) < 0.01 and got["seconds"] > 0
    z = np.load(tmp_path / "l.npz")
    assert z["log_prob_ode"].shape == (100,) and math.isfinite(float(z["log_prob_exact"].mean()))


@pytest.mark.parametrize("name", ["vp", "ve"])
def test_the_density_pages_p_t_is_the_exact_marginal(name):
    """fields.sde_density_grid (the Density page's p_t) against the exact noised mixture."""
    from explorer import fields as F
    d = D.get("mixture-1to4")
    sde = registry.sde_of(d, {"sde": name})
    for t in (0.0, 0.3, 0.7, 1.0):
        dg = F.sde_density_grid(d, d.box, sde, t, 41)
        xs, ys, pts = F.lattice(d.box, 41)
        exact = sde.marginal_mixture(d.as_mixture(), t).log_prob(pts).numpy().reshape(41, 41)
        assert np.allclose(dg.logz, exact, atol=1e-4, rtol=1e-5), t      # float32 grid


@pytest.mark.parametrize("name", ["vp", "ve"])
@pytest.mark.parametrize("target", ["eight-gaussians", "gmm", "moons"])
def test_the_precomputed_path_is_the_score_at_every_t(name, target):
    """The samplers' precomputed p_t parameters (mixture.MixturePath: a shared covariance,
    full covariances per component, a Gaussian KDE) give sde.score's answer at each time."""
    from explorer.kde import KDE
    d = D.get(target)
    model = d if d.has_score else KDE(d.sample(300, torch.Generator().manual_seed(0)))
    sde = registry.sde_of(model, {"sde": name})
    grid = sdes.times(50, 1e-3)
    x = torch.randn(400, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2
    score = sdes._scorer(sde, model, grid, x)
    for k in (0, 10, 25, 49, 50):
        want = sde.score(model, x, float(grid[k]))
        assert torch.allclose(score(x, k), want, rtol=1e-6, atol=1e-8 * float(want.abs().max())), k


@pytest.mark.parametrize("target", ["eight-gaussians", "ring"])
def test_a_forward_run_is_judged_against_the_law_it_ends_on(target):
    """The forward SDE ends on p_1, not on the target: evaluate judges it against exact
    draws of p_1 (the data noised by the SDE's kernel), where it sits at the noise floor,
    and the metrics table says so."""
    from explorer import figures as G
    d = D.get(target)
    tr = simulate(d, "forward", particles=2000, seed=0)
    ev = evaluate(tr, d)
    assert ev["energy_distance"] <= ev["energy_distance_floor"] and "mode_weights" not in ev
    rows = {r["metric"]: r for r in G.metrics_rows({"forward": {"traj": tr, "eval": ev, "seconds": 1.0}})}
    assert rows["judged against"]["forward"] == "exact p₁, where it ends"


def test_cli_sample_keeps_the_output_contract_with_t_in_levels(tmp_path):
    out = tmp_path / "run.npz"
    r = subprocess.run([sys.executable, "-m", "explorer", "sample", "--density", "mixture-1to4", "--sampler", "pc",
                        "--sde", "ve", "--snr", "0.16", "--steps", "200", "--particles", "300", "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["params"]["snr"] == 0.16 and got["params"]["sde"]["name"] == "ve" and got["steps"] == 200
    z = np.load(out)
    assert z["trajectory"].shape[1:] == (300, 2) and np.array_equal(z["samples"], z["trajectory"][-1])
    assert z["levels"][0] == pytest.approx(1.0) and z["levels"][-1] == pytest.approx(1e-3)
    assert np.all(np.diff(z["levels"]) < 0) and z["reference"].shape == (2000, 2)
    for bad, says in ((["--snr", "-0.5"], "snr"), (["--sampler", "langevin", "--snr", "0.1"], "score-SDE samplers"),
                      (["--beta-min", "5", "--beta-max", "1"], "β_max > β_min > 0"),
                      (["--sde", "ve", "--sigma-max", "0.001"], "σ_max > σ_min > 0")):
        args = ["--density", "ring", "--sampler", "pc", *bad]
        r = subprocess.run([sys.executable, "-m", "explorer", "sample", *args], capture_output=True, text=True)
        assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr, r.stderr
