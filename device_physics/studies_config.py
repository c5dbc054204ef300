"""Configuration section ``studies`` (mechanism studies, sweeps and physics figures of the
device). Light module: no solver import."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lemsim.configtools import param


@dataclass
class StudiesConfig:
    """Device-physics studies: control stacks under UV, profiles, Paramspace sweeps and the
    paper-panel figures drawn from physics traces, on the dolfinx or the fv1d solver."""

    enabled: bool = True
    """Run the study rules (mechanism table, profiles, sweeps, physics figures)."""
    solver: str = param("dolfinx", choices=("dolfinx", "fv1d"))
    """Solver of every study run. ``dolfinx`` (default): the device stage's solver and mesh,
    on which the stack is calibrated; on the calibrated stack at 20 cells it is about 8x
    faster than fv1d, which needs its robust retry there (pulses_10: 40 s against 332 s,
    agreeing to 1e-4). ``fv1d``: the independent finite-volume solver (its ``mesh`` and
    ``robust_retry`` below apply; the smoke scale uses it on 6 graded cells)."""
    nodes_per_layer: int = param(20, lo=2, hi=1000)
    """Cells per stack layer of the mesh used by every study run (20: the mesh the
    stack is calibrated on; at 6 the calibrated stack hardly potentiates)."""
    mesh: str = param("dolfinx", choices=("dolfinx", "graded"))
    """fv1d mesh: ``dolfinx`` (the dolfinx solver's tanh-graded mesh with the trap slab as a
    sublayer, on which the stack is calibrated; fv1d matches dolfinx there to 1e-4) or
    ``graded`` (fv1d's geometric grading)."""
    robust_retry: bool = True
    """fv1d retries a failed time step with its edge safeguards (``FV1D.robust_retry``): the
    calibrated stack needs it at 20 cells; at 6 graded cells plain step cuts suffice and are
    about 2x faster (5 pulses: 32 s against 74 s)."""
    rtol: float = param(0.05, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    """Local error tolerance of the adaptive time stepper (dimensionless)."""
    max_wall_s: float = param(600.0, lo=0.0, hi=1e6)
    """Wall-time limit of each study run, s (0: none; the paper scale sets 0). A run that
    reaches it stops like a failed solve: its row and figure say ``failed: wall-time limit``
    and give what was computed, so one stiff control stack cannot hold the DAG for an hour
    (without the stepper's density floor ``pvp_trapfree`` under ``mechanism_10`` on dolfinx
    had not finished after 18 min alone; every other study run took 30-370 s at load 4-6)."""
    controls: list[str] = param(default_factory=lambda: [
        "nlem", "no_pvp", "no_qd", "no_zno", "no_idtbt", "pvp_trapfree"])
    """Stacks of the mechanism table, derived from ``device.stack`` (see
    ``device_physics.studies.CONTROLS``): the full stack, one layer removed or replaced, or the
    PVP traps removed. ``pvp_no_electron_traps`` and ``pvp_no_hole_traps`` exist too (the paper
    scale runs them); on the calibrated stack, whose PVP holds electron traps only, they are
    the same stacks as ``pvp_trapfree`` and ``nlem``, so the default scale leaves them out."""
    mechanism_protocol: str = "mechanism_10"
    """Protocol of the mechanism table (``config/protocols/<name>.yaml``; needs steps named
    ``dark_read`` and ``uv_read``). Default ``mechanism_10`` (10 pulses, 1.5 s of UV reads:
    about a third of the cost); the paper scale runs ``mechanism`` (paper Fig. S8: 50 pulses,
    3 s of UV reads)."""
    profile_pulses: int = param(10, lo=1, hi=10000)
    """Training pulses (5 V, 30 ms, 30 ms apart) before the dark and UV profiles (Fig. 3);
    the paper scale uses 50."""
    profile_read_bias: float = param(4.0, lo=0.0, hi=20.0)
    """Bias of the profiles taken under read conditions, V."""
    profile_uv_s: float = param(1.0, lo=0.0, hi=100.0, lo_open=True)
    """Duration of the UV exposure before the profile under UV, s."""
    uv_intensity: float = param(70.0, lo=0.0, hi=10000.0, lo_open=True)
    """UV intensity of the profile study, mW/cm^2 (paper: 70)."""
    uv_protocol: str = "uv_reset_50"
    """Protocol of the UV-intensity sweep (a step named ``uv`` whose intensity is swept).
    Default ``uv_reset_50`` (50 pulses, 3 s of UV, 0.2 s dark, probe: the UV switching off
    and the probe switching on are separate edges; at one instant, in ``uv_reset_10``, the
    140 mW/cm2 point failed at t = 3.6 s). Not a 10-pulse train: after 10 pulses the UV
    leaves 26-29 % of the written charge at every intensity (its photoelectrons refill the
    fast traps), so the 99 % reset time is infinite (measured at 10, 20, 70, 140 mW/cm2; the
    63 % time is 0.018 s at 10 and 0.0093 s at 20). The paper scale runs ``uv_reset``."""
    uv_intensities: list[float] = param(
        default_factory=lambda: [10.0, 20.0, 35.0, 70.0, 140.0], lo=0.0, hi=10000.0)
    """UV intensities of the reset-time sweep, mW/cm^2."""
    trap_protocol: str = "pulses_10"
    """Protocol of the PVP trap-density sweep (its first pulse train gives gain and NL)."""
    trap_scales: list[float] = param(
        default_factory=lambda: [0.25, 0.5, 1.0, 2.0, 4.0], lo=0.0, hi=1000.0)
    """Factors applied to the density of every PVP trap species of the stack (1 = stack)."""
    trap_layer: str = "pvp"
    """Layer whose trap densities the trap sweep scales (layer name in the stack)."""
    figure_protocols: list[str] = param(default_factory=lambda: [
        "iv_3scans", "pulses_10", "pulses_50", "ppf_10ms", "ppf_30ms", "ppf_100ms",
        "ppf_300ms", "ppf_1s", "decay", "uv_reset", "iv_15scans"])
    """Protocols run with the studies solver on the configured stack for the physics figures
    (Fig. 2a, c, d, f, g, S15, S16; Fig. 2h uses the mechanism run of the full stack) and the
    rows D1, D8, D10-D13 (``iv_15scans``: the 15 cyclic scans of D13, Fig. 2b); a panel
    whose protocol is missing is drawn as a placeholder saying so."""


#: Smoke-scale values (CI: a few minutes on 2 cores), used by ``workflow/rules/studies.smk``
#: until the ``studies`` section is registered in :class:`pipeline.config.LemsimConfig` (then
#: ``config/smoke.yaml`` carries them).
SMOKE: dict[str, Any] = {
    "solver": "fv1d",  # the DAG's device stage runs dolfinx: the smoke studies exercise fv1d
    "nodes_per_layer": 6,
    "mesh": "graded",  # calibrated stack, pulses_5_smoke: gain 1.030 (plain steps, 32 s)
    "robust_retry": False,
    "controls": ["nlem", "pvp_trapfree"],
    "mechanism_protocol": "mechanism_smoke",
    "profile_pulses": 3,
    "profile_uv_s": 0.2,
    "uv_protocol": "uv_reset_smoke",
    "uv_intensities": [35.0, 70.0],
    "trap_protocol": "pulses_5_smoke",
    "trap_scales": [0.5, 2.0],
    "figure_protocols": ["iv_3scans_smoke", "pulses_5_smoke", "ppf_30ms", "ppf_300ms",
                         "ppf_3s", "decay_smoke", "uv_reset_smoke"],
}


def studies_section(config: Mapping[str, Any]) -> dict[str, Any]:
    """Plain-data ``studies`` section of a resolved pipeline config: the registered section
    when present, else the dataclass defaults; at smoke scale :data:`SMOKE` replaces a section
    left at its defaults (so CI never runs the default-scale studies by accident)."""
    from lemsim.configtools import from_dict, to_dict

    defaults = to_dict(StudiesConfig())
    smoke = config.get("scale") == "smoke"
    if "studies" in config:
        sec = dict(config["studies"])
        if smoke and sec == defaults:  # registered, but the smoke file sets nothing for it
            return to_dict(from_dict(StudiesConfig, dict(SMOKE)))
        return sec
    return to_dict(from_dict(StudiesConfig, dict(SMOKE) if smoke else {}))
