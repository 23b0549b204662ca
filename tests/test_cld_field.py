"""The field drawn under CLD animations: grad_x log p_t of the x-marginal of the CLD
forward law at the frame's time t (Dockhorn et al. 2022, eq. 5), per frame, in the
Plotly figure and in the GIF/MP4 frames."""
import math

import numpy as np
import pytest
import torch

from conftest import app
from explorer import densities as D
from explorer import export as E
from explorer import fields as F
from explorer import figures as G
from explorer import scene as SC
from explorer.diffusions import CLD
from explorer.frames import FrameRenderer

torch.set_num_threads(1)

MIXTURES = ["eight-gaussians", "gmm", "mixture-1to4", "grid-25"]


def moments(mix):
    """Mean and covariance of a Gaussian mixture (law of total variance)."""
    w = mix.weights
    mu = (w[:, None] * mix.means).sum(0)
    second = (w[:, None, None] * (mix.covs + mix.means[:, :, None] * mix.means[:, None, :])).sum(0)
    return mu, second - torch.outer(mu, mu)


@pytest.mark.parametrize("name", ["gmm", "eight-gaussians"])
@pytest.mark.parametrize("t", [0.02, 0.3, 1.0])
def test_x_marginal_score_is_the_gradient_of_its_log_density(name, t):
    mix = CLD().x_marginal_mixture(D.get(name).as_mixture(), t)
    x = torch.cat([mix.sample(200, torch.Generator().manual_seed(1)), F.lattice(D.get(name).box, 9)[2]])
    h = 1e-5
    fd = torch.stack([(mix.log_prob(x + h * e) - mix.log_prob(x - h * e)) / (2 * h)
                      for e in torch.eye(2, dtype=torch.float64)], 1)
    s = mix.score(x)
    # central differences in float64: O(h^2) truncation plus ~1e-16 |log p| / h rounding, both < 1e-8
    assert torch.allclose(s, fd, rtol=1e-6, atol=1e-6), (s - fd).abs().max()


@pytest.mark.parametrize("name", MIXTURES + ["ring"])
def test_x_marginal_is_the_data_at_t0(name):
    d = D.get(name)
    mix = d.as_mixture()
    x = F.lattice(d.box, 21)[2]
    ref = mix.score(x)
    # t = 0: E = I and no noise, so the marginal is the data mixture itself (the denoised frame)
    assert torch.allclose(CLD().x_marginal_mixture(mix, 0.0).score(x), ref, rtol=1e-10, atol=1e-10)
    # t -> 0: the field converges to the data score (relative L2 over the box), about as
    # t^2 (E_xx = 1 - O(t^2)); measured 5e-7 .. 1e-5 at t = 1e-4 (grid-25's narrow modes the most)
    errs = [float((CLD().x_marginal_mixture(mix, t).score(x) - ref).norm() / ref.norm()) for t in (1e-2, 1e-3, 1e-4)]
    assert errs[0] > 10 * errs[1] > 100 * errs[2] and errs[2] < 1e-4, errs


@pytest.mark.parametrize("name", MIXTURES)
def test_x_marginal_at_t1_is_close_to_the_prior(name):
    cld = CLD()
    e = cld.mean_matrix(1.0)
    exx, var_x = float(e[0, 0]), float(cld.kernel(1.0)[1][0, 0])
    # the default CLD (beta = 4, critical) leaves E_xx(1) = 9 exp(-8) = 3.0e-3 of the data
    # mean and an xx kernel variance 1 - 1.5e-5: measured here, not assumed
    assert exx < 5e-3 and abs(var_x - 1) < 1e-4, (exx, var_x)
    data = D.get(name).as_mixture()
    mix = cld.x_marginal_mixture(data, 1.0)
    mu, cov = moments(mix)
    mu0, cov0 = moments(data)
    # so the t = 1 marginal is N(0, I) up to E_xx(1) times the data's moments
    assert float(mu.abs().max()) <= 1.01 * exx * float(mu0.abs().max()) + 1e-12
    assert float((cov - torch.eye(2, dtype=torch.float64)).abs().max()) <= exx**2 * float(cov0.abs().max()) + 1e-4
    x = F.lattice(D.get(name).box, 21)[2]
    # each component is N(E_xx mu_k, ~I): |s + x| <= E_xx max|mu_k| / v plus (1/v - 1)|x|, v = 1 +- 1e-4
    bound = 1.01 * exx * float(data.means.norm(dim=1).max()) + 1e-4 * x.norm(dim=1)
    assert ((mix.score(x) + x).norm(dim=1) <= bound).all()


@pytest.mark.parametrize("name", ["gmm", "mixture-1to4"])
@pytest.mark.parametrize("t", [0.1, 0.4])
def test_x_marginal_matches_monte_carlo_through_the_forward_kernel(name, t):
    """Exact data draws x_0 and v_0 ~ N(0, gamma M) pushed through the CLD transition
    (mean_matrix and noise_cov; test_diffusions checks both against Van Loan's integral):
    the sample mean and covariance of x_t against the x-marginal mixture's."""
    cld, n = CLD(), 200_000
    g = torch.Generator().manual_seed(3)
    data = D.get(name).as_mixture()
    x0 = data.sample(n, g)
    v0 = math.sqrt(cld.gamma * cld.mass) * torch.randn(n, 2, generator=g, dtype=torch.float64)
    e, chol = cld.mean_matrix(t), torch.linalg.cholesky(cld.noise_cov(t))
    z1, z2 = (torch.randn(n, 2, generator=g, dtype=torch.float64) for _ in range(2))
    xt = e[0, 0] * x0 + e[0, 1] * v0 + chol[0, 0] * z1 + chol[0, 1] * z2
    mu, cov = moments(cld.x_marginal_mixture(data, t))
    c = xt - xt.mean(0)
    # 5 standard errors: the mean's sd/sqrt(n), the covariance entries' sd((x_i - m_i)(x_j - m_j))/sqrt(n)
    se_mu = xt.std(0) / math.sqrt(n)
    assert ((xt.mean(0) - mu).abs() <= 5 * se_mu).all(), (xt.mean(0), mu, se_mu)
    prod = c[:, :, None] * c[:, None, :]
    se_cov = prod.reshape(n, 4).std(0).reshape(2, 2) / math.sqrt(n)
    assert ((prod.mean(0) - cov).abs() <= 5 * se_cov).all(), (prod.mean(0), cov, se_cov)


