"""The packages form layers (pipeline > networks > circuits > compact_model > device_physics >
lemsim, the contract in pyproject.toml) and no two modules import each other."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp")

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "networks", "circuits", "compact_model", "device_physics", "lemsim")


def test_no_two_modules_import_each_other() -> None:
    graph = grimp.build_graph(*PACKAGES)
    pairs = sorted({tuple(sorted((m, n))) for m in graph.modules
                    for n in graph.find_modules_directly_imported_by(m)
                    if m in graph.find_modules_directly_imported_by(n)})
    assert pairs == [], pairs


def test_import_contract_holds() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    if not lint.exists():
        pytest.skip("import-linter not installed (pip install -e '.[dev]')")
    out = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout
