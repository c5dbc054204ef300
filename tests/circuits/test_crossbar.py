"""Crossbar solvers: ideal wires, batching, CG non-convergence reporting, N-LEM cells."""

from __future__ import annotations

import numpy as np
import pytest

import compact_model
from circuits.crossbar import (
    LinearCrossbar,
    build_crossbar_netlist,
    differential,
    nlem_cell_iv,
    solve_nonlinear_batch,
)
from circuits.mna import ConvergenceError, compile_netlist


def test_zero_wire_resistance_is_gt_v() -> None:
    rng = np.random.default_rng(0)
    g = rng.uniform(1e-6, 1e-4, (7, 9))
    v = rng.uniform(-0.2, 0.2, 7)
    ref = g.T @ v
    got = LinearCrossbar(g, 0.0).solve(v).currents
    net = build_crossbar_netlist(v, 0.0, g)
    res = compile_netlist(net).solve_op()
    mna = np.array([res.tia_current(f"vt{j}") for j in range(9)])
    # r = 0 equals Gᵀ·V within 1e-12 relative
    assert np.max(np.abs(got - ref) / np.abs(ref)) < 1e-12
    assert np.max(np.abs(mna - ref) / np.abs(ref)) < 1e-12


def test_batched_solves_equal_single_solves_and_cg_equals_direct() -> None:
    rng = np.random.default_rng(1)
    g = rng.uniform(1e-6, 1e-4, (20, 12))
    v = rng.uniform(0, 0.2, (20, 5))
    xb = LinearCrossbar(g, 1.0)
    direct = xb.solve(v, "direct").currents
    cg = xb.solve(v, "cg")
    single = np.stack([xb.solve(v[:, k], "direct").currents for k in range(5)], axis=1)
    # same factorisation, same numbers up to round-off
    assert np.allclose(direct, single, rtol=1e-13, atol=0)
    assert cg.converged and cg.iterations < 60
    assert np.max(np.abs(cg.currents / direct - 1)) < 1e-10  # CG tol 1e-13 on the residual
    assert np.allclose(differential(direct), direct[0::2] - direct[1::2])


def test_cg_reports_non_convergence() -> None:
    rng = np.random.default_rng(2)
    g = rng.uniform(1e-2, 1e-1, (40, 40))  # r·Gmax·N² large: hard for the line preconditioner
    xb = LinearCrossbar(g, 1.0)
    v = rng.uniform(0, 0.2, 40)
    with pytest.raises(ConvergenceError, match="did not converge"):
        xb.solve(v, "cg", max_iter=3)
    sol = xb.solve(v, "cg", max_iter=3, raise_on_fail=False)
    assert not sol.converged and sol.residual > 1e-13


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="r_wire"):
        LinearCrossbar(np.ones((2, 2)), -1.0)
    with pytest.raises(ValueError, match="readout"):
        LinearCrossbar(np.ones((2, 2)), 1.0, readout="adc")
    with pytest.raises(ValueError, match="method"):
        LinearCrossbar(np.ones((2, 2)), 1.0).solve(np.ones(2), method="lu")


def test_nlem_crossbar_batched_equals_mna() -> None:
    m = compact_model.load("paper")
    rng = np.random.default_rng(4)
    w = rng.uniform(0, 0.1, (3, 4))
    v = np.array([4.0, 0.0, 3.0])
    net = build_crossbar_netlist(v, 5.0, cells="nlem", nlem_model=m, states=w)
    res = compile_netlist(net).solve_op()
    mna = np.array([res.tia_current(f"vt{j}") for j in range(4)])
    batch, vc = solve_nonlinear_batch(nlem_cell_iv(m, w), v[None], (3, 4), 5.0)
    # same equations, two solvers: agreement to round-off of the Newton stopping test
    assert np.max(np.abs(batch[0] - mna)) / np.abs(mna).max() < 1e-9
    # the cells see nearly their row voltage; rectifying: row 1 at 0 V gives ~0 current
    assert np.all(np.abs(vc[0, 0] - 4.0) < 1e-3)
    ideal = m.current(v[:, None], w).sum(axis=0)
    assert np.max(np.abs(mna / ideal - 1)) < 1e-3


def test_nlem_light_follows_the_solved_voltage() -> None:
    m = compact_model.load("paper")
    w = np.full((2, 2), 0.05)
    net = build_crossbar_netlist(np.array([4.0, 0.0]), 1.0, cells="nlem", nlem_model=m,
                                 states=w)
    out = compile_netlist(net).solve_op().nlem_outputs()
    assert out["x0_0"]["light"] > 0 and out["x1_0"]["light"] == 0.0  # dark at 0 V
    assert out["x0_0"]["v"] == pytest.approx(4.0, abs=1e-3)
    assert out["x0_0"]["optical_power"] > 0
