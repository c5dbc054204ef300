"""compact_model: the fast Numba N-LEM model, the one face of the device later stages see.

Owns the state model (trapped charge populations under voltage pulses, UV and rest) with two
outputs, current and light; its presets and the fit to the physics traces; the metric functions
shared with the physics stage (NL, gains, PPF, decay and reset times); variability; and the
torch bridge (level tables and noise as tensors). Writes ``results/compact/nlem.json``.

Public entry point::

    import compact_model
    m = compact_model.load("paper")      # preset name or path to an nlem.json
    key = compact_model.embed(doc)       # a document carried by value (e.g. in a checkpoint)
    m = compact_model.load(key)          # "sha256:<hex>" of an embedded document

Heavy submodules (Numba, torch) load lazily, so ``compact_model.config`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["load", "embed", "NLEM", "NLEMParams", "LevelTable", "State", "Variability",
           "PRESET_NAMES"]

#: Names accepted by :func:`load` besides a file path.
PRESET_NAMES = ("paper",)

_LAZY = {
    "NLEM": "compact_model.model", "LevelTable": "compact_model.model",
    "NLEMParams": "compact_model.params", "State": "compact_model.state",
    "Variability": "compact_model.variability",
}
_SUBMODULES = ("model", "kernels", "reference", "params", "metrics", "protocols", "presets",
               "variability", "torch_bridge", "fit", "state", "figures", "traces")


#: Documents registered by :func:`embed`, by their ``sha256:<hex>`` key.
_EMBEDDED: dict[str, dict[str, Any]] = {}
#: Prefix of the keys :func:`embed` returns.
EMBED_PREFIX = "sha256:"


def embed(doc: dict[str, Any], sha256: str | None = None, origin: str = "embedded") -> str:
    """Register a compact-model document carried by value; returns its ``sha256:<hex>`` key.

    The document is validated (:func:`compact_model.model.from_document`) and, when
    ``sha256`` is given, its content hash must equal it. :func:`load` then accepts the key,
    so a model saved with its compact model rebuilds without any file.

    Raises:
        compact_model.model.CompactModelFileError: invalid document or hash mismatch.
    """
    from compact_model.model import CompactModelFileError, document_sha256, from_document

    from_document(doc, origin)
    digest = document_sha256(doc)
    if sha256 is not None and sha256 != digest:
        raise CompactModelFileError(f"{origin}: sha256 = {sha256!r} but the embedded compact "
                                    f"model hashes to {digest!r} (corrupt or edited)")
    key = EMBED_PREFIX + digest
    _EMBEDDED[key] = dict(doc)
    return key


def load(source: str = "paper", variability: Any = None) -> Any:
    """Compact model from a preset name (``"paper"``), a path to an ``nlem.json`` or a key
    returned by :func:`embed`.

    Args:
        source: Preset name, JSON path or ``sha256:<hex>`` key.
        variability: Optional :class:`~compact_model.variability.Variability` overriding the
            one stored with the parameters.

    Raises:
        ValueError: unknown preset name and no such file.
        compact_model.model.CompactModelFileError: the file fails validation.
    """
    from pathlib import Path

    from compact_model.model import NLEM, from_document, load_json
    from compact_model.presets import PRESETS

    if source in PRESETS:
        params, cite = PRESETS[source]
        return NLEM(params, name=source, source=cite, variability=variability)
    if source in _EMBEDDED:
        return from_document(_EMBEDDED[source], source, variability=variability)
    if str(source).startswith(EMBED_PREFIX):
        raise ValueError(f"source = {source!r}: no compact model with that hash was embedded "
                         "in this process (compact_model.embed)")
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"source = {source!r}: not a preset ({', '.join(PRESETS)}) "
                         f"and not an existing nlem.json file")
    return load_json(path, variability=variability)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"compact_model.{name}")
    raise AttributeError(f"module 'compact_model' has no attribute {name!r}")
