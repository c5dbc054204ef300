"""Netlist model: circuit elements, node names and structural validation.

A :class:`Netlist` is an ordered list of named elements between named nodes (ground is ``"0"``,
``"gnd"`` is an alias). Composite elements (diodes with series resistance, photodiodes) expand
into primitives with internal nodes ``<name>#int`` when the netlist is compiled (:mod:`.mna`).
:meth:`Netlist.validate` rejects duplicate names, bad values, loops of voltage sources (which
make the MNA matrix singular; the message names the sources of the loop) and floating nodes
(no DC path to ground; the message names the node and the elements on it) with a
:class:`NetlistError` naming the element and, for parsed netlists, the line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from circuits.waveforms import Waveform

GROUND = "0"
#: Boltzmann constant and elementary charge as ngspice uses them (``const.h``).
K_BOLTZMANN = 1.38064852e-23
Q_ELECTRON = 1.6021766208e-19
#: ngspice default temperature (27 °C), in K.
T_DEFAULT_K = 300.15
#: Celsius to kelvin offset (ngspice ``CONSTCtoK``).
C_TO_K = 273.15


class NetlistError(ValueError):
    """A malformed netlist; the message names the element and, when known, the line."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


def canon(node: str) -> str:
    """Canonical node name (``gnd`` → ``0``; names are case-insensitive as in SPICE)."""
    n = str(node).strip().lower()
    return GROUND if n in ("gnd", "0") else n


@dataclass
class Element:
    """Base of every element: a unique name, its nodes and (optionally) its source line."""

    name: str
    line: int | None = field(default=None, kw_only=True)

    @property
    def nodes(self) -> tuple[str, ...]:  # pragma: no cover - overridden
        raise NotImplementedError

    def check(self) -> None:
        """Raise :class:`NetlistError` on bad values."""


def _positive(el: Element, what: str, value: float, allow_zero: bool = False) -> None:
    ok = value >= 0 if allow_zero else value > 0
    if not ok or value != value:
        rng = "[0, inf)" if allow_zero else "(0, inf)"
        raise NetlistError(f"{el.name}: {what} = {value!r} must be in {rng}", el.line)


@dataclass
class Resistor(Element):
    """Linear resistor ``r`` (Ω) between ``n1`` and ``n2``."""

    n1: str = GROUND
    n2: str = GROUND
    r: float = 1.0

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.n1, self.n2)

    def check(self) -> None:
        _positive(self, "resistance", self.r)


@dataclass
class Capacitor(Element):
    """Linear capacitor ``c`` (F); open at the DC operating point."""

    n1: str = GROUND
    n2: str = GROUND
    c: float = 0.0

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.n1, self.n2)

    def check(self) -> None:
        _positive(self, "capacitance", self.c, allow_zero=True)


@dataclass
class VSource(Element):
    """Ideal voltage source, V(np) − V(nn) = ``v``; its branch current enters ``np`` (SPICE).

    ``v`` is the operating-point value (the ``DC`` value, or the waveform at t = 0 when none is
    given, as in ngspice); a transient follows ``waveform`` when there is one.
    """

    np: str = GROUND
    nn: str = GROUND
    v: float = 0.0
    waveform: Waveform | None = field(default=None, kw_only=True)

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.np, self.nn)


@dataclass
class ISource(Element):
    """Ideal current source: ``i`` (A) flows from ``np`` through the source into ``nn``."""

    np: str = GROUND
    nn: str = GROUND
    i: float = 0.0
    waveform: Waveform | None = field(default=None, kw_only=True)
    m: float = field(default=1.0, kw_only=True)

    def check(self) -> None:
        _positive(self, "m", self.m)

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.np, self.nn)


@dataclass
class TIA(Element):
    """Ideal virtual-ground transimpedance readout: holds ``node`` at ``v_ref`` (V).

    Its reported current is the current flowing from ``node`` into the amplifier input
    (a 0 V source in MNA; SPICE export writes it as ``V<name> node 0 DC v_ref``).
    """

    node: str = GROUND
    v_ref: float = 0.0

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.node, GROUND)


