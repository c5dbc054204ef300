"""Checkpoints: round trip, missing file, and resume after a killed process."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from networks.checkpoint import load_checkpoint, restore_checkpoint, save_checkpoint
from networks.train import _selftest

ROOT = Path(__file__).resolve().parents[2]


def test_missing_checkpoint_is_none(tmp_path):
    assert load_checkpoint(tmp_path / "nope.pt") is None


def test_round_trip_restores_model_optimiser_and_rng(tmp_path):
    m = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(m.parameters())
    m(torch.randn(4, 3)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "c" / "last.pt", model=m, optimizer=opt, step=7)
    expect = torch.rand(3)
    ck = load_checkpoint(tmp_path / "c" / "last.pt")
    m2 = torch.nn.Linear(3, 2)
    opt2 = torch.optim.Adam(m2.parameters())
    restore_checkpoint(ck, model=m2, optimizer=opt2)
    assert ck["step"] == 7
    assert torch.equal(m2.weight, m.weight)
    assert torch.equal(torch.rand(3), expect)  # global torch RNG restored
    assert opt2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]


def _run(args, **kw):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "networks.train", *map(str, args)],
                            cwd=ROOT, env=env, **kw)


@pytest.mark.long
def test_resume_after_kill_matches_uninterrupted_run(tmp_path):
    ref = tmp_path / "ref.pt"
    _selftest([str(ref), str(tmp_path / "ref_ckpt.pt")])  # uninterrupted, in this process
    ck = tmp_path / "ckpt.pt"
    p = _run([tmp_path / "killed.pt", ck, 0.15])
    t0 = time.time()
    while time.time() - t0 < 60:  # wait until it has checkpointed a few steps
        c = load_checkpoint(ck) if ck.exists() else None
        if c is not None and c["step"] >= 3:
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    mid = load_checkpoint(ck)["step"]
    assert 3 <= mid < 24, "kill must land mid-training (24 steps in all)"
    assert not (tmp_path / "killed.pt").exists()
    out = tmp_path / "resumed.pt"
    assert _run([out, ck]).wait(timeout=120) == 0
    a, b = torch.load(ref), torch.load(out)
    for k in a:
        if k.endswith("noise_state"):
            continue
        assert torch.equal(a[k], b[k]), k
