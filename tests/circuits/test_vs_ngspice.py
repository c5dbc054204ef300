"""The solver against ngspice (Debian ngspice-39, run with tight tolerances)."""

from __future__ import annotations

import numpy as np
import pytest

from circuits.__main__ import main
from circuits.crossbar import (
    LinearCrossbar,
    build_crossbar_netlist,
    diode_cell_iv,
    solve_nonlinear_batch,
)
from circuits.mna import compile_netlist
from circuits.netlist import DiodeModel
from circuits.photodiode import PhotodiodeParams, photodiode_currents, pixel_netlist
from circuits.spice import ngspice_available, parse_spice, run_ngspice, to_spice

pytestmark = pytest.mark.skipif(not ngspice_available(), reason="ngspice is not installed")


@pytest.mark.parametrize(("n", "readout"), [(4, "tia"), (16, "tia"), (48, "tia"), (12, "load")])
def test_linear_crossbar_matches_ngspice(n: int, readout: str) -> None:
    rng = np.random.default_rng(n)
    g = rng.uniform(1e-6, 1e-4, (n, n))
    v = rng.uniform(0.0, 0.2, n)
    net = build_crossbar_netlist(v, 1.0, g, readout=readout, r_load=1e3)
    ng = run_ngspice(net)
    if readout == "tia":
        ref = np.array([ng[f"vt{j}#branch"] for j in range(n)])
    else:
        ref = np.array([ng[f"out{j}"] / 1e3 for j in range(n)])
    xb = LinearCrossbar(g, 1.0, readout, r_load=1e3)
    res = compile_netlist(net).solve_op()
    mna = (np.array([res.tia_current(f"vt{j}") for j in range(n)]) if readout == "tia"
           else np.array([res.v(f"out{j}") / 1e3 for j in range(n)]))
    # column currents within 1e-9 relative of ngspice
    for got in (xb.solve(v, "direct").currents, xb.solve(v, "cg").currents, mna):
        assert np.max(np.abs(got / ref - 1.0)) < 1e-9


def test_diode_crossbar_matches_ngspice() -> None:
    n, m = 6, 5
    rng = np.random.default_rng(3)
    dm = DiodeModel(is_=1e-12, n=1.5)
    v = rng.uniform(-0.5, 1.0, n)  # some rows reverse biased
    net = build_crossbar_netlist(v, 2.0, cells="diode", diode=dm, states=np.zeros((n, m)))
    ng = run_ngspice(net)
    ref = np.array([ng[f"vt{j}#branch"] for j in range(m)])
    res = compile_netlist(net).solve_op()
    mna = np.array([res.tia_current(f"vt{j}") for j in range(m)])
    batch, _ = solve_nonlinear_batch(diode_cell_iv(dm), v[None], (n, m), 2.0)
    scale = np.abs(ref).max()
    # nonlinear crossbar within 1e-6 (relative to the largest column current)
    assert np.max(np.abs(mna - ref)) / scale < 1e-6
    assert np.max(np.abs(batch[0] - ref)) / scale < 1e-6


@pytest.mark.parametrize(("readout", "bias"), [("tia", 0.0), ("tia", 2.0), ("load", 0.0)])
def test_photodiode_pixels_match_ngspice(readout: str, bias: float) -> None:
    p = np.array([0.0, 1e-9, 1e-7, 1e-5, 1e-4, 3e-3])
    pd = PhotodiodeParams(responsivity=0.3, i_dark=1e-11, n=1.2, rs=50.0, rsh=1e8)
    net = pixel_netlist(p, pd, readout, bias, 1e4)
    ng = run_ngspice(net)
    if readout == "tia":
        ref = np.array([ng[f"vt{k}#branch"] for k in range(len(p))])
    else:
        ref = np.array([ng[f"a{k}"] / 1e4 for k in range(len(p))])
    fast = photodiode_currents(p, pd, readout, v_bias=bias, r_load=1e4)
    res = compile_netlist(net).solve_op()
    mna = (np.array([res.tia_current(f"vt{k}") for k in range(len(p))]) if readout == "tia"
           else np.array([res.v(f"a{k}") / 1e4 for k in range(len(p))]))
    # photodiode pixels within 1e-9 (relative to the largest pixel current)
    scale = np.abs(ref).max()
    assert np.max(np.abs(fast - ref)) / scale < 1e-9
    assert np.max(np.abs(mna - ref)) / scale < 1e-9


NETLIST = """subcircuit divider with a diode
V1 in 0 DC 2
X1 in mid half
X2 mid 0 dload
I1 0 mid 0.5m
.subckt half a b
R1 a b 1k
.ends
.subckt dload p n
D1 p q dm
R2 q n 500
.ends
.model dm D(IS=1e-14 N=1.3 RS=5)
.op
.end
"""


def test_cli_op_matches_ngspice(tmp_path, capsys) -> None:  # noqa: ANN001
    f = tmp_path / "net.cir"
    f.write_text(NETLIST)
    assert main(["op", str(f)]) == 0
    out = capsys.readouterr().out
    ng = run_ngspice(NETLIST.replace(".op\n", ""))
    got = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and (parts[0].startswith("V(") or parts[0].endswith("#branch")):
            key = parts[0][2:-1] if parts[0].startswith("V(") else parts[0]
            got[key] = float(parts[1])
    for key in ("in", "mid", "x2.q", "v1#branch"):
        # printed with 7 significant digits, like ngspice -b
        assert got[key] == pytest.approx(ng[key], rel=1e-6, abs=1e-15)
    net = parse_spice(NETLIST)
    res = compile_netlist(net).solve_op()
    assert res.v("x2.q") == pytest.approx(ng["x2.q"], rel=1e-9)
    # the export of a parsed netlist solves to the same point in ngspice
    ng2 = run_ngspice(to_spice(net, analysis=""))
    assert ng2["x2.q"] == pytest.approx(ng["x2.q"], rel=1e-9)


def test_cli_reports_malformed(tmp_path, capsys) -> None:  # noqa: ANN001
    f = tmp_path / "bad.cir"
    f.write_text("t\nV1 1 0 1\nZ1 1 0 5\n")
    assert main(["op", str(f)]) == 1
    assert "line 3" in capsys.readouterr().err


def test_nlem_crossbar_exported_as_pwl_matches_ngspice() -> None:
    import compact_model

    m = compact_model.load("paper")
    w = np.random.default_rng(0).uniform(0, 0.1, (2, 3))
    net = build_crossbar_netlist(np.array([4.0, 3.0]), 1.0, cells="nlem", nlem_model=m,
                                 states=w)
    res = compile_netlist(net).solve_op()
    mine = np.array([res.tia_current(f"vt{j}") for j in range(3)])
    ng = run_ngspice(net)
    ref = np.array([ng[f"vt{j}#branch"] for j in range(3)])
    # ngspice sees the compact model as a 401-point PWL table (25 mV steps): interpolation
    # error of the exponential-like I-V, not solver error, sets this tolerance
    assert np.max(np.abs(mine / ref - 1)) < 1e-5
