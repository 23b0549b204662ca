"""Saving and loading trained score models: plain tensors plus JSON, nothing else.

A model file is ``torch.save`` of one dict holding only strings, an int and tensors:

    {"format": "score-field-explorer/learned-score", "version": 1,
     "config": "<JSON text>", "state": {name: tensor, ...}}

The JSON holds the network kind and architecture, the trained noise levels / CLD
process, the target's scale, sigma_max and box, the training configuration and what the
data were (a registry density's name and parameters, or the sha256 of a fixed data set).
Files are read with ``torch.load(..., weights_only=True)``: a pickle that asks for any
other Python object is refused before it can run. Anything that is not such a model --
another file, a truncated or corrupt file, a crafted pickle, a newer format version, a
config that does not match the weights -- is a ``ValueError`` with a message that says so.
"""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import warnings

import torch

from .models import LearnedScore, build_network

FORMAT = "score-field-explorer/learned-score"
VERSION = 1
_WHAT = "a Score Field Explorer model file (saved by explorer.modelio.save_model)"


def _to_model(obj) -> LearnedScore:
    if isinstance(obj, LearnedScore):
        return obj
    model = getattr(obj, "model", None)         # a Trainer
    if isinstance(model, LearnedScore):
        return model
    raise ValueError("save_model needs a LearnedScore or a Trainer")


def model_config(model: LearnedScore) -> dict:
    """The JSON-able description stored beside the weights."""
    return {"kind": model.net_kind, "network": dict(model.net.config), "scale": model.scale,
            "sigma_max": model.sigma_max, "box": list(model.box), "sigmas": model.sigmas, "sigma": model.sigma,
            "mixing_steps": model.mixing_steps, "name": model.name, "meta": model.meta}


def to_bytes(model) -> bytes:
    """The model file's bytes (for a download button)."""
    model = _to_model(model)
    state = {k: v.detach().to("cpu").clone() for k, v in model.net.state_dict().items()}
    payload = {"format": FORMAT, "version": VERSION, "config": json.dumps(model_config(model), allow_nan=False),
               "state": state}
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def save_model(model, path) -> str:
    """Write ``model`` (a ``LearnedScore`` or a ``Trainer``: its EMA model) to ``path``."""
    data = to_bytes(model)
    tmp = f"{path}.part"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return str(path)


def _read(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        return source.read()
    try:
        with open(source, "rb") as fh:
            return fh.read()
    except OSError as e:
        raise ValueError(f"cannot read model file '{source}': {e.strerror}") from None


def from_bytes(data: bytes, device="cpu") -> LearnedScore:
    """``load_model`` of a file's bytes (an upload)."""
    from .devices import resolve
    device = resolve(device)
    if not data:
        raise ValueError(f"the file is empty; expected {_WHAT}")
    from .validate import check_bytes
    check_bytes(len(data), "the model file")          # the upload limit (explorer.validate)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")        # e.g. "pickle protocol 4" on foreign pickles
            payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "global" in str(e).lower():      # the weights-only unpickler blocked a class or function
            raise ValueError("refused: the file asks to build Python objects other than tensors (a crafted or "
                             f"foreign pickle), and only plain tensors and JSON are loaded; expected {_WHAT}") from None
        raise ValueError(f"the file is not a readable model (corrupt, truncated or not a torch file); "
                         f"expected {_WHAT}") from None
    except Exception:           # truncated zip, random bytes, a text file ...: torch raises many kinds
        raise ValueError(f"the file is not a readable model (corrupt, truncated or not a torch file); "
                         f"expected {_WHAT}") from None
    return _build(payload, device)


def load_model(source, device="cpu") -> LearnedScore:
    """Read a model saved by ``save_model`` from a path, bytes or a binary file object
    and return it as a ``LearnedScore`` on ``device``; anything else is a ValueError."""
    return from_bytes(_read(source), device)


def _build(payload, device) -> LearnedScore:
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"the file holds no Score Field Explorer model; expected {_WHAT}")
    version = payload.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"the model file has no valid format version; expected {_WHAT}")
    if version > VERSION:
        raise ValueError(f"the model file has format version {version}, newer than this explorer reads "
                         f"(version {VERSION}); update the explorer")
    if version < 1:
        raise ValueError(f"the model file has an unknown format version {version}; this explorer reads version {VERSION}")
    try:
        config = json.loads(payload.get("config"))
        kind, arch = config["kind"], dict(config["network"])
        state = payload["state"]
        if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                  for k, v in state.items()):
            raise TypeError("state")
        with torch.random.fork_rng(devices=[]):      # building draws Fourier frequencies; then overwritten
            net = build_network(kind, **arch)
        missing = net.load_state_dict(state, strict=True)
        del missing
        for t in state.values():
            if t.is_floating_point() and not torch.isfinite(t).all():
                raise ValueError("the model's weights hold NaN or inf")
        box = config["box"]
        if len(box) != 4 or not all(math.isfinite(float(b)) for b in box):
            raise TypeError("box")
        model = LearnedScore(net.to(device).requires_grad_(False).eval(), scale=config["scale"],
                             sigma_max=config["sigma_max"], box=box, sigmas=config.get("sigmas"),
                             sigma=config.get("sigma", 0.0), mixing_steps=config.get("mixing_steps", 1000),
                             name=config.get("name", "learned"), meta=config.get("meta"))
    except ValueError as e:
        if "NaN" in str(e):
            raise ValueError(f"the model file is damaged: {e}") from None
        raise ValueError(f"the model file's configuration is invalid ({e}); expected {_WHAT}") from None
    except (KeyError, TypeError, RuntimeError, json.JSONDecodeError) as e:
        raise ValueError(f"the model file's configuration does not match its weights or is incomplete "
                         f"({type(e).__name__}: {str(e)[:200]}); expected {_WHAT}") from None
    return model


def training_density(model: LearnedScore):
    """Rebuild the registry density a loaded model was trained on (None for data sets)."""
    from . import densities as D
    data = model.meta.get("training", {}).get("data", {})
    if data.get("name") in D.REGISTRY and "params" in data:
        return D.get(data["name"], **data["params"])
    return None
