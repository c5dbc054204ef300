"""Atomic, resumable training checkpoints and self-describing model files, loaded safely.

A checkpoint holds whatever the trainer passes (model, optimiser, scheduler: anything with a
``state_dict()`` is stored as its state dict; epoch, step and other plain values as they are)
plus every RNG state (python ``random``, numpy, torch CPU and CUDA). Layer noise generators
travel inside the model's state dict (``noise_state`` entries). Files are written with
:func:`lemsim.io.atomic_path`, so a process killed mid-save leaves the previous checkpoint
intact. Keep them outside Snakemake's declared outputs, e.g. ``checkpoints/<exp>/last.pt``.

Safety: every file holds only tensors and plain data (dict, list, tuple, str, int, float,
bool, None), converted at save time (numpy arrays and scalars become tensors and Python
numbers), and every file is read with ``torch.load(..., weights_only=True)``
(:func:`read_torch_file`), whose unpickler rebuilds nothing else: a file carrying any other
Python object, e.g. a pickle whose ``__reduce__`` would run code, is refused with
:class:`UnsafeCheckpointError` before anything of it executes.

A model file of a hardware-aware network embeds the compact model its synapses come from by
value (its ``nlem.json`` document and sha256 content hash, :func:`embed_compact_model`), so
it rebuilds the same device from any working directory, whatever files exist there.

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
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lemsim.io import atomic_path

_STATEFUL = ("model", "optimizer", "scheduler")


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint or model file (the message names it)."""


class UnsafeCheckpointError(CheckpointError):
    """A file holding Python objects beyond tensors and plain data: refused unread."""


def read_torch_file(path: str | os.PathLike[str], map_location: Any = "cpu",
                    what: str = "checkpoint") -> Any:
    """``torch.load(path, weights_only=True)`` with named errors.

    Args:
        path: The file.
        map_location: Passed to ``torch.load``.
        what: Noun naming the file in errors (``checkpoint``, ``model file``).

    Raises:
        UnsafeCheckpointError: the file holds objects the weights-only unpickler refuses
            (arbitrary classes or callables: it could run code); nothing of it ran.
        CheckpointError: the file is not a torch file at all (truncated, empty, other
            format).
    """
    import pickle
    import struct

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()
        why = next((ln.strip() for ln in first if "GLOBAL" in ln or "Unsupported" in ln),
                   first[0] if first else "")
        raise UnsafeCheckpointError(
            f"{what} = {str(path)!r}: refused: it holds Python objects other than tensors "
            f"and plain data, which could run code when loaded ({why})") from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, AttributeError, IndexError,
            TypeError, OverflowError, struct.error) as exc:  # what corrupt bytes raise
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise CheckpointError(f"{what} = {str(path)!r}: not a readable torch file "
                              f"({type(exc).__name__}: {text})") from None


