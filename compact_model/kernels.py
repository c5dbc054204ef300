"""Numba kernels of the compact model, vectorised over arrays of devices.

The equations are those of :mod:`compact_model.reference` (read that module for the physics);
the tests check both agree to 1e-12 in float64. Every kernel takes flat arrays; per-device
inputs (voltage, UV, capture multiplier, noise) may have length 1 (shared by all devices) or
the number of devices. State arrays may be float32 or float64: the general kernels compute in
float64 and store in the array's own type; the fused pulse+read kernel (:func:`pulse_read`,
the throughput path) computes in the states' precision, with the vectorisable exp/log/pow of
:mod:`compact_model.fastmath` (no libm call in the loop; float64 ``g**gamma_l`` from a per-call
table and polynomial instead of log + exp, about 15 % fewer cycles per device), the per-call
factors hoisted out of the device loop, and optionally the states advanced in place; above
the table's range (``g_max >= 2**7.5``) it hands over to :func:`step` and :func:`iv`. All
kernels compile with ``fastmath={"contract"}`` (FMA; no re-association). Each kernel exists
in a serial and a ``parallel=True`` build; :func:`pick` chooses the parallel one above
:data:`PARALLEL_MIN` devices, where thread start-up pays off.

The Python entry points (:func:`step`, :func:`iv`, :func:`pulse_read`) check the array
lengths (per-device inputs of length 1 or the device count, outputs of the device count, a
parameter vector of :data:`~compact_model.params.N_PACKED` entries) and that ``dt`` is finite
and non-negative before a kernel runs, since the compiled loops do no bounds checking.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from compact_model.fastmath import (
    EXP_RANGE,
    EXP_RANGE_F32,
    POW_K,
    exp_in_range,
    fexp,
    flog,
    pow_any,
    pow_table,
)
from compact_model.params import (
    N_PACKED,
    P_ALPHA_I,
    P_ALPHA_L,
    P_CAP_SAT,
    P_ETA_MAX,
    P_F_FAST,
    P_G_LEAK,
    P_G_MAX,
    P_GAMMA_L,
    P_I_REF,
    P_K_FAST,
    P_K_SLOW,
    P_PHI_REF,
    P_TAU_FAST,
    P_TAU_SLOW,
    P_UV_I_SAT,
    P_UV_K,
    P_UV_RATE,
    P_V_BI,
    P_V_CAP,
    P_V_ON_L,
    P_V_REF,
    P_W_ETA,
)
from compact_model.reference import CAP_SUBSTEP, NEWTON_MAX, NEWTON_TOL

#: Device count from which the ``parallel=True`` builds are used.
PARALLEL_MIN = 200_000

# "contract" lets LLVM fuse a*b+c into FMA (one rounding instead of two; differences to the
# reference stay at the 1e-16 level). No "reassoc": it would break fastmath's rounding shifter.
_JIT = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": {"contract"}}


@nb.njit(inline="always", **_JIT)
def _current1(v, w, pk, gs):
    g = 1.0 + (pk[P_G_MAX] - 1.0) * w
    u = max(v - pk[P_V_BI], 0.0) / (pk[P_V_REF] - pk[P_V_BI])
    return gs * pk[P_I_REF] * g * u ** pk[P_ALPHA_I] + pk[P_G_LEAK] * v


@nb.njit(inline="always", **_JIT)
def _light1(v, w, pk, gs):
    g = 1.0 + (pk[P_G_MAX] - 1.0) * w
    we = pk[P_W_ETA]
    # exp instead of expm1 and exp(gamma ln g) instead of pow, with the vectorisable fexp/flog
    # of compact_model.fastmath; differences to the reference are at the 1e-16 level
    eta = 1.0 + (pk[P_ETA_MAX] - 1.0) * (1.0 - fexp(-w / we)) / (-math.expm1(-1.0 / we))
    u = max(v - pk[P_V_ON_L], 0.0) / (pk[P_V_REF] - pk[P_V_ON_L])
    return gs * pk[P_PHI_REF] * fexp(pk[P_GAMMA_L] * flog(g)) * eta * u ** pk[P_ALPHA_L]


@nb.njit(inline="always", **_JIT)
def _uv_erase1(w0, rdt, kuv):
    if w0 <= 0.0 or rdt <= 0.0:
        return w0
    c = w0 + kuv * math.log(w0) - rdt
    u = math.log(w0)
    for _ in range(NEWTON_MAX):
        eu = math.exp(u)
        du = (eu + kuv * u - c) / (eu + kuv)
        u -= du
        if abs(du) < NEWTON_TOL:
            break
    return min(math.exp(u), w0)


@nb.njit(**_JIT)
def _capture_limited1(x0, k, tau, cap, b, dt):
    """Supply-limited capture with emission (reference._capture_limited), one device."""
    if k <= 0.0:
        return x0 * math.exp(-dt / tau)
    m = max(1, int(math.ceil(dt / CAP_SUBSTEP - 1e-9)))
    h = dt / m
    eh = math.exp(-0.5 * h / tau)
    kap = cap * (1.0 - b) / b
    rdt = k * (cap / b * h)
    x = x0
    for _ in range(m):
        x = x * eh
        x = cap - _uv_erase1(cap - x, rdt, kap)
        x = x * eh
    return x


@nb.njit(inline="always", **_JIT)
def _step1(ws, wf, v, uv, dt, pk, ks, xi, c2c):
    if v > pk[P_V_BI]:
        drive = math.exp((v - pk[P_V_REF]) / pk[P_V_CAP]) * ks
    else:
        drive = 0.0
    cf = pk[P_F_FAST]
    cs = 1.0 - cf
    b = pk[P_CAP_SAT]
    if b > 0.0:  # supply-limited capture of the deep (slow) traps
        ns = _capture_limited1(ws, pk[P_K_SLOW] * drive, pk[P_TAU_SLOW], cs, b, dt)
    else:
        k = pk[P_K_SLOW] * drive
        a = k + 1.0 / pk[P_TAU_SLOW]
        xinf = k * cs / a
        ns = xinf + (ws - xinf) * math.exp(-a * dt)
    k = pk[P_K_FAST] * drive
    a = k + 1.0 / pk[P_TAU_FAST]
    xinf = k * cf / a
    nf = xinf + (wf - xinf) * math.exp(-a * dt)
    fac = 1.0 + c2c * xi
    ns = min(max(ws + (ns - ws) * fac, 0.0), cs)
    nf = min(max(wf + (nf - wf) * fac, 0.0), cf)
    if uv > 0.0:
        r = pk[P_UV_RATE] * uv / (uv + pk[P_UV_I_SAT]) * dt
        w0 = ns + nf
        if w0 > 0.0:
            scale = _uv_erase1(w0, r, pk[P_UV_K]) / w0
            ns *= scale
            nf *= scale
    return ns, nf


def _step_kernel(ws, wf, v, uv, dt, pk, ks, xi, c2c, out_s, out_f):
    n = ws.size
    sv, su, sk, sx = v.size > 1, uv.size > 1, ks.size > 1, xi.size > 1
    if not (sv or su or sk) and uv[0] <= 0.0 and pk[P_CAP_SAT] == 0.0:
        # shared voltage, no UV, no device spread, first-order capture: hoist the per-call
        # factors (same algebra
        # as _step1: x_inf + (x - x_inf) exp(-a dt), then the noisy increment and clamp)
        drive = math.exp((v[0] - pk[P_V_REF]) / pk[P_V_CAP]) * ks[0] if v[0] > pk[P_V_BI] \
            else 0.0
        cf = pk[P_F_FAST]
        cs = 1.0 - cf
        k = pk[P_K_SLOW] * drive
        a = k + 1.0 / pk[P_TAU_SLOW]
        xs = k * cs / a
        es = math.exp(-a * dt)
        k = pk[P_K_FAST] * drive
        a = k + 1.0 / pk[P_TAU_FAST]
        xf = k * cf / a
        ef = math.exp(-a * dt)
        for i in nb.prange(n):
            fac = 1.0 + c2c * xi[i if sx else 0]
            w0 = ws[i]
            ns = xs + (w0 - xs) * es
            out_s[i] = min(max(w0 + (ns - w0) * fac, 0.0), cs)
            w0 = wf[i]
            nf = xf + (w0 - xf) * ef
            out_f[i] = min(max(w0 + (nf - w0) * fac, 0.0), cf)
        return
    for i in nb.prange(n):
        ns, nf = _step1(ws[i], wf[i], v[i if sv else 0], uv[i if su else 0], dt, pk,
                        ks[i if sk else 0], xi[i if sx else 0], c2c)
        out_s[i] = ns
        out_f[i] = nf


def pulse_read_consts(v: float, dt: float, v_read: float, pk: np.ndarray,
                      dtype=np.float64
                      ) -> tuple[np.ndarray, tuple[float, ...], tuple[float, ...]]:
    """Per-call constants of the fused pulse+read kernel (voltage shared by all devices).

    Every factor that does not depend on the device (capture drive, decay factors, fixed
    points, voltage terms of I and L) is computed once here in float64 and handed to the
    kernel in the state's dtype, so a float32 state runs entirely in float32 arithmetic.
    Returns ``(c, qp, qt)``: ``c`` = xs, es, cs, xf, ef, cf, g_max-1, ci, leak, la, gamma_l,
    lb, 1/w_eta, 0, 1, exp_lo; ``qp``, ``qt`` the constants of ``g**gamma_l``
    (:func:`fused_pow_table`; ``(0.0,)`` for float32 states, which use exp/log), where
    ``L = g**gamma_l (la - lb exp(-w/w_eta))``: ``la = cl (1 + eta_k)``, ``lb = cl eta_k`` with
    ``cl`` the light's voltage factor and ``eta_k = (eta_max - 1)/(1 - exp(-1/w_eta))``.

    Raises:
        ValueError: float64 states and no table (:func:`fused_pow_table` is None: g_max beyond
            the table; :func:`pulse_read` then takes the general kernels), supply-limited
            capture (``cap_sat > 0``: not the closed-form update this kernel hoists), or a
            light factor that overflows the dtype.
    """
    if pk[P_CAP_SAT] > 0.0:
        raise ValueError(f"cap_sat = {pk[P_CAP_SAT]:g} > 0: the fused kernel needs first-order "
                         "capture; use step() and iv()")
    drive = math.exp((v - pk[P_V_REF]) / pk[P_V_CAP]) if v > pk[P_V_BI] else 0.0
    cf = pk[P_F_FAST]
    cs = 1.0 - cf
    k = pk[P_K_SLOW] * drive
    a = k + 1.0 / pk[P_TAU_SLOW]
    xs, es = k * cs / a, math.exp(-a * dt)
    k = pk[P_K_FAST] * drive
    a = k + 1.0 / pk[P_TAU_FAST]
    xf, ef = k * cf / a, math.exp(-a * dt)
    ui = max(v_read - pk[P_V_BI], 0.0) / (pk[P_V_REF] - pk[P_V_BI])
    ul = max(v_read - pk[P_V_ON_L], 0.0) / (pk[P_V_REF] - pk[P_V_ON_L])
    we = pk[P_W_ETA]
    cl = pk[P_PHI_REF] * ul ** pk[P_ALPHA_L]
    eta_k = (pk[P_ETA_MAX] - 1.0) / (-math.expm1(-1.0 / we))
    # the kernels' exp arguments: gamma_l ln g in [0, gamma_l ln g_max] (checked here, no
    # clamp per device) and -w/w_eta in [-1/w_eta, 0], clamped below at the exp range (there
    # exp(-w/w_eta) differs from the reference by at most exp(-708) absolute)
    lo, hi = EXP_RANGE_F32 if np.dtype(dtype) == np.float32 else EXP_RANGE
    top = pk[P_GAMMA_L] * math.log(pk[P_G_MAX])
    if top > hi:
        raise ValueError(f"gamma_l ln(g_max) = {top:g}: the light factor g**gamma_l overflows "
                         f"{np.dtype(dtype).name} (must be <= {hi:g})")
    if np.dtype(dtype) == np.float32:
        q = ((0.0,), (0.0,))
    else:
        q = fused_pow_table(pk)
        if q is None:
            raise ValueError(f"g_max = {pk[P_G_MAX]:g}: beyond the fused kernel's g**gamma_l "
                             f"table (g_max < 2**{POW_K - 0.5}); use step() and iv()")
    c = np.array([
        xs, es, cs, xf, ef, cf, pk[P_G_MAX] - 1.0, pk[P_I_REF] * ui ** pk[P_ALPHA_I],
        pk[P_G_LEAK] * v_read, cl * (1.0 + eta_k), pk[P_GAMMA_L], cl * eta_k, 1.0 / we, 0.0,
        1.0, lo], dtype=dtype)
    return c, *q


def fused_pow_table(pk: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """Constants ``(qp, qt)`` of ``g**gamma_l`` on ``[1, g_max]`` for the float64 fused kernel
    (:func:`compact_model.fastmath.pow_table`, cached per parameter pair), or None."""
    return pow_table(float(pk[P_GAMMA_L]), float(pk[P_G_MAX]))


def _pulse_read_kernel(ws, wf, c, qp, qt, out_s, out_f, out_i, out_l):
    """Fused pulse update + read of I and L (the benchmark's unit of work).

    ``c``, ``qp``, ``qt`` come from :func:`pulse_read_consts` (``c`` in the dtype of the
    states; the tuples' lengths select the compiled power, the smallest that suffices for
    gamma_l and g_max); per device remain
    two affine updates, one exp and one power ``g**gamma_l`` (the vectorisable versions of
    :mod:`compact_model.fastmath`, in the states' precision: float64 the table-and-polynomial
    :func:`~compact_model.fastmath.fpow_ge1`, float32 exp(gamma ln g) in 8 lanes of float32
    arithmetic); one pass reads the two states and writes states, I and L once. The
    equations are those of :func:`_step1`, :func:`_current1`, :func:`_light1`, checked against
    the reference in the tests.
    """
    n = ws.size
    xs, es, cs, xf, ef, cf = c[0], c[1], c[2], c[3], c[4], c[5]
    gm1, ci, leak, la, gam, lb, iwe, zero, one, elo = (c[6], c[7], c[8], c[9], c[10], c[11],
                                                      c[12], c[13], c[14], c[15])
    for i in nb.prange(n):
        ns = min(max(xs + (ws[i] - xs) * es, zero), cs)
        nf = min(max(xf + (wf[i] - xf) * ef, zero), cf)
        out_s[i] = ns
        out_f[i] = nf
        w = ns + nf
        g = one + gm1 * w
        out_i[i] = ci * g + leak
        out_l[i] = pow_any(g, gam, qp, qt) * (la - lb * exp_in_range(max(-w * iwe, elo)))


def _pulse_read_inplace_kernel(ws, wf, c, qp, qt, out_i, out_l):
    """:func:`_pulse_read_kernel` with the states updated in place (``ws``, ``wf`` are read
    and written at the same index, so LLVM vectorises without an overlap check and the state
    cache lines are written back without a separate read-for-ownership)."""
    n = ws.size
    xs, es, cs, xf, ef, cf = c[0], c[1], c[2], c[3], c[4], c[5]
    gm1, ci, leak, la, gam, lb, iwe, zero, one, elo = (c[6], c[7], c[8], c[9], c[10], c[11],
                                                      c[12], c[13], c[14], c[15])
    for i in nb.prange(n):
        ns = min(max(xs + (ws[i] - xs) * es, zero), cs)
        nf = min(max(xf + (wf[i] - xf) * ef, zero), cf)
        ws[i] = ns
        wf[i] = nf
        w = ns + nf
        g = one + gm1 * w
        out_i[i] = ci * g + leak
        out_l[i] = pow_any(g, gam, qp, qt) * (la - lb * exp_in_range(max(-w * iwe, elo)))


def pulse_read(ws: np.ndarray, wf: np.ndarray, v: float, dt: float, v_read: float,
               pk: np.ndarray, out: tuple[np.ndarray, ...] | None = None
               ) -> tuple[np.ndarray, ...]:
    """One pulse (``v`` [V], ``dt`` [s]) on all devices, then I [A] and L [photons/s] at
    ``v_read``; float32 states run in float32. Returns ``(ws, wf, I, L)``.

    ``out = (ws, wf, I, L)`` (the state arrays themselves first) updates the states in place,
    the way a simulator advances its devices; other output arrays must not overlap the inputs.
    Supply-limited capture (``cap_sat > 0``), and float64 states with ``g_max`` beyond the
    power table (:func:`fused_pow_table` is None), run the general kernels :func:`step` and
    :func:`iv` instead (same equations, slower).
    """
    _check_dt(dt)
    for name, x in (("v", v), ("v_read", v_read)):
        if not math.isfinite(x):
            raise KernelInputError(f"{name} = {x!r} V: must be finite")
    _check_lengths(ws.size, pk, {}, {"wf": wf})
    out = out or tuple(np.empty_like(ws) for _ in range(4))
    if len(out) != 4 or any(o.shape != ws.shape or o.dtype != ws.dtype for o in out):
        raise ValueError(f"out must be 4 arrays of shape {ws.shape} and dtype {ws.dtype}")
    if pk[P_CAP_SAT] > 0.0 or (ws.dtype != np.float32 and fused_pow_table(pk) is None):
        # supply-limited capture (sub-stepped Newton per device), or g_max beyond the float64
        # power table: the general kernels (same equations)
        one, zero = np.ones(1), np.zeros(1)
        step(ws, wf, np.array([float(v)]), zero, dt, pk, one, zero, 0.0, out_s=out[0],
             out_f=out[1])
        out[2][...], out[3][...] = iv(np.array([float(v_read)]), out[0] + out[1], pk, one,
                                      ws.size)
        return out
    c, qp, qt = pulse_read_consts(v, dt, v_read, pk, ws.dtype)
    if out[0] is ws and out[1] is wf:
        pick(pulse_read_inplace_serial, pulse_read_inplace_parallel, ws.size)(
            ws, wf, c, qp, qt, out[2], out[3])
    else:
        pick(pulse_read_serial, pulse_read_parallel, ws.size)(ws, wf, c, qp, qt, *out)
    return out


def _iv_kernel(v, w, pk, gs, out_i, out_l):
    n = out_i.size
    sv, sw, sg = v.size > 1, w.size > 1, gs.size > 1
    for i in nb.prange(n):
        vi = v[i if sv else 0]
        wi = w[i if sw else 0]
        gi = gs[i if sg else 0]
        out_i[i] = _current1(vi, wi, pk, gi)
        out_l[i] = _light1(vi, wi, pk, gi)


step_serial = nb.njit(**_JIT)(_step_kernel)
step_parallel = nb.njit(parallel=True, **_JIT)(_step_kernel)
pulse_read_serial = nb.njit(**_JIT)(_pulse_read_kernel)
pulse_read_parallel = nb.njit(parallel=True, **_JIT)(_pulse_read_kernel)
pulse_read_inplace_serial = nb.njit(**_JIT)(_pulse_read_inplace_kernel)
pulse_read_inplace_parallel = nb.njit(parallel=True, **_JIT)(_pulse_read_inplace_kernel)
iv_serial = nb.njit(**_JIT)(_iv_kernel)
iv_parallel = nb.njit(parallel=True, **_JIT)(_iv_kernel)


class KernelInputError(ValueError):
    """Arrays of the wrong length or a bad time step given to a kernel entry point."""


def _check_dt(dt: float) -> None:
    if not (isinstance(dt, (int, float, np.floating, np.integer)) and math.isfinite(dt)
            and dt >= 0):
        raise KernelInputError(f"dt = {dt!r} s: must be a finite number >= 0")


def _check_lengths(n: int, pk: np.ndarray, per_device: dict[str, np.ndarray],
                   exact: dict[str, np.ndarray]) -> None:
    """``per_device`` arrays of size 1 or ``n``, ``exact`` arrays of size ``n``."""
    if np.ndim(pk) != 1 or len(pk) != N_PACKED:
        raise KernelInputError(f"pk has shape {np.shape(pk)}: must be the {N_PACKED} packed "
                               "parameters (compact_model.params.pack)")
    for name, a in per_device.items():
        if a.size not in (1, n):
            raise KernelInputError(f"{name} has {a.size} entries: must be 1 (shared) or {n} "
                                   "(one per device)")
    for name, a in exact.items():
        if a.size != n:
            raise KernelInputError(f"{name} has {a.size} entries: must be {n} (one per device)")


def pick(serial, parallel, n: int):
    """The parallel build for ``n >= PARALLEL_MIN`` devices, else the serial one."""
    return parallel if n >= PARALLEL_MIN else serial


def step(ws: np.ndarray, wf: np.ndarray, v: np.ndarray, uv: np.ndarray, dt: float,
         pk: np.ndarray, ks: np.ndarray, xi: np.ndarray, c2c: float,
         out_s: np.ndarray | None = None, out_f: np.ndarray | None = None
         ) -> tuple[np.ndarray, np.ndarray]:
    """Flat-array step (see :func:`compact_model.reference.step`); returns new ``(ws, wf)``."""
    _check_dt(dt)
    out_s = np.empty_like(ws) if out_s is None else out_s
    out_f = np.empty_like(wf) if out_f is None else out_f
    _check_lengths(ws.size, pk, {"v": v, "uv": uv, "ks": ks, "xi": xi},
                   {"wf": wf, "out_s": out_s, "out_f": out_f})
    pick(step_serial, step_parallel, ws.size)(ws, wf, v, uv, float(dt), pk, ks, xi,
                                             float(c2c), out_s, out_f)
    return out_s, out_f


def iv(v: np.ndarray, w: np.ndarray, pk: np.ndarray, gs: np.ndarray, n: int
       ) -> tuple[np.ndarray, np.ndarray]:
    """Flat current [A] and light [photons/s] of ``n`` devices."""
    if int(n) != n or n < 0:
        raise KernelInputError(f"n = {n!r}: must be an integer >= 0")
    _check_lengths(int(n), pk, {"v": v, "w": w, "gs": gs}, {})
    out_i = np.empty(n, dtype=np.float64)
    out_l = np.empty(n, dtype=np.float64)
    pick(iv_serial, iv_parallel, n)(v, w, pk, gs, out_i, out_l)
    return out_i, out_l


@nb.njit(**_JIT)
def _replay_kernel(v, uv, dt, pk, uv_substep, ws0, wf0):
    """One device through constant-input segments ``(v[k], uv[k], dt[k])``.

    UV segments are split into sub-steps no longer than ``uv_substep`` [s] (the same operator
    splitting as :meth:`compact_model.model.NLEM.uv`).

    Returns:
        Slow and fast occupancy at the end of every segment, two arrays of ``len(v)``.
    """
    n = v.size
    out_s = np.empty(n)
    out_f = np.empty(n)
    ws = ws0
    wf = wf0
    for k in range(n):
        if dt[k] > 0.0:
            m = 1
            if uv[k] > 0.0:
                m = max(1, int(math.ceil(dt[k] / uv_substep - 1e-9)))
            h = dt[k] / m
            for _ in range(m):
                ws, wf = _step1(ws, wf, v[k], uv[k], h, pk, 1.0, 0.0, 0.0)
        out_s[k] = ws
        out_f[k] = wf
    return out_s, out_f


def replay(v: np.ndarray, uv: np.ndarray, dt: np.ndarray, pk: np.ndarray, uv_substep: float,
           ws0: float, wf0: float) -> tuple[np.ndarray, np.ndarray]:
    """One device through constant-input segments ``(v[k], uv[k], dt[k])`` (checked: equal
    lengths, finite inputs, ``dt >= 0``, ``uv_substep > 0``; then the compiled loop).

    UV segments are split into sub-steps no longer than ``uv_substep`` [s] (the same operator
    splitting as :meth:`compact_model.model.NLEM.uv`).

    Returns:
        Slow and fast occupancy at the end of every segment, two arrays of ``len(v)``.
    """
    _check_lengths(v.size, pk, {}, {"uv": uv, "dt": dt})
    if not (np.all(np.isfinite(dt)) and np.all(dt >= 0)):
        raise KernelInputError("dt holds NaN, infinite or negative durations: each must be a "
                               "finite number >= 0 s")
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(uv))):
        raise KernelInputError("v or uv holds NaN or infinite values: must be finite")
    if not (math.isfinite(uv_substep) and uv_substep > 0):
        raise KernelInputError(f"uv_substep = {uv_substep!r} s: must be > 0")
    return _replay_kernel(v, uv, dt, pk, float(uv_substep), float(ws0), float(wf0))
