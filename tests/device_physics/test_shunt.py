"""The stack's shunt conductance (``shunt_conductance``): a charge-independent, non-emitting
leakage path in parallel with the drift-diffusion device. It adds ``G_sh * V`` to the terminal
current of both solvers and changes nothing else (state, light, trapped charge)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from mpi4py import MPI  # noqa: F401  (before dolfinx)

from device_physics.fv1d import FV1D
from device_physics.protocols import protocol_from_dict
from device_physics.simulate import build_solver
from device_physics.stack import StackError, stack_from_dict
from device_physics.timestepping import StepOptions, run_protocol

STACK = "config/stacks/nlem.yaml"
G = 20.0  # A/(m2 V): the size the paper's current/light gains ask for (docs/calibration.md)
RTOL = 1e-3


def _stack_data() -> dict:
    with open(STACK, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _with_shunt(value, unit: str = "A/(m2*V)") -> dict:
    d = _stack_data()
    d["shunt_conductance"] = {"value": value, "unit": unit, "source": "test"}
    return d


def _proto():
    # one short 5 V pulse and a pause: bias-on, bias-off and 0 V points in the trace
    return protocol_from_dict({"name": "shunt", "steps": [
        {"kind": "pulses", "amplitude": "5 V", "width": "3 ms", "interval": "1 ms",
         "count": 1}]})


def test_absent_is_zero_and_units_convert():
    d = _stack_data()
    d.pop("shunt_conductance", None)
    assert stack_from_dict(d).shunt_conductance == 0.0
    assert stack_from_dict(_with_shunt(2e-3, "S/cm2")).shunt_conductance == pytest.approx(20.0)
    assert stack_from_dict(_with_shunt(G)).shunt_conductance == G
    assert stack_from_dict(_with_shunt(0.0)).shunt_conductance == 0.0


@pytest.mark.parametrize("value,unit", [(-1.0, "A/(m2*V)"), (float("nan"), "S/m2"),
                                        (1.0, "A/m2")])
def test_bad_shunt_raises_naming_the_parameter(value, unit):
    with pytest.raises(StackError, match="shunt_conductance"):
        stack_from_dict(_with_shunt(value, unit))


def test_solvers_reject_negative_shunt():
    st = stack_from_dict(_stack_data())
    with pytest.raises(ValueError, match="shunt_conductance"):
        build_solver(_Neg(st), cells_per_layer=4)


class _Neg:
    """A stack whose shunt bypassed the loader's check (the solver checks it again)."""

    def __init__(self, st):
        self._st = st

    def __getattr__(self, k):
        return -1.0 if k == "shunt_conductance" else getattr(self._st, k)


def _runs(cells: int = 8):
    """dolfinx and fv1d traces, each without and with the shunt, on the same mesh."""
    out = {}
    proto = _proto()
    for g in (0.0, G):
        st = stack_from_dict(_with_shunt(g))
        s, ad = build_solver(st, cells_per_layer=cells)
        out["d", g] = run_protocol(s, proto, StepOptions(rtol=RTOL)).arrays()
        fv = FV1D(st, x=s.x, layer=np.asarray(ad.parent)[s.layer], rtol=RTOL,
                  wavelength=proto.wavelength)
        out["f", g] = fv.run(proto, snapshots=False).arrays()
    return out


@pytest.fixture(scope="module")
def runs():
    return _runs()


@pytest.mark.dolfinx
@pytest.mark.parametrize("solver", ["d", "f"])
def test_shunt_adds_g_v_and_nothing_else(runs, solver):
    a, b = runs[solver, 0.0], runs[solver, G]
    # the shunt is not in the equations: same time steps, same state, same light
    np.testing.assert_array_equal(a["t"], b["t"])
    np.testing.assert_array_equal(a["V"], b["V"])
    np.testing.assert_array_equal(a["L"], b["L"])
    np.testing.assert_array_equal(a["Qt_n"], b["Qt_n"])
    assert a["V"].max() == pytest.approx(5.0) and a["V"].min() == 0.0
    # J differs by exactly G V at every time point (tolerance: float rounding of J ~ 1e2 A/m2)
    keys = ("J", "J_right") if solver == "d" else ("J", "J_anode", "J_cathode", "J_conduction")
    for k in keys:
        np.testing.assert_allclose(b[k] - a[k], G * a["V"], rtol=0, atol=1e-9 * np.abs(a[k]).max(),
                                   err_msg=k)


@pytest.mark.dolfinx
def test_cross_check_with_shunt(runs):
    # dolfinx and fv1d agree with the shunt on (the same 1 % as test_cross_dolfinx_fv1d),
    # compared inside the pulse where J is on the scale of the signal
    d, f = runs["d", G], runs["f", G]
    times = np.array([0.5e-3, 1e-3, 2e-3, 2.9e-3])
    for key in ("J", "L"):
        jd = np.interp(times, d["t"], d[key])
        jf = np.interp(times, f["t"], f[key])
        assert np.max(np.abs(jd - jf) / np.abs(jf)) < 0.01, key


@pytest.mark.dolfinx
def test_steady_current_includes_shunt():
    st0 = stack_from_dict(_with_shunt(0.0))
    st1 = stack_from_dict(_with_shunt(G))
    j = []
    for st in (st0, st1):
        s, _ = build_solver(st, cells_per_layer=6)
        s.equilibrium()
        s.steady(2.0, dV_max=0.5)
        j.append(s.steady_current())
    assert j[1] - j[0] == pytest.approx(2.0 * G, rel=1e-9)


def test_fv1d_steady_terminal_current_includes_shunt():
    # the bias is read from the state (contact quasi-Fermi levels) when not given
    j = []
    for g in (0.0, G):
        f = FV1D(stack_from_dict(_with_shunt(g)), 4)
        z = f.equilibrium()
        for v in (0.5, 1.0):
            z = f.steady(v, z0=z)
        j.append(f.terminal_current(z))
    for k in range(3):
        assert j[1][k] - j[0][k] == pytest.approx(1.0 * G, rel=1e-9)
