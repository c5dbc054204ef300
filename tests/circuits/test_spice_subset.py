"""Every form of the SPICE subset against ``ngspice -b`` (Debian ngspice-39).

``.op``: every node voltage and source current within 1e-6 relative (measured: round-off).
``.tran``: lemsim integrates on the time points ngspice accepted, with the same method
(``.options maxord=1``: backward Euler; ``method=trap``: trapezoidal with a backward-Euler step
after t = 0 and each breakpoint, as ngspice), within 1e-3 of the signal (measured: ~1e-11);
lemsim's own fixed grid is within 1e-3 of ngspice too.
"""

from __future__ import annotations

import numpy as np
import pytest

from circuits.analyses import run_tran
from circuits.mna import compile_netlist
from circuits.spice import (
    ngspice_available,
    parse_spice,
    run_file,
    run_ngspice,
    run_ngspice_tran,
    to_spice,
)

pytestmark = pytest.mark.skipif(not ngspice_available(), reason="ngspice is not installed")


def op_error(text: str) -> float:
    """Largest relative difference between lemsim's and ngspice's .op (all vectors)."""
    net = parse_spice(text)
    res = compile_netlist(net, validate=False).solve_op()
    ours = {**res.voltages, **{f"{k}#branch": v for k, v in res.branch_currents.items()}}
    ng = run_ngspice(text)
    keys = [k for k in ng if k in ours]
    assert len(keys) >= len(ours) - sum("#" in k and "branch" not in k for k in ours)
    return max(abs(ours[k] - ng[k]) / max(abs(ng[k]), 1e-30) if abs(ng[k]) > 1e-14
               else abs(ours[k] - ng[k]) for k in keys)


OP_CASES = {
    "pulse": "V1 1 0 PULSE(0.7 2 1n 1n 1n 5n 10n)\nR1 1 2 1k\nD1 2 0 dm\n",
    "sin": "V1 1 0 SIN(0.5 1 1k 0 0 30)\nR1 1 2 1k\nD1 2 0 dm\n",
    "pwl": "V1 1 0 PWL(0 0.9 1m 1)\nR1 1 2 1k\nD1 2 0 dm\n",
    "exp": "V1 1 0 EXP(0.8 1 1n 1n 2n 1n)\nR1 1 2 1k\nD1 2 0 dm\n",
    "dc_beats_waveform": "V1 1 0 DC 1.2 PULSE(0 2 0 1n)\nR1 1 2 1k\nD1 2 0 dm\n",
    "isrc_waveforms": "I1 0 1 SIN(1m 1m 1k 0 0 90)\nI2 0 1 PWL(0 2m 1 3m) m=3\n"
                      "I3 0 1 ac 1 exp(1m 2m)\nR1 1 2 1k\nD1 2 0 dm\n",
    "m_r_d_i": "V1 1 0 1\nR1 1 2 1k m=2\nD1 2 0 dm m=3\nI1 0 2 1m m=2.5\nR2 2 0 r=3k\n",
    "m_subckt": "V1 in 0 1\nX1 in 0 cell m=4\nX2 in 0 cell\nX3 in 0 cell2\n.subckt cell a b\n"
                "R1 a c 1k\nD1 c b dm\nI1 a b 1m\n.ends\n.subckt cell2 a b\nR2 a b 2k m=2\n"
                ".ends\n",
    "param": ".param rv=2k k2=3 vsup={1.5*k2**2/9 + sqrt(4)-2}\n.param rr = rv*2^2\n"
             "V1 1 0 {vsup}\nR1 1 2 {rr/4}\nR3 2 0 {max(rv, 1k)+pow(2,3)}\nD1 2 0 dm\n",
    "subckt_params": "V1 1 0 2\nX1 1 2 rr params: r=2k\nX2 2 0 rr\nX3 2 0 rr r={1k*3}\n"
                     ".subckt rr a b params: r=1k\nR1 a b {r}\n.ends\n",
    "comment_between_continuations": "V1 1 0\n* the value follows\n+ DC 1\nR1 1 2\n"
                                     "* comment\n\n+ 1k ; end comment\nD1 2 0 dm\n",
    "temp_75": "V1 1 0 1.5\nR1 1 2 100\nD1 2 0 dm\nD2 2 0 dn\n"
               ".model dn D(IS=2e-12 N=1.8 RS=3 EG=0.69 XTI=2)\n.options temp=75\n",
    "temp_m40_tnom": "V1 1 0 1.5\nR1 1 2 100\nD1 2 0 dm\n.options temp=-40 tnom=50\n",
    "temp_card": "V1 1 0 0.8\nR1 1 2 10\nD1 2 0 dm\n.temp 120\n",
}


@pytest.mark.parametrize("case", sorted(OP_CASES))
def test_op_matches_ngspice(case: str) -> None:
    text = f"{case}\n{OP_CASES[case]}.model dm D(IS=1e-14 N=1.3 RS=5)\n.op\n.end\n"
    err = op_error(text)
    assert err < 1e-9, err  # measured: at most 4e-13


def test_temperature_changes_the_answer() -> None:
    # the temperature really acts (guards against a test that passes with it ignored)
    cold = OP_CASES["temp_75"].replace("temp=75", "temp=27")
    a = compile_netlist(parse_spice(f"t\n{OP_CASES['temp_75']}.model dm D(IS=1e-14)\n")).solve_op()
    b = compile_netlist(parse_spice(f"t\n{cold}.model dm D(IS=1e-14)\n")).solve_op()
    assert abs(a.v("2") / b.v("2") - 1) > 0.05


