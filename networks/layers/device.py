"""The device as the layers see it: level table and normalised I-V / L-V curves.

Everything comes from ``compact_model.torch_bridge`` (the one device interface); a compact
model that cannot be loaded is an error, never silently replaced. Curves are tabulated once into
look-up tables and evaluated by differentiable piecewise-linear interpolation (fast, any
backend).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

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
    """``compact_model:<preset name or nlem.json path>``."""


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


def _to_numpy_fn(fn: Callable[..., object]) -> Callable[[np.ndarray], np.ndarray]:
    def f(v: np.ndarray) -> np.ndarray:
        out = fn(torch.as_tensor(v, dtype=torch.float64))
        if isinstance(out, torch.Tensor):
            out = out.detach().cpu().numpy()
        return np.asarray(out, dtype=np.float64)

    return f


def level_table(m: object, n_per_sign: int, v_read: float) -> object:
    """The compact model's level table written as the circuits stage writes its arrays
    (``circuits.config.CircuitsConfig``: ``write_amplitude_v`` pulses of ``write_width_s``,
    as many apart, up to ``write_n_max``; the paper's 1 ms, 5 V pulses), so the analog layers
    and :class:`circuits.synapse_array.NLEMSynapseArray` share one table."""
    from circuits.config import CircuitsConfig

    c = CircuitsConfig()
    return m.levels(n_per_sign=n_per_sign, v_read=v_read, n_max=c.write_n_max,  # type: ignore[attr-defined]
                    amplitude=c.write_amplitude_v, width=c.write_width_s,
                    interval=c.write_width_s)


@functools.lru_cache(maxsize=16)
def device_curves(model: str = "paper", n_per_sign: int = 15, v_read: float = 4.0) -> DeviceCurves:
    """Level table (:func:`level_table`) and normalised curves of compact-model preset/path
    ``model``."""
    import compact_model
    from compact_model import torch_bridge as tb

    u = np.linspace(0.0, 1.0, _N_LUT)
    m = compact_model.load(model)
    g = np.sort(np.asarray(level_table(m, n_per_sign, v_read).g, dtype=np.float64))
    levels = (g - g[0]) / (g[-1] - g[0])
    cur = _to_numpy_fn(tb.current_curve(m))
    light = _to_numpy_fn(tb.light_curve(m))
    source = f"compact_model:{model}"
    levels = np.sort(np.asarray(levels, dtype=np.float64).ravel())
    if levels.size < 2 or levels[-1] <= levels[0]:
        raise ValueError(f"compact model {model!r}: level table {levels} has no range")
    ic = cur(u * v_read)
    il = light(u * v_read)
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


@functools.lru_cache(maxsize=64)
def retention_levels(model: str = "paper", n_per_sign: int = 15, v_read: float = 4.0,
                     seconds: float = 0.0) -> torch.Tensor:
    """The level table ``seconds`` after programming, in the normalised units of
    :func:`device_curves` (``(g_k(t) - g_0) / (g_N - g_0)``, same order as its ``levels``).

    Each level's occupancy (``NLEM.levels``) rests in the dark at 0 V for ``seconds``
    (``NLEM.rest``: the compact model's thermal emission of both trap populations, the natural
    decay fitted to the physics or the paper) and is read at ``v_read``; the erased state
    does not decay, so a level falls towards level 0.
    """
    import compact_model

    if not (np.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"seconds = {seconds!r}: must be a finite time >= 0 s")
    m = compact_model.load(model)
    table = level_table(m, n_per_sign, v_read)
    order = np.argsort(table.g)
    g = np.asarray(table.g, dtype=np.float64)[order]
    w = np.asarray(table.w, dtype=np.float64)[order]
    gt = np.asarray(m.conductance(m.rest(w, float(seconds)), v_read), dtype=np.float64)
    return torch.as_tensor((gt - g[0]) / (g[-1] - g[0]))
