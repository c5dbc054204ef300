"""Configuration section ``device`` (drift-diffusion runs). Light module: no dolfinx import."""

from __future__ import annotations

from dataclasses import dataclass, field

from lemsim.configtools import param


@dataclass
class DeviceConfig:
    """Drift-diffusion of the N-LEM stack: which stack, mesh and studies to run."""

    enabled: bool = True
    """Run the physics stage; when false the compact model uses its ``paper`` preset."""
    stack: str = "config/stacks/nlem.yaml"
    """Stack file (YAML) of the device, relative to the repository root."""
    nodes_per_layer: int = param(40, lo=4, hi=100000)
    """Mesh nodes per layer of the graded 1D mesh (before grading refinement)."""
    solver: str = param("dolfinx", choices=("dolfinx", "fv1d"))
    """Solver used for the studies: the dolfinx FEM solver or the independent finite-volume one."""
    rtol: float = param(1e-3, lo=0.0, hi=1.0, lo_open=True)
    """Relative local-error tolerance of the adaptive time stepper (dimensionless)."""
    pulses: list[int] = param(default_factory=lambda: [10, 30, 50], lo=1, hi=1000)
    """Pulse counts of the EPSC/EPSB gain studies (D6, D7)."""
    ppf_intervals_s: list[float] = param(
        default_factory=lambda: [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], lo=0.0, lo_open=True
    )
    """Pulse intervals of the paired-pulse facilitation study (D8), in s."""
    uv_intensity_mw_cm2: float = param(70.0, lo=0.0)
    """UV intensity of the reset study (D11), in mW/cm²."""
    rest_s: float = param(100.0, lo=0.0)
    """Dark rest after the pulse train in the natural-decay study (D10), in s."""
    control_stacks: list[str] = field(default_factory=list)
    """Control stack files of the mechanism study (D14), relative to the repository root."""
