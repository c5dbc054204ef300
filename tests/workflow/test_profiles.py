"""The Snakemake profiles name only rules that exist, and the cluster profile asks for what
each rule runs: a GPU only for convolutional torch training, no MPI tasks while dolfinx runs
serially, one thread where the code fixes one, no site-specific partition or account."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.long

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted((ROOT / "workflow" / "profiles").glob("*/config.yaml"))
SLURM = ROOT / "workflow" / "profiles" / "slurm" / "config.yaml"
#: Rules that train convolutional networks with torch: the ones a GPU speeds up.
GPU_RULES = {"upenn_variant", "usrnn_train"}
#: Rules that train the 784-5-5-20 FCN on one torch/BLAS thread (fcn_codesign fixes it): CPU.
FCN_RULES = {"circuits_fcn_codesign", "sweep_fcn2"}
#: Resource keys the Slurm executor plugin turns into sbatch options (or Snakemake uses).
SLURM_KEYS = {"runtime", "mem_mb", "mem_mb_per_cpu", "cpus_per_task", "gpu", "gpu_model",
              "gres", "tasks", "tasks_per_node", "nodes", "mpi", "constraint", "qos",
              "slurm_partition", "slurm_account", "slurm_extra"}


@pytest.fixture(scope="module")
def rule_names() -> set[str]:
    out = subprocess.run([sys.executable, "-m", "snakemake", "--list-rules"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    names = {line.strip() for line in out.stdout.splitlines() if line.strip()}
    assert "all" in names and "fit_compact" in names, names  # the listing was parsed
    return names


@pytest.fixture(scope="module")
def rule_threads() -> dict[str, int]:
    """``threads:`` of every rule, read from workflow/rules/*.smk."""
    threads: dict[str, int] = {}
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", smk.read_text(encoding="utf-8"), flags=re.M)[1:]:
            name = block.split(":", 1)[0].strip()
            found = re.search(r"^\s+threads:\s*(\d+)", block, flags=re.M)
            threads[name] = int(found.group(1)) if found else 1
    return threads


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


def test_slurm_profile_gpu_only_for_convolutional_training(rule_names: set[str]) -> None:
    cfg = _load(SLURM)
    assert cfg["executor"] == "slurm"
    res = cfg.get("set-resources") or {}
    assert GPU_RULES <= rule_names and FCN_RULES <= rule_names
    with_gpu = {r for r, v in res.items() if v.get("gpu") or "gpu" in str(v.get("gres", ""))}
    assert with_gpu == GPU_RULES, f"GPU requested for {with_gpu}, expected {GPU_RULES}"
    assert "gpu" not in str(cfg.get("default-resources") or {}), "no GPU for every rule"


def test_slurm_profile_claims_no_mpi_while_dolfinx_runs_serially() -> None:
    """MPI tasks only where a rule runs in parallel: the solver builds its meshes on
    MPI.COMM_SELF, so any ``mpi``/``tasks`` claim here must come with a parallel mesh."""
    sources = [p.read_text(encoding="utf-8") for p in (ROOT / "device_physics").glob("*.py")]
    assert any("MPI.COMM_SELF" in s for s in sources)  # the check reads the real solver
    parallel = any("COMM_WORLD" in s for s in sources)
    cfg = _load(SLURM)
    for rule, values in {**(cfg.get("set-resources") or {}),
                         "default": cfg.get("default-resources") or {}}.items():
        claims = values.get("mpi") or values.get("tasks", 1) > 1 or values.get("tasks_per_node")
        assert parallel or not claims, f"{rule}: MPI tasks requested, dolfinx runs serially"


def test_slurm_profile_threads_follow_the_code(rule_threads: dict[str, int]) -> None:
    cfg = _load(SLURM)
    threads = {**rule_threads, **(cfg.get("set-threads") or {})}
    for rule in FCN_RULES:
        assert threads[rule] == 1, f"{rule}: fcn_codesign runs one thread, profile gives more"
    res = cfg.get("set-resources") or {}
    for rule, values in res.items():
        # CPUs come from threads (the plugin's --cpus-per-task); a second number would disagree
        assert "cpus_per_task" not in values, rule
    assert "cpus_per_task" not in (cfg.get("default-resources") or {})


def test_slurm_profile_has_no_site_settings_and_sane_units() -> None:
    cfg = _load(SLURM)
    sections = {"default": cfg.get("default-resources") or {}, **(cfg.get("set-resources") or {})}
    for rule, values in sections.items():
        assert set(values) <= SLURM_KEYS, f"{rule}: unknown resource {set(values) - SLURM_KEYS}"
        # a site's partition and account are the site's (the profile's header says where)
        assert not {"slurm_partition", "slurm_account"} & set(values), rule
        # runtime in minutes and memory in MB: positive integers, never strings with units
        for key in ("runtime", "mem_mb"):
            if key in values:
                assert isinstance(values[key], int) and values[key] > 0, (rule, key)
