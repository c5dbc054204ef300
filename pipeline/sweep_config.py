"""Configuration section ``sweep``: the material-to-accuracy Paramspace sweep.

PVP trap density x UV intensity -> fv1d drift-diffusion -> compact fit -> FCN-2 accuracy and
UV reset time (rules in ``workflow/rules/sweep.smk``, library :mod:`pipeline.material_sweep`).
Light module: no solver imports.
"""

from __future__ import annotations

from dataclasses import dataclass

from lemsim.configtools import param


@dataclass
class SweepConfig:
    """Material-to-accuracy sweep: grid, physics, compact fit and FCN-2 settings."""

    enabled: bool = True
    """Run the sweep (its per-point rules, summary table and heat map)."""
    stack: str = "config/stacks/nlem.yaml"
    """Stack file (YAML) whose PVP trap densities are swept, relative to the repository root."""
    trap_density_factors: list[float] = param(
        default_factory=lambda: [0.3, 1.0, 3.0], lo=1.0e-3, hi=1.0e3, lo_open=False)
    """Factors (dimensionless) on the areal densities of every PVP trap species of the stack;
    the table and heat map give the resulting density of the densest species in cm^-2. At
    least 3 values."""
    uv_intensities_mw_cm2: list[float] = param(
        default_factory=lambda: [20.0, 70.0, 200.0], lo=0.0, hi=1.0e4, lo_open=True)
    """UV (365 nm) irradiance of the reset step, in mW/cm^2 (paper: 70). At least 3 values."""
    train_pulses: int = param(10, lo=2, hi=200)
    """Pulses (5 V, 30 ms width, 30 ms interval, the paper's train) before the UV step."""
    uv_duration_s: float = param(2.0, lo=0.0, hi=600.0, lo_open=True)
    """Length of the UV step (0 V bias) after the train, in s; one probe pulse follows."""
    solver: str = param("dolfinx", choices=("dolfinx", "fv1d"))
    """Physics solver of every point. ``dolfinx`` (default): the device stage's solver, mesh
    and stepper; each point runs its whole protocol (train, UV, probe) from equilibrium,
    about 8x faster than fv1d at 20 cells on the calibrated stack. ``fv1d``: the train runs
    once per trap density and every point continues from its final state (``mesh`` applies;
    the smoke scale uses it, so that CI runs both solvers' sweep paths)."""
    nodes_per_layer: int = param(20, lo=2, hi=1000)
    """Cells per stack layer of the fv1d mesh (20: the mesh the stack is calibrated on; at 6
    the calibrated stack hardly potentiates, so require_potentiation fails)."""
    mesh: str = param("dolfinx", choices=("dolfinx", "graded"))
    """fv1d mesh: ``dolfinx`` (the dolfinx solver's tanh-graded mesh with the trap slab as a
    sublayer, the calibration mesh) or ``graded`` (fv1d's geometric grading)."""
    rtol: float = param(0.1, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    """Relative local-error tolerance of fv1d's adaptive time stepping (dimensionless)."""
    max_wall_s: float = param(900.0, lo=0.0)
    """Wall-time budget of one fv1d run (the train of a trap density, or a point's UV reset),
    in s; a run over it is recorded as that point's physics failure (0: no limit)."""
    require_potentiation: bool = True
    """A point whose physics current does not grow over the train (gain <= 1) is marked
    "fit failed" instead of fitting the compact model (which can only potentiate) to it."""
    fit_max_nfev: int = param(30, lo=1, hi=100000)
    """Function-evaluation cap of the compact model's physics fit per point."""
    reset_erased: float = param(0.99, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    """Reset-time criterion: physics, the trapped hole charge within ``1 - reset_erased`` of
    its end-of-UV value; compact model, the fraction of the read-current gain erased (paper
    D11 after 50 pulses, 100 % read as 99 %)."""
    fcn_train_samples: int = param(2000, lo=10, hi=60000)
    """MNIST training samples of the per-point FCN-2 (digits 0..networks.fcn.classes-1)."""
    fcn_test_samples: int = param(500, lo=10, hi=10000)
    """MNIST test samples of the per-point FCN-2."""
    fcn_epochs: int = param(5, lo=1, hi=1000)
    """Training epochs of the per-point FCN-2; its accuracy is that of the last epoch."""
