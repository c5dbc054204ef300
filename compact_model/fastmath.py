"""Vectorisable exp and log for the Numba device loops (no libm calls inside the loop).

The llvmlite wheels carry no Intel SVML, so ``math.exp``/``math.log`` in a device loop are
scalar libm calls (about 20 ns each on this machine). These replacements are plain arithmetic
and bit manipulation (Cody-Waite range reduction and a degree-13 Taylor polynomial for exp;
exponent/mantissa split and an atanh series for log) and run 3x faster; their error is within
a few ulp (tests compare them with numpy to 1e-15), so the kernels still agree with the numpy
reference to 1e-12.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951

_JIT = {"cache": True, "inline": "always", "error_model": "numpy"}


@nb.njit(**_JIT)
def fexp(x):
    """exp(x), x clamped to [-708, 709] (so the result is a normal float64)."""
    x = min(max(x, -708.0), 709.0)
    n = math.floor(x * _LOG2E + 0.5)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (
        1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (
            1.0 / 362880 + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (
                1.0 / 479001600 + r * (1.0 / 6227020800)))))))))))))
    return p * np.int64((np.int64(n) + 1023) << 52).view(np.float64)


@nb.njit(**_JIT)
def flog(y):
    """ln(y) for positive normal float64 ``y`` (no check: callers pass y >= 1)."""
    b = np.float64(y).view(np.int64)
    e = np.float64((b >> 52) - 1023)
    m = np.int64((b & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000).view(np.float64)
    hi = m > _SQRT2
    m = m * 0.5 if hi else m
    e = e + 1.0 if hi else e
    z = (m - 1.0) / (m + 1.0)
    z2 = z * z
    s = 1.0 / 3 + z2 * (1.0 / 5 + z2 * (1.0 / 7 + z2 * (1.0 / 9 + z2 * (1.0 / 11 + z2 * (
        1.0 / 13 + z2 * (1.0 / 15 + z2 * (1.0 / 17 + z2 * (1.0 / 19 + z2 * (
            1.0 / 21 + z2 * (1.0 / 23))))))))))
    return 2.0 * z + 2.0 * z * z2 * s + e * _LN2_HI + e * _LN2_LO


@nb.njit(cache=True)
def _vexp(x, out):
    for i in range(x.size):
        out[i] = fexp(x[i])


@nb.njit(cache=True)
def _vlog(x, out):
    for i in range(x.size):
        out[i] = flog(x[i])


def exp(x: np.ndarray) -> np.ndarray:
    """Array form of :func:`fexp` (for tests)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    _vexp(x.ravel(), out.ravel())
    return out


def log(x: np.ndarray) -> np.ndarray:
    """Array form of :func:`flog` (for tests)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    _vlog(x.ravel(), out.ravel())
    return out
