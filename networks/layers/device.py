"""The device as the layers see it: level table and normalised I-V / L-V curves.

Everything comes from ``compact_model.torch_bridge`` (the one device interface). When that
stage is not importable, a documented stand-in (uniform levels, smooth superlinear curves) is
used and :attr:`DeviceCurves.source` says so. Curves are tabulated once into look-up tables
and evaluated by differentiable piecewise-linear interpolation (fast, any backend).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

log = logging.getLogger(__name__)
_N_LUT = 1025


@dataclass(frozen=True)
class DeviceCurves:
    """Tabulated device behaviour on normalised voltage u = V / v_read ∈ [0, 1]."""

    levels: torch.Tensor
    """Normalised conductance levels, sorted, float64 in [0, 1]."""
    current: torch.Tensor
    """I(u) / I(1) sampled on ``_N_LUT`` points of u ∈ [0, 1]."""
    light: torch.Tensor
    """L(u) / L(1) sampled on the same points."""
    source: str
    """``compact_model:<name>`` or ``stand-in``."""


def interp_lut(u: torch.Tensor, lut: torch.Tensor) -> torch.Tensor:
    """Odd, differentiable piecewise-linear interpolation of ``lut`` on |u| ∈ [0, 1].

    Returns ``sign(u) * lut(|u|)`` (negative inputs are read as a second, inverted phase).
    """
    lut = lut.to(device=u.device, dtype=u.dtype)
    n = lut.numel() - 1
    a = u.abs().clamp(max=1.0) * n
    i0 = a.detach().floor().clamp(max=n - 1).long()
    frac = a - i0.to(a.dtype)
    y = lut[i0] + frac * (lut[i0 + 1] - lut[i0])
    return torch.where(u < 0, -y, y)


def _standin() -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray],
                        Callable[[np.ndarray], np.ndarray]]:
    def cur(u: np.ndarray) -> np.ndarray:  # rectifying, mildly superlinear
        return np.sinh(2.0 * u) / np.sinh(2.0)

    def light(u: np.ndarray) -> np.ndarray:  # smooth superlinear emission
        return u**2.5

    return np.linspace(0.0, 1.0, 15), cur, light


def _to_numpy_fn(fn: Callable[..., object]) -> Callable[[np.ndarray], np.ndarray]:
    def f(v: np.ndarray) -> np.ndarray:
        out = fn(torch.as_tensor(v, dtype=torch.float64))
        if isinstance(out, torch.Tensor):
            out = out.detach().cpu().numpy()
        return np.asarray(out, dtype=np.float64)

    return f


@functools.lru_cache(maxsize=16)
def device_curves(model: str = "paper", n_per_sign: int = 15, v_read: float = 4.0) -> DeviceCurves:
    """Level table and normalised curves of compact-model preset/path ``model``.

    Falls back to the stand-in (logged once) when ``compact_model.torch_bridge`` is missing.
    """
    u = np.linspace(0.0, 1.0, _N_LUT)
    try:
        import compact_model
        from compact_model import torch_bridge as tb

        m = compact_model.load(model)
        levels = np.asarray(tb.levels_tensor(m, n_per_sign=n_per_sign, v_read=v_read),
                            dtype=np.float64)
        cur = _to_numpy_fn(tb.current_curve(m))
        light = _to_numpy_fn(tb.light_curve(m))
        source = f"compact_model:{model}"
    except (ImportError, AttributeError, NotImplementedError, ValueError, TypeError) as exc:
        log.warning("compact_model.torch_bridge unavailable (%s): using the stand-in device", exc)
        levels, cur, light = _standin()
        levels = np.linspace(0.0, 1.0, n_per_sign)
        source = "stand-in"
    levels = np.sort(np.asarray(levels, dtype=np.float64).ravel())
    if levels.size < 2 or levels[-1] <= levels[0]:
        raise ValueError(f"compact model {model!r}: level table {levels} has no range")
    ic = cur(u * v_read)
    il = light(u * v_read)
    if source == "stand-in":
        ic, il = cur(u), light(u)
    ic = np.clip(np.asarray(ic, dtype=np.float64), 0.0, None)
    il = np.clip(np.asarray(il, dtype=np.float64), 0.0, None)
    if ic[-1] <= 0 or il[-1] <= 0:
        raise ValueError(f"compact model {model!r}: zero current or light at v_read={v_read} V")
    ic, il = ic - ic[0], il - il[0]
    return DeviceCurves(
        levels=torch.as_tensor(levels),
        current=torch.as_tensor(np.maximum.accumulate(ic / ic[-1])),
        light=torch.as_tensor(np.maximum.accumulate(il / il[-1])),
        source=source,
    )
