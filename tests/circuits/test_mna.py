"""MNA solver: transient RC, GMIN stepping, batched RHS, converters, element checks."""

from __future__ import annotations

import numpy as np
import pytest

from circuits.converters import ADC, DAC
from circuits.mna import compile_netlist
from circuits.netlist import (
    Capacitor,
    Diode,
    DiodeModel,
    ISource,
    Netlist,
    Photodiode,
    Resistor,
    VSource,
)


def test_rc_transient_matches_exponential() -> None:
    net = Netlist()
    net.add(VSource("v1", "in", "0", 1.0))
    net.add(Resistor("r1", "in", "out", 1e3))
    net.add(Capacitor("c1", "out", "0", 1e-6))
    circ = compile_netlist(net)
    tau = 1e-3
    errs = []
    for dt in (tau / 50, tau / 100):
        t, x = circ.transient(3 * tau, dt)
        vout = x[:, circ.node_index["out"]]
        errs.append(np.max(np.abs(vout - (1 - np.exp(-t / tau)))))
    # backward Euler is first order: error ≈ dt/(2e·tau) and halves with dt
    assert errs[0] < 0.01
    assert 1.8 < errs[0] / errs[1] < 2.2


def test_gmin_stepping_rescues_a_hard_start() -> None:
    net = Netlist()
    dm = DiodeModel(is_=1e-16, n=1.0)
    net.add(ISource("i1", "0", "a", 1.0))  # 1 A into a chain of diodes: steep start
    for k in range(4):
        net.add(Diode(f"d{k}", "a" if k == 0 else f"n{k}", f"n{k + 1}" if k < 3 else "0", dm))
    net.add(Resistor("r1", "a", "0", 1e9))
    circ = compile_netlist(net)
    plain = circ.solve_op(max_iter=5, vstep=0.1)  # too few iterations: must fall back to GMIN
    assert plain.gmin_steps > 0
    ref = circ.solve_op(max_iter=400, vstep=0.1)
    assert plain.v("a") == pytest.approx(ref.v("a"), rel=1e-10)
    # each junction carries 1 A: Vd = Vt·ln(1/IS)
    vt = dm.vte
    assert plain.v("a") == pytest.approx(4 * vt * np.log(1.0 / 1e-16 + 1), rel=1e-6)


def test_batched_rhs_factor_once() -> None:
    net = Netlist()
    net.add(VSource("v1", "a", "0", 1.0))
    net.add(Resistor("r1", "a", "b", 2.0))
    net.add(Resistor("r2", "b", "0", 2.0))
    net.add(ISource("i1", "0", "b", 0.0))
    circ = compile_netlist(net)
    s = circ.source_matrix({"v1": np.array([0.0, 1.0, 2.0]), "i1": np.array([0.0, 0.0, 1.0])},
                           3)
    x = circ.solve_linear_batch(s)
    vb = x[circ.node_index["b"]]
    assert np.allclose(vb, [0.0, 0.5, 2.0], atol=1e-14)


def test_photodiode_element_reverse_biased() -> None:
    net = Netlist()
    net.add(VSource("vb", "k", "0", 1.0))
    net.add(Photodiode("pd1", "a", "k", power_w=1e-6, responsivity=0.5, i_dark=1e-12,
                       rs=0.0, rsh=0.0))
    net.add(Resistor("r1", "a", "0", 1.0))
    res = compile_netlist(net).solve_op()
    # photocurrent 0.5 µA plus the (SPICE-form) reverse saturation current and gmin leakage
    assert res.v("a") / 1.0 == pytest.approx(0.5e-6 + 1e-12 + 1e-12, rel=1e-3)


def test_converters() -> None:
    dac = DAC(3, 0.0, 7.0)
    assert np.array_equal(dac(np.array([0.0, 0.5, 1.0, 2.0])), [0.0, 4.0, 7.0, 7.0])
    adc = ADC(8, -1.0, 1.0)
    x = np.linspace(-1, 1, 101)
    assert np.max(np.abs(adc(x) - x)) <= adc.lsb / 2 + 1e-15
    assert adc(np.array([5.0]))[0] == 1.0
    with pytest.raises(ValueError, match="bits"):
        DAC(0)
    with pytest.raises(ValueError, match="range"):
        ADC(8, 1.0, 1.0)
