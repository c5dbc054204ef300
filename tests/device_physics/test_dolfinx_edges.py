"""dolfinx time stepping across simultaneous waveform edges (the mechanism protocol's
UV switching off at the instant a 4 V read pulse switches on)."""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI  # noqa: F401  (before dolfinx)

from device_physics.protocols import protocol_from_dict
from device_physics.simulate import build_solver
from device_physics.stack import load_stack
from device_physics.timestepping import StepOptions, run_protocol

pytestmark = pytest.mark.dolfinx

STACK = "config/stacks/nlem.yaml"


def test_uv_off_and_read_on_at_the_same_instant() -> None:
    # the mechanism protocol in miniature: train, reads under UV, dark reads; the UV goes off
    # at t = 0.24 s exactly when the first dark read (4 V) goes on. dolfinx stalled at that
    # kind of edge (full mechanism protocol, single-population stack); the default-mesh
    # stepper settings of device_run must run through it.
    st = load_stack(STACK)
    pr = protocol_from_dict({"name": "edge", "wavelength": "365 nm", "steps": [
        {"kind": "pulses", "amplitude": "5 V", "width": "30 ms", "interval": "30 ms",
         "count": 2},
        {"kind": "pulses", "amplitude": "4 V", "width": "30 ms", "interval": "30 ms",
         "count": 2, "uv": "70 mW/cm2"},
        {"kind": "pulses", "amplitude": "4 V", "width": "30 ms", "interval": "30 ms",
         "count": 2}]})
    assert pr.waveform(0.2399) == (0.0, 700.0) and pr.waveform(0.24) == (4.0, 0.0)
    s, _ = build_solver(st, pr.wavelength, 20, 3.5)
    tr = run_protocol(s, pr, StepOptions(rtol=0.05, dt_max=pr.duration / 20)).arrays()
    assert tr["t"][-1] == pytest.approx(pr.duration)
    # the dark read right after the UV conducts (A/m^2) and emits (photons/(s m^2))
    m = (tr["t"] > 0.265) & (tr["t"] <= 0.27)
    assert np.all(tr["J"][m] > 1.0) and np.all(tr["L"][m] > 1e17)
