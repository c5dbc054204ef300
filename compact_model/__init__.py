"""compact_model: the fast Numba N-LEM model, the one face of the device later stages see.

Owns the state model (trapped charge populations under voltage pulses, UV and rest) with two
outputs, current and light; its presets and the fit to the physics traces; the metric functions
shared with the physics stage (NL, gains, PPF, decay and reset times); variability; and the
torch bridge (level tables and noise as tensors). Writes ``results/compact/nlem.json``.

Public entry point::

    import compact_model
    m = compact_model.load("paper")      # preset name or path to an nlem.json

Heavy submodules (Numba, torch) load lazily, so ``compact_model.config`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["load", "NLEM", "NLEMParams", "LevelTable", "State", "Variability", "PRESET_NAMES"]

#: Names accepted by :func:`load` besides a file path.
PRESET_NAMES = ("paper",)

_LAZY = {
    "NLEM": "compact_model.model", "LevelTable": "compact_model.model",
    "NLEMParams": "compact_model.params", "State": "compact_model.state",
    "Variability": "compact_model.variability",
}
_SUBMODULES = ("model", "kernels", "reference", "params", "metrics", "protocols", "presets",
               "variability", "torch_bridge", "fit", "state", "figures", "traces")


def load(source: str = "paper", variability: Any = None) -> Any:
    """Compact model from a preset name (``"paper"``) or a path to an ``nlem.json``.

    Args:
        source: Preset name or JSON path.
        variability: Optional :class:`~compact_model.variability.Variability` overriding the
            one stored with the parameters.

    Raises:
        ValueError: unknown preset name and no such file.
    """
    from pathlib import Path

    from compact_model.model import NLEM
    from compact_model.presets import PRESETS

    if source in PRESETS:
        params, cite = PRESETS[source]
        return NLEM(params, name=source, source=cite, variability=variability)
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"source = {source!r}: not a preset ({', '.join(PRESETS)}) "
                         f"and not an existing nlem.json file")
    from compact_model.fit import model_from_json

    return model_from_json(path, variability=variability)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"compact_model.{name}")
    raise AttributeError(f"module 'compact_model' has no attribute {name!r}")
