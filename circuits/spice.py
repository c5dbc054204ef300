"""SPICE interop: export a :class:`~circuits.netlist.Netlist`, parse a SPICE subset, print `.op`.

Supported input subset: title line, ``*`` comments, ``+`` continuations, R, C, V, I (DC
values, optional ``DC`` keyword), D with ``.model NAME D(IS= N= RS=)``, X instances of
``.subckt``/``.ends`` definitions (flattened with ngspice's ``x1.name`` / ``x1.node`` names),
``.options`` (GMIN), ``.op``, ``.end``; ``.control`` blocks are skipped. Errors name the line.

Export writes every element, including composite ones: diodes with ``.model`` cards,
photodiodes as diode + shunt + photocurrent source (+ series R), TIAs as 0 V sources and
N-LEM cells as behavioural sources ``B… I=pwl(V(a,k), …)`` tabulated from the compact model at
the cell's state.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from circuits.mna import OpResult, compile_netlist
from circuits.netlist import (
    NLEM,
    TIA,
    Capacitor,
    Diode,
    DiodeModel,
    ISource,
    Netlist,
    NetlistError,
    Photodiode,
    Resistor,
    VSource,
)

_SUFFIX = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "mil": 25.4e-6, "m": 1e-3, "u": 1e-6,
           "n": 1e-9, "p": 1e-12, "f": 1e-15}
_NUM = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(meg|mil|[tgkmunpf])?[a-z]*$",
                  re.IGNORECASE)


def parse_value(text: str, line: int | None = None) -> float:
    """A SPICE number with an optional scale suffix (``1k``, ``2.2meg``, ``10uA``)."""
    m = _NUM.match(text.strip())
    if not m:
        raise NetlistError(f"cannot read number {text!r}", line)
    val = float(m.group(1))
    if m.group(2):
        val *= _SUFFIX[m.group(2).lower()]
    return val


def _fmt(x: float) -> str:
    return f"{x:.17g}"


def to_spice(netlist: Netlist, analysis: str = ".op", control: str | None = None,
             nlem_grid: tuple[float, float, int] = (-2.0, 8.0, 401)) -> str:
    """SPICE text of ``netlist``.

    Args:
        netlist: The netlist.
        analysis: Analysis card(s) to append (``.op`` by default; empty for none).
        control: Optional ``.control`` block body (lines), e.g. ``op\\nprint all``.
        nlem_grid: (V min, V max, points) of the PWL table written for N-LEM cells.
    """
    lines = [netlist.title]
    models: dict[str, DiodeModel] = {}

    def model_card(m: DiodeModel) -> str:
        models.setdefault(m.name, m)
        return m.name

    for el in netlist.elements:
        if isinstance(el, Resistor):
            lines.append(f"R{_strip(el.name, 'r')} {el.n1} {el.n2} {_fmt(el.r)}")
        elif isinstance(el, Capacitor):
            lines.append(f"C{_strip(el.name, 'c')} {el.n1} {el.n2} {_fmt(el.c)}")
        elif isinstance(el, VSource):
            lines.append(f"V{_strip(el.name, 'v')} {el.np} {el.nn} DC {_fmt(el.v)}")
        elif isinstance(el, TIA):
            lines.append(f"V{_strip(el.name, 'v')} {el.node} 0 DC {_fmt(el.v_ref)}")
        elif isinstance(el, ISource):
            lines.append(f"I{_strip(el.name, 'i')} {el.np} {el.nn} DC {_fmt(el.i)}")
        elif isinstance(el, Diode):
            lines.append(f"D{_strip(el.name, 'd')} {el.a} {el.k} {model_card(el.model)}")
        elif isinstance(el, Photodiode):
            nm = _strip(el.name, "d")
            mid = f"{nm}_int" if el.rs > 0 else el.a
            if el.rs > 0:
                lines.append(f"R{nm}_rs {el.a} {mid} {_fmt(el.rs)}")
            dm = el.diode_model()
            dm.name = f"pd_{nm}"
            lines.append(f"D{nm} {mid} {el.k} {model_card(dm)}")
            if el.rsh > 0:
                lines.append(f"R{nm}_sh {mid} {el.k} {_fmt(el.rsh)}")
            lines.append(f"I{nm}_ph {el.k} {mid} DC {_fmt(el.photocurrent)}")
        elif isinstance(el, NLEM):
            v = np.linspace(*nlem_grid)
            i = np.asarray(el.model.current(v, np.full_like(v, el.w)), dtype=float)
            pts = ", ".join(f"{a:.6g}, {b:.17g}" for a, b in zip(v, i, strict=True))
            lines.append(f"B{_strip(el.name, 'b')} {el.a} {el.k} I=pwl(V({el.a},{el.k}), {pts})")
        else:  # pragma: no cover
            raise TypeError(f"cannot export {el!r}")
    for m in models.values():
        lines.append(f".model {m.name} D(IS={_fmt(m.is_)} N={_fmt(m.n)} RS={_fmt(m.rs)})")
    gmins = {m.gmin for m in models.values()}
    if gmins and gmins != {1e-12}:
        lines.append(f".options gmin={_fmt(min(gmins))}")
    if control:
        lines += [".control", control, ".endc"]
    if analysis:
        lines.append(analysis)
    lines.append(".end")
    return "\n".join(lines) + "\n"


def _strip(name: str, letter: str) -> str:
    return name[1:] if name[:1].lower() == letter else name


# ---------------------------------------------------------------------------- parsing
def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first physical line number, text) of each logical line, continuations joined."""
    out: list[tuple[int, str]] = []
    for k, raw in enumerate(text.splitlines(), start=1):
        s = raw.split(";")[0].rstrip() if k > 1 else raw.rstrip()
        if k > 1 and s.lstrip().startswith("+") and out:
            out[-1] = (out[-1][0], out[-1][1] + " " + s.lstrip()[1:])
        else:
            out.append((k, s))
    return out


