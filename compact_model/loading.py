"""Loading a compact model: a preset name, an ``nlem.json`` (validated field by field by
:func:`compact_model.model.load_json`) or a document carried by value (:func:`embed`);
re-exported as ``compact_model.load`` and ``compact_model.embed``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compact_model.model import NLEM, load_json
from compact_model.variability import Variability

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
    from compact_model.model import from_document
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


def model_from_json(path: str | Path, variability: Variability | None = None) -> NLEM:
    """:class:`NLEM` from an ``nlem.json`` written by :func:`compact_model.fit.nlem_json`
    (every field checked by :func:`compact_model.model.load_json`)."""
    return load_json(path, variability=variability)
