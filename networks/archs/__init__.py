"""Model registry (BasicSR/timm style).

Every module ``networks/archs/*_arch.py`` is imported on first use; a class or factory
decorated with :func:`register_arch` becomes buildable by name with :func:`build_model`.
Adding an architecture means adding one ``<name>_arch.py`` file: nothing else to edit.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

ARCH_REGISTRY: dict[str, Callable[..., Any]] = {}
_SCANNED = False


def register_arch(name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Class/function decorator adding an architecture to :data:`ARCH_REGISTRY`.

    Args:
        name: Registry name (default: the lower-cased object name).
    """

    def deco(obj: Callable[..., Any]) -> Callable[..., Any]:
        key = (name or obj.__name__).lower()
        if key in ARCH_REGISTRY and ARCH_REGISTRY[key] is not obj:
            raise KeyError(f"architecture name {key!r} registered twice")
        ARCH_REGISTRY[key] = obj
        return obj

    return deco


def _scan() -> None:
    global _SCANNED
    if _SCANNED:
        return
    for mod in pkgutil.iter_modules(__path__):
        if mod.name.endswith("_arch"):
            importlib.import_module(f"{__name__}.{mod.name}")
    _SCANNED = True


def list_models() -> list[str]:
    """Names of every registered architecture."""
    _scan()
    return sorted(ARCH_REGISTRY)


def build_model(name: str, **kwargs: Any) -> Any:
    """Build a registered architecture by name.

    Raises:
        KeyError: ``name`` is not registered (the message lists the registered names).
    """
    _scan()
    key = name.lower()
    if key not in ARCH_REGISTRY:
        raise KeyError(f"model name = {name!r} is not registered; allowed: {list_models()}")
    return ARCH_REGISTRY[key](**kwargs)
