"""Vectorisable exp and log for the Numba device loops (no libm calls inside the loop).

The llvmlite wheels carry no Intel SVML, so ``math.exp``/``math.log`` in a device loop are
scalar libm calls (about 20 ns each on this machine) and block the loop vectoriser. These
replacements are plain arithmetic and bit manipulation, so LLVM vectorises them (4 float64 or
8 float32 lanes with AVX) and contracts them to FMA under ``fastmath={"contract"}``:

* exp: Cody-Waite range reduction ``x = n ln2 + r``, ``|r| <= ln2/2``, and a polynomial
  (float64: degree 11 near-minimax (Chebyshev interpolant); float32: degree-7 Taylor), in
  Estrin form (short dependency chains keep the FMA pipelines busy); ``n`` is rounded with the
  ``1.5 * 2**52`` shifter so that neither the rounding nor ``2**n`` needs a float/int
  conversion (x86 before AVX-512 has no vector float64<->int64 conversion; with one, the loop
  falls back to scalar code).
* log: exponent/mantissa split by integer add, shift and mask (the bits are offset so that
  the mantissa lands in [sqrt(1/2), sqrt(2)) without a compare/select; the exponent is read
  back through the ``2**52`` magic number, again without a conversion), and
  series of ``ln m = 2 atanh((m-1)/(m+1))`` (float64: a degree-6 Chebyshev interpolant in
  ``z^2``, as in fdlibm; float32: the first four atanh terms).

* pow (float64, ``y**gamma`` for ``1 <= y < 2**7.5``, :func:`fpow_ge1`): the same
  exponent/mantissa split as log, ``y = 2**k m``, then ``y**gamma = 2**(k gamma) m**gamma``
  with ``2**(k gamma)`` picked from a small table by compare/select and ``m**gamma`` a
  degree-13 or -17 polynomial in ``u = (m-1)/(m+1)`` (|u| <= 0.1716;
  ``m**gamma = ((1+u)/(1-u))**gamma`` is analytic for |u| < 1, so its Chebyshev interpolant
  converges like 5.8**-degree). The 4- or 8-entry table and the coefficients depend on gamma
  and the range only; :func:`pow_table` builds them once (cached), picking the smallest
  degree and table that suffice, and checks the polynomial on a dense grid against numpy
  (:data:`POW_TOL`). One division and 14-18 FMAs replace log + exp (about 35 FMAs and a
  division): the fused kernel's float64 light factor ``g**gamma_l`` (see
  :mod:`compact_model.kernels`).

The float64 versions are within a few ulp of numpy (tests: 1e-15 relative; pow: 2e-14), so
the kernels agree with the numpy reference to 1e-12; the float32 versions are within a few
float32 ulp (tests: 1e-6 relative). Do not compile callers with ``reassoc`` fast-math:
re-association would fold ``(t + shifter) - shifter`` and break the rounding.
"""

from __future__ import annotations

import functools
import math

import numba as nb
import numpy as np
from numba import types
from numba.extending import overload

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
#: 1.5 * 2**52: adding it rounds a float64 of magnitude < 2**51 to an integer, which then sits
#: in the low mantissa bits.
_SHIFT = 6755399441055744.0
#: Argument ranges of exp without clamping (normal results): float64, float32.
EXP_RANGE = (-708.0, 709.0)
EXP_RANGE_F32 = (-87.0, 88.0)
#: 2**52 + 1023 (exponent bias), the float64 whose bits are 0x4330000000000000 + 1023.
_EXP_MAGIC = 4503599627370496.0 + 1023.0

#: exp(r) = 1 + r + r^2 q(r) on |r| <= ln2/2: q is the degree-9 Chebyshev interpolant of
#: (exp(r) - 1 - r)/r^2 (coefficients from 40-digit values; max relative error of exp 2.2e-16).
(_E0, _E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9) = (
    0.5000000000000003, 0.1666666666666666, 0.04166666666661878, 0.00833333333332574,
    0.0013888888919929108, 0.00019841269885213534, 2.4801517160722194e-05,
    2.7557235256166928e-06, 2.762200351016775e-07, 2.511723610516446e-08)
