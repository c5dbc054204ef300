"""compact_model: the fast Numba N-LEM model, the one face of the device later stages see.

Owns the state model (trapped charge populations under voltage pulses, UV and rest) with two
outputs, current and light; its presets and the fit to the physics traces (the metric functions
it shares with the physics stage are :mod:`lemsim.metrics`); variability; and the torch bridge
(level tables and noise as tensors). Writes ``results/compact/nlem.json``.

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
    "load": "compact_model.loading", "embed": "compact_model.loading",
    "EMBED_PREFIX": "compact_model.loading",
    "NLEM": "compact_model.model", "LevelTable": "compact_model.model",
    "NLEMParams": "compact_model.params", "State": "compact_model.state",
    "Variability": "compact_model.variability",
}
_SUBMODULES = ("model", "kernels", "reference", "params", "protocols", "presets", "loading",
               "variability", "torch_bridge", "fit", "state", "figures", "traces", "stage")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"compact_model.{name}")
    raise AttributeError(f"module 'compact_model' has no attribute {name!r}")