def test_parsed_netlist_exports_and_reads_back_identically() -> None:
    for case, body in OP_CASES.items():
        text = f"{case}\n{body}.model dm D(IS=1e-14 N=1.3 RS=5)\n.op\n.end\n"
        net = parse_spice(text)
        again = parse_spice(to_spice(net))
        x1 = compile_netlist(net).solve_op().voltages
        x2 = compile_netlist(again).solve_op().voltages
        # internal nodes of diodes are named after the element, which export prefixes
        assert {k: v for k, v in x1.items() if "#" not in k} == {
            k: v for k, v in x2.items() if "#" not in k}, case


def test_nlem_export_round_trip() -> None:
    import compact_model
    from circuits.crossbar import build_crossbar_netlist

    m = compact_model.load("paper")
    w = np.random.default_rng(1).uniform(0, 0.1, (2, 3))
    net = build_crossbar_netlist(np.array([4.0, 3.0]), 1.0, cells="nlem", nlem_model=m,
                                 states=w)
    text = to_spice(net)
    back = parse_spice(text)
    ours = compile_netlist(back).solve_op()
    ng = run_ngspice(back)
    got = np.array([ours.tia_current(f"vt{j}") for j in range(3)])
    ref = np.array([ng[f"vt{j}#branch"] for j in range(3)])
    # the parsed B pwl elements are exactly what ngspice solves
    assert np.max(np.abs(got / ref - 1)) < 1e-9
    orig = compile_netlist(net).solve_op()
    direct = np.array([orig.tia_current(f"vt{j}") for j in range(3)])
    # against the compact model itself: the 25 mV PWL table's interpolation error
    assert np.max(np.abs(got / direct - 1)) < 1e-5
    # and exporting the parsed netlist again gives the same text for the cells
    assert [ln for ln in to_spice(back).splitlines() if ln.startswith("B")] == [
        ln for ln in text.splitlines() if ln.startswith("B")]


TRAN_WAVES = ["PULSE(0 1 10u 5u 5u 30u 100u)", "SIN(0.2 1 20k 5u 1e3 30)",
              "PWL(0 0 10u 1 40u 1 50u -0.5)", "EXP(0 1 5u 10u 60u 20u)"]


def tran_text(wave: str, method: str) -> str:
    return (f"rc with a diode\nV1 in 0 {wave}\nR1 in out 1k\nC1 out 0 10n m=2\nD1 out 0 dm\n"
            f"R2 out 0 5k\nI1 0 out PULSE(0 0.2m 20u 1u 1u 10u)\n.model dm D(IS=1e-14 N=1.5)\n"
            f".options {method}\n.tran 0.5u 100u 0 0.2u\n.end\n")


@pytest.mark.parametrize("method", ["maxord=1", "method=trap"])
@pytest.mark.parametrize("wave", TRAN_WAVES)
def test_tran_matches_ngspice(wave: str, method: str) -> None:
    text = tran_text(wave, method)
    net = parse_spice(text)
    (tran,) = net.analyses
    ng = run_ngspice_tran(text, ".tran 0.5u 100u 0 0.2u", ["v(out)", "i(v1)"])
    same = run_tran(net, tran, times=ng["time"])
    for mine, ref in ((same.voltages["out"], ng["v(out)"]),
                      (same.branch_currents["v1"], ng["i(v1)"])):
        assert np.max(np.abs(mine - ref)) / np.max(np.abs(ref)) < 1e-6
    own = run_tran(net, tran)  # lemsim's fixed 0.2 µs grid (tmax) plus the waveform corners
    ref = np.interp(own.times, ng["time"], ng["v(out)"])
    assert np.max(np.abs(own.voltages["out"] - ref)) / np.max(np.abs(ref)) < 1e-3


def test_tran_uic_and_tstart() -> None:
    text = ("rc uic\nV1 in 0 DC 1\nR1 in out 1k\nC1 out 0 1n\n.options maxord=1\n"
            ".tran 10n 5u 1u 10n uic\n.end\n")
    net = parse_spice(text)
    ng = run_ngspice_tran(text, ".tran 10n 5u 0 10n uic", ["v(out)"])
    res = run_tran(net, net.analyses[0], times=ng["time"])
    assert res.times[0] >= 1e-6
    keep = ng["time"] >= 1e-6 * (1 - 1e-12)
    assert np.max(np.abs(res.voltages["out"] - ng["v(out)"][keep])) < 1e-9
    # uic: the capacitor starts discharged, not at the operating point (1 V)
    assert res.voltages["out"][0] < 0.7


def test_cli_run_prints_tran(tmp_path, capsys) -> None:  # noqa: ANN001
    from circuits.__main__ import main

    f = tmp_path / "rc.cir"
    f.write_text("rc\nV1 in 0 PULSE(0 1 0 1n)\nR1 in out 1k\nC1 out 0 1n\n"
                 ".tran 10n 1u\n.end\n")
    assert main(["run", str(f)]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0].split("\t")[:3] == ["time", "v(in)", "v(out)"]
    t, vin, vout = (float(x) for x in rows[-1].split("\t")[:3])
    assert t == pytest.approx(1e-6) and vin == 1.0
    assert vout == pytest.approx(1 - np.exp(-1.0), abs=0.01)
    assert run_file(f).startswith("time")
