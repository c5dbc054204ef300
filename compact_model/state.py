"""Device state containers: :class:`State` (two trapped-charge populations) and input checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class State:
    """Trapped-charge state of an array of devices.

    Attributes:
        ws: Occupancy of the deep (slow) PVP traps, in [0, 1 - f_fast] [1].
        wf: Occupancy of the shallow (fast) interface traps, in [0, f_fast] [1].
    """

    ws: np.ndarray
    wf: np.ndarray

    @property
    def w(self) -> np.ndarray:
        """Total occupancy ws + wf in [0, 1] (the synaptic weight)."""
        return self.ws + self.wf

    def copy(self) -> State:
        """Deep copy."""
        return State(self.ws.copy(), self.wf.copy())


def check_finite(name: str, x: np.ndarray) -> None:
    """Raise ``ValueError`` naming ``name`` when ``x`` holds NaN or infinity."""
    if not np.all(np.isfinite(x)):
        bad = np.asarray(x)[~np.isfinite(x)].ravel()[:3]
        raise ValueError(f"{name} holds non-finite values (e.g. {bad.tolist()}): must be finite")


def check_range(name: str, x: np.ndarray, lo: float, hi: float, slack: float = 1e-9) -> None:
    """Raise ``ValueError`` when ``x`` has values outside ``[lo, hi]`` (after a NaN check)."""
    check_finite(name, x)
    x = np.asarray(x)
    if x.size and (x.min() < lo - slack or x.max() > hi + slack):
        raise ValueError(f"{name} spans [{x.min():.6g}, {x.max():.6g}]: must lie in "
                         f"[{lo:g}, {hi:g}]")