def _tokens(s: str) -> list[str]:
    s = re.sub(r"\s*=\s*", "=", s.replace("(", " ( ").replace(")", " ) "))
    return [t for t in s.split() if t not in "()"] if s else []


def parse_spice(text: str) -> Netlist:
    """Parse the supported SPICE subset into a validated :class:`Netlist`.

    Raises:
        NetlistError: unknown element or card, missing model or subcircuit, duplicate name,
            floating node or unreadable value; the message starts with ``line N:``.
    """
    lines = _logical_lines(text)
    if not lines:
        raise NetlistError("empty netlist", 1)
    title = lines[0][1].strip()
    body: list[tuple[int, str]] = []
    subckts: dict[str, tuple[int, list[str], list[tuple[int, str]]]] = {}
    models: dict[str, tuple[int, DiodeModel]] = {}
    options: dict[str, float] = {}
    cur: tuple[str, int, list[str], list[tuple[int, str]]] | None = None
    in_control = False
    for ln, s in lines[1:]:
        st = s.strip()
        if not st or st.startswith("*"):
            continue
        low = st.lower()
        if in_control:
            in_control = not low.startswith(".endc")
            continue
        if low.startswith(".control"):
            in_control = True
            continue
        if low.startswith("."):
            tok = _tokens(st)
            card = tok[0].lower()
            if card == ".subckt":
                if cur is not None:
                    raise NetlistError("nested .subckt is not supported", ln)
                if len(tok) < 3:
                    raise NetlistError(".subckt needs a name and nodes", ln)
                cur = (tok[1].lower(), ln, [t.lower() for t in tok[2:]], [])
            elif card == ".ends":
                if cur is None:
                    raise NetlistError(".ends without .subckt", ln)
                subckts[cur[0]] = (cur[1], cur[2], cur[3])
                cur = None
            elif card == ".model":
                if len(tok) < 3 or tok[2].lower() != "d":
                    raise NetlistError(f"only diode models (type D) are supported: {st!r}", ln)
                kv = _params(tok[3:], ln)
                unknown = set(kv) - {"is", "n", "rs", "cjo", "cj0", "vj", "m", "tt", "bv",
                                     "ibv", "eg", "xti"}
                if unknown:
                    raise NetlistError(f"unsupported diode parameter(s) {sorted(unknown)}", ln)
                if "bv" in kv:
                    raise NetlistError("diode breakdown (BV) is not supported", ln)
                models[tok[1].lower()] = (ln, DiodeModel(
                    name=tok[1].lower(), is_=kv.get("is", 1e-14), n=kv.get("n", 1.0),
                    rs=kv.get("rs", 0.0)))
            elif card == ".options" or card == ".option":
                options.update(_params(tok[1:], ln, allow_flags=True))
            elif card in (".op", ".end", ".title", ".print", ".temp"):
                if card == ".temp":
                    raise NetlistError(".temp is not supported (27 °C is used)", ln)
            else:
                raise NetlistError(f"unsupported control card {tok[0]!r}", ln)
            continue
        (cur[3] if cur is not None else body).append((ln, st))
    if cur is not None:
        raise NetlistError(f".subckt {cur[0]} has no .ends", cur[1])
    gmin = options.get("gmin", 1e-12)
    for _, m in models.values():
        m.gmin = gmin
    net = Netlist(title=title, options=options)
    _emit(body, net, models, subckts, prefix="", nodemap={}, depth=0)
    net.validate()
    return net


