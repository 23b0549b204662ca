"""The Fokker-Planck solver against exact answers: mass and positivity by construction, pi
kept at pi with an error of the scheme's order in h, the Ornstein-Uhlenbeck mean and
variance at every frame with backward Euler's first order in dt, KL(p_t || pi) never
increasing, and the CLI's file and bad input."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from explorer import densities as D
from explorer import fokker_planck as FP

GAUSS = D.get("gmm", weights=[1.0], means=[[0.0, 0.0]], covs=[[[0.5, 0.0], [0.0, 0.5]]])


@pytest.mark.parametrize("sampler", ["langevin", "annealed"])
def test_mass_is_conserved_and_the_density_stays_positive(sampler):
    d = D.get("eight-gaussians")
    sol = FP.run(d, sampler, box=d.box, n=61, frames=40)
    # backward Euler with columns of A summing to zero: 1^T p is exact up to round-off
    assert sol.mass_error < 1e-8
    assert sol.density.min() >= 0
    assert len(sol.times) == 40 and sol.steps[0] == 0 and sol.times[0] == 0


def test_pi_stays_pi_with_an_error_of_second_order_in_h():
    """Started at pi (its cell-centre values), the scheme settles on its own stationary law
    pi_h; the L1 distance to pi falls like h^2 (measured orders 1.87 and 1.96)."""
    d = D.get("eight-gaussians")
    errs = []
    for n in (41, 81, 161):
        grid = FP.Grid(d.box, n)
        pi = np.exp(FP.log_target(d, grid))
        sol = FP.solve(d, grid, pi, [0, 50, 100])
        errs.append(np.abs(sol.density[-1] - pi).sum() * grid.dx * grid.dy)
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(orders > 1.7), orders
    assert errs[-1] < 2e-4


def _ou_errors(substeps):
    """Largest |mean - exact| and |var - exact| over the frames, N(0, 0.5 I) target, start
    N((1, 0), 0.1 I): m(t) = m0 e^(-t/s2), v(t) = s2 + (v0 - s2) e^(-2t/s2)."""
    grid = FP.Grid((-5.0, 5.0, -5.0, 5.0), 161)
    xx, yy = np.meshgrid(grid.x, grid.y)
    m0, v0, s2 = 1.0, 0.1, 0.5
    p0 = np.exp(-0.5 * ((xx - m0) ** 2 + yy**2) / v0)
    times = np.linspace(0.0, 2.0, 21)
    sol = FP.solve(GAUSS, grid, p0, times, substeps=substeps)
    cell = grid.dx * grid.dy
    out = []
    for k, t in enumerate(times):
        d = sol.density[k]
        mean = (d * xx).sum() * cell
        var = (d * (xx - mean) ** 2).sum() * cell
        out.append((abs(mean - m0 * np.exp(-t / s2)), abs(var - (s2 + (v0 - s2) * np.exp(-2 * t / s2)))))
    return np.array(out).max(0)


def test_a_gaussian_target_gives_the_ornstein_uhlenbeck_mean_and_variance():
    coarse, fine = _ou_errors(2), _ou_errors(8)
    # backward Euler is first order in dt: 4x the substeps, ~4x smaller errors (measured
    # 3.7x between 1 and 4 substeps on a 201 grid); the h^2 error is far below
    assert np.all(coarse / fine > 3.0), (coarse, fine)
    assert fine[0] < 0.01 and fine[1] < 0.002, fine


def test_kl_to_pi_never_increases_under_a_fixed_field():
    d = D.get("eight-gaussians")
    sol = FP.run(d, "langevin", box=d.box, n=81, frames=60)
    assert np.all(np.diff(sol.kl) <= 1e-12), np.diff(sol.kl).max()
    assert sol.kl[-1] < 1e-3 < sol.kl[0]


def test_samplers_without_a_fokker_planck_form_are_refused():
    d = D.get("eight-gaussians")
    with pytest.raises(ValueError, match="accepted: langevin, annealed"):
        FP.clock("mala", d)
    with pytest.raises(ValueError, match="3 to 301 cells per side"):
        FP.run(d, "langevin", box=d.box, n=1001)


def test_cli_writes_the_frames_and_refuses_bad_input(tmp_path):
    out = tmp_path / "fp.npz"
    cmd = [sys.executable, "-m", "explorer", "fokker-planck", "--density", "eight-gaussians", "--grid", "61",
           "--frames", "20", "--out", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["mass_error"] < 1e-8 and got["frames"] == 20 and got["seconds"] > 0 and got["final_tv"] < 0.01
    z = np.load(out)
    dx, dy = z["x"][1] - z["x"][0], z["y"][1] - z["y"][0]
    assert z["density"].shape == (20, 61, 61) and z["kl"].shape == (20,)
    assert np.allclose(z["density"].sum((1, 2)) * dx * dy, 1.0, atol=1e-6)
    for bad, says in ((["--sampler", "cld"], "must be one of langevin, annealed"), (["--grid", "5000"], "301")):
        r = subprocess.run(cmd + bad, capture_output=True, text=True)
        assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_the_reverse_sdes_density_is_the_exact_forward_marginal():
    """From the exact p_1, the reverse-time SDE's Fokker-Planck density at t equals the
    forward process's exact p_t (eight-gaussians, VP), with backward Euler's first order:
    4x the steps, ~4x smaller TV (measured 0.0107 -> 0.0028 at t = 0.25)."""
    import torch

    from explorer import registry
    d = D.get("eight-gaussians")
    sde = registry.sde_of(d, {"sde": "vp"})
    grid = FP.Grid(d.box, 61)
    pts = torch.as_tensor(grid.points())

    def exact(t):
        return grid.normalise(np.exp(sde.marginal_mixture(d.as_mixture(), float(t)).log_prob(pts).numpy())
                              .reshape(61, 61))

    tv = {}
    for k in (50, 200):
        times = np.linspace(1.0, 1e-3, k + 1)
        dens = FP.reverse_sde(d, grid, sde, times, exact(1.0))
        assert abs(dens[-1].sum() * grid.dx * grid.dy - 1) < 1e-8 and dens.min() >= 0
        tv[k] = {round(float(times[i]), 2): 0.5 * np.abs(dens[i] - exact(times[i])).sum() * grid.dx * grid.dy
                 for i in (k // 2, 3 * k // 4)}
    assert tv[200][0.5] < 0.002 and tv[200][0.25] < 0.005, tv
    assert tv[50][0.26] / tv[200][0.25] > 3, tv


def test_100000_ula_particles_follow_p_t_within_their_noise():
    """100,000 ULA particles with a small step (eps = 0.01 s^2: ULA's own bias, ~0.5% in
    variance, is below what 100,000 particles resolve) against p_t on a 200^2 grid with 40
    backward Euler steps per frame: at t = 0.25, 0.5, 0.75 and 1 their 20 x 20 histogram
    passes Pearson's chi-square against p_t's bin masses (p > 1e-4; measured p 0.003 to
    0.89) and its TV is within 1.5x what exact draws give (measured 0.88 to 1.2)."""
    import scipy.stats
    import torch

    from explorer import samplers as S
    from explorer.simulate import initial
    d = D.get("eight-gaussians")
    eps = 0.01 * d.scale**2
    g = torch.Generator().manual_seed(0)
    tr = S.langevin(d, initial("gaussian", 100_000, d.box, g), steps=800, step_size=eps, generator=g,
                    record_every=200)
    grid = FP.Grid(FP.domain("gaussian", d.box), 200)
    sol = FP.solve(d, grid, FP.initial_density("gaussian", grid, d.box), np.asarray(tr.steps) * eps, substeps=40)
    b = grid.box
    for k in range(1, len(tr.steps)):
        x = tr.positions[k]
        tv, noise = FP.histogram_gap(x, sol.density[k], grid, bins=20)
        hist, _, _ = np.histogram2d(x[:, 1], x[:, 0], bins=20, range=[[b[2], b[3]], [b[0], b[1]]])
        expect = FP.bin_probabilities(sol.density[k], grid, 20) * len(x)
        m = expect > 5
        chi2 = float(((hist[m] - expect[m]) ** 2 / expect[m]).sum())
        assert scipy.stats.chi2.sf(chi2, m.sum() - 1) > 1e-4, (tr.steps[k] * eps, chi2, m.sum())
        assert tv < 1.5 * noise, (tr.steps[k] * eps, tv, noise)


def test_the_spectral_gap_of_the_standard_gaussian_is_one_at_second_order():
    """pi = N(0, I): the Ornstein-Uhlenbeck generator's eigenvalues are -(n1 + n2), so
    lambda = 1; the grid's error falls like h^2 (measured 6.4e-3 at 61 cells, 1.6e-3 at 121)."""
    d = D.get("gmm", weights=[1.0], means=[[0.0, 0.0]], covs=[[[1.0, 0.0], [0.0, 1.0]]])
    errs = [abs(FP.spectral_gap(d, FP.Grid((-6, 6, -6, 6), n)) - 1) for n in (61, 121)]
    assert errs[1] < 2e-3
    assert math.log2(errs[0] / errs[1]) == pytest.approx(2, abs=0.2)


def test_kramers_rate_approaches_the_double_wells_gap_as_the_barrier_grows():
    """Kramers' formula is the a >> 1 limit: its ratio to the grid's gap falls towards 1
    (measured 1.113, 1.094, 1.058 at a = 3, 5, 8; the correction is O(1/a))."""
    ratios = []
    for a in (3.0, 5.0, 8.0):
        d = D.get("double-well", barrier=a)
        ratios.append(FP.kramers_rate(d) / FP.spectral_gap(d, FP.Grid(FP.domain("uniform", d.box), 161)))
    assert ratios[0] > ratios[1] > ratios[2] > 1 and ratios[2] < 1.07
    with pytest.raises(ValueError, match="double-well"):
        FP.kramers_rate(D.get("ring"))


def test_decay_rate_fits_the_slope_inside_its_window():
    t = np.linspace(0, 10, 101)
    kl = 3.0 * np.exp(-0.7 * t) + 1e-7            # a floor below the window does not bend the fit
    assert FP.decay_rate(t, kl) == pytest.approx(0.7, rel=1e-3)
    assert math.isnan(FP.decay_rate(t[:2], kl[:2]))
