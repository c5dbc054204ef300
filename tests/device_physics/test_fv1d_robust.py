"""fv1d's edge safeguards (robust retry of a failed time step) on the calibrated stack."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from device_physics.fv1d import (
    FV1D,
    MAX_DENSITY_RISE,
    _density_step,
    _density_step_linear,
    dolfinx_mesh,
)
from device_physics.protocols import protocol_from_dict
from device_physics.stack import load_stack

ROOT = Path(__file__).resolve().parents[2]
NLEM = ROOT / "config" / "stacks" / "nlem.yaml"


def test_density_steps() -> None:
    d = np.array([-0.9, -0.6, -0.2, 0.3, 5.0, 1e60])
    s = _density_step(d)
    # decreases beyond half: exact step of one exponential, ln(1 + d)
    assert s[:2] == pytest.approx(np.log1p(d[:2]), rel=1e-12)
    # small changes: Newton's own; large rises: log-damped, capped at 1e8x
    assert s[2:4] == pytest.approx(d[2:4], rel=1e-12)
    assert s[4] == pytest.approx(1.0 + np.log(5.0), rel=1e-12)
    assert s[5] == pytest.approx(MAX_DENSITY_RISE, rel=1e-12)
    # the legacy linear step is bounded by 1000x down and 1e8x up
    lin = _density_step_linear(np.array([-1.0, 1e60]))
    assert lin == pytest.approx([np.log(1e-3), np.log(1e8)], rel=1e-12)


def test_dolfinx_mesh_has_the_trap_slab_as_a_sublayer() -> None:
    st = load_stack(NLEM)
    x, layer = dolfinx_mesh(st, 20)
    assert np.all(np.diff(x) > 0) and x[-1] == pytest.approx(st.interfaces[-1], rel=1e-12)
    assert len(layer) == len(x) - 1
    for b in st.interfaces:  # every interface is a node
        assert np.min(np.abs(x - b)) < 1e-9 * st.interfaces[-1]
    pvp = [la.name for la in st.layers].index("pvp")
    lower = st.interfaces[pvp]
    slab = max(t.width for t in st.layers[pvp].traps if t.location == "lower_interface")
    # the slab edge is a node and the slab holds at least 4 cells
    assert np.min(np.abs(x - (lower + slab))) < 1e-9 * st.interfaces[-1]
    assert np.sum((x > lower + 1e-15) & (x < lower + slab - 1e-15)) >= 3


@pytest.mark.long
def test_calibrated_stack_runs_through_the_first_falling_edge() -> None:
    # without the robust retry fv1d at 20 cells/layer on the calibrated stack failed right after
    # the first falling pulse edge (t = 30 ms): the quasi-Fermi potential of the absent QD holes
    # drifted by ~1000 thermal voltages and Newton's updates blew up. With the robust retry the
    # pulse, its falling edge and the following rest run; the stored state stays within the window.
    st = load_stack(NLEM)
    x, lay = dolfinx_mesh(st, 20)
    pr = protocol_from_dict({"name": "edge", "steps": [
        {"kind": "pulses", "amplitude": "5 V", "width": "30 ms", "interval": "2 ms",
         "count": 1}]})
    # dt_edge 1e-7: on the two-population traps with the shunt (the denser set) fv1d's first step
    # of 1e-6 s after the falling edge fails even with the robust retry
    sol = FV1D(st, x=x, layer=lay, rtol=0.05, wavelength=pr.wavelength, dt_edge=1e-7)
    sol.retry_sanitized = True
    sol.robust_retry = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tr = sol.run(pr, snapshots=False)
    a = tr.arrays()
    assert a["t"][-1] == pytest.approx(pr.duration)
    on = np.nonzero(a["V"] > 4.99)[0]
    i = on[-1]  # end of the pulse
    assert a["J"][i] > 10.0 and a["L"][i] > 1e18  # A/m^2, photons/(s m^2): the LED is on
    # both contacts carry the same current at the end of the pulse (1e-4: stepping tolerance)
    assert abs(a["J_anode"][i] / a["J_cathode"][i] - 1) < 1e-4
    assert abs(a["Qt_n"][-1]) > 0  # electrons were trapped
    nn = 3 * sol.dev.N
    assert np.max(np.abs(sol.z[1:nn:3])) < 1000 and np.max(np.abs(sol.z[2:nn:3])) < 1000
