"""Crossbar arrays: netlist builder, fast linear solvers and a batched nonlinear solver.

Layout (one N-row × M-column array; the ngspice note's test circuit): row ``i`` is driven by
an ideal source ``V_i`` through one wire segment ``r`` to its first cell, then one segment
between neighbouring cells; the far end is open. Column ``j`` runs from the cell in row 0 to
the cell in row N−1 and then through one more segment to its readout: an ideal virtual-ground
TIA (column current = TIA current) or a load resistor to ground. ``r = 0`` merges the nodes of
a line (then column currents are exactly Gᵀ·V with a TIA).

Unknown ordering of the fast solvers: row nodes row by row (``i·M + j``), then column nodes
column by column (``N·M + j·N + i``), so the row lines and the column lines are tridiagonal
blocks. :class:`LinearCrossbar` solves many input vectors at once either by one sparse LU
(``direct``) or by conjugate gradients preconditioned with those line blocks (``cg``, LAPACK
``gttrf``/``gttrs``), which reports non-convergence instead of returning a wrong answer.
:func:`solve_nonlinear_batch` runs damped Newton on small arrays of nonlinear cells (N-LEMs,
diodes) for a whole batch of inputs with dense batched linear algebra.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from circuits.kernels import crossbar_matvec, tri_factor, tri_solve
from circuits.mna import ConvergenceError
from circuits.netlist import NLEM, TIA, Diode, DiodeModel, Netlist, Resistor, VSource

log = logging.getLogger(__name__)

CellIV = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _check_readout(readout: str, r_load: float) -> None:
    if readout not in ("tia", "load"):
        raise ValueError(f"readout = {readout!r}: must be 'tia' or 'load'")
    if readout == "load" and not r_load > 0:
        raise ValueError(f"r_load = {r_load!r}: must be > 0 for a load readout")


def build_crossbar_netlist(
    v_rows: np.ndarray,
    r_wire: float,
    g: np.ndarray | None = None,
    cells: str = "resistor",
    diode: DiodeModel | None = None,
    nlem_model: object | None = None,
    states: np.ndarray | None = None,
    readout: str = "tia",
    r_load: float = 1e3,
    title: str = "crossbar",
) -> Netlist:
    """A crossbar as a :class:`Netlist` (for the general MNA solver and for SPICE export).

    Args:
        v_rows: Row driver voltages (N,), in V.
        r_wire: Resistance of one wire segment, in Ω (0 merges the line nodes).
        g: Cell conductances (N, M), in S (``cells="resistor"``).
        cells: ``resistor``, ``diode`` (anode on the row) or ``nlem`` (anode on the row).
        diode: Diode model of ``diode`` cells.
        nlem_model: Compact model of ``nlem`` cells.
        states: N-LEM states (N, M) of ``nlem`` cells.
        readout: ``tia`` (virtual ground, source ``vt<j>``) or ``load`` (resistor ``rl<j>``).
        r_load: Load resistance, in Ω.
        title: Netlist title.
    """
    _check_readout(readout, r_load)
    if r_wire < 0:
        raise ValueError(f"r_wire = {r_wire!r}: must be >= 0")
    v_rows = np.asarray(v_rows, dtype=float)
    shape = (g if g is not None else states).shape  # type: ignore[union-attr]
    n, m = shape
    if v_rows.shape != (n,):
        raise ValueError(f"v_rows has shape {v_rows.shape}, expected ({n},)")
    net = Netlist(title=title)
    for i in range(n):
        net.add(VSource(f"vr{i}", f"in{i}", "0", float(v_rows[i])))

    def rnode(i: int, j: int) -> str:
        return f"in{i}" if r_wire == 0 else f"r{i}_{j}"

    def cnode(i: int, j: int) -> str:
        return f"out{j}" if r_wire == 0 else f"c{i}_{j}"

    if r_wire > 0:
        for i in range(n):
            net.add(Resistor(f"rw{i}_0", f"in{i}", rnode(i, 0), r_wire))
            for j in range(1, m):
                net.add(Resistor(f"rw{i}_{j}", rnode(i, j - 1), rnode(i, j), r_wire))
        for j in range(m):
            for i in range(1, n):
                net.add(Resistor(f"cw{i}_{j}", cnode(i - 1, j), cnode(i, j), r_wire))
            net.add(Resistor(f"cw{n}_{j}", cnode(n - 1, j), f"out{j}", r_wire))
    for i in range(n):
        for j in range(m):
            a, k = rnode(i, j), cnode(i, j)
            if cells == "resistor":
                net.add(Resistor(f"g{i}_{j}", a, k, 1.0 / float(g[i, j])))  # type: ignore[index]
            elif cells == "diode":
                net.add(Diode(f"d{i}_{j}", a, k, diode))
            elif cells == "nlem":
                net.add(NLEM(f"x{i}_{j}", a, k, float(states[i, j]),  # type: ignore[index]
                             nlem_model))
            else:
                raise ValueError(f"cells = {cells!r}: must be resistor, diode or nlem")
    for j in range(m):
        if readout == "tia":
            net.add(TIA(f"vt{j}", f"out{j}"))
        else:
            net.add(Resistor(f"rl{j}", f"out{j}", "0", r_load))
    return net


def _wire_parts(n: int, m: int, gw: float, g_out: float) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal and off-diagonal of the wire part of the nodal matrix (tridiagonal)."""
    # row lines: tridiagonal over i*M + j, couplings only inside a row
    r_diag = np.full((n, m), 2 * gw)
    r_diag[:, -1] -= gw  # far end open
    r_off = np.full((n, m), -gw)
    r_off[:, -1] = 0.0  # no coupling between consecutive rows
    c_diag = np.full((m, n), 2 * gw)
    c_diag[:, 0] -= gw  # top end open
    c_diag[:, -1] += g_out - gw
    c_off = np.full((m, n), -gw)
    c_off[:, -1] = 0.0
    diag = np.concatenate([r_diag.ravel(), c_diag.ravel()])
    off = np.concatenate([r_off.ravel(), c_off.ravel()])[:-1]
    return diag, off


