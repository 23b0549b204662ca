"""Named lecture scenes (the Lessons page, ``python -m explorer presets``).

A preset is a plain dict (JSON-able, no Streamlit):

* ``title`` and ``watch`` (2-3 sentences: what to look at and why; every claim in it is
  measured on its scene by tests/test_lessons.py);
* ``page``: the app page that shows it (``density``, ``sample``, ``compare`` or ``train``);
* ``settings``: what differs from the defaults (``settings.py``: the sidebar's target
  and KDE, and the page's own), by URL name, so ``scene(name)`` sets up every widget
  and ``query(name)`` is a link. ``scene.preset_spec(name)`` is the scene it runs.
"""
from __future__ import annotations

from . import settings as S

PRESETS: dict[str, dict] = {
    "why-annealing": {
        "title": "Why annealing? Song & Ermon's 1/5–4/5 mixture",
        "page": "compare",
        "settings": {"target": "mixture-1to4", "cmp": ["langevin", "annealed"], "c_init": "uniform"},
        "watch": ("Both samplers start from the same uniform particles. Plain Langevin follows the local "
                  "score into whichever mode is nearer and ends with about half of the particles in each "
                  "mode, although the truth is 1/5 and 4/5: near the modes the score says nothing about "
                  "their weights. Annealed Langevin first follows heavily noised densities whose fields see both "
                  "modes at once, then lowers the noise level by level, and ends at 1/5 and 4/5 within sampling "
                  "noise (0.205 / 0.795 here: compare the mode-weight bars) with its energy distance at the noise "
                  "floor."),
    },
    "step-too-large": {
        "title": "Step size too large: Langevin blows up",
        "page": "sample",
        "settings": {"target": "eight-gaussians", "sampler": "langevin", "eps": 0.35, "steps": 100},
        "watch": ("Each mode has variance s² = 0.125, and the Langevin step x + ε s(x) + √(2ε) z is stable "
                  "near a mode only for ε < 2 s² = 0.25. At ε = 0.35 every step overshoots the mode by more "
                  "than it corrects, the particles swing out with growing amplitude, and the run stops with "
                  "the step at which it diverged. Set ε back to 0 (the default, 0.05 s²) to see it settle."),
    },
    "langevin-vs-mala": {
        "title": "Langevin's bias, and how MALA removes it",
        "page": "compare",
        "settings": {"target": "eight-gaussians", "cmp": ["langevin", "mala"], "c_eps": 0.1},
        "watch": ("Both use the same step ε = 0.1. Unadjusted Langevin's stationary law is not the target: on "
                  "a Gaussian of variance s² = 0.125 its variance is s²/(1 − ε/2s²), 1.67× too large, so its std "
                  "is √1.67 = 1.29× too large. The table's within-mode spread (the std around each mode over the "
                  "mode's true std; 1 is exact) reads about 1.3–1.4 for Langevin, a little above 1.29: the "
                  "widened blobs of neighbouring modes begin to overlap. MALA proposes the same move but "
                  "accepts it with a Metropolis–Hastings test, so its spread stays at 1; the price is the "
                  "rejected moves (its acceptance rate). The energy distance is too blunt to see this widening "
                  "at 1,000 particles: judge by the spread row."),
    },
    "kinetic": {
        "title": "Overdamped vs underdamped vs CLD",
        "page": "compare",
        "settings": {"target": "eight-gaussians", "cmp": ["langevin", "underdamped", "cld"], "c_friction": 1.4},
        "watch": ("All three start from the same N(0, I) particles. Overdamped Langevin creeps down the "
                  "gradient with small random steps. Underdamped Langevin carries momentum: with its friction "
                  "set to a quarter of critical (Γ = 1.4), about half of its particles fly out past the ring of "
                  "modes and swing back before friction settles them, all within the first 3% of the run: drag "
                  "the slider slowly from 0 to 3%. Critical damping, Γ = 2√M/s (5.7 here, the default "
                  "when Γ is 0), is the smallest friction that settles without swinging: set Γ to 0 and "
                  "underdamped looks like Langevin. CLD uses critical damping, where its forward diffusion "
                  "relaxes fastest, and runs it backwards in time with noise only on the velocity, so its paths "
                  "are smooth. The Sample page shows 'underdamped' and 'cld' in phase space (x and v)."),
    },
    "kde-bandwidth": {
        "title": "KDE bandwidth: Scott's rule on two rings",
        "page": "density",
        "settings": {"target": "two-rings", "bw": "scott", "kde_n": 500, "kde_side": True},
        "watch": ("Left: the true two rings and their score; right: a Gaussian KDE of 500 exact draws. "
                  "Scott's rule scales the bandwidth with the spread of the whole data set, which for rings is "
                  "large: the KDE fills the inner ring's hole (its density at the centre is 63% of its peak, "
                  "where the truth is nearly 0) and keeps only a faint shoulder for the outer ring, so most "
                  "arrows point into a blurred disc. In the sidebar's KDE section set the bandwidth to a number: "
                  "0.1 puts the crests back at radii 1.0 and 2.5, where the rings are; 0.02 breaks them into "
                  "spikes around the data points (dozens of bumps along the inner ring)."),
    },
    "draw-fit-train-sample": {
        "title": "Draw, fit, train, sample",
        "page": "density",
        "settings": {"target": "drawn", "bw": "number", "bw_h": 0.15, "sigma": 0.0},
        "watch": ("Draw: the canvas opens with a smiley of 267 points (draw your own, or load the letter S or the "
                  "spiral). Fit: every page's target is the drawing's KDE. Scott's rule, made for one bump, reads "
                  "h ≈ 0.74 from the spread of the whole face and blurs it into a disc; this scene sets h = 0.15, "
                  "and the density follows the strokes (at the face's empty centre it is under 10⁻¹⁴ of the "
                  "strokes'). Move the noise slider to see p_σ's score reach out from the strokes. Train: on the "
                  "Train page the default network (ncsn, 4,000 steps) learns the score from the 267 points. Sample: "
                  "on the Sample page with the score 'learned', annealed Langevin lands at its noise floor against "
                  "the h = 0.15 KDE (seeds 0–2), and 1.6–2.6× above it against Scott's: the network learned the "
                  "drawing, not Scott's blur."),
    },
    "objectives": {
        "title": "Score-matching objectives compared",
        "page": "train",
        "settings": {"target": "eight-gaussians", "tr_objective": "ssm", "tr_steps": 1000},
        "watch": ("The six objectives learn from samples alone, but not all of them learn ∇log p. ISM and SSM "
                  "learn ∇log p itself: sharp inside the modes and poorly determined between them, where there "
                  "are no samples (watch the error map light up there). DSM learns ∇log p_σ, the score of the "
                  "data noised at its one σ; NCSN learns ∇log p_σ at every level at once, which is what annealed "
                  "Langevin needs; HSM learns CLD's velocity score ∇ᵥ log pₜ(x, v). ESM learns the KDE's score: "
                  "once it matches it, it stays as far from the exact score as the KDE itself (relative Fisher "
                  "divergence ~0.67 on these eight modes). The line under the settings says what each objective "
                  "learns, and the Fisher chart and error map compare the network with that field: train ssm, "
                  "then switch to esm and compare."),
    },
    "noise-smooths": {
        "title": "Noise fills the gaps between modes",
        "page": "density",
        "settings": {"target": "mixture-1to4", "sigma": 5.0},
        "watch": ("At σ = 0 each mode has its own basin: following the arrows from about half of the box leads "
                  "to the light mode, and nothing in the field says the other one holds 4/5 of the mass. Noise "
                  "widens the heavy mode's basin: 60% of the box at σ = 3, and at σ = 5 the noised density "
                  "p_σ = p ∗ N(0, σ²I) has a single peak, so every arrow leads towards the heavy mode. Move "
                  "the noise slider from 5 down to 0 and watch the light mode's basin come back: this is the "
                  "sequence of fields annealed Langevin follows (see 'Why annealing?')."),
    },
    "sde-vs-ode": {
        "title": "Reverse SDE and probability-flow ODE: same marginals, different paths",
        "page": "compare",
        "settings": {"target": "eight-gaussians", "cmp": ["reverse-sde", "pf-ode"]},
        "watch": ("Both panels start from the same 1,000 draws of the prior N(0, I) at t = 1 and follow the same "
                  "field ∇log pₜ down to t = 0 (each frame's label gives t). The reverse-time SDE adds fresh noise at "
                  "every step, so its particles jitter; the probability-flow ODE carries each particle along a "
                  "smooth path that the same start always repeats. Stop at any frame: the two clouds are draws of "
                  "the same pₜ (the energy distance of each to exact draws of pₜ is at its noise floor at t = 0.75, "
                  "0.5, 0.25 and at the end). Now follow one particle: its SDE end and its ODE end lie in the same "
                  "mode only about one time in eight, as often as chance. Same marginals, different paths."),
    },
    "corrector": {
        "title": "What the corrector buys",
        "page": "compare",
        "settings": {"target": "eight-gaussians", "cmp": ["reverse-sde", "pc"], "c_sde": "ve", "c_steps": 20,
                     "c_particles": 2000},
        "watch": ("Both samplers take only 20 steps of the variance-exploding SDE from the same prior draws. The "
                  "reverse SDE alone (Euler–Maruyama, the predictor) leaves its discretisation error in the modes: "
                  "their within-mode spread reads about 1.09, 9% too wide. Predictor–corrector follows each "
                  "predictor step with one Langevin step at the new t (signal-to-noise ratio r = 0.1), which pulls "
                  "the particles towards pₜ: about 1.06. That extra score evaluation a step could instead pay for "
                  "a second predictor step: set the steps to 40 and the reverse SDE alone reads about 1.03. On "
                  "these eight modes the corrector helps, and more predictor steps help more. The energy distance "
                  "is too blunt to see a 9% widening at 2,000 particles: judge by the spread row."),
    },
    "noise-in-data-out": {
        "title": "Noise in, data out: the forward and reverse SDE side by side",
        "page": "compare",
        "settings": {"target": "eight-gaussians", "cmp": ["forward", "reverse-sde"]},
        "watch": ("Left: the forward SDE takes 1,000 draws of the data at t = 0 and noises them with the "
                  "variance-preserving SDE, each step an exact Gaussian transition, until at t = 1 they are draws "
                  "of the prior N(0, I). Right: the reverse-time SDE starts from fresh draws of N(0, I) at t = 1 "
                  "and, following ∇log pₜ, turns the noise back into the eight modes. The right panel plays the "
                  "left one backwards in law: at a given t (the frame labels) both clouds are draws of the same "
                  "pₜ, each at its noise floor against exact draws of pₜ at t = 0.25, 0.5 and 0.75."),
    },
    "score-flow": {
        "title": "A score field is a flow: exact likelihood through the ODE",
        "page": "sample",
        "settings": {"target": "eight-gaussians", "sampler": "pf-ode"},
        "watch": ("The probability-flow ODE moves every particle deterministically, so the score field defines a "
                  "flow that carries the prior into the data, and a flow keeps account of how it squeezes "
                  "volume: log p(x) = log p₁(x₁) + ∫ div v dt along the path from x (in 2-D the divergence is "
                  "exact). The log-likelihood chart integrates this for 200 draws of the target: with the exact "
                  "score every point sits on the diagonal, its ODE log-likelihood equal to the exact log p(x) "
                  "(mean gap under 0.005 nats). Switch the score to kde: the same integral now gives the KDE's own "
                  "log-density, and the mean falls from −2.91 to −3.47 nats. A score model's likelihood is that "
                  "of the density it has learned, not of the data."),
    },
    "ula-bias": {
        "title": "ULA's bias: the particles' law against the Fokker–Planck density",
        "page": "sample",
        "settings": {"target": "eight-gaussians", "sampler": "langevin", "eps": 0.1, "fp": True},
        "watch": ("Langevin with the step ε = 0.1 (as in 'Langevin's bias'), and beside it p_t, the law of the "
                  "continuous-time dynamics dX = ∇log π dt + √2 dW that ULA discretises, solved on a grid from the "
                  "same starting law. p_t reaches π: KL(p_t ‖ π), on a log axis under the animation, falls below "
                  "10⁻⁵. The particles do not: on a Gaussian mode of variance s² = 0.125, ULA's stationary variance "
                  "is s²/(1 − ε/2s²), 1.67× too large, and their spread reads about 1.37. Past the first tenth of "
                  "the run their histogram sits about twice its sampling noise from p_t (the right-hand curve; 1 is "
                  "within noise). Set ε back to 0 (the default, 0.05 s²): that curve falls to about 1.3."),
    },
    "barrier-clock": {
        "title": "Barriers set the clock: Kramers' law in KL(p_t ‖ π)",
        "page": "sample",
        "settings": {"target": "double-well", "barrier": 3.0, "sampler": "langevin", "init": "left", "eps": 0.005,
                     "steps": 4000, "fp": True},
        # (setting, its values, its label): the lesson's chart of KL(p_t || pi) for each value
        "contrast": ("barrier", (1.0, 3.0), "barrier a ="),
        "watch": ("Every particle starts in the left well of the double well U = a(x₁² − 1)² + x₂²/2 (initial "
                  "particles: left), and so does p_t beside them. To reach π, half of the mass must cross the "
                  "barrier at x₁ = 0; the particles' share right of it follows p_t's, frame by frame, within "
                  "their sampling noise. The last chart plots KL(p_t ‖ π) for a = 1 and a = 3 on a log axis: past "
                  "the start, each is a straight line, KL ∝ e^(−rt), with r ≈ 1.45 for a = 1 and 0.48 for a = 3: "
                  "three times slower (a = 1 then flattens at 4·10⁻⁷, the distance from π of the grid's own "
                  "stationary law). r is twice the slowest rate λ at which p_t relaxes (2λ = 1.50 and 0.48, "
                  "from the grid's spectrum). Kramers' formula gives 2λ ≈ (2√32 a/2π)·e^(−a) = 1.32 and 0.54: "
                  "within 12% at a = 3, exact only as a grows, and its e^(−a) is why a higher barrier slows the "
                  "clock exponentially."),
    },
    "annealing-law": {
        "title": "Annealing in law space: p_t through the noise levels",
        "page": "sample",
        "settings": {"target": "eight-gaussians", "sampler": "annealed", "fp": True},
        "watch": ("Annealed Langevin's particles beside p_t, the law its dynamics give in continuous time, level by "
                  "level (each σ's field for its share of time, T_i steps of ε_i). At the first levels σ is as wide "
                  "as the data and p_t spreads towards the noised law p_σ: KL(p_t ‖ π) first rises, to about 43, "
                  "which no fixed field could make it do. Then each lower σ pulls p_t in, and KL falls level by "
                  "level to about 2·10⁻⁴ (both curves are drawn against the step, so each level gets its share of "
                  "steps). The particles keep to p_t all the way: their histogram stays within 1.5× its sampling "
                  "noise (the right-hand curve; the last frame, the denoising step, is left out)."),
    },
}


def names() -> list[str]:
    return list(PRESETS)


def get(name: str) -> dict:
    if name not in PRESETS:
        raise ValueError(f"unknown preset '{name}'; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


def scene(name: str) -> dict:
    """Every setting of the preset's page and of the target: defaults, then the preset."""
    p = get(name)
    base = _base(p["page"])
    unknown = set(p["settings"]) - set(base)
    if unknown:
        raise ValueError(f"preset '{name}' sets unknown settings: {sorted(unknown)}")
    return {**base, **p["settings"]}


def _base(page: str) -> dict:
    return {**S.defaults("target"), **S.defaults(page)}


def query(name: str, full: bool = False) -> dict:
    """URL query parameters of the preset: what differs from the defaults, or with
    ``full`` every setting of its page and target (a link that also resets what an
    earlier scene changed). Lists become repeated parameters (``?cmp=a&cmp=b``)."""
    p = get(name)
    values = scene(name)
    base = _base(p["page"])
    out = {}
    for k, v in values.items():
        if not full and k != "target" and v == base[k]:
            continue
        out[k] = S.url_value(v)
    return out

