"""Plain numpy reference implementation of the compact model equations.

This module is the readable statement of the model; :mod:`compact_model.kernels` holds the
same equations as Numba kernels and the tests require both to agree to 1e-12 (float64).

Equations (``p`` = :class:`~compact_model.params.NLEMParams`):

* Conductance factor ``g(w) = 1 + (g_max - 1) w``: trapped holes lower the injection barrier.
* Current ``I = gs * i_ref * g(w) * (max(V - v_bi, 0)/(v_ref - v_bi))**alpha_i + g_leak * V``
  [A]: rectifying injection current plus ohmic leakage.
* Radiative-efficiency factor ``eta(w) = 1 + (eta_max-1)(1-exp(-w/w_eta))/(1-exp(-1/w_eta))``.
* Light ``L = gs * phi_ref * g(w)**gamma_l * eta(w) * u_L**alpha_l`` with
  ``u_L = max(V - v_on_light, 0)/(v_ref - v_on_light)`` [photons/s]: zero below the EL
  turn-on, superlinear in current.
* Capture during a step at constant V (exact solution of ``dx/dt = k(V)(C - x) - x/tau``,
  soft bound ``C``): ``x(t) = x_inf + (x0 - x_inf) exp(-(k + 1/tau) t)``, with
  ``k(V) = ks * k_ref * exp((V - v_ref)/v_cap)`` for V > v_bi, else 0 (pure thermal emission).
  Cycle-to-cycle noise multiplies each population's increment by ``1 + c2c * xi``; the result
  is clamped to ``[0, C]`` (documented clamp, keeps the bounds).
* Supply-limited capture of the slow population (``cap_sat = b > 0``; the fast one stays
  first-order): with ``y = C - x`` the empty sites, capture alone is
  ``dy/dt = -k y/((1 - b) + b y/C)``, solved exactly like the UV erase below
  (``y + kap ln y = y0 + kap ln y0 - (k C/b) t``, ``kap = C (1 - b)/b``); emission is combined
  with it by Strang splitting (half emission, capture, half emission) on sub-steps no longer
  than :data:`CAP_SUBSTEP` (second order: relative error ~1e-6 for 30 ms pulses). ``b = 0``
  uses the exact first-order solution above.
* UV erase, applied after the capture/emission part of the same step (operator splitting):
  ``dw/dt = -r(P) w/(w + uv_k)`` with ``r(P) = uv_rate P/(P + uv_i_sat)`` (saturating in
  intensity and zero-order at high occupancy), solved exactly by Newton on
  ``w + uv_k ln w = w0 + uv_k ln w0 - r t`` (in ``u = ln w``); both populations are scaled by
  the same factor ``w/w0``.
"""

from __future__ import annotations

import numpy as np

