"""Recovery of the DAG: a killed training resumes, a kill leaves no corrupt
output, the same config gives the same table twice, a changed parameter is detected exactly.

One uninterrupted run (module fixture) and one run killed in the middle of a training rule and
resumed with ``--rerun-incomplete`` share the same config; the tests compare the two. The DAG
is the one behind ``tables/paper_vs_sim.csv`` at smoke scale, without the drift-diffusion stage
(``device.enabled=false``, minutes on its own; the compact model is therefore the ``paper``
preset, ``compact.source=paper``, since a physics source needs the device stage), with one
USRNN-stage method (the digital USRNN, which the Fig. 6 report needs) whose x2 training is
long enough to be killed between two checkpoints (200 iterations; checkpoints every 100).
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.workflow

#: Training rule that is killed, and its wildcard.
KILLED_RULE, KILLED_METHOD = "usrnn_train", "usrnn"
#: The shared config (besides ``results``); 200 x2 iterations: a checkpoint halfway.
USRNN = "iterations: 200, methods: [usrnn]"
CONFIG = ["scale=smoke", "device={enabled: false}", "studies={enabled: false}",
          "sweep={enabled: false}", "compact={source: paper}",
          f"networks={{usrnn: {{{USRNN}}}}}"]


def target(res: Path) -> str:
    return str(res / "tables" / "paper_vs_sim.csv")


def smk(res: Path, *args: str, config: list[str] | None = None,
        timeout: int = 2400) -> subprocess.CompletedProcess[str]:
    cfg = ["--config", *(config or CONFIG), f"results={res}"]
    return subprocess.run([sys.executable, "-m", "snakemake", "--nolock", *args, *cfg],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run."""
    res = tmp_path_factory.mktemp("uninterrupted") / "results"
    out = smk(res, "--cores", "2", target(res))
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    return res


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory, reference: Path) -> dict:
    """The same run, SIGKILLed (Snakemake and its jobs) once the USRNN training has written
    its first checkpoint; returns what the kill left behind before anything reruns."""
    res = tmp_path_factory.mktemp("killed") / "results"
    ckpt = res / "networks" / "usrnn" / "checkpoints" / KILLED_METHOD / "x2.pt"
    cmd = [sys.executable, "-m", "snakemake", "--nolock", "--cores", "2", target(res),
           "--config", *CONFIG, f"results={res}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 1200
        while not ckpt.exists():
            assert proc.poll() is None, f"snakemake ended ({proc.returncode}) before {ckpt}"
            assert time.monotonic() < deadline, f"no checkpoint {ckpt} after 20 min"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole session: snakemake and its scripts
        proc.wait()
    files = sorted(p for p in res.rglob("*") if p.is_file())
    return {"res": res, "files": files}


def _complete(path: Path) -> bool:
    """Whether a result file parses completely (a truncated write does not)."""
    try:
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".csv":
            text = path.read_text(encoding="utf-8")
            return text.endswith("\n") and len(list(csv.reader(text.splitlines()))) >= 1
        elif path.suffix == ".npz":
            import numpy as np

            with np.load(path) as npz:
                for key in npz.files:
                    npz[key]  # noqa: B018 - reading every array checks the zip members
        elif path.suffix == ".h5":
            import h5py

            with h5py.File(path, "r") as fh:
                fh.visit(lambda _: None)
        elif path.suffix == ".pt":
            import torch

            torch.load(path, map_location="cpu", weights_only=True)
        elif path.suffix == ".png":
            return path.read_bytes().endswith(b"IEND\xaeB`\x82")
    except Exception:  # noqa: BLE001 - any failure to read is an incomplete file
        return False
    return True


def test_kill_leaves_no_corrupt_output(killed: dict) -> None:
    """Every file the killed run left under results/ reads completely (atomic writes), and
    the training rule's declared outputs are absent (it was killed mid-training)."""
    res = killed["res"]
    method_dir = res / "networks" / "usrnn" / KILLED_METHOD
    assert not (method_dir / "metrics.json").exists()
    results = [p for p in killed["files"] if p.suffix in
               (".json", ".csv", ".npz", ".h5", ".pt", ".png") and "logs" not in p.parts]
    assert results, "the killed run wrote nothing before the kill"
    broken = [str(p) for p in results if not _complete(p)]
    assert not broken, broken


@pytest.fixture(scope="module")
def resumed(killed: dict) -> Path:
    res = killed["res"]
    out = smk(res, "--cores", "2", "--rerun-incomplete", target(res))
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    return res


def test_killed_training_resumes_from_its_checkpoint(resumed: Path, reference: Path) -> None:
    log = (resumed / "logs" / "usrnn" / f"train_{KILLED_METHOD}.log").read_text(encoding="utf-8")
    m = re.search(r"x2: resumed from \S+ at iteration (\d+)", log)
    assert m and int(m.group(1)) >= 100, log[-2000:]  # at least the first checkpoint
    got = json.loads((resumed / "networks/usrnn" / KILLED_METHOD / "metrics.json").read_text())
    ref = json.loads((reference / "networks/usrnn" / KILLED_METHOD / "metrics.json").read_text())
    for scale in ("x2", "x4"):
        for split in ("set5", "set14"):
            # exact resume (networks.sr.train: RNG, optimiser and sampler states restored)
            assert got[scale][split]["psnr_mean"] == ref[scale][split]["psnr_mean"], (scale, split)
            assert got[scale][split]["ssim_mean"] == ref[scale][split]["ssim_mean"], (scale, split)


def test_same_config_twice_gives_the_same_table(resumed: Path, reference: Path) -> None:
    """paper_vs_sim.csv of the two runs (one of them killed and resumed) are byte-identical
    once the results folder itself, which a definition may name, is written alike."""
    a = Path(target(reference)).read_text(encoding="utf-8").replace(str(reference), "RES")
    b = Path(target(resumed)).read_text(encoding="utf-8").replace(str(resumed), "RES")
    from lemsim.targets import TARGET_IDS

    assert a.count("\n") == len(TARGET_IDS) + 1  # header and every target row
    assert a == b


def _params_changed(stdout: str, statuses: tuple[str, ...] = ("params changed",)) -> set[str]:
    """Rules of the outputs whose ``--summary`` status is one of ``statuses``."""
    rules = set()
    for line in stdout.splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) >= 5 and cols[4] in statuses:
            rules.add(cols[2])
    return rules