def _wire_matrix(n: int, m: int, gw: float, g_out: float) -> sp.csr_matrix:
    """Wire part of the nodal matrix as a sparse matrix."""
    diag, off = _wire_parts(n, m, gw, g_out)
    return sp.diags([off, diag, off], [-1, 0, 1], shape=(2 * n * m, 2 * n * m), format="csr")


@dataclass
class CrossbarSolution:
    """Column currents of a crossbar solve and how they were obtained."""

    currents: np.ndarray
    """Column currents into the readout, (M,) or (M, batch), in A."""
    method: str
    iterations: int
    residual: float
    """Largest relative residual ‖b − Kx‖ / ‖b‖ over the batch."""
    converged: bool


class LinearCrossbar:
    """Linear (resistive-cell) crossbar with fast batched solvers.

    Args:
        g: Cell conductances (N, M), in S.
        r_wire: Wire resistance per segment, in Ω (0: ideal wires).
        readout: ``tia`` or ``load``.
        r_load: Load resistance for ``load`` readout, in Ω.
    """

    def __init__(self, g: np.ndarray, r_wire: float, readout: str = "tia", r_load: float = 1e3):
        g = np.asarray(g, dtype=float)
        if g.ndim != 2 or np.any(~np.isfinite(g)) or np.any(g < 0):
            raise ValueError("g must be a finite, non-negative (N, M) array of conductances")
        if r_wire < 0:
            raise ValueError(f"r_wire = {r_wire!r}: must be >= 0")
        _check_readout(readout, r_load)
        self.g, self.r_wire, self.readout, self.r_load = g, float(r_wire), readout, r_load
        self.n, self.m = g.shape
        self._lu = None
        self._pre = None
        self._K: sp.csr_matrix | None = None
        if r_wire > 0:
            gw = 1.0 / r_wire
            self.g_out = gw if readout == "tia" else 1.0 / (r_wire + r_load)
            diag, off = _wire_parts(self.n, self.m, gw, self.g_out)
            nm = self.n * self.m
            self._ridx = np.arange(nm)
            self._cidx = nm + (np.arange(self.m)[None, :] * self.n
                               + np.arange(self.n)[:, None]).ravel()
            self._gflat = np.ascontiguousarray(g.ravel())
            diag[self._ridx] += self._gflat
            diag[self._cidx] += self._gflat
            self._diag, self._off, self._gw = diag, off, gw
            self._cidx_last = nm + np.arange(self.m) * self.n + (self.n - 1)

    @property
    def K(self) -> sp.csr_matrix:
        """The nodal matrix (sparse; built on first use)."""
        if self._K is None:
            gv = self._gflat
            r, c = self._ridx, self._cidx
            W = sp.diags([self._off, self._diag, self._off], [-1, 0, 1],
                         shape=(self._diag.size,) * 2, format="csr")
            cell = sp.csr_matrix((np.concatenate([-gv, -gv]),
                                  (np.concatenate([r, c]), np.concatenate([c, r]))),
                                 shape=W.shape)
            self._K = (W + cell).tocsr()
        return self._K

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """``K @ x`` (matrix-free Numba kernel) for x of shape (n,) or (n, batch)."""
        x2 = np.ascontiguousarray(x.reshape(x.shape[0], -1), dtype=float)
        y = crossbar_matvec(self._diag, self._off, self._gflat, self.n, self.m, x2)
        return y.reshape(x.shape)

    # ------------------------------------------------------------------ helpers
    def rhs(self, v_rows: np.ndarray) -> np.ndarray:
        """Nodal right-hand side for row voltages (N,) or (N, batch)."""
        v = np.asarray(v_rows, dtype=float)
        b = np.zeros((2 * self.n * self.m,) + v.shape[1:])
        b[np.arange(self.n) * self.m] = self._gw * v
        return b

    def currents_from(self, x: np.ndarray) -> np.ndarray:
        """Column readout currents from the nodal solution."""
        return self.g_out * x[self._cidx_last]

    def ideal(self, v_rows: np.ndarray) -> np.ndarray:
        """Exact currents for r = 0 (Gᵀ·V for a TIA; load divider otherwise)."""
        v = np.asarray(v_rows, dtype=float)
        if self.readout == "tia":
            return self.g.T @ v
        gl = 1.0 / self.r_load
        vout = (self.g.T @ v) / (self.g.sum(axis=0) + gl).reshape((-1,) + (1,) * (v.ndim - 1))
        return gl * vout

    # ------------------------------------------------------------------ solvers
    def solve(self, v_rows: np.ndarray, method: str = "auto", tol: float = 1e-13,
              max_iter: int = 500, raise_on_fail: bool = True) -> CrossbarSolution:
        """Column currents for row voltages ``v_rows`` (N,) or (N, batch).

        Args:
            v_rows: Row driver voltages, in V.
            method: ``direct`` (sparse LU, factored once), ``cg`` (line-preconditioned CG)
                or ``auto`` (``cg``, falling back to ``direct`` when CG does not converge).
            tol: CG relative residual target.
            max_iter: CG iteration cap.
            raise_on_fail: Raise :class:`ConvergenceError` when CG fails (else return
                ``converged=False``).
        """
        v = np.asarray(v_rows, dtype=float)
        if v.shape[0] != self.n:
            raise ValueError(f"v_rows has {v.shape[0]} rows, the crossbar has {self.n}")
        if self.r_wire == 0:
            return CrossbarSolution(self.ideal(v), "ideal", 0, 0.0, True)
        b = self.rhs(v)
        if method == "auto":
            x, its, res, ok = self._pcg(b, tol, max_iter)
            if ok:
                return CrossbarSolution(self.currents_from(x), "cg", its, res, True)
            log.warning("crossbar CG did not converge (residual %.2e after %d iterations); "
                        "falling back to the direct solver", res, its)
            method = "direct"
        if method == "direct":
            if self._lu is None:
                self._lu = spla.splu(self.K.tocsc(), permc_spec="MMD_AT_PLUS_A")
            # SuperLU's multi-RHS path is slower than column-by-column solves here
            x = (self._lu.solve(b) if b.ndim == 1 else
                 np.stack([self._lu.solve(b[:, k]) for k in range(b.shape[1])], axis=1))
            res = self._residual(x, b)
            return CrossbarSolution(self.currents_from(x), "direct", 1, res, True)
        if method == "cg":
            x, its, res, ok = self._pcg(b, tol, max_iter)
            if not ok and raise_on_fail:
                raise ConvergenceError(
                    f"crossbar CG did not converge: relative residual {res:.3e} after {its} "
                    f"iterations (tol {tol:g}); use method='direct'")
            return CrossbarSolution(self.currents_from(x), "cg", its, res, ok)
        raise ValueError(f"method = {method!r}: must be auto, direct or cg")

    def _residual(self, x: np.ndarray, b: np.ndarray) -> float:
        r = b - self.matvec(x)
        nb_ = np.linalg.norm(b, axis=0)
        return float(np.max(np.linalg.norm(r, axis=0) / np.where(nb_ > 0, nb_, 1.0)))

    def _precond(self) -> Callable[[np.ndarray], np.ndarray]:
        """Block-Jacobi preconditioner: exact solves on every row line and column line."""
        if self._pre is None:
            self._pre = tri_factor(self._diag, self._off)
        inv, cp = self._pre
        off = self._off

        def apply(r: np.ndarray) -> np.ndarray:
            return tri_solve(inv, cp, off, np.ascontiguousarray(r))

        return apply

    def _pcg(self, b: np.ndarray, tol: float, max_iter: int
             ) -> tuple[np.ndarray, int, float, bool]:
        """Batched preconditioned CG (columns of ``b`` solved together)."""
        squeeze = b.ndim == 1
        B = b[:, None] if squeeze else b
        M = self._precond()
        x = np.zeros_like(B)
        r = B.copy()
        z = M(r)
        p = z.copy()
        rz = np.einsum("ij,ij->j", r, z)
        nb = np.linalg.norm(B, axis=0)
        nb[nb == 0] = 1.0
        best = np.inf
        its = 0
        rel = np.linalg.norm(r, axis=0) / nb
        for k in range(1, max_iter + 1):
            its = k
            q = self.matvec(p)
            pq = np.einsum("ij,ij->j", p, q)
            if np.any(pq <= 0):
                break  # not SPD (or breakdown): report as non-convergence
            alpha = rz / pq
            x += alpha * p
            r -= alpha * q
            rel = np.linalg.norm(r, axis=0) / nb
            worst = float(rel.max())
            if worst <= tol:
                break
            if worst > 1e6 * min(best, 1.0) or not np.isfinite(worst):
                break  # diverging
            best = min(best, worst)
            z = M(r)
            rz_new = np.einsum("ij,ij->j", r, z)
            p = z + (rz_new / np.where(rz == 0, 1.0, rz)) * p
            rz = rz_new
        worst = float(np.max(rel))
        ok = bool(worst <= tol)
        if ok:  # confirm with the true residual
            worst = self._residual(x, B)
            ok = worst <= max(tol * 10, 1e-12)
        return (x[:, 0] if squeeze else x), its, worst, ok


