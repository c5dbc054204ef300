"""Atomic, resumable training checkpoints.

A checkpoint holds whatever the trainer passes (model, optimiser, scheduler: anything with a
``state_dict()`` is stored as its state dict; epoch, step and other plain values as they are)
plus every RNG state (python ``random``, numpy, torch CPU and CUDA). Layer noise generators
travel inside the model's state dict (``_extra_state``). Files are written with
:func:`lemsim.io.atomic_path`, so a process killed mid-save leaves the previous checkpoint
intact. Keep them outside Snakemake's declared outputs, e.g. ``checkpoints/<exp>/last.pt``.

Typical loop::

    ck = load_checkpoint(path)
    start = restore_checkpoint(ck, model=m, optimizer=opt)["epoch"] + 1 if ck else 0
    for epoch in range(start, n):
        ...
        save_checkpoint(path, model=m, optimizer=opt, epoch=epoch)
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lemsim.io import atomic_path

_STATEFUL = ("model", "optimizer", "scheduler")


def rng_state() -> dict[str, Any]:
    """Every global RNG state (python, numpy, torch CPU, torch CUDA when present)."""
    st: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),  # noqa: NPY002 - global state is what we save
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict[str, Any]) -> None:
    """Restore :func:`rng_state` output."""
    random.setstate(st["python"])
    np.random.set_state(st["numpy"])  # noqa: NPY002
    torch.set_rng_state(st["torch"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def save_checkpoint(path: str | os.PathLike[str], **state: Any) -> Path:
    """Write a checkpoint atomically.

    Args:
        path: Target file (its folder is created).
        **state: Objects with ``state_dict()`` (stored as their state dicts) and plain values.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {}
    for key, val in state.items():
        payload[key] = val.state_dict() if hasattr(val, "state_dict") else val
    payload["rng"] = rng_state()
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> dict | None:
    """The checkpoint stored at ``path`` as a dict, or None when there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    return torch.load(path, map_location=map_location, weights_only=False)


def restore_checkpoint(ckpt: dict[str, Any], rng: bool = True, **objects: Any) -> dict[str, Any]:
    """Load the state dicts of ``ckpt`` into ``objects`` (e.g. ``model=m, optimizer=opt``).

    Args:
        ckpt: Output of :func:`load_checkpoint`.
        rng: Also restore the global RNG states.
        **objects: Targets with ``load_state_dict``, matched to ``ckpt`` by keyword.

    Returns:
        ``ckpt`` (for reading the plain values such as ``epoch``).

    Raises:
        KeyError: an object was given whose key is missing from the checkpoint.
    """
    for key, obj in objects.items():
        if key not in ckpt:
            raise KeyError(f"checkpoint has no entry {key!r}; it has {sorted(ckpt)}")
        obj.load_state_dict(ckpt[key])
    if rng and "rng" in ckpt:
        set_rng_state(ckpt["rng"])
    return ckpt


def save_model(path: str | os.PathLike[str], model: torch.nn.Module, arch: str,
               kwargs: dict[str, Any], **meta: Any) -> Path:
    """Save a trained model with what rebuilds it (registry name and constructor arguments).

    Args:
        path: Target ``model.pt``.
        model: The module (its state dict is stored, device states and noise seeds included).
        arch: Registry name (``networks.archs.build_model``).
        kwargs: Constructor arguments; a ``hw`` :class:`HardwareConfig` is stored as a dict.
        **meta: Extra plain values (class names, dataset, ...).
    """
    kw = dict(kwargs)
    if kw.get("hw") is not None and hasattr(kw["hw"], "to_dict"):
        kw["hw"] = kw["hw"].to_dict()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"arch": arch, "kwargs": kw, "state_dict": model.state_dict(), "meta": meta},
                   tmp)
    return path


def load_model(path: str | os.PathLike[str], map_location: Any = "cpu"
               ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a model saved by :func:`save_model`; returns ``(model, meta)``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a :func:`save_model` file.
    """
    from networks.archs import build_model
    from networks.layers import HardwareConfig

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint = {str(path)!r}: no such file")
    blob = torch.load(path, map_location=map_location, weights_only=False)
    if not isinstance(blob, dict) or "arch" not in blob:
        raise ValueError(f"checkpoint = {str(path)!r}: not a model file (no 'arch' entry)")
    kw = dict(blob["kwargs"])
    if isinstance(kw.get("hw"), dict):
        kw["hw"] = HardwareConfig.from_dict(kw["hw"])
    model = build_model(blob["arch"], **kw)
    model.load_state_dict(blob["state_dict"])
    return model, dict(blob.get("meta", {}))
