"""What the Train page shows, computed in the engine (``explorer.diagnostics``) and drawn
by ``explorer.figures``: the σ/t choices, the target and learned fields with their
pointwise error, the loss smoothing and the Fisher curves."""
import numpy as np
import pytest

from explorer import densities as D
from explorer import diagnostics as DG
from explorer import figures as G
from explorer.targets import training_kde
from explorer.training import CLD_SHOWN_TIMES, Trainer, default_sigma, default_sigmas


@pytest.fixture(scope="module")
def eight():
    return D.get("eight-gaussians")


def test_levels_shown_before_and_after_the_trainer_exists(eight):
    levels, first = DG.shown_levels("ncsn", eight)
    assert levels == default_sigmas(eight) and first == len(levels) - 1     # the smallest σ first
    tr = Trainer(eight, "ncsn", width=16, depth=1, steps=1, levels=4)
    levels, first = DG.shown_levels("ncsn", eight, tr)
    assert levels == tr.sigmas and first == 3                                 # the trainer's own levels
    assert DG.shown_levels("dsm", eight) == ([default_sigma(eight)], 0)
    assert DG.shown_levels("dsm", eight, Trainer(eight, "dsm", width=16, depth=1, steps=1, sigma=0.4)) == ([0.4], 0)
    assert DG.shown_levels("hsm", eight) == (list(CLD_SHOWN_TIMES), 1)        # t = 0.05 first
    for o in ("esm", "ism", "ssm"):
        assert DG.shown_levels(o, eight) == ([0.0], 0)


def test_shown_target_asks_for_the_kde_only_where_needed(eight):
    asked = []

    def make_kde():
        asked.append(1)
        return training_kde(eight, 0)

    tg = DG.shown_target("hsm", eight, 0.05, make_kde=make_kde)
    assert tg.t == 0.05 and tg.source == "exact" and not asked
    tg = DG.shown_target("dsm", eight, 0.3, make_kde=make_kde)
    assert tg.sigma == 0.3 and not asked
    tg = DG.shown_target("esm", eight, 0.0, make_kde=make_kde)
    assert tg.source == "kde" and asked == [1]
    assert "dashed line" in DG.about(tg, exact=True) and "dashed line" not in DG.about(tg, exact=False)
    tr = Trainer(eight, "dsm", width=16, depth=1, steps=1, sigma=0.4)
    assert DG.shown_target("dsm", eight, 1.0, tr).sigma == 0.4               # the trainer's own σ


def test_field_view_target_learned_and_error(eight):
    tg = DG.shown_target("hsm", eight, 0.1)
    view = DG.field_view(tg, eight.box, n=7)
    assert view.learned is None and view.error is None and view.target.u.shape == (49,)
    assert DG.field_title(tg).count("(x, v = 0)") == 1 and DG.density_sigma(tg) == 0.0
    tr = Trainer(eight, "ncsn", width=16, depth=1, steps=2).train()
    tg = DG.shown_target("ncsn", eight, tr.sigmas[-1], tr)
    view = DG.field_view(tg, eight.box, tr, n=7)
    assert view.step == 2 and view.error.z.shape == (7, 7) and len(view.error.x) == 7
    learned = np.stack([view.learned.u, view.learned.v], 1)
    target = np.stack([view.target.u, view.target.v], 1)
    assert np.allclose(view.error.z.ravel(), np.linalg.norm(learned - target, axis=1))
    assert DG.density_sigma(tg) == tr.sigmas[-1]
    assert DG.density_under(eight, 0.3).sigma == 0.3
    assert DG.density_under(D.get("moons"), 0.0) is None                    # data: no density to draw
    fig = G.error_map_figure(view.error)
    assert fig.data[0].z.dtype == np.float32 and "pointwise error" in fig.layout.title.text


def test_loss_smoothing():
    assert DG.loss_curve([]) is None and DG.loss_curve(None) is None
    c = DG.loss_curve([3.0, 1.0, 2.0])                 # no more than a window: the losses themselves
    assert list(c.step) == [1, 2, 3] and list(c.smooth) == [3.0, 1.0, 2.0] and list(c.smooth_step) == [1, 2, 3]
    y = np.arange(100, dtype=np.float64)
    c = DG.loss_curve(y, window=25)
    assert len(c.smooth) == 76 and c.smooth_step[0] == 25 and c.smooth_step[-1] == 100
    assert c.smooth[0] == pytest.approx(12.0) and c.smooth[-1] == pytest.approx(87.0)   # mean of each window
    c = DG.loss_curve(np.ones(1000), max_points=400)   # thinned: every 2nd point
    assert len(c.loss) == 500 and c.step[1] - c.step[0] == 2
    fig = G.loss_figure(c)
    assert [d.name for d in fig.data] == ["batch loss", "smoothed"] and fig.layout.title.text == "loss"
    assert G.loss_figure(None).data == ()


def test_fisher_curves_name_their_levels():
    assert DG.fisher_curves([], "ncsn", "exact") is None
    assert DG.fisher_curves([{"step": 1}], "ncsn", "exact") is None
    hist = [{"step": s, "fisher": {1.0: 0.5 / s, 0.1: 0.9 / s}} for s in (1, 2)]
    fc = DG.fisher_curves(hist, "ncsn", "exact")
    assert [c["name"] for c in fc.curves] == ["σ = 1", "σ = 0.1"] and fc.curves[1]["y"] == [0.9, 0.45]
    assert fc.title == "relative Fisher divergence vs exact ∇log p_σ"
    assert DG.fisher_curves(hist, "hsm", "kde").title == "relative Fisher divergence vs the KDE's ∇ᵥ log pₜ"
    hist = [{"step": 1, "fisher": {0.0: 0.1}, "fisher_exact": {0.0: 0.6}}]
    fc = DG.fisher_curves(hist, "esm", "kde")
    assert [(c["name"], c["dashed"]) for c in fc.curves] == [("vs the KDE (its target)", False),
                                                             ("vs exact ∇log p", True)]
    fig = G.fisher_figure(fc)
    assert fig.layout.yaxis.type == "log" and fig.data[1].line.dash == "dash"
    assert G.fisher_figure(None) is None
