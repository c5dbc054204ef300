"""Guards of the time stepper.

- Wall-time limit of a physics run (``max_wall_s``): both solvers stop with the trace computed
  so far and say where; the study runner turns that into a ``failed: wall-time limit`` row
  instead of holding the DAG. A limit of 0 means none; a negative one is refused before any
  solve.
- Stalled segments (``StepOptions.stall_steps``): the dolfinx stepper switches the density floor
  on for the rest of a segment that takes too many steps, and off again at the next knot.
"""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI  # noqa: F401  (before dolfinx)

from device_physics.fv1d import FV1D, SolverError
from device_physics.protocols import protocol_from_dict
from device_physics.simulate import DENSITY_FLOOR, build_solver
from device_physics.stack import load_stack
from device_physics.studies import run_variant
from device_physics.timestepping import StepFailure, StepOptions, run_protocol

STACK = "config/stacks/nlem.yaml"
# a limit far below the time of one step (the first steps alone take milliseconds)
TINY = 1e-9


def _proto():
    return protocol_from_dict({"name": "wall", "steps": [
        {"kind": "pulses", "amplitude": "5 V", "width": "3 ms", "interval": "1 ms",
         "count": 2}]})


def test_step_options_reject_negative_limit():
    with pytest.raises(ValueError, match="max_wall_s"):
        StepOptions(max_wall_s=-1.0)


@pytest.mark.dolfinx
def test_dolfinx_stops_at_the_limit_and_keeps_the_trace():
    st = load_stack(STACK)
    s, _ = build_solver(st, cells_per_layer=4)
    proto = _proto()
    with pytest.raises(StepFailure, match="wall-time limit max_wall_s") as exc:
        run_protocol(s, proto, StepOptions(rtol=0.05, max_wall_s=TINY))
    tr = exc.value.trace.arrays()
    # the initial point and the first accepted step are kept, and the run ended early
    assert len(tr["t"]) >= 2
    assert 0 < tr["t"][-1] < proto.duration
    assert exc.value.trace.stats["failed"] is True


def test_fv1d_stops_at_the_limit_and_keeps_the_trace():
    st = load_stack(STACK)
    fv = FV1D(st, 3, rtol=0.05)
    fv.max_wall_s = TINY
    proto = _proto()
    with pytest.raises(SolverError, match="wall-time limit max_wall_s") as exc:
        fv.run(proto, snapshots=False)
    t = np.asarray(exc.value.trace.t)
    assert len(t) >= 2 and 0 < t[-1] < proto.duration


@pytest.mark.parametrize(
    "solver", [pytest.param("dolfinx", marks=pytest.mark.dolfinx),
               pytest.param("fv1d", marks=pytest.mark.long)])
def test_study_run_reports_the_limit_as_its_status(solver):
    res = run_variant(STACK, _proto(), nodes_per_layer=3, solver=solver, max_wall_s=TINY,
                      robust_retry=False)
    assert res.status.startswith("failed:") and "wall-time limit" in res.status
    # no limit: the same run completes
    full = run_variant(STACK, _proto(), nodes_per_layer=3, solver=solver, max_wall_s=0.0,
                       robust_retry=False)
    assert full.status == "complete"


def test_study_run_rejects_negative_limit():
    with pytest.raises(ValueError, match="max_wall_s"):
        run_variant(STACK, _proto(), nodes_per_layer=3, max_wall_s=-5.0)


def test_stall_steps_must_be_positive():
    with pytest.raises(ValueError, match="stall_steps"):
        StepOptions(stall_steps=0)


@pytest.mark.dolfinx
def test_stalled_segment_runs_with_the_floor_and_switches_it_off_at_the_knot():
    st = load_stack(STACK)
    proto = _proto()
    s0, _ = build_solver(st, cells_per_layer=4)
    assert s0.ln_floor_stall == pytest.approx(np.log(DENSITY_FLOOR))
    ref = run_protocol(s0, proto, StepOptions(rtol=0.05))
    assert ref.stats["floor_segments"] == 0  # healthy segments: the floor never comes on
    # every segment "stalls" after 3 steps: the floor is on for the rest of each
    s1, _ = build_solver(st, cells_per_layer=4)
    tr = run_protocol(s1, proto, StepOptions(rtol=0.05, stall_steps=3))
    assert tr.stats["floor_segments"] >= 4  # two pulses: at least four segments
    assert s1.ln_floor < -1e299  # off again after the last knot
    a, b = ref.arrays(), tr.arrays()
    assert b["t"][-1] == pytest.approx(proto.duration)
    # the floor (1e-20 N0) is far below every carrier that carries current or light here: the
    # peak current and light agree (1e-2: two different step sequences at rtol 0.05, measured
    # 4e-3 for the light)
    for k in ("J", "L"):
        assert np.max(b[k]) == pytest.approx(np.max(a[k]), rel=1e-2)
    # no solver floor configured: nothing is switched on
    s2, _ = build_solver(st, cells_per_layer=4)
    s2.ln_floor_stall = None
    tr2 = run_protocol(s2, proto, StepOptions(rtol=0.05, stall_steps=3))
    assert tr2.stats["floor_segments"] == 0
