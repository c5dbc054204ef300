"""Random circuits satisfy KCL at every node (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.mna import compile_netlist
from circuits.netlist import GROUND, Diode, DiodeModel, ISource, Netlist, Resistor, VSource


@st.composite
def random_circuit(draw) -> Netlist:  # noqa: ANN001
    n = draw(st.integers(2, 9))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    net = Netlist(title="random")
    nodes = [GROUND] + [f"n{k}" for k in range(1, n + 1)]
    for k in range(1, n + 1):  # spanning tree of resistors: every node has a DC path
        other = nodes[rng.integers(0, k)]
        net.add(Resistor(f"rt{k}", nodes[k], other, float(10 ** rng.uniform(0, 6))))
    for k in range(draw(st.integers(0, 2 * n))):
        a, b = rng.choice(len(nodes), 2, replace=False)
        net.add(Resistor(f"rx{k}", nodes[a], nodes[b], float(10 ** rng.uniform(0, 6))))
    net.add(VSource("v0", nodes[1], GROUND, float(rng.uniform(-2, 2))))
    for k in range(draw(st.integers(0, 3))):
        a, b = rng.choice(len(nodes), 2, replace=False)
        net.add(ISource(f"i{k}", nodes[a], nodes[b], float(rng.uniform(-1e-3, 1e-3))))
    dm = DiodeModel(is_=1e-14, n=1.0 + rng.uniform(0, 1))
    for k in range(draw(st.integers(0, 3))):
        a, b = rng.choice(len(nodes), 2, replace=False)
        net.add(Diode(f"d{k}", nodes[a], nodes[b], dm))
    return net


@settings(max_examples=40, deadline=None)
@given(random_circuit())
def test_kcl_at_every_node(net: Netlist) -> None:
    res = compile_netlist(net).solve_op()
    cur = res.element_currents()
    sums: dict[str, float] = {}
    for el in net.elements:
        i = cur[el.name]
        a, b = el.nodes
        sums[a] = sums.get(a, 0.0) + i  # leaves the first node
        sums[b] = sums.get(b, 0.0) - i  # enters the second
    biggest = max(abs(i) for i in cur.values())
    for node, s in sums.items():
        if node != GROUND:
            # KCL to 1e-10 of the largest current
            assert abs(s) <= 1e-10 * biggest + 1e-20, (node, s, biggest)
