"""The Snakemake workflow: config validation before any work, dry runs and lint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.long

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def smk(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run snakemake in the repository; returns the completed process (never raises)."""
    return subprocess.run(
        [*SNAKEMAKE, "--cores", "1", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_dry_run_smoke_scale_is_clean(tmp_path: Path) -> None:
    res = smk("-n", "--config", "scale=smoke", f"results={tmp_path}")
    assert res.returncode == 0, res.stderr[-3000:]
    for rule in ("prepare_data", "device_run", "fit_compact", "circuits_fcn_codesign",
                 "upenn_variant", "usrnn_train", "paper_table"):
        assert f"rule {rule}:" in res.stdout, rule


def test_unknown_config_key_fails_naming_it() -> None:
    res = smk("-n", "--config", "bogus_key=1")
    assert res.returncode != 0
    assert "bogus_key: unknown key" in res.stdout + res.stderr


def test_out_of_range_value_fails_naming_key_and_range() -> None:
    res = smk("-n", "--config", "networks={fcn: {epochs: 0}}")
    assert res.returncode != 0
    assert "networks.fcn.epochs = 0: must be in [1, inf]" in res.stdout + res.stderr


def test_nested_override_from_the_command_line_is_applied() -> None:
    res = smk("-n", "--config", "scale=smoke", "networks={fcn: {epochs: 2}}", "seed=7")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]


def test_lint_is_clean() -> None:
    res = smk("--lint")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "Congratulations" in res.stdout + res.stderr


@pytest.mark.parametrize("scale", ["default", "paper"])
def test_dry_run_other_scales(scale: str) -> None:
    res = smk("-n", "--config", f"scale={scale}")
    assert res.returncode == 0, res.stderr[-3000:]
