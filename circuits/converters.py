"""DAC and ADC with a bit depth and a range (uniform, mid-tread, clipping)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _check(bits: int, lo: float, hi: float) -> None:
    if not (isinstance(bits, int | np.integer) and 1 <= bits <= 32):
        raise ValueError(f"bits = {bits!r}: must be an integer in [1, 32]")
    if not hi > lo:
        raise ValueError(f"range = ({lo!r}, {hi!r}): the upper end must exceed the lower")


@dataclass
class DAC:
    """Digital-to-analogue converter: codes 0 … 2^bits − 1 spread over ``[v_min, v_max]`` (V)."""

    bits: int = 8
    v_min: float = 0.0
    v_max: float = 1.0

    def __post_init__(self) -> None:
        _check(self.bits, self.v_min, self.v_max)

    @property
    def levels(self) -> int:
        """Number of output levels."""
        return 2 ** self.bits

    def code(self, x: np.ndarray) -> np.ndarray:
        """Codes for values ``x`` given as fractions of full scale in [0, 1] (clipped)."""
        return np.rint(np.clip(np.asarray(x, float), 0.0, 1.0) * (self.levels - 1)).astype(
            np.int64)

    def voltage(self, code: np.ndarray) -> np.ndarray:
        """Output voltage of codes, in V."""
        return self.v_min + (self.v_max - self.v_min) * np.asarray(code) / (self.levels - 1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Quantised output voltage for full-scale fractions ``x``."""
        return self.voltage(self.code(x))


@dataclass
class ADC:
    """Analogue-to-digital converter over ``[lo, hi]`` (any unit) with ``bits`` resolution."""

    bits: int = 8
    lo: float = -1.0
    hi: float = 1.0

    def __post_init__(self) -> None:
        _check(self.bits, self.lo, self.hi)

    @property
    def lsb(self) -> float:
        """Width of one code."""
        return (self.hi - self.lo) / (2 ** self.bits - 1)

    def code(self, x: np.ndarray) -> np.ndarray:
        """Output codes (clipped to the range)."""
        x = np.clip(np.asarray(x, float), self.lo, self.hi)
        return np.rint((x - self.lo) / self.lsb).astype(np.int64)

    def value(self, code: np.ndarray) -> np.ndarray:
        """Reconstructed analogue value of codes."""
        return self.lo + np.asarray(code) * self.lsb

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Quantised value of ``x``."""
        return self.value(self.code(x))
