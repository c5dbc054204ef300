"""fv1d: the independent finite-volume drift-diffusion solver, verified."""

from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

from device_physics.fv1d import FV1D, write_h5
from device_physics.stack import load_stack
from device_physics.units import EPS0, Q

STACKS = Path(__file__).resolve().parents[2] / "config" / "stacks"


def test_jacobian_matches_finite_differences() -> None:
    """Analytic Jacobian of the full N-LEM system (traps, BDF term) vs central FD, UV off and
    on (UV on: the trap rows, which hold the optical emission of trapped electrons; in the
    continuity rows the constant generation, ~1e19 per box, drowns central differences)."""
    s = load_stack(STACKS / "nlem.yaml")
    sol = FV1D(s, nodes_per_layer=5, ratio=1.2)
    d = sol.dev
    z = sol.steady(1.0)
    rng = np.random.default_rng(0)
    z = z + rng.normal(0, 0.01, z.size)
    z[3 * d.N:] = np.clip(z[3 * d.N:], 0.05, 0.95)
    hist = -d.storage(z) * 1e6
    assert np.any(d.traps.so > 0)  # the stack's traps are photo-emitting
    for uv, rows in ((0.0, slice(None)), (700.0, slice(3 * d.N, None))):
        F, J = d.assemble(z, 1.0, uv, 1e6, hist)
        J = J.toarray()
        Jfd = np.zeros_like(J)
        for k in range(z.size):
            e = 1e-6
            zp, zm = z.copy(), z.copy()
            zp[k] += e
            zm[k] -= e
            Jfd[:, k] = (d.assemble(zp, 1.0, uv, 1e6, hist, jac=False)[0]
                         - d.assemble(zm, 1.0, uv, 1e6, hist, jac=False)[0]) / (2 * e)
        J, Jfd = J[rows], Jfd[rows]
        scale = np.abs(J).max(axis=1, keepdims=True)
        # tolerance: central differences with step 1e-6 are accurate to ~1e-8 of the row scale
        assert np.max(np.abs(J - Jfd) / scale) < 1e-5, uv


def test_optical_emission_rate_of_trapped_electrons() -> None:
    """Trap rows carry -sigma_opt * Phi(x) * f under UV, Phi the Beer-Lambert photon flux."""
    from device_physics.units import photon_energy_j

    s = load_stack(STACKS / "nlem.yaml")
    sol = FV1D(s, nodes_per_layer=5, ratio=1.2)
    d = sol.dev
    z = sol.equilibrium()
    z[3 * d.N:] = 0.5
    f0 = d.assemble(z, 0.0, 0.0, 0.0, None, jac=False)[0][3 * d.N:]
    f1 = d.assemble(z, 0.0, 700.0, 0.0, None, jac=False)[0][3 * d.N:]
    # expected: photon flux at the trap node = 700 W/m^2 / E_photon * exp(-sum alpha h) over
    # the cells between the lit anode and the node
    sigma = s.layers[2].traps[0].photoemission
    alpha = np.array([s.layers[i].absorption(365e-9) for i in d.layer])
    od = np.concatenate([[0.0], np.cumsum(alpha * d.h)])
    phi = 700.0 / photon_energy_j(365e-9) * np.exp(-od[d.traps.node])
    # the residual is -(capture - emission): optical emission adds + e_opt * f
    assert np.allclose(f1 - f0, sigma * phi * 0.5, rtol=1e-12)
    assert sigma * phi.max() * 0.5 > 0.1  # a rate of order 1/s (not a no-op)


