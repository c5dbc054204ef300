"""Property tests of the SPICE parser (hypothesis).

Random valid netlists (resistor networks with DC and waveform sources, ``m=``) survive
export → parse → solve bit for bit; random corruptions of them (dropped tokens, unreadable
numbers, bad suffixes, unsupported elements) end in a :class:`NetlistError` naming the line,
or, where the corruption leaves a valid netlist, in a solved one: never another exception.
"""

from __future__ import annotations

import contextlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.expressions import NUMBER
from circuits.mna import ConvergenceError, compile_netlist
from circuits.netlist import GROUND, ISource, Netlist, NetlistError, Resistor, VSource
from circuits.spice import parse_spice, to_spice
from circuits.waveforms import Exp, Pulse, Pwl, Sin

EXAMPLES = 60


@st.composite
def networks(draw) -> Netlist:  # noqa: ANN001
    n = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    net = Netlist(title="random network")
    nodes = [GROUND] + [f"n{k}" for k in range(1, n + 1)]
    for k in range(1, n + 1):  # spanning tree: every node has a DC path to ground
        net.add(Resistor(f"rt{k}", nodes[k], nodes[rng.integers(0, k)],
                         float(10 ** rng.uniform(-1, 7))))
    for k in range(draw(st.integers(0, 2 * n))):
        a, b = rng.choice(len(nodes), 2, replace=False)
        net.add(Resistor(f"rx{k}", nodes[a], nodes[b], float(10 ** rng.uniform(-1, 7))))
    waves = [None, Pulse(float(rng.normal()), 1.0, 1e-6, 1e-7, 1e-7, 1e-6, 5e-6),
             Sin(float(rng.normal()), 0.5, 1e3, 0.0, 0.0, float(rng.uniform(0, 360))),
             Pwl((0.0, 1e-6, 2e-6), tuple(float(v) for v in rng.normal(size=3))),
             Exp(float(rng.normal()), 2.0, 1e-6, 1e-6, 3e-6, 1e-6)]
    wf = waves[draw(st.integers(0, 4))]
    net.add(VSource("v0", nodes[1], GROUND, float(rng.uniform(-5, 5)), waveform=wf))
    for k in range(draw(st.integers(0, 3))):
        a, b = rng.choice(len(nodes), 2, replace=False)
        net.add(ISource(f"i{k}", nodes[a], nodes[b], float(rng.uniform(-1e-3, 1e-3)),
                        waveform=waves[draw(st.integers(0, 4))],
                        m=float(draw(st.sampled_from([1.0, 2.0, 0.5])))))
    return net


@settings(max_examples=EXAMPLES, deadline=None)
@given(networks())
def test_export_parse_solve_round_trip(net: Netlist) -> None:
    direct = compile_netlist(net).solve_op()
    back = parse_spice(to_spice(net))
    again = compile_netlist(back).solve_op()
    assert direct.voltages == again.voltages
    assert direct.branch_currents == again.branch_currents
    # and the text is a fixed point of export ∘ parse
    assert to_spice(back) == to_spice(parse_spice(to_spice(back)))


def _element_lines(text: str) -> list[int]:
    lines = text.splitlines()
    return [k for k, ln in enumerate(lines) if k > 0 and ln[:1].isalpha()]


UNSUPPORTED = "EFGHKLMOQSTUWYZ"
NOT_NUMBERS = st.text("0123456789.eE+-kmgx%#@!~", min_size=1, max_size=6).filter(
    lambda s: not NUMBER.fullmatch(s) and not s[:1].isalpha())


def _solved_or_named(text: str, line: int | None = None) -> None:
    try:
        net = parse_spice(text)
    except NetlistError as err:
        assert str(err).startswith(f"line {err.line}:")
        if line is not None:
            assert err.line == line, (str(err), line)
        return
    assert line is None, f"corruption on line {line} was accepted:\n{text}"
    # a corruption that still parses is a valid circuit: it solves, or ends in the named
    # ConvergenceError (e.g. a value turned into 1e300); any other exception fails the test
    with contextlib.suppress(ConvergenceError):
        compile_netlist(net).solve_op()


@settings(max_examples=EXAMPLES, deadline=None)
@given(networks(), st.data())
def test_dropped_token_gives_named_error_or_valid_netlist(net: Netlist, data) -> None:  # noqa: ANN001
    lines = to_spice(net).splitlines()
    k = data.draw(st.sampled_from(_element_lines("\n".join(lines))))
    toks = lines[k].split()
    j = data.draw(st.integers(0, len(toks) - 1))
    lines[k] = " ".join(toks[:j] + toks[j + 1:])
    _solved_or_named("\n".join(lines) + "\n")


@settings(max_examples=EXAMPLES, deadline=None)
@given(networks(), st.data())
def test_bad_number_gives_named_error(net: Netlist, data) -> None:  # noqa: ANN001
    lines = to_spice(net).splitlines()
    rs = [k for k in _element_lines("\n".join(lines)) if lines[k][0] == "R"]
    k = data.draw(st.sampled_from(rs))
    toks = lines[k].split()
    bad = data.draw(st.one_of(NOT_NUMBERS, st.sampled_from(["%", "#", "!", "~"]).map(
        lambda s: toks[3] + s)))
    lines[k] = " ".join([*toks[:3], bad])
    _solved_or_named("\n".join(lines) + "\n", line=k + 1)


@settings(max_examples=EXAMPLES, deadline=None)
@given(networks(), st.data())
def test_unsupported_element_gives_named_error(net: Netlist, data) -> None:  # noqa: ANN001
    lines = to_spice(net).splitlines()
    k = data.draw(st.integers(1, len(lines) - 1))
    letter = data.draw(st.sampled_from(UNSUPPORTED))
    lines.insert(k, f"{letter}9 n1 0 1k")
    _solved_or_named("\n".join(lines) + "\n", line=k + 1)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(alphabet="RCVIDXBrvi01abn .=(){}+-*/,;'\n*kmu", max_size=120))
def test_arbitrary_text_never_raises_another_exception(text: str) -> None:
    _solved_or_named("title\n" + text)
