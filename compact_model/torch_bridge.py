"""Torch bridge for the network stage: level tables, I(V) and L(V) curves and noise as tensors.

Nothing here calls Numba inside autograd: the curves are re-implemented in torch from the
model's parameters (same equations as :mod:`compact_model.reference`), so gradients flow.
The curves accept the voltages :meth:`NLEM.current` accepts, ``[v_min, v_max]``, and refuse
others (and NaN) with the same ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from compact_model.model import NLEM


def levels_tensor(m: NLEM, n_per_sign: int = 15, v_read: float = 4.0,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Normalised conductance levels (g - g_0)/(g_max - g_0) in [0, 1], sorted, first = 0."""
    table = m.levels(n_per_sign=n_per_sign, v_read=v_read)
    g = np.sort(table.g)
    norm = (g - g[0]) / (g[-1] - g[0])
    return torch.as_tensor(norm, dtype=dtype)


def _check_v(m: NLEM, v: torch.Tensor) -> None:
    """Refuse voltages outside ``[v_min, v_max]`` (or NaN), like :meth:`NLEM.current`."""
    if v.numel() == 0:
        return
    lo, hi = float(v.detach().min()), float(v.detach().max())
    if not (m.params.v_min <= lo and hi <= m.params.v_max) or bool(torch.isnan(v).any()):
        raise ValueError(f"v [V] spans [{lo:.6g}, {hi:.6g}]: must lie in "
                         f"[{m.params.v_min:g}, {m.params.v_max:g}] (the compact model's range)")


def _factors(m: NLEM, w: float):
    p = m.params
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"w = {w!r}: must lie in [0, 1]")
    g = 1.0 + (p.g_max - 1.0) * w
    eta = 1.0 + (p.eta_max - 1.0) * (-np.expm1(-w / p.w_eta)) / (-np.expm1(-1.0 / p.w_eta))
    return g, eta


def current_curve(m: NLEM, w: float = 0.0, normalise: bool = True,
                  v_norm: float | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """Differentiable ``v -> I(v, w)`` (rectifying). ``normalise``: divide by I(v_norm, w),
    ``v_norm`` defaulting to ``v_ref``, so the curve is 1 at ``v_norm``; else amperes."""
    p = m.params
    g, _ = _factors(m, w)
    vn = p.v_ref if v_norm is None else v_norm
    scale = 1.0
    if normalise:
        scale = 1.0 / float(m.current(vn, w))

    def f(v: torch.Tensor) -> torch.Tensor:
        _check_v(m, v)
        u = torch.clamp(v - p.v_bi, min=0.0) / (p.v_ref - p.v_bi)
        return scale * (p.i_ref * g * u ** p.alpha_i + p.g_leak * v)

    return f


def light_curve(m: NLEM, w: float = 0.0, normalise: bool = True,
                v_norm: float | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """Differentiable ``v -> L(v, w)``; 0 below turn-on. ``normalise``: 1 at ``v_norm``
    (default ``v_ref``), else photons/s."""
    p = m.params
    g, eta = _factors(m, w)
    vn = p.v_ref if v_norm is None else v_norm
    scale = 1.0 / float(m.light(vn, w)) if normalise else 1.0

    def f(v: torch.Tensor) -> torch.Tensor:
        _check_v(m, v)
        u = torch.clamp(v - p.v_on_light, min=0.0) / (p.v_ref - p.v_on_light)
        return scale * p.phi_ref * g ** p.gamma_l * eta * u ** p.alpha_l

    return f


def read_noise(x: torch.Tensor, sigma: float, generator: torch.Generator | None = None
               ) -> torch.Tensor:
    """Multiplicative Gaussian read noise of relative std ``sigma`` (seeded by ``generator``)."""
    if sigma < 0:
        raise ValueError(f"sigma = {sigma!r}: must be >= 0")
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x * (1.0 + sigma * noise)


def level_noise(m: NLEM, n_per_sign: int = 15, v_read: float = 4.0, devices: int = 200,
                seed: int = 0, write_verify: bool = True, dtype: torch.dtype = torch.float32
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Programming-noise model of the level table, from simulated programming (seeded).

    Each level is programmed on ``devices`` devices with the model's variability
    (:meth:`NLEM.program`); the reached conductances are normalised like
    :func:`levels_tensor`.

    Returns:
        ``(levels, mean, std)``: nominal normalised levels, mean and standard deviation of the
        programmed normalised conductance per level, each of shape ``(n_per_sign,)``.
    """
    if devices < 2:
        raise ValueError(f"devices = {devices!r}: must be >= 2")
    table = m.levels(n_per_sign=n_per_sign, v_read=v_read)
    g0, g1 = float(table.g[0]), float(table.g[-1])
    targets = np.repeat(table.w[None, :], devices, axis=0)
    w, _ = m.program(targets, np.random.default_rng(seed), write_verify=write_verify)
    g = (m.conductance(w, v_read) - g0) / (g1 - g0)
    nominal = (table.g - g0) / (g1 - g0)
    return (torch.as_tensor(nominal, dtype=dtype), torch.as_tensor(g.mean(0), dtype=dtype),
            torch.as_tensor(g.std(0), dtype=dtype))
