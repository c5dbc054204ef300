"""Run provenance for the report: git SHA, resolved configuration, platform, package versions."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from lemsim.io import write_json

PACKAGES = ("lemsim", "dolfinx-solver-real", "fenics-dolfinx", "torch", "numpy", "scipy", "numba",
            "h5py", "snakemake", "matplotlib", "scikit-image", "scikit-learn", "devsim")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed version of each distribution (``not installed`` when absent)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_provenance(path: str | Path, config: Any,
                     config_files: list[str] | None = None) -> Path:
    """Write ``provenance.json``: versions, platform, the resolved config (with git SHA) and
    the configuration files it was read from (``config_files``, merge order)."""
    return write_json(path, {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": package_versions(),
        "config_files": list(config_files or []),
    }, config=config)