#: ln m = 2z + z t S(t), z = (m-1)/(m+1), t = z^2 <= 0.0295: S is the degree-6 Chebyshev
#: interpolant of (2 atanh(z) - 2z)/(z t) (~2/3 + 2t/5 + ...; max abs error of ln 3e-17).
(_G0, _G1, _G2, _G3, _G4, _G5, _G6) = (
    0.6666666666666674, 0.3999999999989238, 0.28571428629042156, 0.22222210646306106,
    0.1818292412742406, 0.15330572571907589, 0.1463051501460763)

#: Bit constants of flog: 1.0 minus sqrt(1/2) (added to the bits, the exponent field then
#: rounds at sqrt(1/2)), the exponent mask, 1.0, the 2**52 magic number and the shift.
_U_ADJ = np.uint64(0x3FF0000000000000 - 0x3FE6A09E667F3BCD)
_U_EXP = np.uint64(0xFFF0000000000000)
_U_ONE = np.uint64(0x3FF0000000000000)
_U_MAGIC = np.uint64(0x4330000000000000)
_U_52 = np.uint64(52)
_U_ADJ_F = np.uint32(0x3F800000 - 0x3F3504F3)
_U_EXP_F = np.uint32(0xFF800000)
_U_ONE_F = np.uint32(0x3F800000)
_U_MAGIC_F = np.uint32(0x4B000000)
_U_23 = np.uint32(23)

_LOG2E_F = np.float32(1.4426950408889634)
_LN2_HI_F = np.float32(0.693145751953125)  # ln 2 to 16 bits: n * _LN2_HI_F is exact
_LN2_LO_F = np.float32(1.428606765330187e-06)
_SHIFT_F = np.float32(12582912.0)  # 1.5 * 2**23
_EXP_MAGIC_F = np.float32(8388608.0 + 127.0)
_X_LO_F, _X_HI_F = np.float32(-87.0), np.float32(88.0)
_ONE_F, _TWO_F = np.float32(1.0), np.float32(2.0)
_C2_F, _C3_F, _C4_F, _C5_F, _C6_F, _C7_F = (np.float32(1.0 / k) for k in (2, 6, 24, 120, 720,
                                                                           5040))
_L3_F, _L5_F, _L7_F, _L9_F = (np.float32(1.0 / k) for k in (3, 5, 7, 9))  # atanh series

_JIT = {"cache": True, "inline": "always", "error_model": "numpy"}


@nb.njit(**_JIT)
def fexp_in_range(x):
    """exp(x) in float64 for x in [-708, 709] (no clamp: outside, the result is wrong)."""
    t = x * _LOG2E + _SHIFT
    n = t - _SHIFT  # round(x log2 e), exact
    r = (x - n * _LN2_HI) - n * _LN2_LO
    # exp(r) = 1 + r + r^2 q(r), q in Estrin form (short dependency chains for the pipelines)
    r2 = r * r
    r4 = r2 * r2
    q = ((_E0 + _E1 * r) + (_E2 + _E3 * r) * r2) + ((_E4 + _E5 * r) + (_E6 + _E7 * r) * r2) * r4 \
        + (_E8 + _E9 * r) * (r4 * r4)
    p = (1.0 + r) + r2 * q
    # the low bits of t hold n; shifting them into the exponent field gives 2**n
    return p * np.int64((np.float64(t).view(np.int64) + 1023) << 52).view(np.float64)


@nb.njit(**_JIT)
def fexp(x):
    """exp(x) in float64, x clamped to [-708, 709] (so the result is a normal float64)."""
    return fexp_in_range(min(max(x, -708.0), 709.0))


@nb.njit(**_JIT)
def flog(y):
    """ln(y) in float64 for positive normal ``y`` (no check: callers pass y >= 1)."""
    b = np.float64(y).view(np.uint64)
    # shift the bits so that the exponent field rounds at sqrt(1/2): y = 2**k m with m in
    # [sqrt(1/2), sqrt(2)) without a compare/select; unsigned, so the shifts are logical
    # (AVX2 has no 64-bit arithmetic shift)
    tmp = b + _U_ADJ
    kb = tmp >> _U_52  # k + 1023
    e = np.uint64(kb | _U_MAGIC).view(np.float64) - _EXP_MAGIC
    m = np.uint64(b - (tmp & _U_EXP) + _U_ONE).view(np.float64)
    z = (m - 1.0) / (m + 1.0)
    t = z * z
    t2 = t * t
    s = ((_G0 + _G1 * t) + (_G2 + _G3 * t) * t2) + ((_G4 + _G5 * t) + _G6 * t2) * (t2 * t2)
    return e * _LN2_HI + (2.0 * z + (z * t * s + e * _LN2_LO))


