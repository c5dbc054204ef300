"""SPICE interop: export a :class:`~circuits.netlist.Netlist`, run a file, run ngspice.

The input subset and its parser are in :mod:`circuits.spice_parse` (re-exported here as
:func:`parse_spice` and :func:`parse_value`). Export writes every element, including
composite ones: diodes with ``.model`` cards (and ``m=``), sources with their waveform,
photodiodes as diode + shunt + photocurrent source (+ series R), TIAs as 0 V sources and N-LEM
cells as behavioural sources ``B… I=pwl(V(a,k), …)`` tabulated from the compact model at the
cell's state; :func:`parse_spice` reads every exported netlist back.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from circuits.analyses import Op, Tran, format_tran, run_tran
from circuits.mna import OpResult, compile_netlist
from circuits.netlist import (
    C_TO_K,
    NLEM,
    T_DEFAULT_K,
    TIA,
    Capacitor,
    Diode,
    DiodeModel,
    ISource,
    Netlist,
    Photodiode,
    PwlCurrent,
    Resistor,
    VSource,
)
from circuits.spice_parse import parse_spice, parse_value

__all__ = ["format_op", "ngspice_available", "parse_spice", "parse_value", "run_file",
           "run_ngspice", "run_ngspice_tran", "run_op_file", "to_spice"]


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
            wf = f" {el.waveform.spice()}" if el.waveform is not None else ""
            lines.append(f"V{_strip(el.name, 'v')} {el.np} {el.nn} DC {_fmt(el.v)}{wf}")
        elif isinstance(el, TIA):
            lines.append(f"V{_strip(el.name, 'v')} {el.node} 0 DC {_fmt(el.v_ref)}")
        elif isinstance(el, ISource):
            wf = f" {el.waveform.spice()}" if el.waveform is not None else ""
            m = f" m={_fmt(el.m)}" if el.m != 1.0 else ""
            lines.append(f"I{_strip(el.name, 'i')} {el.np} {el.nn} DC {_fmt(el.i)}{wf}{m}")
        elif isinstance(el, Diode):
            m = f" m={_fmt(el.m)}" if el.m != 1.0 else ""
            lines.append(f"D{_strip(el.name, 'd')} {el.a} {el.k} {model_card(el.model)}{m}")
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
        elif isinstance(el, NLEM | PwlCurrent):
            if isinstance(el, NLEM):
                v = np.linspace(*nlem_grid)
                i = np.asarray(el.model.current(v, np.full_like(v, el.w)), dtype=float)
            else:
                v, i = np.array(el.v), np.array(el.i)
            pts = ", ".join(f"{_fmt(a)}, {_fmt(b)}" for a, b in zip(v, i, strict=True))
            lines.append(f"B{_strip(el.name, 'b')} {el.a} {el.k} I=pwl(V({el.a},{el.k}), {pts})")
        else:  # pragma: no cover
            raise TypeError(f"cannot export {el!r}")
    for m in models.values():
        extra = "".join(f" {k}={_fmt(v)}" for k, v, d in (
            ("EG", m.eg, 1.11), ("XTI", m.xti, 3.0), ("CJO", m.cjo, 0.0), ("TT", m.tt, 0.0))
            if v != d)
        lines.append(f".model {m.name} D(IS={_fmt(m.is_)} N={_fmt(m.n)} RS={_fmt(m.rs)}{extra})")
    gmins = {m.gmin for m in models.values()}
    if gmins and gmins != {1e-12}:
        lines.append(f".options gmin={_fmt(min(gmins))}")
    temps = {(m.temp_k, m.tnom_k) for m in models.values()} or {
        (float(netlist.options.get("temp", T_DEFAULT_K - C_TO_K)) + C_TO_K,
         float(netlist.options.get("tnom", T_DEFAULT_K - C_TO_K)) + C_TO_K)}
    if len(temps) > 1:
        raise ValueError(f"diode models at different temperatures {sorted(temps)}: SPICE has "
                         "one circuit temperature")
    if temps and temps != {(T_DEFAULT_K, T_DEFAULT_K)}:
        (tk, tn), = temps
        lines.append(f".options temp={_fmt(tk - C_TO_K)} tnom={_fmt(tn - C_TO_K)}")
    if "method" in netlist.options or "maxord" in netlist.options:
        opts = {k: netlist.options[k] for k in ("method", "maxord") if k in netlist.options}
        lines.append(".options " + " ".join(f"{k}={v}" for k, v in opts.items()))
    if control:
        lines += [".control", control, ".endc"]
    if analysis:
        lines.append(analysis)
    lines.append(".end")
    return "\n".join(lines) + "\n"


def _strip(name: str, letter: str) -> str:
    return name[1:] if name[:1].lower() == letter else name


# ---------------------------------------------------------------------------- printing
def format_op(result: OpResult) -> str:
    """Node voltages and source currents in the layout of ``ngspice -b`` for ``.op``."""
    net = result.circuit.netlist
    temp = float(net.options.get("temp", T_DEFAULT_K - C_TO_K))
    tnom = float(net.options.get("tnom", T_DEFAULT_K - C_TO_K))
    out = ["", f"Circuit: {net.title}", "", f"Doing analysis at TEMP = {temp:.6f} and "
           f"TNOM = {tnom:.6f}", "", "", "No. of Data Rows : 1",
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


def run_file(path: str | Path) -> str:
    """Parse a SPICE file and run each of its analyses (``.op`` when it has none).

    Returns:
        The ``.op`` printout (ngspice layout) and, for each ``.tran``, a table of time, node
        voltages and branch currents.
    """
    net = parse_spice(Path(path).read_text(encoding="utf-8"))
    out: list[str] = []
    for an in net.analyses or [Op()]:
        if isinstance(an, Tran):
            out.append(format_tran(run_tran(net, an)))
        else:
            out.append(format_op(compile_netlist(net, validate=False).solve_op()))
    return "\n".join(out)


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
    ctrl = "op\nset numdgt=16\nprint all"
    text = _ngspice_text(netlist, ctrl, tight)
    proc = _ngspice(text, timeout)
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


def run_ngspice_tran(netlist: Netlist | str, tran: str, vectors: list[str],
                     timeout: float = 600.0, tight: bool = True) -> dict[str, np.ndarray]:
    """Run a ``.tran`` in ``ngspice -b`` and read the accepted time points (16 digits).

    Args:
        netlist: A :class:`Netlist` or SPICE text without analysis cards.
        tran: The ``.tran`` card, e.g. ``".tran 1u 100u 0 1u"``.
        vectors: Vectors to read, e.g. ``["v(out)", "i(v1)"]``.
        timeout: Seconds before ngspice is killed.
        tight: Tight Newton tolerances (as :func:`run_ngspice`) with ``trtol`` and ``chgtol``
            so large that truncation-error control never shortens a step: ngspice then steps
            at ``tmax`` except where breakpoints and its start-up force shorter steps.

    Returns:
        ``"time"`` and each vector (lower case) at ngspice's time points.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "tran.txt"
        ctrl = f"run\nset wr_vecnames\nset numdgt=16\nwrdata {data} {' '.join(vectors)}"
        text = _ngspice_text(netlist, ctrl, tight, tran=tran)
        if tight:
            text = text.replace("vntol=1e-15", "vntol=1e-15 trtol=1e9 chgtol=1e3", 1)
        proc = _ngspice(text, timeout)
        if not data.exists():
            raise RuntimeError(f"ngspice wrote no data:\n{proc.stdout[-2000:]}\n"
                               f"{proc.stderr[-2000:]}")
        raw = np.loadtxt(data, skiprows=1, ndmin=2)
    out = {"time": raw[:, 0]}
    for k, name in enumerate(vectors):
        out[name.lower()] = raw[:, 2 * k + 1]
    return out


def _ngspice_text(netlist: Netlist | str, ctrl: str, tight: bool, tran: str = "") -> str:
    if isinstance(netlist, Netlist):
        text = to_spice(netlist, analysis="", control=ctrl)
    else:
        # analysis cards of the text are dropped: the control block runs the analysis
        keep = [ln for ln in netlist.splitlines()
                if ln.strip().lower().split(" ")[0] not in (".op", ".tran", ".end")]
        text = "\n".join(keep).rstrip() + f"\n.control\n{ctrl}\n.endc\n.end\n"
    if tran:
        text = text.replace(".control", f"{tran}\n.control", 1)
    if tight:
        text = text.replace(".control", ".options reltol=1e-12 abstol=1e-18 vntol=1e-15\n"
                            ".control", 1)
    return text


def _ngspice(text: str, timeout: float) -> Any:
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "circuit.cir"
        f.write_text(text, encoding="utf-8")
        return subprocess.run(["ngspice", "-b", str(f)], capture_output=True, text=True,
                              timeout=timeout, check=False)
