"""Progress of long steps: log lines where there is no terminal (a Snakemake rule's log),
from the device steppers (simulated time) and from training (epoch and loss)."""

from __future__ import annotations

import logging

import pytest
from mpi4py import MPI  # noqa: F401  (before dolfinx)

from lemsim import progress
from lemsim.progress import Progress


@pytest.fixture
def every_update(monkeypatch):
    """A log line at every update (no wall-time wait) and no tqdm bar."""
    monkeypatch.setattr(progress, "LOG_INTERVAL_S", 0.0)
    monkeypatch.setenv("LEMSIM_PROGRESS", "log")


def _lines(caplog, word: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if word in r.getMessage()]


def test_progress_lines_and_quiet_short_steps(caplog, monkeypatch) -> None:
    monkeypatch.setenv("LEMSIM_PROGRESS", "log")
    caplog.set_level(logging.INFO)
    with Progress(4, "points", "points", every=2) as bar:
        for _ in range(4):
            bar.update(1, loss=0.5)
    msgs = _lines(caplog, "points:")
    assert msgs[0].startswith("points: 2 / 4 points (50 %), loss 0.5")
    assert msgs[-1].startswith("points: done, 4 / 4 points (100 %)")
    caplog.clear()
    with Progress(4, "quick", "points") as bar:  # shorter than the interval: silent
        bar.update(4)
    assert not _lines(caplog, "quick")


def test_dolfinx_run_reports_simulated_time(caplog, every_update) -> None:
    from device_physics.protocols import protocol_from_dict
    from device_physics.simulate import build_solver
    from device_physics.stack import load_stack
    from device_physics.timestepping import StepOptions, run_protocol

    proto = protocol_from_dict({"name": "short", "steps": [
        {"kind": "pulses", "amplitude": "5 V", "width": "3 ms", "interval": "1 ms",
         "count": 1}]})
    s, _ = build_solver(load_stack("config/stacks/nlem.yaml"), cells_per_layer=4)
    caplog.set_level(logging.INFO)
    run_protocol(s, proto, StepOptions(rtol=0.05))
    msgs = _lines(caplog, "device short:")
    assert len(msgs) >= 3 and "s simulated" in msgs[0] and "steps" in msgs[0]
    assert msgs[-1].startswith("device short: done, 0.004 / 0.004 s simulated (100 %)")


def test_fv1d_run_reports_simulated_time(caplog, every_update) -> None:
    from device_physics.fv1d import FV1D
    from device_physics.protocols import protocol_from_dict
    from device_physics.stack import load_stack

    proto = protocol_from_dict({"name": "short", "steps": [
        {"kind": "pulses", "amplitude": "5 V", "width": "1 ms", "interval": "1 ms",
         "count": 1}]})
    caplog.set_level(logging.INFO)
    FV1D(load_stack("config/stacks/nlem.yaml"), 3, rtol=0.05).run(proto, snapshots=False)
    msgs = _lines(caplog, "fv1d short:")
    assert len(msgs) >= 3 and msgs[-1].startswith("fv1d short: done, 0.002 / 0.002 s")


def test_training_reports_epoch_and_loss(caplog, every_update) -> None:
    import torch

    from networks.train import TrainSpec, fit

    torch.manual_seed(0)
    x, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
    caplog.set_level(logging.INFO)
    fit(torch.nn.Linear(4, 2), x, y, TrainSpec(epochs=2, batch_size=8, lr=0.1), desc="tiny")
    msgs = _lines(caplog, "tiny:")
    assert any("epoch 2/2" in m and "loss" in m for m in msgs)
    assert msgs[-1].startswith("tiny: done, 8 / 8 steps")