@dataclass
class DiodeModel:
    """Junction diode parameters (SPICE level 1, DC part).

    Attributes:
        name: Model name (``.model NAME D(...)``).
        is_: Saturation current IS, in A.
        n: Emission coefficient N.
        rs: Series resistance RS, in Ω (0: none).
        gmin: Conductance in parallel with the junction, in S (ngspice: 1e-12).
        spice_reverse: Use ngspice's reverse-bias form I = −IS(1 + (3NVt/(e·Vd))³) below
            Vd = −3NVt instead of the Shockley law.
        temp_k: Junction temperature, in K.
        eg: Activation energy EG of IS(T), in eV (ngspice default 1.11).
        xti: Saturation-current temperature exponent XTI (ngspice default 3).
        tnom_k: Temperature at which IS was measured (TNOM), in K.
        cjo: Zero-bias junction capacitance CJO, in F (kept to refuse a transient with it).
        tt: Transit time TT, in s (kept to refuse a transient with it).
    """

    name: str = "d"
    is_: float = 1e-14
    n: float = 1.0
    rs: float = 0.0
    gmin: float = 1e-12
    spice_reverse: bool = True
    temp_k: float = T_DEFAULT_K
    eg: float = 1.11
    xti: float = 3.0
    tnom_k: float = T_DEFAULT_K
    cjo: float = 0.0
    tt: float = 0.0

    @property
    def vte(self) -> float:
        """N·kT/q at ``temp_k``, in V."""
        return self.n * K_BOLTZMANN * self.temp_k / Q_ELECTRON

    @property
    def is_t(self) -> float:
        """Saturation current at ``temp_k`` (ngspice ``diotemp.c``), in A.

        IS(T) = IS · exp((T/TNOM − 1) · EG/(N·kT/q)) · (T/TNOM)^(XTI/N).
        """
        ratio = self.temp_k / self.tnom_k
        return self.is_ * math.exp((ratio - 1.0) * self.eg / self.vte) * ratio ** (
            self.xti / self.n)


@dataclass
class Diode(Element):
    """Junction diode from anode ``a`` to cathode ``k`` with a :class:`DiodeModel`."""

    a: str = GROUND
    k: str = GROUND
    model: DiodeModel | None = None
    m: float = field(default=1.0, kw_only=True)

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.a, self.k)

    def check(self) -> None:
        if self.model is None:
            raise NetlistError(f"{self.name}: diode has no model", self.line)
        _positive(self, "m", self.m)
        _positive(self, "IS", self.model.is_)
        _positive(self, "N", self.model.n)
        _positive(self, "RS", self.model.rs, allow_zero=True)


@dataclass
class NLEM(Element):
    """N-LEM cell from anode ``a`` to cathode ``k`` at internal state ``w``.

    Current and light come from the compact model (``model.current(v, w)``,
    ``model.light(v, w)``, ``model.optical_power(v, w)``); the state is frozen during a DC
    solve (reads are short against the state dynamics).
    """

    a: str = GROUND
    k: str = GROUND
    w: float = 0.0
    model: Any = None

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.a, self.k)

    def check(self) -> None:
        if self.model is None or not hasattr(self.model, "current"):
            raise NetlistError(f"{self.name}: N-LEM needs a compact model with current()",
                               self.line)


@dataclass
class PwlCurrent(Element):
    """Behavioural current ``I = pwl(V(a, k), v0, i0, v1, i1, ...)`` from ``a`` to ``k``.

    ngspice's ``B`` source with a ``pwl`` table: linear between the points and continued along
    the first and last segments outside them. The exporter writes N-LEM cells in this form.
    """

    a: str = GROUND
    k: str = GROUND
    v: tuple[float, ...] = ()
    i: tuple[float, ...] = ()

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.a, self.k)

    def check(self) -> None:
        if len(self.v) < 2 or len(self.v) != len(self.i):
            raise NetlistError(f"{self.name}: pwl needs at least two (V, I) points", self.line)
        if any(b <= a for a, b in zip(self.v, self.v[1:], strict=False)):
            raise NetlistError(f"{self.name}: pwl voltages must increase", self.line)
        if not all(math.isfinite(x) for x in self.v + self.i):
            raise NetlistError(f"{self.name}: pwl table has a non-finite value", self.line)


@dataclass
class Photodiode(Element):
    """Photodiode from anode ``a`` to cathode ``k``.

    Equivalent circuit: photocurrent ``responsivity × power`` flowing cathode → anode inside
    the device, in parallel with a junction diode (saturation current ``i_dark``, emission
    coefficient ``n``, ``gmin``, optional SPICE reverse form) and a shunt ``rsh``; ``rs`` in
    series at the anode.
    """

    a: str = GROUND
    k: str = GROUND
    power_w: float = 0.0
    responsivity: float = 0.3
    i_dark: float = 1e-12
    n: float = 1.0
    rs: float = 0.0
    rsh: float = 0.0
    gmin: float = 1e-12
    spice_reverse: bool = True

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.a, self.k)

    @property
    def photocurrent(self) -> float:
        """Responsivity × received optical power, in A."""
        return self.responsivity * self.power_w

    def diode_model(self) -> DiodeModel:
        """The junction as a :class:`DiodeModel` (no series resistance: ``rs`` is separate)."""
        return DiodeModel(name=f"{self.name}_d", is_=self.i_dark, n=self.n, rs=0.0,
                          gmin=self.gmin, spice_reverse=self.spice_reverse)

    def check(self) -> None:
        _positive(self, "i_dark", self.i_dark)
        _positive(self, "n", self.n)
        _positive(self, "rs", self.rs, allow_zero=True)
        _positive(self, "rsh", self.rsh, allow_zero=True)
        _positive(self, "power_w", self.power_w, allow_zero=True)


