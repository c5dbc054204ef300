"""Part of the smoke DAG through Snakemake's Slurm executor against a real one-node Slurm.

The cluster is the one ``workflow/cluster/start_slurm.sh`` starts on this machine (munged,
slurmctld and slurmd on localhost). Three rules run as Slurm jobs: ``fit_compact`` and the
FCN training ``circuits_fcn_codesign`` that depends on it, and the dolfinx ``device_run`` of
the smoke pulse train, each with the resources of ``workflow/profiles/slurm``. Skipped, with the
reason, where Slurm cannot be started: not root, the Debian packages or the executor plugin
missing, a site's own slurm.conf in place, or daemons that do not come up.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START = ROOT / "workflow" / "cluster" / "start_slurm.sh"
#: Rules the test runs as Slurm jobs, and the targets that make Snakemake run them.
RULES = {"fit_compact", "circuits_fcn_codesign", "device_run"}
TARGETS = ("device/nlem/pulses_5_smoke.h5", "networks/fcn/metrics.json")
#: Memory of the largest of those jobs (MB): circuits_fcn_codesign's 4000 in its rule.
MAX_MEM_MB = 4000

pytestmark = pytest.mark.workflow


def slurm_command(res: Path) -> list[str]:
    """The Snakemake command line of the test (README "Running on a cluster" shows it)."""
    return [
        "--profile", "workflow/profiles/slurm",
        # no accounting database on the local cluster: job states come from squeue, which
        # keeps finished jobs for MinJobAge (600 s); first status query after 5 s, not 40 s
        "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "5",
        "--slurm-logdir", str(res / "slurm_logs"), "--slurm-keep-successful-logs",
        "--nolock",
        *(str(res / t) for t in TARGETS),
        "--config", "scale=smoke", f"results={res}",
    ]


def _skip_reason() -> str | None:
    if os.name != "posix" or os.geteuid() != 0:
        return "needs root to configure and start Slurm (workflow/cluster/start_slurm.sh)"
    missing = [exe for exe in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")
               if shutil.which(exe) is None]
    if missing:
        return (f"Slurm not installed ({', '.join(missing)} missing): "
                "apt-get install slurm-wlm munge")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm not installed: pip install -e '.[slurm]'"
    return None


def _node_memory_mb() -> int:
    out = subprocess.run(["scontrol", "show", "node"], capture_output=True, text=True,
                         timeout=30).stdout
    found = re.search(r"RealMemory=(\d+)", out)
    return int(found.group(1)) if found else 0


@pytest.fixture(scope="module")
def slurm() -> Iterator[None]:
    """A running one-node Slurm; stopped afterwards if this fixture started it."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    was_up = subprocess.run([str(START), "status"], capture_output=True, timeout=60).returncode == 0
    out = subprocess.run([str(START)], capture_output=True, text=True, timeout=180)
    if out.returncode != 0:
        pytest.skip(f"Slurm did not start: {(out.stdout + out.stderr).strip()[-800:]}")
    mem = _node_memory_mb()
    if mem < MAX_MEM_MB:
        pytest.skip(f"the Slurm node has RealMemory={mem} MB, the jobs ask for {MAX_MEM_MB} MB")
    yield
    if not was_up:
        subprocess.run([str(START), "stop"], capture_output=True, timeout=120)


def test_skip_reasons_name_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where Slurm cannot run, the skip says why and what to install."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "needs root" in _skip_reason()
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(shutil, "which", lambda exe: None if exe == "slurmd" else f"/x/{exe}")
    assert _skip_reason() == ("Slurm not installed (slurmd missing): "
                              "apt-get install slurm-wlm munge")


@pytest.mark.slow
def test_smoke_rules_run_as_slurm_jobs(slurm: None, tmp_path: Path) -> None:
    res = tmp_path / "results"
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "snakemake", *slurm_command(res)], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - t0
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-6000:]
    print(f"three rules through Slurm: {wall:.0f} s")

    # Every rule went through sbatch, and Slurm itself reports each job COMPLETED.
    submitted = dict(re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+) "
                                r"\(log: [^)]*/rule_(\w+?)/", log))
    assert set(submitted.values()) == RULES, log[-4000:]
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    queue = subprocess.run(["squeue", "-h", "--states=all", "--name", run_id, "-o", "%i|%T"],
                           capture_output=True, text=True, timeout=30).stdout
    states = dict(line.split("|") for line in queue.split())
    assert {states.get(j) for j in submitted} == {"COMPLETED"}, (submitted, states)
    for job_id, rule in submitted.items():
        assert list((res / "slurm_logs").glob(f"rule_{rule}/**/{job_id}.log")), (rule, job_id)

    # What the jobs wrote is the real thing: a complete 0.5 s device trace, a fit, an FCN
    # trained for the smoke scale's 3 epochs that tells 2 classes apart better than chance.
    import h5py
    import numpy as np

    with h5py.File(res / TARGETS[0], "r") as h5:
        assert h5.attrs["status"] == "complete"
        t, current = h5["trace/t"][:], h5["trace/J"][:]
    assert t.size > 100 and t[-1] == pytest.approx(0.5, rel=0.05) and np.all(np.isfinite(current))
    assert json.loads((res / "compact" / "nlem.json").read_text(encoding="utf-8"))
    metrics = json.loads((res / TARGETS[1]).read_text(encoding="utf-8"))
    assert len(metrics["per_epoch"]) == 3
    acc = metrics["accuracy_vs_classes_final"]
    assert len(acc) == 3 and all(0.0 <= a <= 100.0 for a in acc) and acc[0] > 60.0, acc
