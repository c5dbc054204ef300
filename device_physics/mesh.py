"""Graded 1D meshes with a node on every interface (numpy), and their dolfinx meshes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def graded_layer_nodes(thickness: float, n_cells: int, grading: float) -> np.ndarray:
    """Node positions in one layer, refined symmetrically towards both of its ends.

    Args:
        thickness: Layer thickness (any length unit, > 0).
        n_cells: Number of cells in the layer (>= 1).
        grading: tanh grading strength beta >= 0 (0 is uniform; 3 gives a ratio ~20
            between the central and the end cells).

    Returns:
        ``n_cells + 1`` increasing positions from 0 to ``thickness``.
    """
    if not thickness > 0:
        raise ValueError(f"thickness = {thickness!r}: must be > 0")
    if n_cells < 1:
        raise ValueError(f"n_cells = {n_cells!r}: must be >= 1")
    if grading < 0:
        raise ValueError(f"grading = {grading!r}: must be >= 0")
    s = np.linspace(0.0, 1.0, n_cells + 1)
    if grading == 0:
        return thickness * s
    g = 0.5 * (1.0 + np.tanh(grading * (2 * s - 1)) / np.tanh(grading))
    g[0], g[-1] = 0.0, 1.0
    return thickness * g


def layered_nodes(
    thicknesses: Sequence[float], cells_per_layer: int | Sequence[int], grading: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes of a layered 1D mesh (nodes on every interface) and the layer index per cell.

    Args:
        thicknesses: Layer thicknesses, bottom to top (> 0 each).
        cells_per_layer: Cells in every layer (one number or one per layer).
        grading: tanh grading strength towards each interface (see :func:`graded_layer_nodes`).

    Returns:
        ``(x, layer)``: node positions starting at 0, and the layer index of each cell.
    """
    th = list(thicknesses)
    if not th:
        raise ValueError("thicknesses = []: need at least one layer")
    counts = [cells_per_layer] * len(th) if np.isscalar(cells_per_layer) else list(cells_per_layer)
    if len(counts) != len(th):
        raise ValueError(f"cells_per_layer has {len(counts)} entries for {len(th)} layers")
    xs = [np.zeros(1)]
    layer = []
    x0 = 0.0
    for i, (t, c) in enumerate(zip(th, counts, strict=True)):
        nodes = graded_layer_nodes(t, int(c), grading)
        xs.append(x0 + nodes[1:])
        layer.append(np.full(int(c), i, dtype=np.int32))
        x0 += t
    return np.concatenate(xs), np.concatenate(layer)


def interval_mesh(x: np.ndarray):
    """A dolfinx interval mesh on MPI.COMM_SELF whose vertices are the sorted nodes ``x``.

    Cell ``i`` of the returned mesh spans ``[x[i], x[i+1]]`` (the uniform mesh of dolfinx
    numbers its cells left to right on one process; the coordinates are then mapped).
    """
    from dolfinx import mesh as dmesh
    from mpi4py import MPI

    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size < 2 or np.any(np.diff(x) <= 0):
        raise ValueError("x: node positions must be a strictly increasing 1D array of >= 2 values")
    n = x.size - 1
    msh = dmesh.create_interval(MPI.COMM_SELF, n, [0.0, float(n)])
    geo = msh.geometry.x
    idx = np.rint(geo[:, 0]).astype(int)
    geo[:, 0] = x[idx]
    # check cell ordering assumption
    cells = msh.geometry.dofmaps[0] if hasattr(msh.geometry, "dofmaps") else msh.geometry.dofmap
    mids = 0.5 * (geo[cells[:, 0], 0] + geo[cells[:, 1], 0])
    if np.any(np.diff(mids) <= 0):
        raise RuntimeError("dolfinx interval cells are not ordered left to right")
    return msh
