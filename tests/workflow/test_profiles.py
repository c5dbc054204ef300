"""The Snakemake profiles name only rules that exist (the cluster profile included)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.long

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted((ROOT / "workflow" / "profiles").glob("*/config.yaml"))
#: Rules that train a network: the cluster profile must give each a GPU.
TRAINING_RULES = ("upenn_variant", "usrnn_train", "circuits_fcn_codesign")
#: Rules that run the dolfinx solver: the cluster profile must give each MPI tasks.
DOLFINX_RULES = ("device_run",)


@pytest.fixture(scope="module")
def rule_names() -> set[str]:
    out = subprocess.run([sys.executable, "-m", "snakemake", "--list-rules"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    names = {line.strip() for line in out.stdout.splitlines() if line.strip()}
    assert "all" in names and "fit_compact" in names, names  # the listing was parsed
    return names


def _load(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.parent.name)
def test_every_rule_named_in_a_profile_exists(profile: Path, rule_names: set[str]) -> None:
    cfg = _load(profile)
    for key in ("set-resources", "set-threads"):
        named = set(cfg.get(key) or {})
        unknown = named - rule_names
        assert not unknown, f"{profile.name} {key} names rules that do not exist: {unknown}"


def test_slurm_profile_gives_training_a_gpu_and_dolfinx_mpi_tasks(rule_names: set[str]) -> None:
    cfg = _load(ROOT / "workflow" / "profiles" / "slurm" / "config.yaml")
    res = cfg["set-resources"]
    assert cfg["executor"] == "slurm"
    for rule in TRAINING_RULES:
        assert rule in rule_names
        assert "gpu" in str(res[rule].get("gres", "")) or res[rule].get("gpu", 0) >= 1, rule
    for rule in DOLFINX_RULES:
        assert rule in rule_names
        assert res[rule]["tasks"] > 1 and res[rule]["mpi"], rule
    for rule, values in res.items():
        # runtime in minutes and memory in MB: positive numbers, never strings with units.
        assert values.get("runtime", 1) > 0 and values.get("mem_mb", 1) > 0, rule
