"""What each objective learns: ``explorer.targets.objective_target``
returns the minimiser of each loss, the trainer measures its Fisher divergence against
that field, and the Train page says per objective what it learns and what it is compared
with. Fixed seeds; every threshold says where it comes from."""
import pytest
import torch

from conftest import app, charts, ok
from explorer import densities as D
from explorer.diffusions import CLD
from explorer.kde import fit_kde
from explorer.metrics import relative_fisher
from explorer.targets import objective_target, training_kde
from explorer.training import OBJECTIVE_REGISTRY, OBJECTIVES, Trainer


@pytest.fixture(scope="module")
def eight():
    return D.get("eight-gaussians")


@pytest.fixture(scope="module")
def pts():
    return 2.5 * torch.randn(300, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)


def test_every_objective_has_a_phrase():
    assert set(OBJECTIVE_REGISTRY) == set(OBJECTIVES)
    d = D.get("eight-gaussians")
    for o in OBJECTIVES:
        kw = {"t": 0.1} if o == "hsm" else {"sigma": 0.3} if o in ("dsm", "ncsn") else {}
        assert objective_target(o, d, **kw).learns == OBJECTIVE_REGISTRY[o].learns
    with pytest.raises(ValueError, match="unknown objective"):
        objective_target("nce", d)


def test_each_objective_targets_its_own_field(eight, pts):
    d, x = eight, pts
    v = torch.randn(300, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    for o in ("ism", "ssm"):                       # noise-free: the exact score itself
        tg = objective_target(o, d)
        assert tg.source == "exact" and tg.sigma == 0.0 and torch.equal(tg.field(x), d.score(x))
        with pytest.raises(ValueError, match="noise-free"):
            objective_target(o, d, sigma=0.3)
    tg = objective_target("dsm", d, sigma=0.3)     # its one sigma: the score of p_sigma
    assert torch.equal(tg.field(x), d.score(x, 0.3)) and not torch.allclose(tg.field(x), d.score(x))
    assert objective_target("dsm", d).sigma == 0.5 * d.scale          # the Trainer's default
    tg = objective_target("ncsn", d, sigma=1.0)
    assert torch.equal(tg.field(x), d.score(x, 1.0))
    with pytest.raises(ValueError, match="which sigma"):
        objective_target("ncsn", d)
    cld = CLD()
    tg = objective_target("hsm", d, t=0.1, cld=cld)   # the CLD velocity score, not grad log p
    assert tg.sigma is None and tg.t == 0.1
    assert torch.equal(tg.field(x, v), d.cld_score(x, v, 0.1, cld))
    assert torch.equal(tg.field(x), d.cld_score(x, torch.zeros_like(x), 0.1, cld))
    kde = fit_kde(d, seed=9)
    tg = objective_target("esm", d, kde=kde)          # the KDE it was trained against
    assert tg.source == "kde" and torch.equal(tg.field(x), kde.score(x))
    assert "KDE" in tg.label and "KDE" in tg.caption


def test_the_trainer_reports_against_its_own_target(eight, pts):
    esm = Trainer(eight, "esm", width=32, depth=1, steps=3, seed=4)
    # the KDE objective_target builds is the one the trainer matches (seed + 2, 1000 draws)
    assert torch.equal(training_kde(eight, 4).data, esm.kde().data)
    assert torch.equal(esm.target().field(pts), esm.kde().score(pts))
    dsm = Trainer(eight, "dsm", width=32, depth=1, steps=3, sigma=0.4)
    assert dsm.target(sigma=1.0).sigma == 0.4                  # a plain dsm net has one sigma only
    ncsn = Trainer(eight, "ncsn", width=32, depth=1, steps=3)
    assert ncsn.target().sigma == min(ncsn.sigmas)
    for tr in (dsm.train(), ncsn.train()):                     # target == exact score here
        assert tr.fisher(against="target") == tr.fisher(against="exact")
    r = esm.train().snapshot()
    assert set(r["fisher"]) == {0.0} and set(r["fisher_exact"]) == {0.0}
    assert r["fisher"] != r["fisher_exact"]


def test_data_sets_are_compared_with_the_kde_and_say_so(pts):
    moons = D.get("moons")
    kde = training_kde(moons, 0)
    cld = CLD()
    for o, kw, want in (("ism", {}, kde.score(pts)), ("dsm", {"sigma": 0.2}, kde.score(pts, 0.2)),
                        ("ncsn", {"sigma": 0.5}, kde.score(pts, 0.5)),
                        ("hsm", {"t": 0.3, "cld": cld}, kde.cld_score(pts, torch.zeros_like(pts), 0.3, cld))):
        tg = objective_target(o, moons, kde=kde, **kw)
        assert tg.source == "kde" and "no exact score" in tg.label and "no exact score" in tg.caption
        assert torch.allclose(tg.field(pts), want, rtol=0, atol=1e-12)
    tr = Trainer("moons", "ncsn", width=32, depth=1, steps=2).train()
    assert tr.fisher() is None and set(tr.fisher(against="target")) == set(tr.sigmas)


def test_esm_learns_the_kde_not_the_exact_score():
    """300 steps of esm on eight-gaussians (0.67 against the exact score after a long
    run). Measured here: 0.005-0.006 against its KDE target, 0.675 against the exact
    score, and the KDE itself is 0.671 from the exact score on the same points."""
    tr = Trainer("eight-gaussians", "esm", width=64, depth=2, steps=300, batch=256, seed=0).train()
    r = tr.snapshot()
    to_kde, to_exact = r["fisher"][0.0], r["fisher_exact"][0.0]
    x = tr.eval_data
    kde_bias = relative_fisher(tr.kde().score(x), tr.density.score(x))
    # the network has learned its target: 0.05 is the Train page's "learned" line, 8x the value measured
    assert to_kde < 0.05
    # ... and not the truth: it sits on the KDE's own error (Scott's bandwidth blurs the eight
    # modes; 0.67 at n = 1000), within 0.05, which is ~10x the network's distance from its target
    assert to_exact > 10 * to_kde and to_exact == pytest.approx(kde_bias, abs=0.05)


def test_train_page_says_what_each_objective_learns():
    at = app("train")
    ok(at)
    for o in OBJECTIVES:
        at.selectbox(key="tr_objective").set_value(o).run()
        ok(at)
        lines = [c.value for c in at.caption if c.value.startswith(f"{o} learns ")]
        assert len(lines) == 1 and OBJECTIVE_REGISTRY[o].learns in lines[0], [c.value for c in at.caption]
        title = str(charts(at)[0]["layout"]["annotations"][0]["text"])   # the left panel: the target
        assert ("KDE" in title) == (o == "esm")
    assert "∇ᵥ log pₜ" in lines[0]                                         # hsm, the last one
    moons = app("train", {"target": "moons", "tr_objective": "dsm"})
    ok(moons)
    line = [c.value for c in moons.caption if c.value.startswith("dsm learns ")][0]
    assert "the KDE's ∇log p_σ" in line and "no exact score" in line


def test_train_page_esm_charts_compare_with_the_kde_and_the_truth():
    at = app("train", {"tr_objective": "esm", "tr_steps": "250"})
    at.button[0].click().run()
    for _ in range(80):
        if not at.session_state["training"].running:
            break
        at.run()
    ok(at)
    fisher = [s for s in charts(at) if "Fisher" in str(s["layout"].get("title", {}).get("text", ""))][0]
    assert "KDE" in fisher["layout"]["title"]["text"]
    assert [d["name"] for d in fisher["data"]] == ["vs the KDE (its target)", "vs exact ∇log p"]
