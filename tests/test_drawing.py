"""Drawn data sets (explorer/drawing.py): strokes to points, the canvas's coordinates,
the link code, what a drawing must be, and the drawn target through the scene pipeline."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer import drawing as DR
from explorer import scene as SC
from explorer.kde import KDE

QUANTUM = (DR.BOX[1] - DR.BOX[0]) / (DR.LEVELS - 1)


def test_a_stroke_becomes_points_evenly_spaced_along_it():
    line = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])         # arc length 2
    pts = DR.resample(line, 0.1)
    assert len(pts) == 21
    assert np.allclose(np.linalg.norm(np.diff(pts, axis=0), axis=1), 0.1, atol=1e-9)
    assert np.allclose(pts[-1], [1.0, 1.0])
    got = DR.points([line], [(2.0, 3.0)], spacing=0.1, jitter=0.05, seed=0)
    assert np.array_equal(got[-1], [2.0, 3.0])                     # a click is not moved
    assert 0.03 < np.std(got[:-1] - pts) < 0.07                    # the stroke's points are, by N(0, 0.05²)


def test_a_strokes_points_stay_put_while_others_are_drawn():
    a, b = np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 1.0]])
    one = DR.points([a], jitter=0.1, seed=3)
    two = DR.points([a, b], jitter=0.1, seed=3)
    assert np.array_equal(two[: len(one)], one)


def test_canvas_pixels_map_onto_the_plots_coordinates():
    size = 480
    assert np.allclose(DR.to_data(np.array([[0, 0], [480, 480], [240, 240]]), size), [[-4, 4], [4, -4], [0, 0]])
    xy = np.random.default_rng(0).uniform(-4, 4, (50, 2))
    assert np.allclose(DR.to_data(DR.to_canvas(xy, size), size), xy)


def test_the_canvas_json_gives_strokes_and_clicks_where_they_were_drawn():
    """Objects as streamlit-drawable-canvas 0.13 (Fabric 7.4) sends them: a freehand path
    in canvas pixels, and a point-tool dot placed by originX 'left' on its box (stroke
    included): a click at (100, 200) is left 95.5 with radius 3 and stroke 3."""
    drawing = {"objects": [
        {"type": "Path", "path": [["M", 240, 240], ["Q", 240, 240, 300, 240], ["L", 360, 240]]},
        {"type": "Circle", "originX": "left", "originY": "center", "left": 95.5, "top": 200, "radius": 3,
         "strokeWidth": 3, "scaleX": 1, "scaleY": 1},
    ]}
    strokes, clicks = DR.from_canvas(drawing, 480)
    assert np.allclose(strokes[0][0], [0, 0]) and np.allclose(strokes[0][-1], [2, 0])
    assert np.allclose(clicks[0], DR.to_data(np.array([[100, 200]]), 480)[0])
    # the dots a shared link or a shape puts on the canvas come back exactly
    xy = DR.shape("spiral")
    s, c = DR.from_canvas(DR.canvas_drawing(xy, 480), 480)
    assert not s and np.allclose(np.array(c), xy)


def test_the_link_code_is_short_and_exact_to_a_quantum():
    for name in DR.SHAPES:
        xy = DR.shape(name)
        code = DR.encode(xy)
        assert np.abs(DR.decode(code) - xy).max() <= QUANTUM / 2 + 1e-12
        assert DR.encode(DR.decode(code)) == code                     # the same link, every time
        assert all(ch.isalnum() or ch in "-_" for ch in code)         # URL-safe as is
    xy = np.random.default_rng(1).uniform(-4, 4, (400, 2))          # a few hundred points (no pattern to compress)
    assert len(DR.encode(xy)) < 2000                                  # browsers accept ~32,000 in a link


@pytest.mark.parametrize("code", ["", "!!!", "abc", "eJwDAAAAAAE", "x" * (DR.MAX_CODE + 1)])
def test_a_bad_code_says_what_is_accepted(code):
    with pytest.raises(DR.DrawingError, match="drawing"):
        DR.check(DR.decode(code))


def test_what_has_no_density_is_refused_with_what_is_accepted():
    for bad, why in ((np.zeros((0, 2)), "empty"), (np.array([[1.0, 1.0]] * 5), "1 distinct"),
                     (np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]), "one line")):
        with pytest.raises(DR.DrawingError, match=why):
            DR.check(bad)
    xy, notes = DR.check(np.random.default_rng(0).uniform(-3, 3, (2500, 2)))
    assert len(xy) == 834 and "thinned" in notes[0]
    xy, notes = DR.check(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]))
    assert len(xy) == 3 and "outside" in notes[0]


def test_the_drawn_target_is_a_data_set_through_every_kernel_and_bandwidth_rule():
    code = DR.encode(DR.shape("letter S"))
    spec = SC.target_spec({"target": "drawn", "drawing": code})
    d = SC.build_density(spec)
    assert d.kind == "samples" and d.box == DR.BOX and spec.is_data
    assert np.allclose(d.fixed.numpy(), DR.decode(code))
    x = d.fixed[::10]                    # on the drawing: inside every kernel's support
    for kernel in ("gaussian", "epanechnikov", "uniform"):
        for bw in ("scott", "silverman", 0.2):
            kde = KDE(d.fixed, kernel=kernel, bandwidth=bw)
            assert torch.isfinite(kde.log_prob(x)).all()
    s = SC.build_kde(SC.target_spec({"target": "drawn", "drawing": code}), d).score(x)
    assert torch.isfinite(s).all()


def test_a_sampler_and_the_exports_run_on_a_drawing(tmp_path):
    from explorer import export as E
    values = {"target": "drawn", "drawing": DR.encode(DR.shape("smiley")), "score": "kde", "sampler": "langevin",
              "particles": 200, "frames": 50}
    scene = SC.compute(SC.scene_spec(values, "sample"))
    assert np.isfinite(scene.traj.samples).all()
    for fmt in ("html", "npz", "csv"):
        E.export(scene, fmt, tmp_path / f"drawn.{fmt}")
        assert (tmp_path / f"drawn.{fmt}").stat().st_size > 0
