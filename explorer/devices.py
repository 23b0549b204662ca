"""Device choice: 'auto' takes CUDA, then Apple MPS, then the CPU; an explicit device
that is not present is an error, never a silent fall-back."""
from __future__ import annotations

import torch

DEVICES = ("auto", "cpu", "cuda", "mps")


def _mps() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def available() -> list[str]:
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) + (["mps"] if _mps() else [])


def resolve(device: str = "auto") -> str:
    if device not in DEVICES:
        raise ValueError(f"unknown device '{device}'; choose one of: {', '.join(DEVICES)}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if _mps() else "cpu"
    if device not in available():
        raise ValueError(f"device '{device}' is not available on this machine; available: {', '.join(available())}")
    return device
