"""One device run: stack + protocol -> dolfinx solve -> HDF5 (+ XDMF profiles).

:func:`simulate` is the library function behind ``python -m device_physics run`` and the
Snakemake rule ``device_run``. When the time loop fails, the trace computed so far is still
written (``solver_stats.failed = true``) and the error is raised again.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Density floor of the Newton iterates in a stalled waveform segment of a stack run, relative
#: to the scaling density N0 (``DDSolver.ln_floor_stall = ln DENSITY_FLOOR``; the stepper
#: switches it on after ``StepOptions.stall_steps`` steps in one segment and off at the next
#: knot). N0 is the largest band-edge density of states or doping of the stack (about 1e27 m^-3
#: here), so the floor is about 1e7 m^-3 (10 cm^-3), physically zero. In a stalled segment
#: Newton swings the quasi-Fermi potential of such trace carriers (ln(c/N0) -20..-60) by tens of
#: thermal voltages at a flat residual of 1e-13..1e-9, and dt collapses to 1e-14 s at a falling
#: edge: ``pvp_trapfree`` under ``mechanism_10`` did not finish in 18 min. Not on every step:
#: where the solution itself holds a carrier below the floor (holes at the PVP/QD interface
#: during a long train) the clipped iterates cannot reach it and Newton stalls with a large
#: residual (the calibrated stack's pulses_50 failed at t = 0.99 s with the floor always on).
#: Measured (20 cells, rtol 0.05): pvp_trapfree mechanism_10 completes in 60 s (one
#: floored segment, 0.751-0.78 s); the calibrated stack's pulses_50 never stalls (gains 2.332 /
#: 2.980, as without the guard); the edges test's protocol, 7,500 steps without finishing on
#: this stack before, passes.
DENSITY_FLOOR = 1e-20


def build_solver(stack: Any, wavelength_m: float = 365e-9, cells_per_layer: int = 40,
                 grading: float = 3.5):
    """(solver, adapted device) for a :class:`~device_physics.stack.Stack`."""
    from mpi4py import MPI  # noqa: F401

    from device_physics.solver import DDSolver
    from device_physics.stack_adapter import device_from_stack

    ad = device_from_stack(stack, wavelength_m)
    # interface-trap slabs are thin: give them a share of cells proportional to thickness,
    # but at least 4
    total = [la.thickness for la in ad.device.layers]
    counts = []
    for i, th in enumerate(total):
        parent_th = ad.thicknesses[ad.parent[i]]
        counts.append(max(4, int(round(cells_per_layer * th / parent_th))))
    from device_physics.mesh import layered_nodes

    x, _ = layered_nodes(total, counts, grading)
    solver = DDSolver(ad.device, x=x, shunt_conductance=getattr(stack, "shunt_conductance", 0.0))
    solver.ln_floor_stall = float(np.log(DENSITY_FLOOR))
    return solver, ad


def step_options(protocol: Any, rtol: float, max_wall_s: float = 0.0):
    """Stepper options of a device run: ``rtol``, a largest step of 1/20 of the protocol and
    an optional wall-time limit (s; 0: none)."""
    from device_physics.timestepping import StepOptions

    return StepOptions(rtol=rtol, dt_max=max(protocol.duration / 20, 1e-6),
                       max_wall_s=float(max_wall_s))


def contract_kwargs(solver: Any, ad: Any, stack: Any, protocol: Any, config: Any = None
                    ) -> dict[str, Any]:
    """Keyword arguments of :func:`device_physics.output.write_device_h5` for a run of
    :func:`build_solver`'s ``(solver, ad)`` (mesh, stack layers, protocol, provenance)."""
    return dict(x=solver.x, cell_layer=np.asarray(ad.parent)[solver.layer],
                layer_names=ad.names, layer_thicknesses=ad.thicknesses,
                protocol_json=protocol.to_json(), stack_json=stack.to_json(), config=config,
                extra_stats={"nodes": len(solver.x),
                             "unknowns": len(solver.x) * solver.ncomp})


