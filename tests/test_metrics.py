import numpy as np
import pytest
import torch

from explorer import densities as D
from explorer import metrics as M


def test_energy_distance_is_unbiased_and_detects_a_shift():
    g = np.random.default_rng(0)
    same = [M.energy_distance(g.normal(size=(500, 2)), g.normal(size=(500, 2))) for _ in range(40)]
    # the U-statistic has mean 0 under the null: mean of 40 within 3 SE of 0
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(40)
    shifted = M.energy_distance(g.normal(size=(500, 2)) + [0.5, 0], g.normal(size=(500, 2)))
    assert shifted > np.mean(same) + 6 * np.std(same)


def test_energy_distance_of_known_gaussians():
    # for N(0,1) vs N(mu,1) in 1-D embedded in 2-D: 2E|X-Y| - E|X-X'| - E|Y-Y'| with
    # E|N(m, 2)| = 2 phi(m/sqrt2) sqrt2 + m (2 Phi(m/sqrt2) - 1)
    from scipy.stats import norm
    g = np.random.default_rng(1)
    m = 1.0
    x = np.c_[g.normal(size=4000), np.zeros(4000)]
    y = np.c_[g.normal(size=4000) + m, np.zeros(4000)]
    e_xy = 2 * norm.pdf(m / np.sqrt(2)) * np.sqrt(2) + m * (2 * norm.cdf(m / np.sqrt(2)) - 1)
    e_xx = 2 / np.sqrt(np.pi)
    assert M.energy_distance(x, y) == pytest.approx(2 * e_xy - 2 * e_xx, abs=0.02)


def test_mmd_null_and_alternative():
    g = np.random.default_rng(2)
    null = [M.mmd2(g.normal(size=(300, 2)), g.normal(size=(300, 2))) for _ in range(20)]
    assert abs(np.mean(null)) < 3 * np.std(null) / np.sqrt(20) + 1e-4
    alt = M.mmd2(g.normal(size=(300, 2)) * 1.5, g.normal(size=(300, 2)))
    assert alt > np.mean(null) + 6 * np.std(null)


def test_mode_stats_on_exact_draws():
    d = D.get("eight-gaussians")
    st = M.mode_stats(d.sample(20000, torch.Generator().manual_seed(0)).numpy(), d.modes)
    assert st["modes_hit"] == 8
    assert st["spread"] == pytest.approx(1.0, abs=0.01)          # truncation corrected
    assert st["good_share"] == pytest.approx(1 - np.exp(-4.5), abs=0.003)
    assert st["max_weight_error"] < 0.01


def test_relative_fisher():
    d = D.get("eight-gaussians")
    x = d.sample(1000, torch.Generator().manual_seed(0))
    assert M.relative_fisher(d.score, d.score, x) == 0.0
    assert M.relative_fisher(lambda y: 1.1 * d.score(y), d.score, x) == pytest.approx(0.01)


def test_with_floor_reports_a_fresh_exact_set():
    d = D.get("ring")
    ref = d.sample(500, torch.Generator().manual_seed(0)).numpy()
    value, floor = M.with_floor(M.energy_distance, ref * 1.2, ref, d.sample)
    assert value > 10 * abs(floor)