def test_uv_switch_on_after_a_pulse() -> None:
    """UV switched on at 0 V right after a pulse (holes underflow to 0 in ZnO and the QDs)
    solves: the photo predictor (FV1D.photo_predictor) starts Newton from the densities the
    first step generates. Without it Newton fails at the UV edge (measured on this
    protocol: phi_n in the PEDOT, |update| 6e9 after 25 iterations)."""
    from device_physics.protocols import protocol_from_dict

    s = load_stack(STACKS / "nlem.yaml")
    sol = FV1D(s, nodes_per_layer=6, ratio=1.2, rtol=0.05, dt_edge=1e-6)
    sol.newton_tol_transient = 1e-4
    proto = protocol_from_dict({"name": "p_uv", "wavelength": "365 nm", "steps": [
        {"kind": "pulses", "amplitude": "5 V", "width": "10 ms", "interval": "1 ms",
         "count": 1},
        {"kind": "uv", "intensity": "70 mW/cm2", "duration": "20 ms", "bias": "0 V"}]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tr = sol.run(proto, snapshots=False).arrays()
    assert tr["t"][-1] == pytest.approx(31e-3)
    under_uv = tr["t"] > 11.5e-3
    # photocurrent at 0 V flows against the forward direction (holes to the anode)
    assert np.all(tr["J"][under_uv] < 0)


def test_uv_switch_on_empties_filled_traps() -> None:
    """UV switched on at 0 V on a state with half-filled PVP electron traps (holes ~0 in ZnO
    and the QDs before) solves: the photo predictor (FV1D.photo_predictor) starts Newton from
    the generated densities (without it Newton failed at the UV edge). The UV then empties
    trapped electrons (optical emission, recombination with QD holes) down to its own
    photo-steady level, set by IDTBT photoelectrons refilling the interface traps."""
    from device_physics.protocols import protocol_from_dict

    s = load_stack(STACKS / "nlem.yaml")
    sol = FV1D(s, nodes_per_layer=6, ratio=1.2, rtol=0.05, dt_edge=1e-6)
    sol.newton_tol_transient = 1e-4
    d = sol.dev
    z = sol.equilibrium()
    z[3 * d.N:] = 0.5  # 1.5e12 cm^-2 trapped: more than 10 paper pulses leave
    proto = protocol_from_dict({"name": "uv", "wavelength": "365 nm", "steps": [
        {"kind": "uv", "intensity": "70 mW/cm2", "duration": "0.5 s", "bias": "0 V"}]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tr = sol.run(proto, z0=z, snapshots=False).arrays()
    q0 = d.trapped_charge(z)[1]
    assert tr["t"][-1] == pytest.approx(0.5)
    # optical emission at ~3 1/s for 0.5 s leaves ~exp(-1.5) = 0.22 (recapture adds a little);
    # 0.5: a clear drop, not rounding
    assert tr["Qt_n"][-1] < 0.5 * q0, (tr["Qt_n"][-1], q0)


def test_sclc_mott_gurney() -> None:
    """Trap-free hole-only diode: J = 9/8 eps mu V^2 / L^3 within 2 % at V >> Vt."""
    s = load_stack(STACKS / "sclc_single_layer.yaml")
    la = s.layers[0]
    sol = FV1D(s, nodes_per_layer=200, ratio=1.03)
    ratios = []
    for v in (10.0, 40.0):
        z = sol.steady(v, dv_max=2.0)
        j = sol.terminal_current(z)[2]
        ratios.append(j / (9 / 8 * EPS0 * la.eps_r * la.mu_p * v**2 / la.thickness**3))
    # diffusion lowers J at moderate V; it approaches Mott-Gurney from below
    assert ratios[0] < ratios[1]
    # tolerance from the issue: 2 % (measured: 0.991 at 40 V)
    assert abs(ratios[1] - 1.0) < 0.02


def test_pn_diode_ideal_law_and_conservation() -> None:
    """Short-base Si diode on a graded mesh: ideal-diode law within 5 %, J equal at both ends."""
    s = load_stack(STACKS / "si_pn_diode.yaml")
    sol = FV1D(s, nodes_per_layer=100, ratio=1.05)
    pl, nl = s.layers
    vt = sol.dev.vt
    ni = pl.ni(vt)
    na, nd = pl.N_A, nl.N_D
    eps = EPS0 * pl.eps_r
    vbi = vt * np.log(na * nd / ni**2)
    for v in (0.3, 0.4, 0.5):
        z = sol.steady(v)
        ja, jc, jm = sol.terminal_current(z)
        w = np.sqrt(2 * eps * (vbi - v) * (1 / na + 1 / nd) / Q)
        xp, xn = w * nd / (na + nd), w * na / (na + nd)
        j0 = Q * ni**2 * (pl.mu_n * vt / (na * (pl.thickness - xp))
                          + nl.mu_p * vt / (nd * (nl.thickness - xn)))
        # tolerance from the issue: 5 % (measured: 0.3 %)
        assert jm / (j0 * np.expm1(v / vt)) == pytest.approx(1.0, rel=0.05)
        # current conservation: every cell carries the same current within 1e-6 relative
        # plus the rounding floor of its own majority-carrier flux (issue: "above the
        # rounding floor"); the weighted terminal current uses the best-conditioned cells
        jn, jp = sol.dev.currents(z)
        floor = sol.dev.current_floor(z)
        assert np.all(np.abs(jn + jp - jm) <= 1e-6 * abs(jm) + floor)
        assert abs(ja - jc) <= 1e-6 * abs(jm) + floor[0] + floor[-1]


def _interface_trap_nlem():
    """The N-LEM stack with a wide-gap PVP (effective levels 2.0 / 5.5 eV) and hole and
    electron traps at its two interfaces, on which this solver check was measured (107 s,
    contact currents within 1.3e-7). The calibrated stack (electrons crossing the PVP to traps
    at its IDTBT side) is stiffer: at rtol 0.1 on 6 cells the default stepper stops at 0.48 s
    (Newton on phi_p in the QD); it runs with ``FV1D.retry_sanitized`` (calibration runs) and
    with dolfinx (``test_cross_dolfinx_fv1d.py``)."""
    import yaml

    from device_physics.stack import stack_from_dict

    d = yaml.safe_load((STACKS / "nlem.yaml").read_text(encoding="utf-8"))
    pvp = next(la for la in d["layers"] if la["name"] == "pvp")
    pvp["chi"]["value"], pvp["Eg"]["value"] = 2.0, 3.5
    dep = {"kind": "gaussian", "mean": 0.62, "sigma": 0.06, "levels": 5, "unit": "eV",
           "source": "interface-trap test stack"}
    common = {"location": "lower_interface", "width": {"value": 3, "unit": "nm", "source": "test"},
              "depth": dep, "capture": {"value": 1e-16, "unit": "cm3/s", "source": "test"},
              "recombination": {"value": 1e-14, "unit": "cm3/s", "source": "test"}}
    pvp["traps"] = [
        {"name": "h", "carrier": "hole", **common,
         "density": {"value": 5e11, "unit": "cm-2", "source": "test"}},
        {"name": "e", "carrier": "electron", **dict(common, location="upper_interface"),
         "density": {"value": 2e11, "unit": "cm-2", "source": "test"}}]
    return stack_from_dict(d, "interface-trap nlem")


@pytest.mark.long
def test_full_stack_ten_pulses(tmp_path: Path) -> None:
    """The N-LEM stack runs the 10-pulse protocol (5 V, 30 ms) to the end on a coarse mesh,
    conserves current, emits light in every pulse, and writes the data contract."""
    from device_physics.fv1d_study import pulse_end_values
    from device_physics.protocols import load_protocol

    s = _interface_trap_nlem()
    p = load_protocol(STACKS.parent / "protocols" / "pulses_10.yaml")
    # coarse settings to stay in the test budget (~100 s); peaks agree with rtol = 0.05,
    # dt_edge = 1e-9 to 0.1 % (measured)
    sol = FV1D(s, nodes_per_layer=6, ratio=1.2, rtol=0.1, dt_edge=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tr = sol.run(p)
    a = tr.arrays()
    assert a["t"][-1] == pytest.approx(p.duration)
    pk = pulse_end_values(tr, p)
    assert pk["J"].size == 10
    assert np.all(pk["J"] > 1.0) and np.all(pk["L"] > 1e15)  # A/m^2, photons/(s m^2)
    # both contacts carry the same total (conduction + displacement) current: 1e-6 relative
    # while the device conducts (|J| > 1 A/m^2; below that the PEDOT rounding floor shows)
    on = np.abs(a["J"]) > 1.0
    assert np.max(np.abs(a["J_anode"][on] - a["J_cathode"][on]) / np.abs(a["J"][on])) < 1e-6
    out = write_h5(tmp_path / "pulses_10.h5", sol, tr, p)
    with h5py.File(out) as fh:
        for key in ("mesh/x", "mesh/layer", "trace/t", "trace/V", "trace/uv", "trace/J",
                    "trace/L", "trace/Qt_p", "trace/Qt_n"):
            assert key in fh
        assert len(fh["snapshots"]) > 0 and "psi" in fh["snapshots/0"]
        assert "stack" in fh.attrs and "protocol" in fh.attrs