def test_changed_parameter_is_detected_for_exactly_the_rules_reading_it(reference: Path) -> None:
    """``--summary`` marks "params changed" on exactly the outputs of the rules that read the
    changed key, and on none without a change (params are plain, stably ordered values).

    ``--list-changes params`` is not used: in Snakemake 9.27 it lists one output of every job
    even without a change (``ParamsChange.__or__`` hands back an empty change that still
    carries its file, and ``get_outputs_with_changes`` iterates it regardless of truth);
    ``--summary`` uses the truth value, as the scheduler does.
    """
    same = smk(reference, "--summary", timeout=600)
    assert same.returncode == 0, same.stderr[-3000:]
    assert "params changed" not in same.stdout
    cfg = [c for c in CONFIG if not c.startswith("networks=")]
    changed = smk(reference, "--summary", timeout=600, config=[
        *cfg, f"networks={{usrnn: {{{USRNN}, finetune_iterations: 4}}}}"])
    assert changed.returncode == 0, changed.stderr[-3000:]
    assert _params_changed(changed.stdout) == {"usrnn_train", "usrnn_report"}
    # one method more: the report changes, the trained method's training does not
    more = smk(reference, "--summary", timeout=600, config=[
        *cfg, "networks={usrnn: {iterations: 200, methods: [usrnn, srcnn]}}"])
    assert more.returncode == 0, more.stderr[-3000:]
    # Snakemake reports the report's new input file set before its params; the trained method's
    # training stays "ok" (only the new method's training is "missing").
    assert _params_changed(more.stdout, ("params changed", "set of input files changed")) == {
        "usrnn_report"}
