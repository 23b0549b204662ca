"""The headless CLI: JSON on stdout, and each bad input exits 2 with one line."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from explorer.samplers import LEVELS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, **kw):
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True, text=True,
                          cwd=kw.get("cwd", ROOT), env=env, timeout=300)


def test_densities_lists_every_density():
    r = run("densities")
    assert r.returncode == 0
    items = json.loads(r.stdout)
    names = {d["name"] for d in items}
    assert {"eight-gaussians", "mixture-1to4", "grid-25", "ring", "two-rings", "double-well", "banana", "gmm",
            "moons", "circles", "swiss-roll"} <= names
    for d in items:
        assert d["kind"] in ("analytic", "mixture", "samples") and len(d["box"]) == 4


def test_sample_prints_the_judged_run_and_writes_npz(tmp_path):
    out = tmp_path / "run.npz"
    r = run("sample", "--density", "eight-gaussians", "--sampler", "annealed", "--out", str(out))
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    for key in ("density", "sampler", "score", "particles", "steps", "seconds", "energy_distance",
                "energy_distance_floor", "mode_weights", "true_mode_weights"):
        assert key in res
    z = np.load(out)
    assert z["trajectory"].dtype == np.float32 and z["trajectory"].shape[1:] == (1000, 2)
    assert np.array_equal(z["samples"], z["trajectory"][-1])
    assert z["reference"].shape[0] >= 2000


def test_mala_reports_acceptance_and_csv_data_fits_a_kde(tmp_path):
    r = run("sample", "--density", "ring", "--sampler", "mala", "--particles", "200", "--steps", "200")
    assert r.returncode == 0 and 0 < json.loads(r.stdout)["acceptance"] <= 1
    csv = tmp_path / "d.csv"
    np.savetxt(csv, np.random.default_rng(0).normal(size=(100, 2)), delimiter=",", header="x,y", comments="")
    r = run("sample", "--data", str(csv), "--sampler", "langevin", "--particles", "100", "--steps", "50")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["score"] == "kde"


BAD = {
    "empty.csv": "",
    "text.csv": "x,y\nfoo,bar\nbaz,qux\n",
    "mostly_text.csv": "x,y\n1,2\nnan,3\nfoo,5\n",
    "binary.csv": "\x00\x01PK",
    "one_row.csv": "x,y\n1,2\n",
    "three_cols.csv": "1,2,3\n4,5,6\n",
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_csv_exits_2_with_one_line(tmp_path, name):
    f = tmp_path / name
    f.write_text(BAD[name])
    r = run("sample", "--data", str(f), "--sampler", "langevin")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in r.stderr
    assert "expected" in lines[0] or "at least 2" in lines[0]
    assert r.stdout == ""


@pytest.mark.parametrize("args,says", [
    (["--density", "nope", "--sampler", "langevin"], "choose one of"),
    (["--density", "ring", "--sampler", "warp"], "invalid choice"),
    (["--density", "ring", "--sampler", "langevin", "--particles", "-5"], "from 1 to"),
    (["--density", "ring", "--sampler", "langevin", "--particles", "1e12"], "whole number"),
    (["--density", "ring", "--sampler", "langevin", "--steps", "0"], "from 1 to"),
    (["--density", "ring", "--sampler", "langevin", "--step-size", "-0.1"], "positive number"),
    (["--density", "ring", "--sampler", "langevin", "--step-size", "nan"], "positive number"),
    (["--density", "ring", "--sampler", "langevin", "--seed", "x"], "whole number"),
    (["--density", "moons", "--sampler", "langevin", "--score", "exact"], "only through samples"),
    (["--density", "ring", "--sampler", "langevin", "--params", "{\"radius\": -1}"], "radius=-1: expected a number from 0.5 to 4"),
    (["--density", "ring", "--sampler", "langevin", "--params", "[1]"], "JSON object"),
    (["--density", "ring", "--sampler", "langevin", "--params", "{\"bogus\": 1}"], "a parameter ring takes: radius, width"),
    (["--density", "ring", "--sampler", "langevin", "--particles", "20000"], "SFE_MAX_PARTICLES raises it"),
    (["--density", "ring", "--sampler", "langevin", "--particles", "10000", "--steps", "20000"], "particle-steps"),
    (["--data", "/no/such/file.csv", "--sampler", "langevin"], "cannot read"),
    (["--density", "ring", "--sampler", "langevin", "--device", "tpu"], "unknown device"),
    (["--sampler", "langevin"], "required"),
])
def test_bad_arguments_exit_2_with_one_line(args, says):
    r = run("sample", *args)
    assert r.returncode == 2, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], r.stderr


def test_a_csv_with_a_few_bad_rows_is_cleaned_and_the_cli_says_so(tmp_path):
    f = tmp_path / "gaps.csv"
    rows = "\n".join(f"{a:.4f},{b:.4f}" for a, b in np.random.default_rng(0).normal(size=(50, 2)))
    f.write_text("x,y\n" + rows + "\nnan,3\n4,\n")
    r = run("sample", "--data", str(f), "--sampler", "langevin", "--particles", "100", "--steps", "20")
    assert r.returncode == 0, r.stderr
    assert "dropped 2 of 52 rows that were not two finite numbers (data rows 51, 52)" in r.stderr


def test_limits_lists_every_limit_and_an_environment_variable_raises_one():
    r = run("limits")
    got = json.loads(r.stdout)
    assert got["particles"] == {"value": 10_000, "env": "SFE_MAX_PARTICLES"}
    import os
    import subprocess
    import sys
    env = {**os.environ, "SFE_MAX_PARTICLES": "20000"}
    r = subprocess.run([sys.executable, "-m", "explorer", "sample", "--density", "ring", "--sampler", "langevin",
                        "--particles", "20000", "--steps", "5"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["particles"] == 20000 and out["judged"] == 2000      # the metrics judge the first 2,000


def test_unwritable_out_path_exits_2():
    r = run("sample", "--density", "ring", "--sampler", "langevin", "--steps", "5", "--out", "/no/such/dir/r.npz")
    assert r.returncode == 2 and "cannot write" in r.stderr


def test_absent_cuda_is_a_clear_error_not_a_fallback():
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = run("sample", "--density", "ring", "--sampler", "langevin", "--device", "cuda")
    assert r.returncode == 2 and "not available" in r.stderr


def test_train_then_sample_with_the_model(tmp_path):
    model = tmp_path / "m.pt"
    r = run("train", "--density", "eight-gaussians", "--steps", "300", "--out", str(model))
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    for key in ("objective", "device", "steps", "seconds", "final_loss", "relative_fisher"):
        assert key in res
    assert res["objective"] == "ncsn" and res["steps"] == 300 and len(res["relative_fisher"]) == LEVELS
    r = run("sample", "--density", "eight-gaussians", "--sampler", "annealed", "--score", "model",
            "--model", str(model), "--particles", "200", "--steps", "20")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["score"] == "model"


def test_model_files_that_are_not_models_exit_2(tmp_path):
    import pickle
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model at all")
    r = run("sample", "--density", "eight-gaussians", "--sampler", "annealed", "--model", str(bad))
    assert r.returncode == 2 and "model" in r.stderr and len(r.stderr.strip().splitlines()) == 1

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))
    crafted = tmp_path / "evil.pt"
    crafted.write_bytes(pickle.dumps(Evil()))
    r = run("sample", "--density", "eight-gaussians", "--sampler", "annealed", "--model", str(crafted))
    assert r.returncode == 2 and not (tmp_path / "pwned").exists()
    r = run("sample", "--density", "eight-gaussians", "--sampler", "mala", "--model", str(crafted))
    assert r.returncode == 2


@pytest.mark.parametrize("args,says", [
    (["--density", "ring", "--objective", "magic", "--out", "m.pt"], "invalid choice"),
    (["--density", "ring", "--width", "100000", "--out", "m.pt"], "from 16 to"),
    (["--density", "ring", "--depth", "0", "--out", "m.pt"], "from 1 to"),
    (["--density", "ring", "--lr", "-1", "--out", "m.pt"], "positive number"),
    (["--density", "ring", "--out", "/no/such/dir/m.pt"], "cannot write"),
    (["--density", "ring"], "required"),
])
def test_train_bad_arguments_exit_2(args, says):
    r = run("train", *args)
    assert r.returncode == 2 and says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