def _params(tokens: list[str], ln: int, allow_flags: bool = False) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in tokens:
        if "=" not in t:
            if allow_flags:
                continue
            raise NetlistError(f"expected NAME=VALUE, got {t!r}", ln)
        k, v = t.split("=", 1)
        try:
            out[k.lower()] = parse_value(v, ln)
        except NetlistError:
            if not allow_flags:
                raise
    return out


def _emit(body: list[tuple[int, str]], net: Netlist, models: dict, subckts: dict, prefix: str,
          nodemap: dict[str, str], depth: int) -> None:
    if depth > 20:
        raise NetlistError("subcircuit nesting deeper than 20 (recursive .subckt?)")

    def node(n: str) -> str:
        n = n.lower()
        if n in ("0", "gnd"):
            return "0"
        if n in nodemap:
            return nodemap[n]
        return f"{prefix}{n}" if prefix else n

    for ln, st in body:
        tok = _tokens(st)
        name = tok[0]
        letter = name[0].lower()
        full = f"{prefix}{name.lower()}" if prefix else name.lower()

        def need(k: int, tok: list[str] = tok, name: str = name, ln: int = ln) -> None:
            if len(tok) < k:
                raise NetlistError(f"{name}: expected at least {k - 1} fields after the name",
                                   ln)

        if letter in "rc":
            need(4)
            val = parse_value(tok[3], ln)
            cls = Resistor if letter == "r" else Capacitor
            kw = {"r": val} if letter == "r" else {"c": val}
            net.add(cls(full, node(tok[1]), node(tok[2]), **kw, line=ln))
        elif letter in "vi":
            need(3)
            rest = [t for t in tok[3:] if t.lower() != "dc"]
            if rest and rest[0].lower() in ("ac", "sin", "pulse", "pwl", "exp"):
                rest = []
            val = parse_value(rest[0], ln) if rest else 0.0
            if letter == "v":
                net.add(VSource(full, node(tok[1]), node(tok[2]), val, line=ln))
            else:
                net.add(ISource(full, node(tok[1]), node(tok[2]), val, line=ln))
        elif letter == "d":
            need(4)
            mname = tok[3].lower()
            if mname not in models:
                raise NetlistError(f"{name}: diode model {tok[3]!r} is not defined", ln)
            net.add(Diode(full, node(tok[1]), node(tok[2]), models[mname][1], line=ln))
        elif letter == "x":
            need(3)
            sname = tok[-1].lower()
            if sname not in subckts:
                raise NetlistError(f"{name}: subcircuit {tok[-1]!r} is not defined", ln)
            _, ports, sbody = subckts[sname]
            conns = tok[1:-1]
            if len(conns) != len(ports):
                raise NetlistError(f"{name}: {len(conns)} nodes given, subcircuit {sname} has "
                                   f"{len(ports)} ports", ln)
            sub_map = {p: node(c) for p, c in zip(ports, conns, strict=True)}
            _emit(sbody, net, models, subckts, prefix=f"{full}.", nodemap=sub_map,
                  depth=depth + 1)
        else:
            raise NetlistError(f"unknown element type {name!r} (supported: R C V I D X)", ln)


