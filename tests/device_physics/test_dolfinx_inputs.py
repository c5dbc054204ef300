"""Bad input to the dolfinx solver fails before any solve, naming the parameter; the CLI
writes an HDF5 file per the data contract."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest
from mpi4py import MPI  # noqa: F401  (before dolfinx)

from device_physics.equations import DDContact, DDDevice, DDLayer, DDTrap
from device_physics.mesh import layered_nodes
from device_physics.solver import DDSolver
from device_physics.timestepping import StepOptions

BASE = dict(eps_r=3.0, chi=2.5, Eg=2.5, Nc=1e25, Nv=1e25, mu_n=1e-8, mu_p=1e-8)


@pytest.mark.parametrize("key,value", [("thickness", -1e-9), ("mu_n", 0.0), ("mu_p", -1.0),
                                       ("eps_r", 0.0), ("Nc", 0.0)])
def test_layer_rejects_nonpositive(key, value):
    kw = dict(BASE, thickness=50e-9)
    kw[key] = value
    with pytest.raises(ValueError, match=key):
        DDLayer("x", **kw)


def test_other_bad_inputs_name_the_parameter():
    with pytest.raises(ValueError, match="alpha_uv"):
        DDLayer("x", 50e-9, alpha_uv=-1.0, **BASE)
    with pytest.raises(ValueError, match="depth_eV"):
        DDTrap(density=1e20, depth_eV=0.0)
    with pytest.raises(ValueError, match="kind"):
        DDTrap(density=1e20, depth_eV=0.5, kind="ion")
    with pytest.raises(ValueError, match="layers"):
        DDDevice([])
    with pytest.raises(ValueError, match="workfunction"):
        DDContact(-4.0)
    with pytest.raises(ValueError, match="rtol"):
        StepOptions(rtol=0.0)
    with pytest.raises(ValueError, match="thickness"):
        layered_nodes([10e-9, -5e-9], 4)


@pytest.mark.dolfinx
def test_mesh_must_have_interface_nodes_and_uv_must_be_nonnegative():
    dev = DDDevice([DDLayer("a", 50e-9, **BASE), DDLayer("b", 50e-9, **BASE)])
    with pytest.raises(ValueError, match="interface"):
        DDSolver(dev, x=np.linspace(0, 100e-9, 8))  # no node at 50 nm
    s = DDSolver(dev, cells_per_layer=4)
    with pytest.raises(ValueError, match="uv intensity"):
        s.set_uv(-1.0)


@pytest.mark.dolfinx
def test_cli_writes_data_contract(tmp_path):
    from device_physics.cli import main

    stack = tmp_path / "s.yaml"
    stack.write_text(open("config/stacks/sclc_single_layer.yaml", encoding="utf-8").read())
    proto = tmp_path / "p.yaml"
    proto.write_text("name: short\nsteps:\n  - {kind: pulses, amplitude: 5 V, width: 1 us, "
                     "interval: 1 us, count: 1}\n")
    out = tmp_path / "out.h5"
    rc = main(["run", "--stack", str(stack), "--protocol", str(proto), "-o", str(out),
               "--cells-per-layer", "20", "--rtol", "1e-2"])
    assert rc == 0
    with h5py.File(out) as fh:
        for key in ("t", "V", "uv", "J", "L", "Qt_p", "Qt_n"):
            assert fh[f"trace/{key}"].shape == fh["trace/t"].shape
        assert fh["mesh/x"].shape[0] == fh["mesh/layer"].shape[0] + 1
        snap = fh["snapshots/0"]
        for key in ("psi", "n", "p", "nt", "pt", "E"):
            assert key in snap
        stats = json.loads(fh.attrs["solver_stats"])
        assert stats["steps"] > 0 and not stats["failed"]
        assert json.loads(fh.attrs["protocol"])["name"] == "short"
        assert "git_sha" in fh.attrs
        J, Jr = fh["trace/J"][1:], fh["trace/J_right"][1:]
        assert np.all(np.abs(J - Jr) <= 1e-6 * np.abs(J) + 1e-9)
        assert math.isclose(fh["trace/V"][np.argmin(np.abs(fh["trace/t"][:] - 0.5e-6))], 5.0)
    assert (tmp_path / "out_profiles.xdmf").exists()


def test_cli_rejects_bad_stack_before_solving(tmp_path, capsys):
    from device_physics.cli import main

    text = open("config/stacks/sclc_single_layer.yaml", encoding="utf-8").read()
    stack = tmp_path / "s.yaml"
    stack.write_text(text.replace("thickness: {value: 100,", "thickness: {value: -100,"))
    proto = tmp_path / "p.yaml"
    proto.write_text("name: p\nsteps:\n  - {kind: rest, duration: 1 s}\n")
    rc = main(["run", "--stack", str(stack), "--protocol", str(proto), "-o",
               str(tmp_path / "o.h5")])
    assert rc == 1
    assert "thickness" in capsys.readouterr().err
    assert not (tmp_path / "o.h5").exists()
