"""``python -m explorer``: the engine headless. One JSON object a run on stdout, human
messages on stderr; bad input exits with status 2 and one line saying what is accepted."""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np


class UsageError(Exception):
    """Bad input: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def _rule(flag):
    """An argparse type for a flag: its rule in explorer.settings (one boundary for the
    CLI, the app's widgets and its links)."""
    from .settings import check
    from .validate import InvalidInput

    def parse(text):
        try:
            return check(flag, text)
        except InvalidInput as e:
            raise argparse.ArgumentTypeError(f"{e.why + '; ' if e.why else ''}expected {e.expected}, not {text!r}")
    parse.__name__ = flag
    return parse


def _flag(parser, flag, rule=None, **kw):
    """A flag whose rule and default are its declaration in explorer.settings (``rule``:
    another flag's, e.g. ``--train-steps`` for train's ``--steps``)."""
    from .settings import get
    kw.setdefault("default", get(rule or flag).default)
    parser.add_argument(flag, type=_rule(rule or flag), **kw)


def _sde_flags(parser):
    """The SDE's own parameters (their rules: the Sample page's declarations)."""
    for flag, key, what in (("--beta-min", "beta_min", "VP's β_min (default 0.1)"),
                            ("--beta-max", "beta_max", "VP's β_max (default 20)"),
                            ("--sigma-min", "sig_min", "VE's σ_min (default a hundredth of the narrowest scale)"),
                            ("--sigma-max", "sig_max", "VE's σ_max (default five times the data's spread)")):
        _flag(parser, flag, rule=key, default=None, help=what)


def _sde_settings(args) -> dict:
    return {"sde": args.sde or "vp", "beta_min": args.beta_min, "beta_max": args.beta_max,
            "sig_min": args.sigma_min, "sig_max": args.sigma_max}


def _json_params(text):
    try:
        v = json.loads(text)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(f"--params must be a JSON object such as '{{\"radius\": 2}}', not {text!r}")
    if not isinstance(v, dict):
        raise argparse.ArgumentTypeError("--params must be a JSON object such as '{\"radius\": 2}'")
    return v


def build_parser() -> argparse.ArgumentParser:
    from .registry import names as samplers
    from .settings import INITS
    from .training import OBJECTIVES
    SAMPLERS = samplers()
    p = _Parser(prog="python -m explorer", description="Score Field Explorer, headless.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("densities", help="list the built-in densities as JSON")

    s = sub.add_parser("sample", help="run a sampler and print its metrics as JSON")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--density", help="a built-in density name (see `densities`)")
    src.add_argument("--data", help="a CSV of x,y rows: fits a KDE to it")
    s.add_argument("--params", type=_json_params, default=None, help="density parameters as a JSON object")
    s.add_argument("--sampler", required=True, choices=list(SAMPLERS))
    s.add_argument("--score", default=None, choices=["exact", "kde", "model"],
                   help="exact (default where the density has one), kde, or model (with --model)")
    s.add_argument("--model", default=None, help="a model file from `train` (with --score model)")
    _flag(s, "--particles")
    _flag(s, "--steps", default=None,
                   help="steps (per level for annealed)")
    _flag(s, "--step-size", default=None,
                   help="eps in the step form x + eps s + sqrt(2 eps) z (time step h for kinetic samplers)")
    s.add_argument("--sde", default=None, choices=["vp", "ve"],
                   help="the score SDE of forward, reverse-sde, pc and pf-ode (default vp)")
    _flag(s, "--snr", help="pc's corrector signal-to-noise ratio r (default 0.1; 0: no corrector)")
    _sde_flags(s)
    _flag(s, "--seed")
    s.add_argument("--init", default="gaussian", choices=list(INITS))
    _flag(s, "--frames")
    s.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    s.add_argument("--out", default=None, help="write the trajectory, samples and reference to this .npz")

    t = sub.add_parser("train", help="train a score network from samples and save it")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--density", help="a built-in density name (trained on its exact draws)")
    src.add_argument("--data", help="a CSV of x,y rows to train on")
    t.add_argument("--params", type=_json_params, default=None, help="density parameters as a JSON object")
    t.add_argument("--objective", default="ncsn", choices=list(OBJECTIVES))
    _flag(t, "--steps", "--train-steps")
    _flag(t, "--width")
    _flag(t, "--depth")
    _flag(t, "--lr", help="Adam's step size (default: the objective's own, 0.005; hsm 0.01)")
    _flag(t, "--batch")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    _flag(t, "--seed")
    t.add_argument("--out", required=True, help="where to save the model (.pt)")

    lk = sub.add_parser("likelihood", help="log-likelihood of points through the probability-flow ODE, as JSON")
    src = lk.add_mutually_exclusive_group(required=True)
    src.add_argument("--density", help="a built-in density name (see `densities`)")
    src.add_argument("--data", help="a CSV of x,y rows: its KDE is the density")
    lk.add_argument("--params", type=_json_params, default=None, help="density parameters as a JSON object")
    lk.add_argument("--points", required=True, help="a CSV of x,y rows: the points to score")
    lk.add_argument("--sde", default="vp", choices=["vp", "ve"])
    _sde_flags(lk)
    lk.add_argument("--score", default=None, choices=["exact", "kde", "model"])
    lk.add_argument("--model", default=None, help="a model file from `train` (with --score model)")
    _flag(lk, "--steps", default=200, help="Heun steps from t = 0.001 to 1")
    _flag(lk, "--seed")
    lk.add_argument("--out", default=None, help="write the per-point values to this .npz")

    fp = sub.add_parser("fokker-planck", help="the Fokker-Planck density of a sampler's particles on a grid, as JSON")
    src = fp.add_mutually_exclusive_group(required=True)
    src.add_argument("--density", help="a built-in density name (see `densities`)")
    src.add_argument("--data", help="a CSV of x,y rows: its KDE is the target")
    fp.add_argument("--params", type=_json_params, default=None, help="density parameters as a JSON object")
    fp.add_argument("--sampler", default="langevin",
                    help="langevin, annealed or reverse-sde (VP; MALA and the kinetic samplers have no "
                         "Fokker-Planck form in x)")
    fp.add_argument("--score", default=None, choices=["exact", "kde", "model"])
    fp.add_argument("--model", default=None, help="a model file from `train` (with --score model)")
    fp.add_argument("--init", default="gaussian", choices=list(INITS))
    _flag(fp, "--grid", rule="--fp-grid", help="cells per side (default 201)")
    _flag(fp, "--frames")
    _flag(fp, "--steps", default=None, help="the sampler's steps (per level for annealed): the horizon is steps x ε")
    _flag(fp, "--step-size", help="ε of the step x + ε s(x) + √(2ε) z (annealed: at the smallest σ)")
    _flag(fp, "--seed")
    fp.add_argument("--out", required=True, help="where to write the frames (.npz)")

    sub.add_parser("limits", help="the limits on one request in force (SFE_MAX_* environment variables) as JSON")
    sub.add_parser("presets", help="list the lesson presets (name, title, page, settings) as JSON")

    e = sub.add_parser("export", help="export a Sample- or Compare-page animation to html, gif, mp4, npz or csv",
                       description="Export what the app shows for a preset (or a density + sampler) as a "
                                   "self-contained HTML animation, GIF, MP4, NPZ or CSV. Presets of the Compare "
                                   "page export ALL their samplers side by side, from the same particles and seed: "
                                   "HTML the Compare page's figure, GIF/MP4 one panel per sampler on one timeline, "
                                   "NPZ every run (<sampler>_positions, ...), CSV every run with a sampler column. "
                                   "Presets of the Density and Train pages export the Sample page's default "
                                   "sampler on their target.")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", help="a lesson preset name (see `presets`)")
    src.add_argument("--density", help="a built-in density name (see `densities`), with --sampler")
    src.add_argument("--all-presets", action="store_true", help="every preset into --out-dir")
    e.add_argument("--sampler", default=None, choices=list(SAMPLERS))
    e.add_argument("--score", default=None, choices=["exact", "kde"])
    e.add_argument("--format", required=True, choices=["html", "gif", "mp4", "npz", "csv"])
    e.add_argument("--out", default=None, help="the file to write")
    e.add_argument("--out-dir", default=None, help="with --all-presets: the folder to write <preset>.<format> into")
    _flag(e, "--seed", default=None)
    _flag(e, "--particles", default=None)
    _flag(e, "--frames", default=None)

    sv = sub.add_parser("serve", help="many app processes behind Debian's nginx (sticky sessions, websocket, failover)",
                        description="Start N `streamlit run app.py` workers on 127.0.0.1 ports PORT+1..PORT+N and an "
                                    "unprivileged nginx on HOST:PORT in front; Ctrl-C stops them all "
                                    "(docs/serving.md, 'Many workers behind nginx').")
    sv.add_argument("--workers", type=_whole(1, 256, "a whole number of workers"), default=max(1, os.cpu_count() or 1),
                    help="worker processes (default one per core)")
    sv.add_argument("--port", type=_whole(1, 65535, "a port"), default=8501, help="nginx's port (default 8501)")
    sv.add_argument("--host", default="127.0.0.1", help="nginx's address (default 127.0.0.1; 0.0.0.0 for a class)")

    b = sub.add_parser("bench", help="particle-steps per second for every sampler")
    b.add_argument("--particles", type=_rule("--particles"), nargs="+", default=[1000, 10000])
    _flag(b, "--steps", default=1000)
    b.add_argument("--device", default="all", help="cpu, cuda, or all present")
    return p


def _whole(lo, hi, what):
    """An argparse type: a whole number from lo to hi, else a message naming ``what``."""
    def parse(text):
        try:
            n = int(text)
        except ValueError:
            n = lo - 1
        if not lo <= n <= hi:
            raise argparse.ArgumentTypeError(f"expected {what} from {lo} to {hi}, not {text!r}")
        return n
    return parse


def cmd_serve(args):
    from .serving import serve
    try:
        serve(args.workers, args.port, args.host)
    except RuntimeError as e:
        raise UsageError(str(e)) from None


def cmd_densities(_args):
    from . import densities as D
    out = []
    for name in D.names():
        d = D.get(name)
        entry = d.describe()
        if d.kind == "analytic":
            entry["surrogate_error"] = round(D.surrogate_error(d), 4)
        out.append(entry)
    return out


def _load_target(args):
    from . import densities as D
    from .data import read_xy_file
    from .kde import KDE
    from .settings import check_params
    if args.data is not None:
        got = read_xy_file(args.data)
        for note in got.notes:                  # what cleaning did to the file (explorer/data.py)
            print(f"note: {args.data}: {note}", file=sys.stderr)
        return D.from_array(got.points, name="data"), KDE(got.points, name="kde(data)")
    if args.density not in D.REGISTRY:
        raise UsageError(f"unknown density '{args.density}'; choose one of: {', '.join(D.REGISTRY)}")
    density = D.get(args.density, **check_params(args.density, args.params))
    return density, None


def _score_model(args, density, model, device):
    """(score source, the model a run follows) from --score and --model: the density's own
    score, a KDE (``model`` where --data already fitted one), or a trained network."""
    from .simulate import score_source
    score = args.score or ("model" if args.model else "exact" if density.has_score else "kde")
    if score == "model":
        if not args.model:
            raise UsageError("--score model needs --model FILE (a file written by `python -m explorer train`)")
        from .modelio import load_model
        return score, load_model(args.model, device=device)
    if args.model:
        raise UsageError("--model is used only with --score model")
    if model is None or score == "exact":
        model = score_source(density, score, seed=args.seed)
    return score, model


def cmd_sample(args):
    from .devices import resolve
    _check_writable(args.out)
    from .simulate import evaluate, known_bias, simulate, timed
    density, model = _load_target(args)
    score, model = _score_model(args, density, model, resolve(args.device))
    from .registry import check_model, get
    check_model(args.sampler, model)
    device = resolve(args.device)
    entry = get(args.sampler)
    opts = {}
    if "sde" in entry.settings:
        if args.snr is not None and "snr" not in entry.settings:
            raise UsageError(f"--snr is pc's corrector setting; {args.sampler} has no corrector")
        opts.update(entry.options(model, {**_sde_settings(args), "snr": args.snr}))
    elif any(v is not None for v in (args.sde, args.snr, args.beta_min, args.beta_max, args.sigma_min,
                                     args.sigma_max)):
        raise UsageError(f"--sde, --snr, --beta-min/max and --sigma-min/max belong to the score-SDE samplers "
                         f"(forward, reverse-sde, pc, pf-ode), not {args.sampler}")
    if args.steps is not None:
        opts[entry.steps_option] = args.steps
    if args.step_size is not None:
        opts["step_size"] = args.step_size
    traj, seconds = timed(simulate, model, args.sampler, particles=args.particles, seed=args.seed,
                          init=args.init, device=device, frames=args.frames, box=density.box, **opts)
    ev = evaluate(traj, density, seed=args.seed)
    steps = int(traj.steps[-1])
    result = {"density": density.name, "sampler": args.sampler, "score": score, "particles": args.particles,
              "steps": steps, "seconds": round(seconds, 4), "device": device, "seed": args.seed,
              "frames": traj.n_frames, "params": _jsonable(traj.params)}
    for key in ("judged", "energy_distance", "energy_distance_floor", "mode_weights", "true_mode_weights",
                "modes_hit", "good_share", "spread"):
        if key in ev:
            result[key] = ev[key]
    if entry.ends == "noise":
        result["judged_against"] = "p_1, the exact law of the data noised to the run's last t"
    if traj.acceptance is not None:
        result["acceptance"] = traj.acceptance
    if traj.diverged_at is not None:
        result.update(diverged_at=traj.diverged_at, message=traj.message)
        print(traj.message, file=sys.stderr)
    bias = known_bias(args.sampler, model)
    if bias:
        result["known_bias"] = bias
        print(bias, file=sys.stderr)
    if args.out:
        _write_npz(args.out, trajectory=traj.positions.astype(np.float32), samples=traj.samples.astype(np.float32),
                   reference=ev["reference"].astype(np.float32), steps=traj.steps, levels=traj.levels,
                   **({"velocities": traj.velocities} if traj.velocities is not None else {}))
        result["out"] = args.out
    return result


def _check_writable(path):
    """Fail before the work, not after it: an --out that cannot be written is bad input."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK) or os.path.isdir(path):
        raise UsageError(f"cannot write '{path}': its folder does not exist or is not writable")


def cmd_train(args):
    from .modelio import save_model
    from .training import Trainer
    _check_writable(args.out)
    density, _ = _load_target(args)
    trainer = Trainer(density, objective=args.objective, width=args.width, depth=args.depth, lr=args.lr,
                      batch=args.batch, steps=args.steps, seed=args.seed, device=args.device)
    every = max(1, args.steps // 20)
    report = {}
    for report in trainer.run(every=every, fisher=False):
        bar = "#" * int(30 * report["step"] / args.steps)
        print(f"\rtraining [{bar:<30}] step {report['step']}/{args.steps} loss {report['loss_avg']:.4g}",
              end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    fisher = trainer.fisher()
    try:
        save_model(trainer, args.out)
    except OSError as e:
        raise UsageError(f"cannot write '{args.out}': {e.strerror}") from None
    result = {"objective": args.objective, "density": density.name, "device": trainer.device, "steps": trainer.step,
              "seconds": round(trainer.elapsed, 3), "final_loss": report.get("loss_avg"), "out": args.out}
    if fisher is not None:
        key = "t" if args.objective == "hsm" else "sigma"
        result["relative_fisher"] = [{key: float(k), "value": float(v)} for k, v in fisher.items()]
        result["relative_fisher_max"] = max(fisher.values())
    return result


def _write_npz(path, **arrays):
    try:
        with open(path, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    except OSError as e:
        raise UsageError(f"cannot write '{path}': {e.strerror}") from None


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items() if k not in ("v",)}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    return str(v)


def cmd_likelihood(args):
    """log p_0 of each point through the probability-flow ODE beside the exact log-density."""
    import torch

    from .data import read_xy_file
    from .devices import resolve
    from .registry import sde_of
    from .sdes import likelihoods
    _check_writable(args.out)
    density, model = _load_target(args)
    score, model = _score_model(args, density, model, resolve("cpu"))
    got_pts = read_xy_file(args.points)
    for note in got_pts.notes:
        print(f"note: {args.points}: {note}", file=sys.stderr)
    x = torch.as_tensor(got_pts.points, dtype=torch.float64)
    sde = sde_of(model, _sde_settings(args))
    got = likelihoods(model, density, x, sde=sde, steps=args.steps)
    result = {"density": density.name, "score": score, "sde": sde.config(), "points": len(x), "steps": args.steps,
              "terminal": got["terminal"], "mean_log_prob_ode": got["mean_log_prob_ode"]}
    if got["exact"] is not None:
        result["mean_log_prob_exact"] = got["mean_log_prob_exact"]
        result["mean_abs_gap"] = got["mean_abs_gap"]
    result["seconds"] = round(got["seconds"], 4)
    if args.out:
        cols = {"log_prob_ode": got["ode"], **({"log_prob_exact": got["exact"]} if got["exact"] is not None else {})}
        _write_npz(args.out, points=got_pts.points, **cols)
        result["out"] = args.out
    return result


def cmd_fokker_planck(args):
    """The Fokker-Planck density of the sampler's particles beside pi (explorer/fokker_planck.py)."""
    import time

    from . import fokker_planck as FP
    from .devices import resolve
    from .registry import check_model, get
    if args.sampler not in FP.SAMPLERS:
        raise UsageError(f"--sampler must be one of {', '.join(FP.SAMPLERS)}, not {args.sampler!r}: MALA's "
                         "Metropolis test and the kinetic samplers' (x, v) dynamics are not a diffusion in x alone")
    _check_writable(args.out)
    density, model = _load_target(args)
    score, model = _score_model(args, density, model, resolve("cpu"))
    check_model(args.sampler, model)
    opts = {}
    if args.steps is not None:
        opts[get(args.sampler).steps_option] = args.steps
    if args.step_size is not None:
        opts["step_size"] = args.step_size
    t0 = time.perf_counter()
    sol = FP.run(model, args.sampler, box=density.box, init=args.init, n=args.grid, frames=args.frames, options=opts)
    seconds = time.perf_counter() - t0
    g = sol.grid
    log_pi = FP.log_target(model, g)
    result = {"density": density.name, "sampler": args.sampler, "score": score,
              "init": "prior" if args.sampler == "reverse-sde" else args.init, "grid": g.n, "frames": len(sol.times),
              "horizon": float(abs(sol.times[-1] - sol.times[0])), "steps": int(sol.steps[-1]),
              "seconds": round(seconds, 4), "mass_error": sol.mass_error}
    if log_pi is not None:
        result["final_tv"] = float(0.5 * np.abs(sol.density[-1] - np.exp(log_pi)).sum() * g.dx * g.dy)
        result["final_kl"] = float(sol.kl[-1])
    _write_npz(args.out, x=g.x, y=g.y, times=sol.times, steps=sol.steps, density=sol.density.astype(np.float32),
               **({"kl": sol.kl} if sol.kl is not None else {}))
    result["out"] = args.out
    return result


def cmd_bench(args):
    from .bench import run_bench
    return run_bench(args.particles, args.steps, args.device)


def cmd_limits(_args):
    from .validate import describe
    return describe()


def cmd_presets(_args):
    from . import presets as P
    return [{"name": k, "title": v["title"], "page": v["page"], "settings": v["settings"]}
            for k, v in P.PRESETS.items()]


def _bar(label):
    def progress(i, n):
        if i not in (1, n) and int(30 * i / n) == int(30 * (i - 1) / n):
            return
        bar = "#" * int(30 * i / max(n, 1))
        print(f"\r{label} [{bar:<30}] {i}/{n}", end="" if i < n else "\n", file=sys.stderr, flush=True)
    return progress


def cmd_export(args):
    from . import export as E
    from . import presets as P
    from . import scene as S
    if args.all_presets:
        if not args.out_dir:
            raise UsageError("--all-presets needs --out-dir DIR")
        if not os.path.isdir(args.out_dir) or not os.access(args.out_dir, os.W_OK):
            raise UsageError(f"cannot write into '{args.out_dir}': not a writable folder")
        jobs = [(name, os.path.join(args.out_dir, f"{name}.{args.format}")) for name in P.names()]
    else:
        if not args.out:
            raise UsageError("--out FILE is needed (or --all-presets --out-dir DIR)")
        if args.preset is not None and args.preset not in P.PRESETS:
            raise UsageError(f"unknown preset '{args.preset}'; choose one of: {', '.join(P.names())}")
        if args.density is not None and not args.sampler:
            raise UsageError("--density needs --sampler")
        _check_writable(args.out)
        jobs = [(args.preset, args.out)]
    results = []
    for name, out in jobs:
        label = name or f"{args.density}/{args.sampler}"
        print(f"simulating {label} ...", file=sys.stderr, flush=True)
        spec = S.preset_spec(name, density=args.density if name is None else None,
                             sampler=args.sampler if name is None else None, score=args.score if name is None else None,
                             seed=args.seed, particles=args.particles, frames=args.frames)
        scene = S.compute(spec, name=name)
        try:
            results.append(E.export(scene, args.format, out, progress=_bar(f"{args.format} {label}")))
        except OSError as e:
            raise UsageError(f"cannot write '{out}': {e.strerror or e}") from None
    if args.all_presets:
        return {"format": args.format, "out_dir": args.out_dir, "files": results,
                "bytes": sum(r["bytes"] for r in results), "seconds": round(sum(r["seconds"] for r in results), 3)}
    return results[0]


COMMANDS = {"fokker-planck": cmd_fokker_planck, "likelihood": cmd_likelihood, "limits": cmd_limits, "presets": cmd_presets, "export": cmd_export, "densities": cmd_densities, "sample": cmd_sample, "train": cmd_train, "bench": cmd_bench, "serve": cmd_serve}


def main(argv=None) -> int:
    from .data import DataError
    try:
        args = build_parser().parse_args(argv)
        result = COMMANDS[args.command](args)
    except (UsageError, DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if result is not None:
        try:
            print(json.dumps(result), flush=True)
        except BrokenPipeError:         # `| head` closed stdout: not an error of ours
            sys.stdout = open(os.devnull, "w")
    return 0
