"""Every literate example in ``examples/`` runs, at its small size, as a user would run it
(a fresh interpreter in the repository root), and writes what it says it writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Example script -> files it must write (relative to its output folder).
EXAMPLES = {
    "pulse_device.py": ["trace.h5", "fig2c.png"],
    "fit_measured_device.py": ["nlem.json", "fit_report.png"],
    "crossbar_ir_drop.py": ["ir_drop.png"],
    "train_fcn_on_fitted_device.py": ["nlem.json", "fcn/metrics.json"],
    "super_resolve_folder.py": ["model_x2.pt", "sr/img0.png"],
}


def test_every_example_is_listed() -> None:
    scripts = {p.name for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_")}
    assert scripts - {"make_synthetic_measurement.py"} == set(EXAMPLES)


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_runs(script: str, tmp_path: Path) -> None:
    env = {**os.environ, "LEMSIM_EXAMPLE_SMALL": "1", "LEMSIM_EXAMPLE_OUT": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, str(ROOT / "examples" / script)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = tmp_path / script[:-3]
    for name in EXAMPLES[script]:
        assert (out / name).is_file(), name