def simulate(stack_path: str | Path, protocol_path: str | Path, out: str | Path, *,
             cells_per_layer: int = 20, grading: float = 3.5, rtol: float = 1e-3,
             xdmf: bool = True, config: Any = None, progress: bool = True,
             max_wall_s: float = 0.0) -> Path:
    """Run ``protocol_path`` on ``stack_path`` and write ``out`` (HDF5 of the data contract).

    Args:
        stack_path: Stack YAML.
        protocol_path: Protocol YAML.
        out: Output .h5 path; XDMF profiles go next to it as ``<stem>_profiles.xdmf``.
        cells_per_layer: Cells per stack layer (interface-trap slabs get a share, >= 4).
        grading: tanh grading towards interfaces.
        rtol: Local error tolerance of the time stepper.
        xdmf: Also write the XDMF profiles.
        config: Config section stored as provenance.
        progress: Report the simulated time reached: a tqdm bar on a terminal, an INFO log
            line every 10 s of wall time elsewhere (the rule's log under Snakemake).
        max_wall_s: Wall-time limit of the solve, s (0: none); reaching it fails the run
            like a failed step (partial trace written, :class:`StepFailure` raised).

    Raises:
        StepFailure: after writing the partial trace.
    """
    from device_physics.output import write_device_h5, write_xdmf_profiles
    from device_physics.protocols import load_protocol
    from device_physics.stack import load_stack
    from device_physics.timestepping import StepFailure, run_protocol

    if cells_per_layer < 2:
        raise ValueError(f"cells_per_layer = {cells_per_layer}: must be >= 2")
    stack = load_stack(stack_path)
    protocol = load_protocol(protocol_path)
    solver, ad = build_solver(stack, protocol.wavelength, cells_per_layer, grading)
    opts = step_options(protocol, rtol, max_wall_s)
    kw = contract_kwargs(solver, ad, stack, protocol, config)
    log.info("device run: stack %s, protocol %s (%.4g s), %d nodes, %d unknowns", stack.name,
             protocol.name, protocol.duration, len(solver.x), len(solver.x) * solver.ncomp)
    try:
        trace = run_protocol(solver, protocol, opts, progress=progress)
    except StepFailure as err:
        write_device_h5(out, trace=err.trace, **kw)
        log.error("run failed; partial trace written to %s: %s", out, err)
        raise
    path = write_device_h5(out, trace=trace, **kw)
    if xdmf:
        write_xdmf_profiles(Path(out).with_name(Path(out).stem + "_profiles.xdmf"), solver,
                            trace)
    log.info("device run done: %s", trace.stats)
    return path


def run_configured(stack_path: str | Path, protocol_path: str | Path, out: str | Path,
                   device_cfg: dict[str, Any], max_wall_s: float = 0.0) -> Path:
    """Run with the ``device`` config section: solver ``dolfinx`` or ``fv1d``, its mesh
    (``nodes_per_layer`` = cells per stack layer) and ``rtol``, stopped after ``max_wall_s``
    seconds (0: no limit; the DAG passes ``studies.max_wall_s``)."""
    if not (np.isfinite(max_wall_s) and max_wall_s >= 0):
        raise ValueError(f"max_wall_s = {max_wall_s!r}: must be >= 0 s (0: no limit)")
    solver = device_cfg.get("solver", "dolfinx")
    cells = int(device_cfg.get("nodes_per_layer", 20))
    rtol = float(device_cfg.get("rtol", 1e-3))
    if solver == "fv1d":
        from device_physics.fv1d import run_to_h5
        from device_physics.protocols import load_protocol
        from device_physics.stack import load_stack

        run_to_h5(load_stack(stack_path), load_protocol(protocol_path), out,
                  nodes_per_layer=cells, rtol=rtol, config=device_cfg, max_wall_s=max_wall_s)
        return Path(out)
    if solver != "dolfinx":
        raise ValueError(f"device.solver = {solver!r}: must be 'dolfinx' or 'fv1d'")
    return simulate(stack_path, protocol_path, out, cells_per_layer=cells, rtol=rtol,
                    config=device_cfg, max_wall_s=max_wall_s)
