"""Graded 1D meshes of a stack: nodes on every interface, geometric refinement toward them."""

from __future__ import annotations

import numpy as np

from device_physics.stack import Stack


def graded_cells(thickness: float, cells: int, ratio: float) -> np.ndarray:
    """Cell sizes of one layer, growing by ``ratio`` from both ends toward the middle.

    Args:
        thickness: Layer thickness, m.
        cells: Number of cells (>= 1).
        ratio: Size ratio of neighbouring cells (>= 1; 1 = uniform).
    """
    if cells < 1:
        raise ValueError(f"cells = {cells}: must be >= 1")
    if not 1.0 <= ratio <= 2.0:
        raise ValueError(f"ratio = {ratio}: must be in [1, 2]")
    k = np.arange(cells)
    s = ratio ** np.minimum(k, cells - 1 - k).astype(float)
    return thickness * s / s.sum()


def graded_mesh(stack: Stack, nodes_per_layer: int | list[int] = 40,
                ratio: float = 1.15) -> tuple[np.ndarray, np.ndarray]:
    """Nodes of a graded 1D mesh of ``stack`` and the layer index of each cell.

    Every interface is a node; inside each layer cell sizes grow geometrically by ``ratio``
    away from both of its boundaries.

    Args:
        stack: The device.
        nodes_per_layer: Cells per layer (one number, or one per layer), >= 2.
        ratio: Neighbouring-cell size ratio in [1, 2].

    Returns:
        ``(x, layer)``: node positions in m (len N, x[0] = 0 at the anode) and the layer index
        of each of the N - 1 cells.
    """
    n_l = len(stack.layers)
    counts = [nodes_per_layer] * n_l if isinstance(nodes_per_layer, int) else list(nodes_per_layer)
    if len(counts) != n_l:
        raise ValueError(f"nodes_per_layer has {len(counts)} entries for {n_l} layers")
    for la, c in zip(stack.layers, counts, strict=True):
        if c < 2:
            raise ValueError(f"nodes_per_layer = {c} for layer {la.name!r}: must be >= 2")
    sizes = [graded_cells(la.thickness, c, ratio) for la, c in zip(stack.layers, counts,
                                                                     strict=True)]
    h = np.concatenate(sizes)
    x = np.concatenate([[0.0], np.cumsum(h)])
    # snap interfaces exactly
    ends = np.cumsum(counts)
    x[ends] = stack.interfaces[1:]
    layer = np.concatenate([np.full(c, i, dtype=np.int64) for i, c in enumerate(counts)])
    return x, layer
