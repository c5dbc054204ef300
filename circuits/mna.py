"""Sparse modified nodal analysis: compile a netlist, solve DC points and transients.

Unknowns are the non-ground node voltages followed by one branch current per voltage source
(and per TIA). The linear part is one sparse matrix ``G`` and a source map ``S`` (right-hand
side ``b = S @ s`` for a vector ``s`` of source values, so many input vectors share one
factorisation: :meth:`Circuit.solve_linear_batch`). Junction elements (diodes, photodiode
junctions, N-LEM cells, ``pwl`` behavioural currents) enter through an incidence matrix
``A``: residual ``F(x) = G x + A i(Aᵀx) − b`` and Jacobian ``G + A diag(g) Aᵀ``. Newton steps
are damped by capping the junction-voltage change; when plain Newton fails, GMIN stepping (a
conductance from every node to ground, lowered by decades to zero) continues from the easy
problem.

Transients integrate ``C x' + G x + A i(Aᵀx) = b(t)`` on a given time grid with backward Euler
or the trapezoidal rule; like ngspice, the trapezoidal rule takes a backward-Euler step first
and after every source breakpoint (ngspice ``.options method=trap``; with ``maxord=1`` ngspice
integrates with backward Euler throughout).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from circuits.netlist import (
    GROUND,
    NLEM,
    TIA,
    Capacitor,
    Diode,
    DiodeModel,
    Element,
    ISource,
    Netlist,
    NetlistError,
    Photodiode,
    PwlCurrent,
    Resistor,
    VSource,
    canon,
)
from circuits.waveforms import Waveform

log = logging.getLogger(__name__)
#: Largest system Newton solves with dense linear algebra.
_DENSE_MAX = 60


class ConvergenceError(RuntimeError):
    """Newton (with GMIN stepping) or an iterative solver did not converge."""


def diode_iv(
    vd: np.ndarray, is_: np.ndarray, vte: np.ndarray, gmin: np.ndarray, spice_reverse: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Junction current and conductance, vectorised (ngspice ``dioload.c`` DC form).

    Args:
        vd: Junction voltages, in V.
        is_: Saturation currents, in A.
        vte: N·kT/q, in V.
        gmin: Parallel conductance, in S.
        spice_reverse: Where true, Vd < −3·vte uses I = −IS·(1 + (3·vte/(e·Vd))³).

    Returns:
        (current in A, dI/dV in S).
    """
    arg = np.minimum(vd / vte, 600.0)
    ev = np.exp(arg)
    i = is_ * (ev - 1.0)
    g = is_ * ev / vte
    rev = spice_reverse & (vd < -3.0 * vte)
    if np.any(rev):
        vr = vd[rev]
        a3 = (3.0 * vte[rev] / (vr * np.e)) ** 3
        i[rev] = -is_[rev] * (1.0 + a3)
        g[rev] = is_[rev] * 3.0 * a3 / vr
    return i + gmin * vd, g + gmin


