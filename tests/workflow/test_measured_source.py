"""``compact.source: measured`` in the DAG: the compact fit reads the measurement files (dry
run); an empty ``compact.measured`` is a config error (tests/compact_model/test_measured.py,
the loader the Snakefile uses)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MEAS = "examples/data/nlem_measured_synthetic.csv"


def _smk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_measured_source_feeds_the_compact_fit(tmp_path: Path) -> None:
    res = _smk("-n", "--config", "scale=smoke", f"results={tmp_path}",
               f"compact={{source: measured, measured: [{MEAS}]}}", "--",
               f"{tmp_path}/compact/nlem.json")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "rule fit_compact:" in res.stdout
    assert f"input: {MEAS}, examples/data/nlem_measured_synthetic.meta.yaml" in res.stdout
    assert "rule device_run:" not in res.stdout  # no physics traces are needed

