"""Malformed SPICE netlists, and forms outside the subset, give a NetlistError naming the line."""

from __future__ import annotations

import pytest

from circuits.__main__ import main
from circuits.netlist import Netlist, NetlistError, Resistor, VSource
from circuits.spice import parse_spice
from tests.circuits.bad_netlists import BAD

GOOD = """title
V1 1 0 DC 1
R1 1 2 1k
R2 2 0 2k
.op
.end
"""


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("t\nV1 1 0 1\nQ1 1 2 0 npn\nR1 1 0 1k\n", 3, "is not supported"),
        ("t\nV1 1 0 1\nR1 1 0 1k\nR2 5 6 1k\n", 4, "floating node"),
        ("t\nV1 1 0 1\nR1 1 2 1k\nD1 2 0 nomodel\n", 4, "not defined"),
        ("t\nV1 1 0 1\nR1 1 0 1k\nr1 1 0 2k\n", 4, "duplicate"),
        ("t\nV1 1 0 1\nR1 1 0 abc\n", 3, "cannot read number"),
        ("t\nV1 1 0 1\nX1 1 0 nosub\nR1 1 0 1\n", 3, "subcircuit"),
        ("t\nV1 1 0 1\nR1 1 0 1k\nC1 1 2 1n\nR2 2 3 1k\n", 4, "floating node"),
    ],
)
def test_malformed_netlist_names_line(text: str, line: int, words: str) -> None:
    with pytest.raises(NetlistError) as err:
        parse_spice(text)
    assert err.value.line == line, str(err.value)
    assert str(err.value).startswith(f"line {line}:")
    assert words in str(err.value)


def test_good_netlist_parses() -> None:
    net = parse_spice(GOOD)
    assert [e.name for e in net.elements] == ["v1", "r1", "r2"]


def test_programmatic_duplicate_and_floating() -> None:
    net = Netlist()
    net.add(VSource("v1", "a", "0", 1.0))
    net.add(Resistor("r1", "a", "0", 1.0))
    net.add(Resistor("R1", "a", "0", 1.0))
    with pytest.raises(NetlistError, match="duplicate"):
        net.validate()
    net = Netlist()
    net.add(VSource("v1", "a", "0", 1.0))
    net.add(Resistor("r1", "b", "c", 1.0))
    with pytest.raises(NetlistError, match="floating node: node 'b'"):
        net.validate()
    with pytest.raises(NetlistError, match="resistance"):
        Resistor("r2", "a", "0", -1.0).check()


@pytest.mark.parametrize(("text", "line", "words"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_netlist_corpus(text: str, line: int, words: str) -> None:
    with pytest.raises(NetlistError) as err:
        parse_spice(text)
    assert err.value.line == line, str(err.value)
    assert str(err.value).startswith(f"line {line}:"), str(err.value)
    assert words in str(err.value), str(err.value)


def test_cli_reports_corpus_without_traceback(tmp_path, capsys) -> None:  # noqa: ANN001
    for name, text, line, _ in BAD[:8]:
        f = tmp_path / f"{name}.cir"
        f.write_text(text)
        assert main(["run", str(f)]) == 1
        err = capsys.readouterr().err
        assert f"line {line}:" in err and "Traceback" not in err
