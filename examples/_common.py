"""Shared set-up of the examples: the output folder and the small-size switch.

``LEMSIM_EXAMPLE_SMALL=1`` runs every example at a size that takes seconds (the test suite
sets it); ``LEMSIM_EXAMPLE_OUT`` chooses the output folder (default
``results/examples/<example>``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: True when the examples run at their small (test) size.
SMALL = os.environ.get("LEMSIM_EXAMPLE_SMALL", "") not in ("", "0")


def out_dir(name: str) -> Path:
    """The example's output folder (created)."""
    base = Path(os.environ.get("LEMSIM_EXAMPLE_OUT", ROOT / "results" / "examples"))
    d = base / name
    d.mkdir(parents=True, exist_ok=True)
    return d


def start(name: str) -> Path:
    """Log to the terminal at INFO, one thread per library; returns :func:`out_dir`."""
    from lemsim.runtime import set_threads

    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    set_threads(1)
    return out_dir(name)
