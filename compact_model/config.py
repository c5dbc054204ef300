"""Configuration section ``compact`` (compact N-LEM model). Light module: no Numba import."""

from __future__ import annotations

from dataclasses import dataclass

from lemsim.configtools import param


@dataclass
class CompactConfig:
    """Compact N-LEM model: which preset or fit, levels and variability."""

    source: str = param("physics", choices=("physics", "paper"))
    """Where parameters come from: ``physics`` fits the device traces (falls back to the
    ``paper`` preset when the physics stage is disabled), ``paper`` uses the preset fitted to the
    paper's numbers."""
    levels_per_sign: int = param(15, lo=2, hi=1024)
    """Programmable conductance levels per sign of a differential pair (paper: 15)."""
    d2d_sigma: float = param(0.02, lo=0.0, hi=1.0)
    """Device-to-device spread of the update parameters (relative standard deviation)."""
    c2c_sigma: float = param(0.01, lo=0.0, hi=1.0)
    """Cycle-to-cycle noise of one state update (relative standard deviation)."""
    read_noise: float = param(0.005, lo=0.0, hi=1.0)
    """Read noise of current and light (relative standard deviation)."""