# ---------------------------------------------------------------------------- printing
def format_op(result: OpResult) -> str:
    """Node voltages and source currents in the layout of ``ngspice -b`` for ``.op``."""
    net = result.circuit.netlist
    out = ["", f"Circuit: {net.title}", "", "Doing analysis at TEMP = 27.000000 and "
           "TNOM = 27.000000", "", "", "No. of Data Rows : 1",
           "\tNode                                  Voltage", "\t----                   "
           "               -------", "\t----\t-------"]
    for n, v in result.voltages.items():
        if "#" in n:
            continue
        out.append(f"\t{'V(' + n + ')':<33}{v:.6e}")
    out += ["", "\tSource\tCurrent", "\t------\t-------", ""]
    for n, i in result.branch_currents.items():
        out.append(f"\t{n + '#branch':<33}{i:.6e}")
    out.append("")
    return "\n".join(out)


def run_op_file(path: str | Path) -> str:
    """Parse a SPICE file, solve ``.op`` and return the ngspice-style printout."""
    text = Path(path).read_text(encoding="utf-8")
    net = parse_spice(text)
    res = compile_netlist(net, validate=False).solve_op()
    return format_op(res)


# ---------------------------------------------------------------------------- ngspice
def ngspice_available() -> bool:
    """Whether ``ngspice`` is on the PATH."""
    import shutil

    return shutil.which("ngspice") is not None


def run_ngspice(netlist: Netlist | str, timeout: float = 600.0,
                tight: bool = True) -> dict[str, float]:
    """Solve the ``.op`` point with ``ngspice -b`` and read every vector at 16 digits.

    Args:
        netlist: A :class:`Netlist` (exported with :func:`to_spice`) or SPICE text without
            analysis cards.
        timeout: Seconds before ngspice is killed.
        tight: Add ``.options reltol=1e-12 abstol=1e-18 vntol=1e-15`` so ngspice's Newton
            stops at round-off rather than at its default 1e-3 relative tolerance.

    Returns:
        Mapping ``node`` → V and ``<source>#branch`` → A (lower case; positive branch current
        enters the source's + node, as in ngspice).
    """
    import subprocess
    import tempfile

    ctrl = "op\nset numdgt=16\nprint all"
    if isinstance(netlist, Netlist):
        text = to_spice(netlist, analysis="", control=ctrl)
    else:
        body = netlist.rstrip().removesuffix(".end").rstrip()
        text = body + f"\n.control\n{ctrl}\n.endc\n.end\n"
    if tight:
        text = text.replace(".control", ".options reltol=1e-12 abstol=1e-18 vntol=1e-15\n"
                            ".control", 1)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "circuit.cir"
        f.write_text(text, encoding="utf-8")
        proc = subprocess.run(["ngspice", "-b", str(f)], capture_output=True, text=True,
                              timeout=timeout, check=False)
    out: dict[str, float] = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"^\s*(\S+)\s*=\s*([-+0-9.eE]+)\s*$", line)
        if m:
            key = m.group(1).lower()
            if key.startswith("v(") and key.endswith(")"):
                key = key[2:-1]
            out[key] = float(m.group(2))
    if not out:
        raise RuntimeError(f"ngspice produced no values:\n{proc.stdout[-2000:]}\n"
                           f"{proc.stderr[-2000:]}")
    return out