def differential(currents: np.ndarray) -> np.ndarray:
    """Differential-pair outputs G+ − G−: even minus odd columns (axis 0)."""
    return currents[0::2] - currents[1::2]


def solve_nonlinear_batch(
    cell_iv: CellIV,
    v_rows: np.ndarray,
    shape: tuple[int, int],
    r_wire: float,
    readout: str = "tia",
    r_load: float = 1e3,
    vstep: float = 0.5,
    max_iter: int = 100,
    tol: float = 1e-13,
) -> tuple[np.ndarray, np.ndarray]:
    """Damped Newton for a small crossbar of nonlinear cells, batched over inputs.

    Args:
        cell_iv: ``cell_iv(v)`` with ``v`` of shape (batch, N, M) (anode on the row) returning
            cell currents (A) and dI/dV (S) of the same shape.
        v_rows: Row voltages (batch, N), in V.
        shape: (N, M).
        r_wire: Wire resistance per segment, in Ω.
        readout: ``tia`` or ``load``.
        r_load: Load resistance, in Ω.
        vstep: Largest cell-voltage change per Newton step, in V.
        max_iter: Newton iteration cap.
        tol: Convergence tolerance on the update relative to the largest node voltage.

    Returns:
        (column currents (batch, M) in A, cell voltages (batch, N, M) in V).

    Raises:
        ConvergenceError: when any input of the batch does not converge.
    """
    _check_readout(readout, r_load)
    n, m = shape
    v_rows = np.atleast_2d(np.asarray(v_rows, dtype=float))
    nb = v_rows.shape[0]
    if r_wire == 0:
        if readout == "tia":
            vc = np.repeat(v_rows[:, :, None], m, axis=2)
            i, _ = cell_iv(vc)
            return i.sum(axis=1), vc
        raise ValueError("r_wire = 0 with a load readout: use a small r_wire > 0")
    gw = 1.0 / r_wire
    g_out = gw if readout == "tia" else 1.0 / (r_wire + r_load)
    W = _wire_matrix(n, m, gw, g_out)
    Wd = W.toarray()
    nm = n * m
    nu = 2 * nm
    ridx = np.arange(nm)
    cidx = nm + (np.arange(m)[None, :] * n + np.arange(n)[:, None]).ravel()
    b = np.zeros((nb, nu))
    b[:, np.arange(n) * m] = gw * v_rows
    # initial guess: row nodes at their driver voltage, columns at 0
    x = np.zeros((nb, nu))
    x[:, :nm] = np.repeat(v_rows, m, axis=1)
    flat = lambda a, c: a * nu + c  # noqa: E731
    f_rr, f_cc, f_rc, f_cr = flat(ridx, ridx), flat(cidx, cidx), flat(ridx, cidx), flat(cidx, ridx)
    done = np.zeros(nb, dtype=bool)
    for _ in range(max_iter):
        vc = x[:, ridx] - x[:, cidx]
        i, g = cell_iv(vc.reshape(nb, n, m))
        i = i.reshape(nb, nm)
        g = g.reshape(nb, nm)
        F = x @ Wd.T - b
        F[:, ridx] += i
        F[:, cidx] -= i
        J = np.broadcast_to(Wd, (nb, nu, nu)).copy().reshape(nb, nu * nu)
        J[:, f_rr] += g
        J[:, f_cc] += g
        J[:, f_rc] -= g
        J[:, f_cr] -= g
        dx = np.linalg.solve(J.reshape(nb, nu, nu), -F[:, :, None])[:, :, 0]
        dvc = np.abs(dx[:, ridx] - dx[:, cidx]).max(axis=1)
        scale = np.minimum(1.0, vstep / np.maximum(dvc, 1e-300))
        x += scale[:, None] * dx
        conv = (scale == 1.0) & (np.abs(dx).max(axis=1) <= tol * np.abs(x).max(axis=1) + 1e-15)
        done |= conv
        if done.all():
            break
    if not done.all():
        raise ConvergenceError(f"nonlinear crossbar Newton: {int((~done).sum())} of {nb} inputs "
                               f"did not converge in {max_iter} iterations")
    vc = (x[:, ridx] - x[:, cidx]).reshape(nb, n, m)
    return g_out * x[:, cidx.reshape(n, m)[-1]], vc


