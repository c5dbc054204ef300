"""Device output files: the HDF5 of the data contract and XDMF profiles for ParaView.

HDF5 layout (docs/architecture.md): ``/mesh/x`` (m), ``/mesh/layer`` (stack-layer index per cell,
attrs ``layers``/``thicknesses``), ``/trace/{t,V,uv,J,J_right,L,Qt_p,Qt_n}`` (SI;
``Qt_p`` and ``Qt_n`` are the magnitudes, both >= 0, of the charge held in hole and in electron
traps, so the net trapped charge is ``Qt_p - Qt_n``: both solvers write them so),
``/snapshots/<k>/{psi,n,p,nt,pt,E}`` with attr ``t``, and file attrs ``protocol``, ``stack``,
``solver_stats`` (JSON) plus the provenance written by :func:`lemsim.io.atomic_h5`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from lemsim.io import atomic_h5, atomic_path, to_json

log = logging.getLogger(__name__)

SNAPSHOT_FIELDS = ("psi", "n", "p", "nt", "pt", "E", "phin", "phip")


def write_device_h5(path: str | Path, *, x: np.ndarray, cell_layer: np.ndarray,
                    layer_names: list[str], layer_thicknesses: list[float],
                    trace: Any, protocol_json: str, stack_json: str,
                    config: Any = None, extra_stats: dict[str, Any] | None = None) -> Path:
    """Write one run to ``path`` (atomically).

    Args:
        path: Output file (.h5).
        x: Node positions (m).
        cell_layer: Stack-layer index of every cell.
        layer_names: Names of the stack layers.
        layer_thicknesses: Their thicknesses (m).
        trace: A :class:`device_physics.timestepping.Trace`.
        protocol_json: JSON of the protocol.
        stack_json: JSON of the stack.
        config: Resolved config section (provenance attribute).
        extra_stats: Merged into ``solver_stats``.
    """
    stats = dict(trace.stats)
    stats.update(extra_stats or {})
    with atomic_h5(path, config) as fh:
        g = fh.create_group("mesh")
        g.create_dataset("x", data=np.asarray(x, float))
        g.create_dataset("layer", data=np.asarray(cell_layer, np.int32))
        g.attrs["layers"] = json.dumps(list(layer_names))
        g.attrs["thicknesses"] = np.asarray(layer_thicknesses, float)
        tg = fh.create_group("trace")
        for k, v in trace.arrays().items():
            tg.create_dataset(k, data=v)
        tg.attrs["units"] = json.dumps({"t": "s", "V": "V", "uv": "W/m^2", "J": "A/m^2",
                                        "J_right": "A/m^2", "L": "photons/(s m^2)",
                                        "Qt_p": "C/m^2", "Qt_n": "C/m^2"})
        sg = fh.create_group("snapshots")
        for k, (t, prof) in enumerate(trace.snapshots):
            gk = sg.create_group(str(k))
            gk.attrs["t"] = float(t)
            for name in SNAPSHOT_FIELDS:
                if name in prof:
                    gk.create_dataset(name, data=np.asarray(prof[name], float))
        fh.attrs["protocol"] = protocol_json
        fh.attrs["stack"] = stack_json
        fh.attrs["solver_stats"] = to_json(stats)
    return Path(path)


def write_xdmf_profiles(path: str | Path, solver: Any, trace: Any) -> Path:
    """Profiles psi (V), log10 n, log10 p (m^-3), nt, pt (m^-3) of every snapshot as an XDMF
    time series (ParaView), written atomically (the .h5 companion is renamed too)."""
    import dolfinx.fem as fem
    from dolfinx.io import XDMFFile

    path = Path(path)
    P1 = fem.functionspace(solver.mesh, ("Lagrange", 1))
    order = np.argsort(P1.tabulate_dof_coordinates()[:, 0])
    funcs = {nm: fem.Function(P1, name=nm) for nm in ("psi", "log10_n", "log10_p", "nt", "pt")}
    tmp_h5 = path.with_suffix(".h5")
    with atomic_path(path) as tmp:
        xdmf_tmp = tmp.with_suffix(".xdmf")
        with XDMFFile(solver.mesh.comm, str(xdmf_tmp), "w") as xf:
            xf.write_mesh(solver.mesh)
            for t, prof in trace.snapshots:
                vals = {"psi": prof["psi"], "log10_n": np.log10(np.maximum(prof["n"], 1e-300)),
                        "log10_p": np.log10(np.maximum(prof["p"], 1e-300)), "nt": prof["nt"],
                        "pt": prof["pt"]}
                for nm, f in funcs.items():
                    f.x.array[order] = vals[nm]
                    xf.write_function(f, float(t))
        # XDMF references its heavy-data file by name: rename both into place
        text = xdmf_tmp.read_text(encoding="utf-8").replace(xdmf_tmp.with_suffix(".h5").name,
                                                           tmp_h5.name)
        tmp.write_text(text, encoding="utf-8")
        xdmf_tmp.with_suffix(".h5").replace(tmp_h5)
        xdmf_tmp.unlink()
    return path