from compact_model.params import (
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

#: Newton iterations cap and tolerance (in ln w) of the UV erase solve.
NEWTON_MAX = 100
NEWTON_TOL = 1e-14
#: Longest sub-step of the split capture/emission update when ``cap_sat > 0`` [s].
CAP_SUBSTEP = 5e-3


def current(v: np.ndarray, w: np.ndarray, pk: np.ndarray, gs: np.ndarray | float = 1.0
            ) -> np.ndarray:
    """Current [A] at voltage ``v`` [V] and total occupancy ``w`` (device scale ``gs``)."""
    v = np.asarray(v, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    g = 1.0 + (pk[P_G_MAX] - 1.0) * w
    u = np.maximum(v - pk[P_V_BI], 0.0) / (pk[P_V_REF] - pk[P_V_BI])
    return gs * pk[P_I_REF] * g * u ** pk[P_ALPHA_I] + pk[P_G_LEAK] * v


def eta(w: np.ndarray, pk: np.ndarray) -> np.ndarray:
    """Radiative-efficiency factor eta(w) [1]."""
    we = pk[P_W_ETA]
    return 1.0 + (pk[P_ETA_MAX] - 1.0) * (-np.expm1(-w / we)) / (-np.expm1(-1.0 / we))


def light(v: np.ndarray, w: np.ndarray, pk: np.ndarray, gs: np.ndarray | float = 1.0
          ) -> np.ndarray:
    """EL photon flux [photons/s] at voltage ``v`` [V] and occupancy ``w``."""
    v = np.asarray(v, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    g = 1.0 + (pk[P_G_MAX] - 1.0) * w
    u = np.maximum(v - pk[P_V_ON_L], 0.0) / (pk[P_V_REF] - pk[P_V_ON_L])
    return gs * pk[P_PHI_REF] * g ** pk[P_GAMMA_L] * eta(w, pk) * u ** pk[P_ALPHA_L]


def _relax(x0, k, tau, cap, dt):
    a = k + 1.0 / tau
    x_inf = k * cap / a
    return x_inf + (x0 - x_inf) * np.exp(-a * dt)


def cap_substeps(dt: float) -> int:
    """Number of split sub-steps of a ``dt`` [s] step with supply-limited capture."""
    return max(1, int(np.ceil(dt / CAP_SUBSTEP - 1e-9)))


def _capture_limited(x0, k, tau, cap, b, dt):
    """Supply-limited capture with emission over ``dt`` (module docstring), vectorised."""
    x = np.array(x0, dtype=np.float64)
    k = np.broadcast_to(np.asarray(k, dtype=np.float64), x.shape)
    if not np.any(k > 0.0):
        return x * np.exp(-dt / tau)
    m = cap_substeps(dt)
    h = dt / m
    eh = np.exp(-0.5 * h / tau)
    kap = cap * (1.0 - b) / b
    rdt = k * (cap / b * h)
    for _ in range(m):
        x = x * eh
        x = cap - uv_erase(cap - x, rdt, kap)
        x = x * eh
    return np.where(k > 0.0, x, np.asarray(x0, dtype=np.float64) * np.exp(-dt / tau))


def uv_erase(w0: np.ndarray, rdt: np.ndarray, kuv: float) -> np.ndarray:
    """Exact solution after ``r t = rdt`` of dw/dt = -r w/(w + kuv), vectorised Newton."""
    w0 = np.asarray(w0, dtype=np.float64)
    rdt = np.broadcast_to(np.asarray(rdt, dtype=np.float64), w0.shape)
    out = w0.copy()
    act = (w0 > 0.0) & (rdt > 0.0)
    if not np.any(act):
        return out
    a0 = w0[act]
    c = a0 + kuv * np.log(a0) - rdt[act]
    u = np.log(a0)
    done = np.zeros(a0.shape, dtype=bool)
    for _ in range(NEWTON_MAX):
        eu = np.exp(u)
        du = (eu + kuv * u - c) / (eu + kuv)
        du = np.where(done, 0.0, du)
        u = u - du
        done |= np.abs(du) < NEWTON_TOL
        if np.all(done):
            break
    out[act] = np.minimum(np.exp(u), a0)
    return out


def step(ws: np.ndarray, wf: np.ndarray, v: np.ndarray, uv: np.ndarray, dt: float,
         pk: np.ndarray, ks: np.ndarray | float = 1.0, xi: np.ndarray | float = 0.0,
         c2c: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """One constant-input step of length ``dt`` [s] at voltage ``v`` [V] and UV ``uv`` [W/m²].

    Args:
        ws, wf: Slow and fast occupancies (not modified).
        v, uv: Voltage and UV intensity (scalars or arrays broadcasting with ``ws``).
        dt: Step length [s].
        pk: Packed parameters.
        ks: Device capture-rate multiplier (device-to-device variability).
        xi: Standard-normal draws for the cycle-to-cycle noise of this step.
        c2c: Relative standard deviation of the update increment.

    Returns:
        New ``(ws, wf)``.
    """
    ws = np.asarray(ws, dtype=np.float64)
    wf = np.asarray(wf, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    drive = np.where(v > pk[P_V_BI], np.exp((v - pk[P_V_REF]) / pk[P_V_CAP]), 0.0) * ks
    cf = pk[P_F_FAST]
    cs = 1.0 - cf
    b = pk[P_CAP_SAT]
    if b > 0.0:  # supply-limited capture of the deep (slow) traps
        ns = _capture_limited(ws, pk[P_K_SLOW] * drive, pk[P_TAU_SLOW], cs, b, dt)
    else:
        ns = _relax(ws, pk[P_K_SLOW] * drive, pk[P_TAU_SLOW], cs, dt)
    nf = _relax(wf, pk[P_K_FAST] * drive, pk[P_TAU_FAST], cf, dt)
    fac = 1.0 + c2c * np.asarray(xi, dtype=np.float64)
    ns = np.clip(ws + (ns - ws) * fac, 0.0, cs)
    nf = np.clip(wf + (nf - wf) * fac, 0.0, cf)
    uv = np.asarray(uv, dtype=np.float64)
    if np.any(uv > 0.0):
        r = pk[P_UV_RATE] * uv / (uv + pk[P_UV_I_SAT]) * dt
        w0 = ns + nf
        w1 = uv_erase(w0, r, pk[P_UV_K])
        scale = np.where(w0 > 0.0, w1 / np.where(w0 > 0.0, w0, 1.0), 1.0)
        ns = ns * scale
        nf = nf * scale
    return ns, nf
