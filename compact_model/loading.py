"""Loading a compact model: a preset name or an ``nlem.json`` (:func:`load`, re-exported as
``compact_model.load``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from compact_model.model import MODEL_NAME, NLEM
from compact_model.params import UNITS, NLEMParams
from compact_model.presets import PRESETS
from compact_model.variability import Variability


def load(source: str = "paper", variability: Any = None) -> Any:
    """Compact model from a preset name (``"paper"``) or a path to an ``nlem.json``.

    Args:
        source: Preset name or JSON path.
        variability: Optional :class:`~compact_model.variability.Variability` overriding the
            one stored with the parameters.

    Raises:
        ValueError: unknown preset name and no such file.
    """
    if source in PRESETS:
        params, cite = PRESETS[source]
        return NLEM(params, name=source, source=cite, variability=variability)
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"source = {source!r}: not a preset ({', '.join(PRESETS)}) "
                         f"and not an existing nlem.json file")
    return model_from_json(path, variability=variability)


def model_from_json(path: str | Path, variability: Variability | None = None) -> NLEM:
    """:class:`NLEM` from an ``nlem.json`` written by :func:`compact_model.fit.nlem_json`."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if doc.get("model") != MODEL_NAME:
        raise ValueError(f"{path}: model = {doc.get('model')!r}, expected {MODEL_NAME!r}")
    params = NLEMParams(**{k: float(v["value"]) for k, v in doc["parameters"].items()
                           if k in UNITS})
    var = variability or Variability(**doc.get("variability", {}))
    return NLEM(params, name=doc.get("name", "json"), source=str(path), variability=var)