def to_plain(obj: Any, where: str = "checkpoint") -> Any:
    """``obj`` as tensors and plain data only (what :func:`read_torch_file` reads back).

    numpy arrays become tensors, numpy scalars Python numbers, tuples stay tuples.

    Raises:
        TypeError: an object of another type, naming its key path ``where``.
    """
    if obj is None or isinstance(obj, (bool, int, float, str, torch.Tensor, torch.dtype,
                                       torch.device)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, dict):
        items = {k: to_plain(v, f"{where}.{k}") for k, v in obj.items()}
        if not isinstance(obj, OrderedDict):
            return items
        out = OrderedDict(items)
        if hasattr(obj, "_metadata"):  # state-dict versions read by load_state_dict
            out._metadata = to_plain(obj._metadata, f"{where}._metadata")  # type: ignore[attr-defined]
        return out
    if isinstance(obj, (list, tuple)):
        out = [to_plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        return tuple(out) if isinstance(obj, tuple) else out
    raise TypeError(f"{where}: {type(obj).__name__} cannot be stored in a checkpoint "
                    "(tensors and plain data only)")


def rng_state() -> dict[str, Any]:
    """Every global RNG state (python, numpy, torch CPU, torch CUDA when present), as
    tensors and plain data."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 - global state
    st: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [kind, [int(k) for k in keys], int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict[str, Any]) -> None:
    """Restore :func:`rng_state` output."""
    py = st["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    kind, keys, pos, has_gauss, cached = st["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss),  # noqa: NPY002
                         float(cached)))
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

    Raises:
        TypeError: a value that is neither a tensor nor plain data (named by its key path).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {}
    for key, val in state.items():
        payload[key] = val.state_dict() if hasattr(val, "state_dict") else val
    payload["rng"] = rng_state()
    payload = to_plain(payload)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> dict | None:
    """The checkpoint stored at ``path`` as a dict, or None when there is none.

    Raises:
        UnsafeCheckpointError: the file holds more than tensors and plain data.
        CheckpointError: unreadable file, or not a dict.
    """
    path = Path(path)
    if not path.is_file():
        return None
    ck = read_torch_file(path, map_location)
    if not isinstance(ck, dict):
        raise CheckpointError(f"checkpoint = {str(path)!r}: holds a {type(ck).__name__}, "
                              "expected a dict written by save_checkpoint")
    return ck


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


def embed_compact_model(hw: dict[str, Any] | None) -> dict[str, Any] | None:
    """The compact model named by a hardware dict's ``compact_model``, by value.

    Returns:
        ``{"document": <nlem.json model part>, "sha256": <hex>, "origin": <name or path>}``,
        or None for a digital model (``hw`` None).
    """
    if hw is None:
        return None
    import compact_model
    from compact_model.model import document_sha256, model_document

    origin = str(hw.get("compact_model", "paper"))
    doc = model_document(compact_model.load(origin).to_dict())
    return {"document": doc, "sha256": document_sha256(doc), "origin": origin}


def restore_compact_model(blob: dict[str, Any], hw: dict[str, Any] | None, path: Path
                          ) -> dict[str, Any] | None:
    """``hw`` with ``compact_model`` pointing at the model embedded in ``blob``.

    Raises:
        CheckpointError: a hardware-aware model file without its compact model, or an
            embedded model that fails validation or its content hash.
    """
    if hw is None:
        return None
    import compact_model

    emb = blob.get("compact_model")
    if not isinstance(emb, dict) or not {"document", "sha256"} <= set(emb):
        raise CheckpointError(f"model file = {str(path)!r}: hardware-aware model without its "
                              "embedded compact model (entry 'compact_model' with 'document' "
                              "and 'sha256'); re-save it with networks.checkpoint.save_model")
    try:
        key = compact_model.embed(emb["document"], sha256=emb["sha256"],
                                  origin=f"{path}: compact_model")
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None
    return dict(hw, compact_model=key)


def hw_dict(kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The ``hw`` entry of build arguments as a plain dict (None for a digital model)."""
    hw = kwargs.get("hw")
    if hw is None:
        return None
    return dict(hw.to_dict() if hasattr(hw, "to_dict") else hw)


def save_model(path: str | os.PathLike[str], model: torch.nn.Module, arch: str,
               kwargs: dict[str, Any], **meta: Any) -> Path:
    """Save a trained model with what rebuilds it (registry name and constructor arguments).

    Args:
        path: Target ``model.pt``.
        model: The module (its state dict is stored, device states and noise seeds included).
        arch: Registry name (``networks.archs.build_model``).
        kwargs: Constructor arguments; a ``hw`` :class:`HardwareConfig` is stored as a dict,
            and the compact model it names is embedded by value (:func:`embed_compact_model`).
        **meta: Extra plain values (class names, dataset, ...).
    """
    kw = dict(kwargs)
    if kw.get("hw") is not None:
        kw["hw"] = hw_dict(kw)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = to_plain({"arch": arch, "kwargs": kw, "state_dict": model.state_dict(),
                     "meta": meta, "compact_model": embed_compact_model(kw.get("hw"))})
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)
    return path


def read_model_file(path: str | os.PathLike[str], map_location: Any = "cpu",
                    required: tuple[str, ...] = ("arch", "kwargs", "state_dict")
                    ) -> dict[str, Any]:
    """The dict of a model file, read safely, with its ``hw`` pointing at the embedded
    compact model.

    Raises:
        FileNotFoundError: no file at ``path``.
        UnsafeCheckpointError: the file holds more than tensors and plain data.
        CheckpointError: not a model file (entries ``required`` missing) or a bad embedded
            compact model.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint = {str(path)!r}: no such file")
    blob = read_torch_file(path, map_location, what="model file")
    if not isinstance(blob, dict) or not set(required) <= set(blob):
        have = sorted(blob) if isinstance(blob, dict) else type(blob).__name__
        raise CheckpointError(f"checkpoint = {str(path)!r}: not a model file (needs entries "
                              f"{list(required)}, has {have})")
    if not isinstance(blob["kwargs"], dict):
        raise CheckpointError(f"checkpoint = {str(path)!r}: 'kwargs' is not a dict")
    kw = dict(blob["kwargs"])
    if kw.get("hw") is not None:
        kw["hw"] = restore_compact_model(blob, hw_dict(kw), path)
    blob["kwargs"] = kw
    return blob


def load_model(path: str | os.PathLike[str], map_location: Any = "cpu"
               ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a model saved by :func:`save_model`; returns ``(model, meta)``.

    The synapses use the compact model embedded in the file, never a file of the working
    directory.

    Raises:
        FileNotFoundError: no file at ``path``.
        UnsafeCheckpointError: the file holds more than tensors and plain data.
        CheckpointError: the file is not a :func:`save_model` file.
    """
    from networks.archs import build_model
    from networks.layers import HardwareConfig

    blob = read_model_file(path, map_location)
    kw = dict(blob["kwargs"])
    try:
        if isinstance(kw.get("hw"), dict):
            kw["hw"] = HardwareConfig.from_dict(kw["hw"])
        model = build_model(str(blob["arch"]), **kw)
        model.load_state_dict(blob["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint = {str(path)!r}: cannot rebuild the model "
                              f"({type(exc).__name__}: {exc})") from None
    meta = dict(blob.get("meta") or {})
    if blob.get("compact_model"):
        meta.setdefault("compact_model_sha256", blob["compact_model"]["sha256"])
    return model, meta
