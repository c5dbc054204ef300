"""Numba kernels of the crossbar solver: line (tridiagonal) factor/solve and the nodal matvec.

Unknown ordering (see :mod:`circuits.crossbar`): row nodes ``i·M + j`` then column nodes
``N·M + j·N + i``; the wire part is one tridiagonal matrix (zero couplings between lines) and
each cell couples row node ``(i, j)`` to column node ``(i, j)``. Right-hand sides are C-ordered
``(n, batch)`` arrays so the inner loops run over the contiguous batch axis.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def tri_factor(diag: np.ndarray, off: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LU factors (no pivoting) of the symmetric tridiagonal matrix (diag, off).

    Returns:
        (1 / pivot per row, c' = off / pivot): the Thomas algorithm's factors.
    """
    n = diag.size
    inv = np.empty(n)
    cp = np.zeros(n)
    piv = diag[0]
    inv[0] = 1.0 / piv
    for i in range(1, n):
        cp[i - 1] = off[i - 1] * inv[i - 1]
        piv = diag[i] - off[i - 1] * cp[i - 1]
        inv[i] = 1.0 / piv
    return inv, cp


@nb.njit(cache=True)
def tri_solve(inv: np.ndarray, cp: np.ndarray, off: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Solve the factored tridiagonal system for every column of ``r`` (n, batch)."""
    n, b = r.shape
    x = np.empty_like(r)
    for k in range(b):
        x[0, k] = r[0, k] * inv[0]
    for i in range(1, n):
        o = off[i - 1]
        s = inv[i]
        for k in range(b):
            x[i, k] = (r[i, k] - o * x[i - 1, k]) * s
    for i in range(n - 2, -1, -1):
        c = cp[i]
        for k in range(b):
            x[i, k] -= c * x[i + 1, k]
    return x


@nb.njit(cache=True)
def crossbar_matvec(diag: np.ndarray, off: np.ndarray, g: np.ndarray, n_rows: int,
                    n_cols: int, x: np.ndarray) -> np.ndarray:
    """``K @ x`` for the crossbar nodal matrix, ``x`` of shape (2·N·M, batch).

    Args:
        diag: Diagonal of K (wire + cell conductances).
        off: Off-diagonal of the tridiagonal wire part (length 2·N·M − 1).
        g: Cell conductances, row-major (N·M,).
        n_rows: N.
        n_cols: M.
        x: Vectors.
    """
    n, b = x.shape
    y = np.empty_like(x)
    for i in range(n):
        d = diag[i]
        for k in range(b):
            y[i, k] = d * x[i, k]
    for i in range(n - 1):
        o = off[i]
        if o != 0.0:
            for k in range(b):
                y[i, k] += o * x[i + 1, k]
                y[i + 1, k] += o * x[i, k]
    nm = n_rows * n_cols
    for i in range(n_rows):
        for j in range(n_cols):
            p = i * n_cols + j
            q = nm + j * n_rows + i
            gc = g[p]
            for k in range(b):
                y[p, k] -= gc * x[q, k]
                y[q, k] -= gc * x[p, k]
    return y