def diode_cell_iv(model: DiodeModel) -> CellIV:
    """Cell I-V of a diode crossbar (no series resistance), for :func:`solve_nonlinear_batch`."""
    from circuits.mna import diode_iv

    if model.rs > 0:
        raise ValueError("diode_cell_iv: series resistance RS is not supported in array cells")

    def iv(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = v.ravel()
        ones = np.ones_like(f)
        i, g = diode_iv(f, model.is_ * ones, model.vte * ones, model.gmin * ones,
                        np.full(f.shape, model.spice_reverse))
        return i.reshape(v.shape), g.reshape(v.shape)

    return iv


def nlem_cell_iv(model: object, states: np.ndarray, h: float = 1e-6) -> CellIV:
    """Cell I-V of an N-LEM crossbar at fixed states (N, M) from the compact model."""
    w = np.asarray(states, dtype=float)

    def iv(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ww = np.broadcast_to(w, v.shape).ravel()
        f = v.ravel()
        i = np.asarray(model.current(f, ww), dtype=float)  # type: ignore[attr-defined]
        g = (np.asarray(model.current(f + h, ww)) - np.asarray(model.current(f - h, ww))) / (
            2 * h)  # type: ignore[attr-defined]
        return i.reshape(v.shape), np.maximum(g, 1e-15).reshape(v.shape)

    return iv


__all__ = [
    "CrossbarSolution", "LinearCrossbar", "build_crossbar_netlist", "differential",
    "diode_cell_iv", "nlem_cell_iv", "solve_nonlinear_batch", "TIA",
]