@nb.njit(**_JIT)
def fexp32_in_range(x):
    """exp(x) in float32 arithmetic for x in [-87, 88] (no clamp)."""
    t = x * _LOG2E_F + _SHIFT_F
    n = t - _SHIFT_F
    r = (x - n * _LN2_HI_F) - n * _LN2_LO_F
    r2 = r * r
    p = (_ONE_F + r) + r2 * ((_C2_F + _C3_F * r) + (_C4_F + _C5_F * r) * r2
                             + (_C6_F + _C7_F * r) * (r2 * r2))
    return p * np.int32((np.float32(t).view(np.int32) + 127) << 23).view(np.float32)


@nb.njit(**_JIT)
def fexp32(x):
    """exp(x) in float32 arithmetic, x clamped to [-87, 88] (normal float32 results)."""
    return fexp32_in_range(min(max(x, _X_LO_F), _X_HI_F))


@nb.njit(**_JIT)
def flog32(y):
    """ln(y) in float32 arithmetic for positive normal ``y`` (callers pass y >= 1)."""
    b = np.float32(y).view(np.uint32)
    tmp = np.uint32(b + _U_ADJ_F)  # as flog: exponent rounded at sqrt(1/2)
    kb = np.uint32(tmp >> _U_23)  # k + 127
    e = np.uint32(kb | _U_MAGIC_F).view(np.float32) - _EXP_MAGIC_F
    m = np.uint32(b - (tmp & _U_EXP_F) + _U_ONE_F).view(np.float32)
    z = (m - _ONE_F) / (m + _ONE_F)
    t = z * z
    s = (_L3_F + _L5_F * t) + (_L7_F + _L9_F * t) * (t * t)
    return e * _LN2_HI_F + (_TWO_F * z + (_TWO_F * z * t * s + e * _LN2_LO_F))


#: Degrees of the m**gamma polynomial tried in order (the first within :data:`POW_TOL` is
#: used: 13 for gamma near 1, 17 up to gamma = 3) and sizes of the 2**(k gamma) table (the
#: smallest with ``y_max < 2**(K - 0.5)``); :func:`fpow_ge1` is compiled for each pair, so
#: the fused kernel does no more work than its parameters need.
POW_DEGS = (13, 17)
POW_KS = (4, 8)
#: Largest table: ``y < 2**(POW_K - 0.5)``.
POW_K = POW_KS[-1]
#: Largest relative error of :func:`fpow_ge1` that :func:`pow_table` accepts (measured:
#: degree 17 4e-15 for gamma in [1, 3], degree 13 1.3e-14 at gamma 1.14; the kernels need
#: 1e-12).
POW_TOL = 2e-14
#: |u| bound of fpow_ge1's polynomial: u = (m-1)/(m+1) for m in [sqrt(1/2), sqrt(2)].
_POW_U0 = (math.sqrt(2.0) - 1.0) / (math.sqrt(2.0) + 1.0)


@functools.lru_cache(maxsize=64)
def pow_table(gamma: float, y_max: float
              ) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """Constants of :func:`fpow_ge1` for ``y**gamma`` on ``[1, y_max]``.

    Returns:
        ``(qp, qt)``: the monomial coefficients of ``m**gamma`` in ``u = (m-1)/(m+1)``
        (Chebyshev interpolant on ``|u| <= 0.1716`` of the first degree in :data:`POW_DEGS`
        within :data:`POW_TOL` on a dense grid) and ``2**(k gamma)`` for ``k = 0..K-1`` (the
        first ``K`` in :data:`POW_KS` with ``y_max < 2**(K - 0.5)``), as tuples of floats;
        ``None`` when ``y_max >= 2**(POW_K - 0.5)`` (beyond the table) or no degree meets
        :data:`POW_TOL` (callers then use exp/log).
    """
    if not (np.isfinite(gamma) and np.isfinite(y_max)) or y_max >= 2.0 ** (POW_K - 0.5):
        return None
    from numpy.polynomial import chebyshev as cheb
    from numpy.polynomial import polynomial as poly

    def f(x):  # m**gamma as a function of x = u/U0 in [-1, 1]
        return np.exp(2.0 * gamma * np.arctanh(_POW_U0 * x))

    u = np.linspace(-_POW_U0, _POW_U0, 20001)
    exact = f(u / _POW_U0)
    for deg in POW_DEGS:
        c = cheb.cheb2poly(cheb.chebinterpolate(f, deg)) / _POW_U0 ** np.arange(deg + 1)
        if float(np.max(np.abs(poly.polyval(u, c) / exact - 1.0))) <= POW_TOL:
            break
    else:
        return None
    k = next(k for k in POW_KS if y_max < 2.0 ** (k - 0.5))
    return (tuple(float(x) for x in c), tuple(math.pow(2.0, j * gamma) for j in range(k)))


