"""Cross-check: the dolfinx solver against the independent finite-volume solver ``fv1d`` on
the full N-LEM stack, on the same mesh: pulse-train current and light traces agree
within 1 %."""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI  # noqa: F401  (before dolfinx)

from device_physics.fv1d import FV1D
from device_physics.protocols import protocol_from_dict, pulse_train
from device_physics.simulate import build_solver
from device_physics.stack import load_stack
from device_physics.timestepping import StepOptions, run_protocol

pytestmark = pytest.mark.dolfinx

STACK = "config/stacks/nlem.yaml"
RTOL = 1e-3


def _same_mesh(cells: int):
    st = load_stack(STACK)
    s, ad = build_solver(st, cells_per_layer=cells)
    return st, s, np.asarray(ad.parent)[s.layer]


def test_steady_state_agrees_on_full_stack():
    st, s, parent = _same_mesh(10)
    f = FV1D(st, x=s.x, layer=parent)
    z = f.equilibrium()
    s.equilibrium()
    for v in (2.0, 5.0):
        for vv in np.arange(0.5, v + 1e-9, 0.5):
            z = f.steady(float(vv), z0=z)
        s.steady(v, dV_max=0.5)
        jf = f.terminal_current(z)[0]
        jd = s.steady_current()
        # same discrete physics on the same mesh: agreement far below the 1 % of the issue
        assert abs(jd / jf - 1) < 1e-4, (v, jd, jf)


def test_ten_pulse_traces_agree_within_one_percent():
    # the check: ten pulses of the paper train (5 V, 30 ms on, 30 ms off), current and
    # light traces of the two solvers on the same coarse mesh (8 cells per layer: a comparison
    # of solvers, not of mesh convergence; fv1d's Newton fails at 6). Compared 1 ms, 10 ms and
    # 29.7 ms into every pulse, where J and L are on the scale of the signal (in the first
    # microseconds L is 1e-8 of its plateau and the interpolation between the two time grids
    # dominates). Measured on the single-population stack: J 1.1e-4, L 2.0e-3.
    st, s, parent = _same_mesh(8)
    proto = protocol_from_dict({"name": "p10", "steps": [pulse_train(10)]})
    tr_d = run_protocol(s, proto, StepOptions(rtol=RTOL)).arrays()
    fv = FV1D(st, x=s.x, layer=parent, rtol=RTOL, wavelength=proto.wavelength)
    tr_f = fv.run(proto).arrays()
    windows = proto.pulse_windows()
    assert len(windows) == 10
    times = np.concatenate([w[0] + np.array([1e-3, 1e-2, 0.99 * (w[1] - w[0])])
                            for w in windows])
    for key in ("J", "L"):
        d = np.interp(times, tr_d["t"], tr_d[key])
        f = np.interp(times, tr_f["t"], tr_f[key])
        rel = np.abs(d - f) / np.abs(f)
        assert rel.max() < 0.01, (key, rel.max())  # issue: 1 %


def test_uv_after_a_pulse_agrees_within_one_percent():
    # UV erase physics in both solvers (Beer-Lambert generation, optical emission of trapped
    # electrons, recombination with photo-holes): one 5 V pulse, then 70 mW/cm2 of 365 nm UV
    # at 0 V, same 8-cell mesh. Compared during the pulse and under the UV (photocurrent,
    # photoluminescence counted as L, trapped electrons). Measured (10 ms pulse,
    # 5 ms UV): J 6.7e-4, L 1.1e-3, trapped electrons 1.1e-3.
    st, s, parent = _same_mesh(8)
    proto = protocol_from_dict({"name": "p_uv", "wavelength": "365 nm", "steps": [
        {"kind": "pulses", "amplitude": "5 V", "width": "5 ms", "interval": "1 ms",
         "count": 1},
        {"kind": "uv", "intensity": "70 mW/cm2", "duration": "3 ms", "bias": "0 V"}]})
    tr_d = run_protocol(s, proto, StepOptions(rtol=RTOL)).arrays()
    fv = FV1D(st, x=s.x, layer=parent, rtol=RTOL, wavelength=proto.wavelength)
    tr_f = fv.run(proto, snapshots=False).arrays()
    times = np.array([2e-3, 4.9e-3, 6.1e-3, 7e-3, 8.9e-3])
    # one data contract: both write the trapped-electron charge as a magnitude (>= 0)
    assert np.all(tr_d["Qt_n"] >= 0) and np.all(tr_f["Qt_n"] >= 0)
    assert np.all(tr_d["Qt_p"] >= 0) and np.all(tr_f["Qt_p"] >= 0)
    for key in ("J", "L", "Qt_n"):
        d = np.abs(np.interp(times, tr_d["t"], tr_d[key]))
        f = np.abs(np.interp(times, tr_f["t"], tr_f[key]))
        rel = np.abs(d - f) / f
        assert rel.max() < 0.01, (key, rel.max())  # issue: 1 %
    assert np.all(tr_f["J"][tr_f["t"] > 6.05e-3] < 0)  # photocurrent at 0 V
