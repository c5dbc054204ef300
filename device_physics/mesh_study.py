"""Mesh-convergence study of the trap slab: pulse-train metrics against cells/layer.

The PVP electron traps sit in a 3 nm slab at the IDTBT/PVP interface, so the trapped charge
and the potentiation depend on how finely that slab and its surroundings are meshed.
:func:`mesh_study` runs one protocol on one stack at several mesh sizes, with fv1d on the
dolfinx solver's mesh (:func:`device_physics.fv1d.dolfinx_mesh`: tanh grading, the slab a
sublayer with a share of the cells, at least 4) and optionally with dolfinx itself, and
tabulates the current/light gain of the pulse train, NL of the current (paper D3 definition,
:func:`lemsim.metrics.nonlinearity`), the trapped electron charge at the end of the
train and the wall time. Too slow for a test (a 10-pulse run at 20 cells is minutes), so it is
a library function with a CLI::

    python -m device_physics.mesh_study --cells 10 20 40 --protocol pulses_10 [--dolfinx]

which prints one row per run and, as the last line, one JSON object with all rows.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]


def _peaks(t: np.ndarray, J: np.ndarray, L: np.ndarray, Qn: np.ndarray,
           windows: list[tuple[float, float]]) -> dict[str, np.ndarray]:
    """End-of-pulse values of J, L and |trapped electron charge| in every pulse window."""
    out: dict[str, list[float]] = {"J": [], "L": [], "Qt_n": []}
    for t0, t1 in windows:
        m = np.nonzero((t > t0) & (t <= t1 + 1e-12))[0]
        if m.size:
            out["J"].append(float(J[m[-1]]))
            out["L"].append(float(L[m[-1]]))
            out["Qt_n"].append(abs(float(Qn[m[-1]])))
    return {k: np.asarray(v) for k, v in out.items()}


def _row(solver: str, cells: int, nodes: int, status: str, wall: float,
         pk: dict[str, np.ndarray]) -> dict[str, Any]:
    from lemsim.metrics import nonlinearity

    row: dict[str, Any] = {"solver": solver, "cells_per_layer": cells, "nodes": nodes,
                           "status": status, "wall_s": round(wall, 1),
                           "pulses": int(pk["J"].size)}
    if pk["J"].size >= 2:
        row["gain_J"] = float(pk["J"][-1] / pk["J"][0])
        row["gain_L"] = float(pk["L"][-1] / pk["L"][0])
        row["NL_J"] = float(nonlinearity(pk["J"]))
        row["J1_A_m2"] = float(pk["J"][0])
        row["Qt_n_end_C_m2"] = float(pk["Qt_n"][-1])
    return row


def run_fv1d(stack: Any, protocol: Any, cells: int, rtol: float = 0.05) -> dict[str, Any]:
    """One fv1d run on the dolfinx mesh with ``cells`` cells per layer (robust retry on)."""
    from device_physics.fv1d import FV1D, SolverError, dolfinx_mesh

    x, lay = dolfinx_mesh(stack, cells)
    sol = FV1D(stack, x=x, layer=lay, rtol=rtol, wavelength=protocol.wavelength, dt_edge=1e-6)
    sol.retry_sanitized = True
    sol.robust_retry = True
    t0 = time.perf_counter()
    status = "complete"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            tr = sol.run(protocol, snapshots=False)
        except SolverError as exc:
            tr, status = exc.trace, f"failed: {exc}"
    a = tr.arrays()
    pk = _peaks(a["t"], a["J"], a["L"], a["Qt_n"], protocol.pulse_windows())
    return _row("fv1d", cells, sol.dev.N, status, time.perf_counter() - t0, pk)


def run_dolfinx(stack: Any, protocol: Any, cells: int, rtol: float = 0.05) -> dict[str, Any]:
    """One dolfinx run (the ``device_run`` settings: grading 3.5, dt_max duration/20)."""
    from device_physics.simulate import build_solver
    from device_physics.timestepping import StepFailure, StepOptions, run_protocol

    s, _ = build_solver(stack, protocol.wavelength, cells, 3.5)
    t0 = time.perf_counter()
    status = "complete"
    try:
        tr = run_protocol(s, protocol, StepOptions(
            rtol=rtol, dt_max=max(protocol.duration / 20, 1e-6)))
    except StepFailure as exc:
        tr, status = exc.trace, f"failed: {exc}"
    a = tr.arrays()
    pk = _peaks(a["t"], a["J"], a["L"], a["Qt_n"], protocol.pulse_windows())
    return _row("dolfinx", cells, len(s.x), status, time.perf_counter() - t0, pk)


def mesh_study(stack: str | Path, protocol: str | Path, cells: list[int],
               rtol: float = 0.05, dolfinx_cells: list[int] | None = None
               ) -> list[dict[str, Any]]:
    """Rows (one per solver and mesh) of the mesh-convergence study; see the module doc.

    Raises:
        ValueError: a cell count below 2 or ``rtol`` outside (0, 1) (before any run).
    """
    from device_physics.protocols import load_protocol
    from device_physics.stack import load_stack

    for c in list(cells) + list(dolfinx_cells or []):
        if int(c) < 2:
            raise ValueError(f"cells = {c!r}: must be >= 2")
    if not 0 < rtol < 1:
        raise ValueError(f"rtol = {rtol!r}: must be in (0, 1)")
    st = load_stack(stack)
    pr = load_protocol(protocol)
    rows = []
    for c in cells:
        rows.append(run_fv1d(st, pr, int(c), rtol))
        log.info("%s", rows[-1])
    for c in dolfinx_cells or []:
        from mpi4py import MPI  # noqa: F401  (before dolfinx)

        rows.append(run_dolfinx(st, pr, int(c), rtol))
        log.info("%s", rows[-1])
    return rows


def main(argv: list[str] | None = None) -> None:
    """CLI: see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stack", default=str(ROOT / "config" / "stacks" / "nlem.yaml"))
    ap.add_argument("--protocol", default="pulses_10",
                    help="name in config/protocols or a YAML path")
    ap.add_argument("--cells", type=int, nargs="+", default=[10, 20, 40])
    ap.add_argument("--dolfinx", type=int, nargs="*", default=[],
                    help="cells per layer of the dolfinx runs (none by default)")
    ap.add_argument("--rtol", type=float, default=0.05)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    proto = Path(args.protocol)
    if not proto.suffix:
        proto = ROOT / "config" / "protocols" / f"{args.protocol}.yaml"
    rows = mesh_study(args.stack, proto, args.cells, args.rtol, args.dolfinx)
    for r in rows:
        print(r)
    print(json.dumps({"name": "mesh_study", "protocol": proto.stem, "rows": rows}))


if __name__ == "__main__":
    main()