@nb.njit(**_JIT)
def _poly13(u, q):
    u2 = u * u
    u4 = u2 * u2
    return (((q[0] + q[1] * u) + (q[2] + q[3] * u) * u2)
            + ((q[4] + q[5] * u) + (q[6] + q[7] * u) * u2) * u4) \
        + (((q[8] + q[9] * u) + (q[10] + q[11] * u) * u2) + (q[12] + q[13] * u) * u4) * (u4 * u4)


@nb.njit(**_JIT)
def _poly17(u, q):
    u2 = u * u
    u4 = u2 * u2
    u8 = u4 * u4
    return ((((q[0] + q[1] * u) + (q[2] + q[3] * u) * u2)
             + ((q[4] + q[5] * u) + (q[6] + q[7] * u) * u2) * u4)
            + (((q[8] + q[9] * u) + (q[10] + q[11] * u) * u2)
               + ((q[12] + q[13] * u) + (q[14] + q[15] * u) * u2) * u4) * u8) \
        + (q[16] + q[17] * u) * (u8 * u8)


# 2**(k gamma) by compare/select (vectorises to blends; k >= 0 since y >= 1)
@nb.njit(**_JIT)
def _tab4(e, q):
    t = q[0]
    t = q[1] if e > 0.5 else t
    t = q[2] if e > 1.5 else t
    return q[3] if e > 2.5 else t


@nb.njit(**_JIT)
def _tab8(e, q):
    t = q[0]
    t = q[1] if e > 0.5 else t
    t = q[2] if e > 1.5 else t
    t = q[3] if e > 2.5 else t
    t = q[4] if e > 3.5 else t
    t = q[5] if e > 4.5 else t
    t = q[6] if e > 5.5 else t
    return q[7] if e > 6.5 else t


def fpow_ge1(y, qp, qt):
    """``y**gamma`` in float64 for ``1 <= y < 2**(len(qt) - 0.5)`` (no check), ``(qp, qt)``
    from :func:`pow_table` (module docstring). Numba only: compiled per table shape."""
    raise NotImplementedError("fpow_ge1 is for Numba-compiled code; use pow_ge1() in Python")


@overload(fpow_ge1, inline="always")
def _fpow_ge1(y, qp, qt):
    polys = {POW_DEGS[0] + 1: _poly13, POW_DEGS[1] + 1: _poly17}
    tabs = {POW_KS[0]: _tab4, POW_KS[1]: _tab8}
    poly, tab = polys.get(getattr(qp, "count", -1)), tabs.get(getattr(qt, "count", -1))
    if poly is None or tab is None:
        raise TypeError(f"fpow_ge1: qp must hold {list(polys)} and qt {list(tabs)} floats, "
                        f"got {qp}, {qt}")

    def impl(y, qp, qt):
        b = np.float64(y).view(np.uint64)
        tmp = b + _U_ADJ  # as flog: y = 2**k m, m in [sqrt(1/2), sqrt(2))
        e = np.uint64((tmp >> _U_52) | _U_MAGIC).view(np.float64) - _EXP_MAGIC  # k, a float
        m = np.uint64(b - (tmp & _U_EXP) + _U_ONE).view(np.float64)
        return tab(e, qt) * poly((m - 1.0) / (m + 1.0), qp)

    return impl


def exp_any(x):
    """exp in the argument's precision (:func:`fexp32` for float32, else :func:`fexp`); for
    kernels that are compiled for float32 and float64 states alike (Numba only)."""
    raise NotImplementedError("exp_any is for Numba-compiled code; use exp() in Python")


