"""Configuration section ``device`` (drift-diffusion runs). Light module: no dolfinx import."""

from __future__ import annotations

from dataclasses import dataclass

from lemsim.configtools import param


@dataclass
class DeviceConfig:
    """Drift-diffusion of the N-LEM stack: which stack, mesh, solver and protocols to run."""

    enabled: bool = True
    """Run the physics stage (its traces, figures and rows); when false it is skipped, and
    ``compact.source`` must then be ``paper`` (``physics`` is refused at load time)."""
    stack: str = "config/stacks/nlem.yaml"
    """Stack file (YAML) of the device, relative to the repository root."""
    nodes_per_layer: int = param(20, lo=2, hi=100000)
    """Mesh cells per stack layer of the graded 1D mesh (interface-trap slabs get a
    proportional share, at least 4). 20 is within 1.7 % of the 80-cell J(5 V) on the N-LEM
    stack."""
    solver: str = param("dolfinx", choices=("dolfinx", "fv1d"))
    """Solver used for the studies: the dolfinx FEM solver or the independent finite-volume one."""
    rtol: float = param(1e-2, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    """Relative local-error tolerance of the adaptive time stepper (dimensionless), in (0, 1)
    as both solvers require."""
    protocols: list[str] = param(default_factory=lambda: ["pulses_30", "full"], min_items=1)
    """Protocols (``config/protocols/<name>.yaml``) run on the N-LEM stack by the device stage
    (at least one; ``enabled: false`` skips the stage). The studies run ``pulses_10`` and
    ``pulses_50`` on the same solver and mesh (``studies.figure_protocols``); the device rows
    and the compact fit read those traces (``physics_trace`` in ``workflow/rules/common.smk``),
    so they are not run twice. Every run has the studies' wall-time limit
    (``studies.max_wall_s``)."""
    fail_soft: bool = True
    """A failed solve keeps its partial trace (HDF5 attribute ``status`` = the error, with the
    time, bias and location) and the DAG goes on, so the report shows the failure; the compact
    fit refuses such a trace by name (it never fits the complete rest); false makes the rule
    fail instead."""
