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


def test_dotted_keys_of_a_configfile_are_expanded_and_validated(tmp_path: Path) -> None:
    over = tmp_path / "over.yaml"  # the dotted form the Snakefile's header documents
    over.write_text("networks.fcn.epochs: 0\n")
    res = smk("-n", "--configfile", str(over))
    assert res.returncode != 0
    assert "networks.fcn.epochs = 0: must be in [1, inf]" in res.stdout + res.stderr


def test_duplicate_key_in_a_configfile_fails_naming_it(tmp_path: Path) -> None:
    over = tmp_path / "dup.yaml"
    over.write_text("seed: 1\nseed: 2\n")
    res = smk("-n", "--configfile", str(over))
    assert res.returncode != 0
    assert "dup.yaml: line 2: duplicate key 'seed' (first at line 1)" in res.stdout + res.stderr


def test_default_dag_runs_no_protocol_twice(tmp_path: Path) -> None:
    """The compact fit (source physics, the default) and the device rows read the traces the
    device and study stages compute: no protocol runs both as a device run and a study trace,
    and the fit's inputs are among them."""
    import re

    from pipeline.config import load_config

    res = smk("-n", "--config", f"results={tmp_path}")
    assert res.returncode == 0, res.stderr[-3000:]
    device = set(re.findall(rf"{tmp_path}/device/nlem/(\w+)\.h5", res.stdout))
    studies = set(re.findall(rf"{tmp_path}/studies/traces/(\w+)\.h5", res.stdout))
    assert device and studies and not device & studies, (device, studies)
    cfg = load_config("default")
    assert set(cfg.compact.physics_protocols) <= device | studies
    assert "rule circuits_fcn_preset:" in res.stdout