def exp_in_range(x):
    """:func:`exp_any` without the clamp, for arguments the caller keeps within
    [-708, 709] (float64) or [-87, 88] (float32)."""
    raise NotImplementedError("exp_in_range is for Numba-compiled code; use exp() in Python")


def log_any(y):
    """ln in the argument's precision (:func:`flog32` for float32, else :func:`flog`)."""
    raise NotImplementedError("log_any is for Numba-compiled code; use log() in Python")


def pow_any(y, gamma, qp, qt):
    """``y**gamma`` for ``y >= 1`` in the argument's precision: float64 :func:`fpow_ge1` with
    the :func:`pow_table` tuples ``qp``, ``qt``; float32 ``exp(gamma ln y)`` with
    :func:`fexp32_in_range` and :func:`flog32` (``qp``, ``qt`` unused; ``gamma ln y <= 88``)."""
    raise NotImplementedError("pow_any is for Numba-compiled code; use pow_ge1() in Python")


@overload(pow_any, inline="always")
def _pow_any(y, gamma, qp, qt):
    if y == types.float32:
        return lambda y, gamma, qp, qt: fexp32_in_range(gamma * flog32(y))
    return lambda y, gamma, qp, qt: fpow_ge1(y, qp, qt)


@overload(exp_any, inline="always")
def _exp_any(x):
    if x == types.float32:
        return lambda x: fexp32(x)
    return lambda x: fexp(x)


@overload(exp_in_range, inline="always")
def _exp_in_range(x):
    if x == types.float32:
        return lambda x: fexp32_in_range(x)
    return lambda x: fexp_in_range(x)


@overload(log_any, inline="always")
def _log_any(y):
    if y == types.float32:
        return lambda y: flog32(y)
    return lambda y: flog(y)


@nb.njit(cache=True, fastmath={"contract"})
def _vexp(x, out):
    for i in range(x.size):
        out[i] = fexp(x[i])


@nb.njit(cache=True, fastmath={"contract"})
def _vlog(x, out):
    for i in range(x.size):
        out[i] = flog(x[i])


@nb.njit(cache=True, fastmath={"contract"})
def _vexp32(x, out):
    for i in range(x.size):
        out[i] = fexp32(x[i])


@nb.njit(cache=True, fastmath={"contract"})
def _vlog32(x, out):
    for i in range(x.size):
        out[i] = flog32(x[i])


@nb.njit(cache=True, fastmath={"contract"})
def _vpow(y, qp, qt, out):
    for i in range(y.size):
        out[i] = fpow_ge1(y[i], qp, qt)


def pow_ge1(y: np.ndarray, gamma: float) -> np.ndarray:
    """Array form of :func:`fpow_ge1` (float64, ``1 <= y < 2**7.5``); for tests.

    Raises:
        ValueError: If ``y`` leaves that range or :func:`pow_table` has no table for ``gamma``.
    """
    y = np.ascontiguousarray(y, dtype=np.float64)
    if y.size and not (np.min(y) >= 1.0 and np.max(y) < 2.0 ** (POW_K - 0.5)):
        raise ValueError(f"y must lie in [1, 2**{POW_K - 0.5}), got [{np.min(y)}, {np.max(y)}]")
    q = pow_table(float(gamma), float(np.max(y)) if y.size else 1.0)
    if q is None:
        raise ValueError(f"gamma = {gamma!r}: no polynomial within POW_TOL = {POW_TOL:g}")
    out = np.empty_like(y)
    _vpow(y.ravel(), *q, out.ravel())
    return out


def exp(x: np.ndarray) -> np.ndarray:
    """Array form of :func:`fexp` (float32 input: :func:`fexp32`); for tests."""
    dt = np.float32 if np.asarray(x).dtype == np.float32 else np.float64
    x = np.ascontiguousarray(x, dtype=dt)
    out = np.empty_like(x)
    (_vexp32 if dt is np.float32 else _vexp)(x.ravel(), out.ravel())
    return out


def log(x: np.ndarray) -> np.ndarray:
    """Array form of :func:`flog` (float32 input: :func:`flog32`); for tests."""
    dt = np.float32 if np.asarray(x).dtype == np.float32 else np.float64
    x = np.ascontiguousarray(x, dtype=dt)
    out = np.empty_like(x)
    (_vlog32 if dt is np.float32 else _vlog)(x.ravel(), out.ravel())
    return out
