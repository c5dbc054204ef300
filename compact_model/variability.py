"""Variability of the compact model: device-to-device spread, cycle-to-cycle and read noise.

All random numbers come from a caller-supplied ``numpy.random.Generator`` (or a seed), so the
same seed gives the same arrays. Draw order is fixed and documented per function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Variability:
    """Relative spreads (standard deviations) of the three noise sources."""

    d2d: float = 0.02
    """Device-to-device spread of capture rate and current scale (lognormal sigma) [1]."""
    c2c: float = 0.01
    """Cycle-to-cycle noise of each state increment (relative std) [1]."""
    read: float = 0.005
    """Read noise of current and light (relative std) [1]."""

    def __post_init__(self) -> None:
        for name in ("d2d", "c2c", "read"):
            v = getattr(self, name)
            if not (np.isfinite(v) and 0.0 <= v <= 1.0):
                raise ValueError(f"Variability.{name} = {v!r}: must lie in [0, 1]")


@dataclass
class DeviceSpread:
    """Per-device multipliers drawn once per device (device-to-device variability).

    Attributes:
        ks: Capture-rate multiplier [1] (trap density / barrier spread).
        gs: Current and light scale [1] (area, contact spread).
    """

    ks: np.ndarray
    gs: np.ndarray


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A Generator from a Generator, a seed, or None (seed 0)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(0 if rng is None else rng)


def sample_devices(shape: tuple[int, ...] | int, var: Variability,
                   rng: np.random.Generator | int | None) -> DeviceSpread:
    """Draw device multipliers: first ``ks`` then ``gs``, lognormal with median 1."""
    rng = as_rng(rng)
    ks = np.exp(var.d2d * rng.standard_normal(shape))
    gs = np.exp(var.d2d * rng.standard_normal(shape))
    return DeviceSpread(ks=ks, gs=gs)


def read_noise(x: np.ndarray, var: Variability, rng: np.random.Generator | int | None
               ) -> np.ndarray:
    """``x`` with multiplicative Gaussian read noise (clamped at 0: a reading is >= 0)."""
    rng = as_rng(rng)
    x = np.asarray(x, dtype=np.float64)
    return np.maximum(x * (1.0 + var.read * rng.standard_normal(x.shape)), 0.0)