def test_cld_scene_draws_one_field_per_frame_time():
    sc = SC.from_preset(density="eight-gaussians", sampler="cld", frames=20)
    traj, lf = sc.traj, sc.level_fields
    assert sc.field is None and lf is not None
    assert [f.t for f in lf] == [float(t) for t in traj.levels]         # one per frame, t = 1 .. 0
    assert traj.levels[0] == 1.0 and traj.levels[-1] == 0.0
    assert F.field_of_frame(lf, traj.levels) == list(range(traj.n_frames))
    assert all(f.u.dtype == np.float32 and f.u.shape == (17 * 17,) for f in lf)
    d = D.get("eight-gaussians")
    mix = d.as_mixture()
    pts = torch.from_numpy(np.stack([lf[0].x, lf[0].y], 1).astype(np.float64))
    for f in (lf[0], lf[len(lf) // 2], lf[-1]):
        s = CLD().x_marginal_mixture(mix, f.t).score(pts).numpy()
        assert np.allclose(np.stack([f.u, f.v], 1), s, rtol=1e-5, atol=1e-5)
    data_field = F.field_grid(d, d.box, 17, 0.0)
    assert np.allclose(lf[-1].u, data_field.u) and np.allclose(lf[-1].v, data_field.v)   # t = 0: the data

    fig = SC.figure(sc)
    quiver = [i for i, tr in enumerate(fig.data) if tr.name == "score"]
    assert len(quiver) == 1
    angles = []
    for fr in fig.frames:
        j = list(fr.traces).index(quiver[0])
        angles.append(np.asarray(fr.data[j].marker.angle, dtype=np.float64))
    assert len(angles) == traj.n_frames

    def turn(a, b):                                  # degrees between two angle arrays (Plotly wraps to +-180)
        return np.abs((np.asarray(a, np.float64) - b + 180) % 360 - 180)

    for i, f in enumerate(lf):                       # frame i carries the field at its own t (whole degrees)
        assert turn(angles[i], G.quiver_style(f)["angle"]).max() <= 0.5 + 1e-4
    assert turn(fig.data[quiver[0]].marker.angle, angles[0]).max() <= 0.5 + 1e-4
    # the arrows change with t: near t = 1 they point to the origin, at t = 0 to the 8 modes
    # (frames carry whole degrees, so the first frames, where the field is ~ -x, may repeat)
    assert np.median(turn(angles[0], angles[-1])) > 5
    assert len({a.tobytes() for a in angles}) > traj.n_frames // 2, len({a.tobytes() for a in angles})


def test_cld_gif_frames_follow_the_frame_time():
    sc = SC.from_preset(density="eight-gaussians", sampler="cld-ode", frames=20, particles=50)
    assert sc.level_fields is not None and len(sc.level_fields) == sc.traj.n_frames
    r = E._renderer(sc, px=160)
    panel = r.panels[0]
    assert panel["level_of_frame"] == list(range(sc.traj.n_frames))
    for i in (0, sc.traj.n_frames - 1):
        r.frame(i)
        u, v = FrameRenderer._unit(sc.level_fields[i])
        assert np.allclose(panel["quiver"].U, u) and np.allclose(panel["quiver"].V, v)


def test_cld_scene_at_the_sample_page_defaults_fits_the_payload_budget():
    """Per-frame arrows add about 1.7 kB a frame (289 float32 angles); the Sample page's
    default CLD run (1000 particles, 500 steps: 169 frames) must still fit the 3 MB
    budget of tests/test_app.py."""
    sc = SC.from_preset(density="eight-gaussians", sampler="cld")
    assert sc.traj.n_frames > 150 and len(sc.level_fields) == sc.traj.n_frames
    assert G.payload_bytes(SC.figure(sc)) <= 3_000_000


def test_learned_cld_draws_no_arrows():
    from explorer.models import LearnedScore, build_network
    d = D.get("eight-gaussians")
    torch.manual_seed(0)
    model = LearnedScore(build_network("cld", width=16, depth=1), scale=d.scale, sigma_max=d.sigma_max, box=d.box)
    traj = SC.from_preset(density="eight-gaussians", sampler="cld", frames=5, particles=20, parts=False).traj
    assert SC.arrows_under(model, d, "cld", traj) == (None, None)
    with pytest.raises(ValueError):
        F.cld_fields(model, d.box, traj.levels, CLD())


def test_sample_page_says_what_the_cld_arrows_are():
    """The Sample page's caption names the CLD field (and annealed Langevin's σ)."""
    for sampler, phrase in (("cld", "∇ₓ log pₜ, the score of the x-marginal"), ("annealed", "noise level σ")):
        at = app("sample", {"sampler": sampler, "particles": "100", "frames": "50"})
        assert not at.exception and not at.error
        assert any(phrase in c.value for c in at.caption), [c.value for c in at.caption]
        assert "CLD: ∇ₓ log pₜ" in at.toggle(key="field").label
