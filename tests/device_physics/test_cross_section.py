"""The 2D pixel cross-section (``device_physics.cross_section``): its fluxes are the 1D
scheme for a laterally uniform state, and the centre of a wide electrode reproduces the 1D
solver through a voltage pulse."""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI  # noqa: F401  (before dolfinx)

from device_physics.cross_section import CrossSection, run_cross_section
from device_physics.protocols import protocol_from_dict, pulse_train
from device_physics.simulate import build_solver
from device_physics.stack import load_stack
from device_physics.timestepping import StepOptions, run_protocol

pytestmark = pytest.mark.dolfinx

STACK = "config/stacks/nlem.yaml"


def _pair(cells: int, nx: int, width: float, electrode: float):
    s1, ad = build_solver(load_stack(STACK), cells_per_layer=cells)
    return s1, CrossSection(ad.device, s1.x, width=width, electrode_width=electrode, nx=nx)


def test_uniform_state_gives_the_1d_residual():
    s1, cs = _pair(4, 4, 1e-6, 1e-6)
    s1.equilibrium()
    s1.steady(1.0, dV_max=0.25)
    cs._set_bias(1.0)
    cs.set_steady()
    # a smooth perturbation of the converged state, so that every row is far from zero
    arr = s1.nodal().copy()
    yy = s1.x / s1.x[-1]
    arr[:, 0] += 0.3 * np.sin(np.pi * yy)
    arr[:, 1] += 0.2 * np.cos(np.pi * yy)
    arr[:, 2] -= 0.2 * np.sin(2 * np.pi * yy)
    s1.set_nodal(arr)
    cs.set_from_1d(arr)
    r1 = s1._residual_nodal()
    hx = cs.width / cs.nx / cs.sc.L0
    r2 = cs._assemble_residual().reshape(-1, cs.ncomp)[cs.order] / hx
    # the centre column of the 2D residual is the 1D residual times the column width: the 2D
    # fluxes reduce to the 1D Scharfetter-Gummel fluxes (rounding and the 1e-12 V_t smoothing
    # of |.| in the 2D spread)
    scale = np.abs(r1[1:-1]).max(axis=0)
    err = np.abs(r2 - r1)[1:-1].max(axis=0) / scale
    assert np.all(err[:3] < 1e-9), err[:3]


def test_bad_geometry_is_rejected():
    s1, ad = build_solver(load_stack(STACK), cells_per_layer=2)
    with pytest.raises(ValueError, match="electrode_width"):
        CrossSection(ad.device, s1.x, width=1e-6, electrode_width=2e-6)
    with pytest.raises(ValueError, match="nx"):
        CrossSection(ad.device, s1.x, width=1e-6, electrode_width=1e-6, nx=5)


def test_centre_of_wide_electrode_reproduces_1d_through_a_pulse(tmp_path):
    # 2 um wide pixel, 1.6 um electrode (the centre is 0.8 um, 5 stack thicknesses, from its
    # edges), one 5 V pulse of 20 us; 3 cells per stack layer and 6 columns (CI budget).
    # The 2D run goes through run_cross_section (trace + centre-line snapshots in HDF5, 2D
    # profiles in XDMF), the 1D run through the 1D solver on the same nodes.
    import h5py

    proto_path = tmp_path / "p1.yaml"
    proto_path.write_text("name: p1\nsteps:\n  - {kind: pulses, amplitude: 5 V, width: 20 us, "
                          "interval: 20 us, count: 1}\n")
    out = tmp_path / "cs.h5"
    run_cross_section(STACK, proto_path, out, width=2e-6, electrode_width=1.6e-6, nx=6,
                      cells_per_layer=3)
    assert (tmp_path / "cs_2d.xdmf").exists() and (tmp_path / "cs_2d.h5").exists()
    s1, _ = build_solver(load_stack(STACK), cells_per_layer=3)
    proto = protocol_from_dict({"name": "p1", "steps": [pulse_train(1, width=2e-5,
                                                                    interval=2e-5)]})
    tr1 = run_protocol(s1, proto, StepOptions(rtol=1e-3))
    with h5py.File(out) as fh:
        snaps = [(float(g.attrs["t"]), {k: g[k][:] for k in ("psi", "p")})
                 for _, g in sorted(fh["snapshots"].items(), key=lambda kv: int(kv[0]))]
    assert len(snaps) == len(tr1.snapshots) == 3
    for (ta, pa), (tb, pb) in zip(tr1.snapshots, snaps, strict=True):
        assert ta == tb
        # centre-line potential within 3 mV of the 1D one (measured <= 1.0 mV; the 5 V
        # pulse drops ~5 V across the stack)
        assert np.abs(pa["psi"] - pb["psi"]).max() < 3e-3, ta
        # hole density (the carrier of the current) within 10 % where holes are present
        # (above 1e-3 of their maximum)
        mask = pa["p"] > 1e-3 * pa["p"].max()
        assert np.abs(pb["p"][mask] / pa["p"][mask] - 1).max() < 0.1, ta