#: Elements that give a DC path between their nodes (for the floating-node check).
_DC_PATH = (Resistor, VSource, TIA, Diode, NLEM, Photodiode, PwlCurrent)


@dataclass
class Netlist:
    """An ordered, named collection of elements."""

    title: str = "lemsim netlist"
    elements: list[Element] = field(default_factory=list)
    options: dict[str, float | str] = field(default_factory=dict)
    analyses: list[Any] = field(default_factory=list)

    def add(self, el: Element) -> Element:
        """Append an element (names are checked by :meth:`validate`) and return it."""
        self.elements.append(el)
        return el

    def __len__(self) -> int:
        return len(self.elements)

    def element(self, name: str) -> Element:
        """The element called ``name`` (case-insensitive)."""
        key = name.lower()
        for el in self.elements:
            if el.name.lower() == key:
                return el
        raise KeyError(f"no element named {name!r}")

    def nodes(self) -> list[str]:
        """Every non-ground node, in order of first appearance."""
        seen: dict[str, None] = {}
        for el in self.elements:
            for nd in el.nodes:
                c = canon(nd)
                if c != GROUND:
                    seen.setdefault(c, None)
        return list(seen)

    def validate(self) -> None:
        """Check names, values, voltage-source loops and DC connectivity.

        Raises:
            NetlistError: duplicate name, bad value, a loop of voltage sources (naming them)
                or a node without a DC path to ground (naming it and its elements), with the
                line of the element concerned.
        """
        names: dict[str, Element] = {}
        for el in self.elements:
            key = el.name.lower()
            if key in names:
                first = names[key].line
                where = f" (first defined on line {first})" if first is not None else ""
                raise NetlistError(f"duplicate element name {el.name!r}{where}", el.line)
            names[key] = el
            el.check()
        _check_source_loops(self.elements)
        _check_floating(self.elements)


class _Union:
    """Union-find over node names."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(b)] = self.find(a)


def _check_source_loops(elements: list[Element]) -> None:
    """Refuse a loop made only of voltage sources (and TIAs), naming every source in it."""
    uf = _Union()
    adj: dict[str, list[tuple[str, Element]]] = {}
    for el in elements:
        if not isinstance(el, VSource | TIA):
            continue
        a, b = (canon(n) for n in el.nodes)
        if uf.find(a) == uf.find(b):
            path = _source_path(adj, a, b) if a != b else []
            names = ", ".join(e.name for e in [*path, el])
            raise NetlistError(f"voltage-source loop: {names} (the MNA matrix is singular)",
                               el.line)
        uf.join(a, b)
        adj.setdefault(a, []).append((b, el))
        adj.setdefault(b, []).append((a, el))


def _source_path(adj: dict[str, list[tuple[str, Element]]], a: str,
                 b: str) -> list[Element]:
    """Sources on the path from node ``a`` to node ``b`` in the voltage-source graph."""
    prev: dict[str, tuple[str, Element] | None] = {a: None}
    todo = [a]
    while todo:
        n = todo.pop(0)
        for m, el in adj.get(n, []):
            if m not in prev:
                prev[m] = (n, el)
                todo.append(m)
    out: list[Element] = []
    n = b
    while prev.get(n) is not None:
        n, el = prev[n]  # type: ignore[misc]
        out.append(el)
    return out[::-1]


def _check_floating(elements: list[Element]) -> None:
    """Refuse a node without a DC path to ground, naming it and the elements on it."""
    uf = _Union()
    first_use: dict[str, Element] = {}
    touching: dict[str, list[Element]] = {}
    for el in elements:
        cn = [canon(n) for n in el.nodes]
        for n in cn:
            first_use.setdefault(n, el)
            touching.setdefault(n, [])
            if el not in touching[n]:
                touching[n].append(el)
            uf.find(n)
        if isinstance(el, _DC_PATH):
            for n in cn[1:]:
                uf.join(cn[0], n)
    ground = uf.find(GROUND)
    for node, el in first_use.items():
        if uf.find(node) != ground:
            group = [n for n in first_use if uf.find(n) == uf.find(node)]
            els = list(dict.fromkeys(e.name for n in group for e in touching[n]))
            others = f" (with node(s) {', '.join(repr(n) for n in group[1:])})" if len(
                group) > 1 else ""
            raise NetlistError(
                f"floating node: node {node!r}{others} has no DC path to ground: "
                f"{', '.join(els)}", el.line)
