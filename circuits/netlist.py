"""Netlist model: circuit elements, node names and structural validation.

A :class:`Netlist` is an ordered list of named elements between named nodes (ground is ``"0"``,
``"gnd"`` is an alias). Composite elements (diodes with series resistance, photodiodes) expand
into primitives with internal nodes ``<name>#int`` when the netlist is compiled (:mod:`.mna`).
:meth:`Netlist.validate` rejects duplicate names, floating nodes (no DC path to ground) and
bad values with a :class:`NetlistError` naming the element and, for parsed netlists, the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GROUND = "0"
#: Boltzmann constant and elementary charge as ngspice uses them (``const.h``).
K_BOLTZMANN = 1.38064852e-23
Q_ELECTRON = 1.6021766208e-19
#: ngspice default temperature (27 °C), in K.
T_DEFAULT_K = 300.15


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
    """Ideal voltage source, V(np) − V(nn) = ``v``; its branch current enters ``np`` (SPICE)."""

    np: str = GROUND
    nn: str = GROUND
    v: float = 0.0

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.np, self.nn)


@dataclass
class ISource(Element):
    """Ideal current source: ``i`` (A) flows from ``np`` through the source into ``nn``."""

    np: str = GROUND
    nn: str = GROUND
    i: float = 0.0

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
    """

    name: str = "d"
    is_: float = 1e-14
    n: float = 1.0
    rs: float = 0.0
    gmin: float = 1e-12
    spice_reverse: bool = True
    temp_k: float = T_DEFAULT_K

    @property
    def vte(self) -> float:
        """N·kT/q, in V."""
        return self.n * K_BOLTZMANN * self.temp_k / Q_ELECTRON


@dataclass
class Diode(Element):
    """Junction diode from anode ``a`` to cathode ``k`` with a :class:`DiodeModel`."""

    a: str = GROUND
    k: str = GROUND
    model: DiodeModel | None = None

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.a, self.k)

    def check(self) -> None:
        if self.model is None:
            raise NetlistError(f"{self.name}: diode has no model", self.line)
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
_DC_PATH = (Resistor, VSource, TIA, Diode, NLEM, Photodiode)


@dataclass
class Netlist:
    """An ordered, named collection of elements."""

    title: str = "lemsim netlist"
    elements: list[Element] = field(default_factory=list)
    options: dict[str, float] = field(default_factory=dict)

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
        """Check names, values and DC connectivity.

        Raises:
            NetlistError: duplicate name, bad value, or a node without a DC path to ground
                (the message names the element/node and its line).
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
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        first_use: dict[str, Element] = {}
        for el in self.elements:
            cn = [canon(n) for n in el.nodes]
            for n in cn:
                first_use.setdefault(n, el)
                find(n)
            if isinstance(el, _DC_PATH):
                for n in cn[1:]:
                    parent[find(n)] = find(cn[0])
        ground = find(GROUND)
        for node, el in first_use.items():
            if find(node) != ground:
                raise NetlistError(
                    f"floating node {node!r} (used by {el.name}): no DC path to ground", el.line
                )
