"""Building the SR methods by name and saving/loading them as self-describing files.

A model file (``model_x2.pt``) holds the registry name, the build arguments (a hardware
config as plain data) and the weights, so ``python -m networks upscale`` can rebuild it
without the experiment's config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from lemsim.io import atomic_path
from networks.archs import build_model
from networks.config import SR_METHODS

METHODS = SR_METHODS
"""Method names of the Fig. 6 comparison (``usrnn_hw``: hardware-aware USRNN)."""


def method_spec(method: str, channels: int = 16, n_blocks: int = 43,
                baseline_channels: int = 16, hw: dict | None = None
                ) -> tuple[str, dict[str, Any]]:
    """(registry name, build kwargs without ``scale``) of a method of the comparison.

    Args:
        method: One of :data:`METHODS`.
        channels: USRNN width.
        n_blocks: USRNN CIBlocks.
        baseline_channels: VDSR and SRResNet width.
        hw: ``HardwareConfig`` fields of ``usrnn_hw`` (None: its defaults).
    """
    if method == "usrnn_hw":
        return "usrnn", {"channels": channels, "n_blocks": n_blocks, "hw": dict(hw or {})}
    if method == "usrnn":
        return "usrnn", {"channels": channels, "n_blocks": n_blocks}
    if method in ("vdsr", "srresnet"):
        return method, {"channels": baseline_channels}
    if method in ("srcnn", "bicubic"):
        return method, {}
    raise ValueError(f"method = {method!r}: allowed {METHODS}")


def build(arch: str, kwargs: dict[str, Any], scale: int) -> nn.Module:
    """Build ``arch`` with ``kwargs`` at ``scale`` (a ``hw`` dict becomes a HardwareConfig)."""
    kw = dict(kwargs)
    if kw.get("hw") is not None:
        from networks.layers import HardwareConfig

        kw["hw"] = HardwareConfig.from_dict(kw["hw"])
    return build_model(arch, scale=scale, **kw)


def save_model(path: str | Path, model: nn.Module, arch: str, kwargs: dict[str, Any]) -> Path:
    """Write a self-describing model file atomically (tensors and plain data; a ``hw`` model
    embeds its compact model by value, :func:`networks.checkpoint.embed_compact_model`)."""
    from networks.checkpoint import embed_compact_model, hw_dict, to_plain

    kw = dict(kwargs)
    if kw.get("hw") is not None:
        kw["hw"] = hw_dict(kw)
    blob = to_plain({"arch": arch, "kwargs": kw, "scale": int(model.scale),
                     "state_dict": model.state_dict(),
                     "compact_model": embed_compact_model(kw.get("hw"))})
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)
    return Path(path)


def load_model(path: str | Path, map_location: str = "cpu") -> nn.Module:
    """Rebuild a model written by :func:`save_model` (in eval mode), read safely
    (:func:`networks.checkpoint.read_model_file`).

    Raises:
        FileNotFoundError: no file at ``path``.
        networks.checkpoint.CheckpointError: not a model file of this module, or a file
            holding more than tensors and plain data (``UnsafeCheckpointError``).
    """
    from networks.checkpoint import CheckpointError, read_model_file

    d = read_model_file(path, map_location, required=("arch", "kwargs", "scale", "state_dict"))
    try:
        model = build(str(d["arch"]), d["kwargs"], d["scale"])
        model.load_state_dict(d["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint = {str(path)!r}: cannot rebuild the model "
                              f"({type(exc).__name__}: {exc})") from None
    return model.eval()