def pwl_iv(vd: np.ndarray, vt: np.ndarray, it: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ngspice ``pwl()``: linear between points, end segments continued (rows: tables).

    Args:
        vd: Junction voltages, shape (n,), in V.
        vt: Table voltages, shape (n, points), increasing along each row.
        it: Table currents, shape (n, points), in A.

    Returns:
        (current in A, dI/dV in S).
    """
    npts = vt.shape[1]
    k = np.empty(len(vd), dtype=int)
    for r in range(len(vd)):
        k[r] = np.searchsorted(vt[r], vd[r], side="right") - 1
    k = np.clip(k, 0, npts - 2)
    rows = np.arange(len(vd))
    x0, x1 = vt[rows, k], vt[rows, k + 1]
    y0, y1 = it[rows, k], it[rows, k + 1]
    g = (y1 - y0) / (x1 - x0)
    return y0 + g * (vd - x0), g


@dataclass
class JunctionGroup:
    """Two-terminal nonlinear elements of one kind, evaluated together."""

    names: list[str]
    kind: str
    params: dict[str, np.ndarray]
    model: Any = None

    def evaluate(self, vd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Current (A, anode → cathode) and dI/dV (S) at junction voltages ``vd``."""
        p = self.params
        if self.kind == "diode":
            return diode_iv(vd, p["is"], p["vte"], p["gmin"], p["rev"])
        if self.kind == "pwl":
            return pwl_iv(vd, p["vt"], p["it"])
        w = p["w"]
        i = np.asarray(self.model.current(vd, w), dtype=float)
        if hasattr(self.model, "conductance_dv"):
            g = np.asarray(self.model.conductance_dv(vd, w), dtype=float)
        else:
            h = 1e-6
            g = (np.asarray(self.model.current(vd + h, w)) -
                 np.asarray(self.model.current(vd - h, w))) / (2 * h)
        return i, np.maximum(g, 1e-15)


@dataclass
class OpResult:
    """A solved operating point."""

    circuit: Circuit
    x: np.ndarray
    iterations: int
    gmin_steps: int = 0

    def v(self, node: str) -> float:
        """Voltage of ``node``, in V (ground is 0)."""
        c = canon(node)
        return 0.0 if c == GROUND else float(self.x[self.circuit.node_index[c]])

    @property
    def voltages(self) -> dict[str, float]:
        """Every node voltage (internal nodes included), in V."""
        return {n: float(self.x[i]) for n, i in self.circuit.node_index.items()}

    @property
    def branch_currents(self) -> dict[str, float]:
        """Branch current of each voltage source / TIA (SPICE sign: entering the + node), A."""
        return {n: float(self.x[i]) for n, i in self.circuit.branch_index.items()}

    def tia_current(self, name: str) -> float:
        """Current flowing from a TIA's node into the amplifier, in A."""
        return self.branch_currents[name.lower()]

    def junction_voltages(self) -> np.ndarray:
        """Voltages across every junction (order of :attr:`Circuit.junction_names`), V."""
        return self.circuit.A.T @ self.x

    def element_currents(self) -> dict[str, float]:
        """Current through each netlist element from its first node to its second, in A."""
        return self.circuit.element_currents(self.x)

    def nlem_outputs(self) -> dict[str, dict[str, float]]:
        """Voltage (V), current (A), photon flux (1/s) and optical power (W) of each N-LEM."""
        vd = dict(zip(self.circuit.junction_names, self.junction_voltages(), strict=True))
        out: dict[str, dict[str, float]] = {}
        for el in self.circuit.netlist.elements:
            if isinstance(el, NLEM):
                v = float(vd[el.name.lower()])
                out[el.name] = {
                    "v": v, "i": float(el.model.current(v, el.w)),
                    "light": float(el.model.light(v, el.w)),
                    "optical_power": float(el.model.optical_power(v, el.w)),
                }
        return out


@dataclass
class Circuit:
    """A compiled netlist (see the module docstring for the equations)."""

    netlist: Netlist
    node_index: dict[str, int]
    branch_index: dict[str, int]
    G: sp.csr_matrix
    C: sp.csr_matrix
    S: sp.csr_matrix
    source_names: list[str]
    source_values: np.ndarray
    source_waveforms: list[tuple[Waveform, float] | None]
    A: sp.csr_matrix
    groups: list[JunctionGroup]
    junction_names: list[str]
    n_nodes: int
    _lu: Any = field(default=None, repr=False)
    _dense_ga: Any = field(default=None, repr=False)

    @property
    def size(self) -> int:
        """Number of unknowns."""
        return self.G.shape[0]

    @property
    def vcrit(self) -> np.ndarray:
        """Per-junction voltage above which Newton steps are capped (SPICE's VCRIT), V."""
        parts = []
        for grp in self.groups:
            if grp.kind == "diode":
                vte, is_ = grp.params["vte"], grp.params["is"]
                parts.append(vte * np.log(vte / (np.sqrt(2.0) * is_)))
            else:
                parts.append(np.zeros(len(grp.names)))
        return np.concatenate(parts) if parts else np.zeros(0)

    def rhs(self, values: Mapping[str, float] | None = None) -> np.ndarray:
        """Right-hand side for the default source values updated by ``values``."""
        s = self.source_values.copy()
        for k, val in (values or {}).items():
            s[self.source_names.index(k.lower())] = val
        return self.S @ s

    def values_at(self, t: float, tstep: float, tstop: float) -> np.ndarray:
        """Source values at time ``t``: waveforms where given, else the DC values.

        Args:
            t: Time, in s.
            tstep: ``.tran`` step (ngspice's default for omitted waveform timings), in s.
            tstop: ``.tran`` stop time, in s.
        """
        s = self.source_values.copy()
        for k, wf in enumerate(self.source_waveforms):
            if wf is not None:
                s[k] = wf[0].value(t, tstep, tstop) * wf[1]
        return s

    def breakpoints(self, tstep: float, tstop: float) -> list[float]:
        """Sorted corner times of every source waveform in [0, tstop], in s."""
        out = {t for wf in self.source_waveforms if wf is not None
               for t in wf[0].breakpoints(tstep, tstop)}
        return sorted(out)

    def source_matrix(self, values: Mapping[str, np.ndarray], batch: int) -> np.ndarray:
        """Source-value matrix (n_sources × batch): defaults, overridden by ``values``."""
        s = np.repeat(self.source_values[:, None], batch, axis=1)
        for k, val in values.items():
            s[self.source_names.index(k.lower())] = val
        return s

    def junction_eval(self, vd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Currents and conductances of every junction at voltages ``vd``."""
        i = np.empty_like(vd)
        g = np.empty_like(vd)
        o = 0
        for grp in self.groups:
            n = len(grp.names)
            i[o:o + n], g[o:o + n] = grp.evaluate(vd[o:o + n])
            o += n
        return i, g

    # ------------------------------------------------------------------ linear solves
    def solve_linear_batch(self, s: np.ndarray) -> np.ndarray:
        """Solve a circuit without junctions for many source vectors, factoring once.

        Args:
            s: Source values, shape (n_sources, batch).

        Returns:
            Unknowns, shape (size, batch).
        """
        if self.groups:
            raise ValueError("solve_linear_batch: circuit has nonlinear elements; use solve_op")
        if self._lu is None:
            self._lu = _factor(self.G)
        b = self.S @ s
        return self._lu.solve(np.asarray(b, dtype=float))

    # ------------------------------------------------------------------ Newton
    def _dense(self) -> tuple[np.ndarray, np.ndarray]:
        """Dense G and A (cached), for systems of at most ``_DENSE_MAX`` unknowns."""
        if self._dense_ga is None:
            self._dense_ga = (self.G.toarray(), self.A.toarray())
        return self._dense_ga

    def _newton(self, b: np.ndarray, x: np.ndarray, gmin: float,
                cdt: sp.csr_matrix | np.ndarray | None, max_iter: int, vstep: float,
                reltol: float, vntol: float) -> tuple[np.ndarray, int, bool]:
        n = self.size
        diag = np.zeros(n)
        diag[: self.n_nodes] = gmin
        dense = n <= _DENSE_MAX  # small systems: dense LAPACK beats sparse overheads
        if dense:
            Gd, Ad = self._dense()
            base = Gd + np.diag(diag) if gmin > 0 else Gd
            if cdt is not None:
                base = base + (cdt if isinstance(cdt, np.ndarray) else cdt.toarray())
            AT = Ad.T
        else:
            base = self.G + sp.diags(diag) if gmin > 0 else self.G
            if cdt is not None:
                base = base + cdt
            AT = self.A.T.tocsr()
        polish = -1
        for it in range(1, max_iter + 1):
            vd = AT @ x
            i, g = self.junction_eval(vd)
            F = base @ x + (Ad @ i if dense else self.A @ i) - b
            try:
                if dense:
                    dx = np.linalg.solve(base + (Ad * g) @ AT, -F)
                else:
                    dx = spla.spsolve((base + self.A @ sp.diags(g) @ AT).tocsc(), -F)
            except (RuntimeError, np.linalg.LinAlgError):
                return x, it, False
            if not np.all(np.isfinite(dx)):
                return x, it, False
            scale = 1.0
            if vd.size:
                # SPICE-like limiting: only forward steps into the exponential region are
                # capped (reverse bias and steps below the critical voltage are harmless)
                dvd = AT @ dx
                risky = (dvd > vstep) & (vd + dvd > self.vcrit)
                if np.any(risky):
                    scale = float(np.min(vstep / dvd[risky]))
            x = x + scale * dx
            if scale < 1.0:
                polish = -1
                continue
            # per unknown, as SPICE: a node voltage is judged against its own size, not against
            # the largest entry of x (a source branch carrying 1e5 A would otherwise let the
            # voltages stop 1e-8 V short, which an exponential junction turns into amperes of
            # KCL error)
            ax = np.abs(x)
            if np.all(np.abs(dx) <= reltol * ax + vntol):
                return x, it, True
            # Near the solution Newton converges quadratically: after the update drops below
            # 1e-7 two more full steps reach round-off (which may sit above reltol when the
            # matrix is ill-conditioned), so stop there instead of iterating on noise.
            if polish >= 0:
                polish += 1
                if polish >= 2:
                    return x, it, True
            elif np.all(np.abs(dx) <= 1e-7 * ax + 1e-12):
                polish = 0
        return x, max_iter, False

    def solve_op(
        self,
        values: Mapping[str, float] | None = None,
        x0: np.ndarray | None = None,
        max_iter: int = 200,
        vstep: float = 0.5,
        reltol: float = 1e-13,
        vntol: float = 1e-15,
        gmin_start: float = 1e-2,
        gmin_max_iter: int = 100,
    ) -> OpResult:
        """DC operating point: damped Newton, then GMIN stepping if that fails.

        Args:
            values: Source values overriding the netlist's (by source name).
            x0: Initial guess (zeros by default).
            max_iter: Newton iterations per attempt.
            vstep: Largest junction-voltage change per Newton step, in V.
            reltol: Relative convergence tolerance on the update.
            vntol: Absolute convergence tolerance on the update, in V (or A).
            gmin_start: First GMIN of the stepping sequence, in S.
            gmin_max_iter: Newton iterations per GMIN step.

        Raises:
            ConvergenceError: when GMIN stepping fails too.
        """
        b = self.rhs(values)
        x = np.zeros(self.size) if x0 is None else np.asarray(x0, float).copy()
        if not self.groups:
            if self._lu is None:
                self._lu = _factor(self.G)
            return OpResult(self, self._lu.solve(b), 1)
        xs, its, ok = self._newton(b, x, 0.0, None, max_iter, vstep, reltol, vntol)
        if ok:
            return OpResult(self, xs, its)
        log.info("Newton failed after %d iterations; GMIN stepping", its)
        total, steps = its, 0
        gm = gmin_start
        while gm >= 1e-13:
            x, k, ok = self._newton(b, x, gm, None, gmin_max_iter, vstep, 1e-9, 1e-12)
            total += k
            steps += 1
            if not ok:
                raise ConvergenceError(f"GMIN stepping failed at gmin = {gm:g} S")
            gm /= 10.0
        xs, k, ok = self._newton(b, x, 0.0, None, gmin_max_iter, vstep, reltol, vntol)
        if not ok:
            raise ConvergenceError("Newton failed after GMIN stepping")
        return OpResult(self, xs, total + k, steps)

    def transient(
        self,
        t_stop: float,
        dt: float,
        sources: Callable[[float], Mapping[str, float]] | None = None,
        uic: bool = True,
        method: str = "be",
        times: np.ndarray | None = None,
        tstep: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Transient from zero state (``uic``) or from the operating point at t = 0.

        Args:
            t_stop: End time, in s.
            dt: Largest step, in s: the grid is ``k·dt`` plus every waveform breakpoint.
            sources: Source values as a function of time overriding the netlist's (DC values
                and waveforms) for the sources it names.
            uic: Start from all-zero unknowns instead of the operating point.
            method: ``"be"`` (backward Euler) or ``"trap"`` (trapezoidal; backward Euler on
                the first step and on the step after each breakpoint, as ngspice).
            times: Explicit time grid (increasing, from 0) replacing the ``dt`` grid, e.g.
                the time points ngspice accepted.
            tstep: ``.tran`` step used for ngspice's default waveform timings (``dt`` if
                None), in s.

        Returns:
            (times, unknowns of shape (len(times), size)).

        Raises:
            ValueError: a non-positive or non-finite ``t_stop``/``dt``, an unknown method or a
                grid that does not increase from 0.
            ConvergenceError: Newton fails at a time point.
        """
        if not (np.isfinite(t_stop) and np.isfinite(dt) and t_stop > 0 and dt > 0):
            raise ValueError(f"t_stop = {t_stop!r}, dt = {dt!r}: both must be finite and > 0")
        if method not in ("be", "trap"):
            raise ValueError(f"method = {method!r}: allowed 'be', 'trap'")
        ts = float(dt if tstep is None else tstep)
        bps = self.breakpoints(ts, t_stop)
        grid = time_grid(t_stop, dt, bps) if times is None else np.asarray(times, float)
        if grid[0] != 0.0 or np.any(np.diff(grid) <= 0) or not np.all(np.isfinite(grid)):
            raise ValueError("times must start at 0 and increase")

        def src(t: float) -> np.ndarray:
            s = self.values_at(t, ts, t_stop)
            for k, val in (sources(t) if sources else {}).items():
                s[self.source_names.index(k.lower())] = val
            return s

        x = np.zeros(self.size) if uic else self.solve_op(
            dict(zip(self.source_names, src(0.0), strict=True))).x
        bp_set = np.array(bps)
        out = [x]
        z = np.zeros(self.size)  # C·dx/dt at the last accepted point
        lus: dict[float, Any] = {}
        cmat = self.C.toarray() if self.size <= _DENSE_MAX else self.C.tocsr()
        first = True
        for k in range(1, len(grid)):
            t, h = float(grid[k]), float(grid[k] - grid[k - 1])
            after_bp = bool(bp_set.size and np.any(np.abs(bp_set - grid[k - 1])
                                                   <= 1e-9 * max(h, 1e-300)))
            order1 = method == "be" or first or after_bp
            alpha = 1.0 / h if order1 else 2.0 / h
            cdt = cmat * alpha
            b = self.S @ src(t) + cdt @ x + (0.0 if order1 else z)
            if not self.groups:  # linear circuit: one factorisation per distinct step
                if alpha not in lus:
                    lus[alpha] = _factor(self.G + sp.csr_matrix(cdt))
                xn = lus[alpha].solve(b)
                ok = True
            else:
                xn, _, ok = self._newton(b, x, 0.0, cdt, 100, 0.5, 1e-12, 1e-15)
            if not ok:
                raise ConvergenceError(f"transient Newton failed at t = {t:g} s")
            z = cdt @ (xn - x) - (0.0 if order1 else z)
            x = xn
            first = False
            out.append(x)
        return grid, np.array(out)

    # ------------------------------------------------------------------ post-processing
    def element_currents(self, x: np.ndarray) -> dict[str, float]:
        """Current through each element from its first node to its second, in A."""

        def v(node: str) -> float:
            c = canon(node)
            return 0.0 if c == GROUND else float(x[self.node_index[c]])

        out: dict[str, float] = {}
        vd = self.A.T @ x
        ij, _ = self.junction_eval(vd) if vd.size else (np.zeros(0), None)
        jmap = dict(zip(self.junction_names, ij, strict=True))
        for el in self.netlist.elements:
            key = el.name.lower()
            if isinstance(el, Resistor):
                out[el.name] = (v(el.n1) - v(el.n2)) / el.r
            elif isinstance(el, Capacitor):
                out[el.name] = 0.0
            elif isinstance(el, VSource | TIA):
                out[el.name] = float(x[self.branch_index[key]])
            elif isinstance(el, ISource):
                out[el.name] = el.i * el.m
            elif isinstance(el, Diode | NLEM | PwlCurrent):
                out[el.name] = float(jmap[key])
            elif isinstance(el, Photodiode):
                if el.rs > 0:
                    out[el.name] = (v(el.a) - v(key + "#int")) / el.rs
                else:
                    va, vk = v(el.a), v(el.k)
                    out[el.name] = float(jmap[key]) - el.photocurrent + (
                        (va - vk) / el.rsh if el.rsh > 0 else 0.0)
        return out


def time_grid(t_stop: float, dt: float, breakpoints: list[float]) -> np.ndarray:
    """Fixed-step grid ``0, dt, 2dt, ..., t_stop`` with ``breakpoints`` inserted, in s.

    A breakpoint within 1e-9·dt of a grid point replaces it (no sliver steps).
    """
    n = int(np.ceil(t_stop / dt - 1e-9))
    pts = [min(k * dt, t_stop) for k in range(n + 1)]
    for bp in breakpoints:
        if 0.0 < bp < t_stop:
            pts.append(bp)
    pts.sort()
    grid = [pts[0]]
    for p in pts[1:]:
        if p - grid[-1] > 1e-9 * dt:
            grid.append(p)
        elif p in breakpoints:
            grid[-1] = p
    grid[-1] = t_stop
    return np.array(grid)


def _factor(m: sp.spmatrix) -> Any:
    """Sparse LU of ``m``; a singular matrix is a :class:`NetlistError`."""
    try:
        return spla.splu(sp.csc_matrix(m))
    except RuntimeError as err:
        raise NetlistError(f"the circuit matrix is singular ({err})") from None


def _expand(el: Element) -> list[Element]:
    """Primitive elements of a composite one (internal node ``<name>#int``)."""
    if isinstance(el, Diode) and el.model is not None and el.model.rs > 0:
        mid = el.name.lower() + "#int"
        return [Resistor(el.name + "#rs", el.a, mid, el.model.rs / el.m),
                Diode(el.name, mid, el.k, el.model, m=el.m)]
    if isinstance(el, Photodiode):
        mid = el.name.lower() + "#int" if el.rs > 0 else el.a
        out: list[Element] = []
        if el.rs > 0:
            out.append(Resistor(el.name + "#rs", el.a, mid, el.rs))
        out.append(Diode(el.name, mid, el.k, el.diode_model()))
        if el.rsh > 0:
            out.append(Resistor(el.name + "#rsh", mid, el.k, el.rsh))
        out.append(ISource(el.name + "#iph", el.k, mid, el.photocurrent))
        return out
    return [el]


def compile_netlist(netlist: Netlist, validate: bool = True) -> Circuit:
    """Compile a :class:`Netlist` into a :class:`Circuit` (sparse MNA)."""
    if validate:
        netlist.validate()
    prims = [p for el in netlist.elements for p in _expand(el)]
    node_index: dict[str, int] = {}
    for p in prims:
        for nd in p.nodes:
            c = canon(nd)
            if c != GROUND and c not in node_index:
                node_index[c] = len(node_index)
    nn = len(node_index)
    branch_index: dict[str, int] = {}
    for p in prims:
        if isinstance(p, VSource | TIA):
            branch_index[p.name.lower()] = nn + len(branch_index)
    n = nn + len(branch_index)

    def idx(node: str) -> int:
        c = canon(node)
        return -1 if c == GROUND else node_index[c]

    gr, gc, gv = [], [], []
    cr, cc, cv = [], [], []
    sr, sc, sv = [], [], []
    src_names: list[str] = []
    src_vals: list[float] = []
    src_wfs: list[tuple[Waveform, float] | None] = []

    def stamp2(rows, cols, vals, a, b, val):  # noqa: ANN001, ANN202
        for (i, j, s) in ((a, a, 1), (b, b, 1), (a, b, -1), (b, a, -1)):
            if i >= 0 and j >= 0:
                rows.append(i)
                cols.append(j)
                vals.append(s * val)

    diodes: list[tuple[str, int, int, DiodeModel, float]] = []
    pwls: list[tuple[str, int, int, PwlCurrent]] = []
    nlems: dict[int, list[tuple[str, int, int, float, Any]]] = {}
    for p in prims:
        if isinstance(p, Resistor):
            stamp2(gr, gc, gv, idx(p.n1), idx(p.n2), 1.0 / p.r)
        elif isinstance(p, Capacitor):
            stamp2(cr, cc, cv, idx(p.n1), idx(p.n2), p.c)
        elif isinstance(p, VSource | TIA):
            a, b_ = (idx(p.np), idx(p.nn)) if isinstance(p, VSource) else (idx(p.node), -1)
            k = branch_index[p.name.lower()]
            for nd, s in ((a, 1.0), (b_, -1.0)):
                if nd >= 0:
                    gr += [nd, k]
                    gc += [k, nd]
                    gv += [s, s]
            src_names.append(p.name.lower())
            src_vals.append(p.v if isinstance(p, VSource) else p.v_ref)
            wf = p.waveform if isinstance(p, VSource) else None
            src_wfs.append(None if wf is None else (wf, 1.0))
            sr.append(k)
            sc.append(len(src_names) - 1)
            sv.append(1.0)
        elif isinstance(p, ISource):
            src_names.append(p.name.lower())
            src_vals.append(p.i * p.m)
            src_wfs.append(None if p.waveform is None else (p.waveform, p.m))
            for nd, s in ((idx(p.np), -1.0), (idx(p.nn), 1.0)):
                if nd >= 0:
                    sr.append(nd)
                    sc.append(len(src_names) - 1)
                    sv.append(s)
        elif isinstance(p, Diode):
            diodes.append((p.name.lower(), idx(p.a), idx(p.k), p.model, p.m))
        elif isinstance(p, PwlCurrent):
            pwls.append((p.name.lower(), idx(p.a), idx(p.k), p))
        elif isinstance(p, NLEM):
            nlems.setdefault(id(p.model), []).append(
                (p.name.lower(), idx(p.a), idx(p.k), p.w, p.model))
        else:  # pragma: no cover - every primitive is handled above
            raise TypeError(f"cannot compile element {p!r}")

    groups: list[JunctionGroup] = []
    if diodes:
        groups.append(JunctionGroup(
            [d[0] for d in diodes], "diode",
            {"is": np.array([d[3].is_t * d[4] for d in diodes]),
             "vte": np.array([d[3].vte for d in diodes]),
             "gmin": np.array([d[3].gmin for d in diodes]),
             "rev": np.array([d[3].spice_reverse for d in diodes], dtype=bool)}))
    for lst in nlems.values():
        groups.append(JunctionGroup([d[0] for d in lst], "nlem",
                                    {"w": np.array([d[3] for d in lst], dtype=float)},
                                    model=lst[0][4]))
    if pwls:
        width = max(len(p[3].v) for p in pwls)

        vt = np.array([_pad_table(p[3].v, p[3].i, width)[0] for p in pwls])
        it = np.array([_pad_table(p[3].v, p[3].i, width)[1] for p in pwls])
        groups.append(JunctionGroup([p[0] for p in pwls], "pwl", {"vt": vt, "it": it}))
    jlist = ([d[:3] for d in diodes] + [d[:3] for lst in nlems.values() for d in lst]
             + [p[:3] for p in pwls])
    ar, ac, av = [], [], []
    for j, d in enumerate(jlist):
        if d[1] >= 0:
            ar.append(d[1])
            ac.append(j)
            av.append(1.0)
        if d[2] >= 0:
            ar.append(d[2])
            ac.append(j)
            av.append(-1.0)
    ns = len(src_names)
    return Circuit(
        netlist=netlist,
        node_index=node_index,
        branch_index=branch_index,
        G=sp.csr_matrix((gv, (gr, gc)), shape=(n, n)),
        C=sp.csr_matrix((cv, (cr, cc)), shape=(n, n)),
        S=sp.csr_matrix((sv, (sr, sc)), shape=(n, ns)),
        source_names=src_names,
        source_values=np.array(src_vals, dtype=float),
        source_waveforms=src_wfs,
        A=sp.csr_matrix((av, (ar, ac)), shape=(n, len(jlist))),
        groups=groups,
        junction_names=[d[0] for d in jlist],
        n_nodes=nn,
    )


def _pad_table(v: tuple[float, ...], i: tuple[float, ...],
               width: int) -> tuple[list[float], list[float]]:
    """A pwl table extended to ``width`` points along its last segment (same function)."""
    vv, ii = list(v), list(i)
    slope = (ii[-1] - ii[-2]) / (vv[-1] - vv[-2])
    while len(vv) < width:
        step = vv[-1] - vv[-2]
        vv.append(vv[-1] + step)
        ii.append(ii[-1] + slope * step)
    return vv, ii


def solve_op(netlist: Netlist, **kw: Any) -> OpResult:
    """Compile ``netlist`` and solve its DC operating point (see :meth:`Circuit.solve_op`)."""
    return compile_netlist(netlist).solve_op(**kw)
