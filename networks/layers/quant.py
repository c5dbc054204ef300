"""Quantisers with straight-through gradients (identity backward), used by every analog layer."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import torch

_SCRATCH = threading.local()


def scratch(n: int, dtype: torch.dtype, device: torch.device, slot: str = "") -> torch.Tensor:
    """A reusable 1-D work buffer of ``n`` elements (per thread, dtype, device and ``slot``).

    For temporaries that never leave a function (never returned, never saved for backward):
    reusing one buffer avoids a fresh allocation, and its page faults, per call. Different
    ``slot`` names give different buffers (for temporaries that must not alias).
    """
    bufs = getattr(_SCRATCH, "bufs", None)
    if bufs is None:
        bufs = _SCRATCH.bufs = {}
    key = (dtype, str(device), slot)
    buf = bufs.get(key)
    if buf is None or buf.numel() < n:
        buf = bufs[key] = torch.empty(n, dtype=dtype, device=device)
    return buf[:n]


class _UniformSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, u: torch.Tensor, k: float) -> torch.Tensor:  # noqa: D102
        return torch.round(u.clamp(-1.0, 1.0) * k) / k

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: D102
        return g, None


class _GridSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, u: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return snap_to_grid(u, grid)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: D102
        return g, None


def snap_to_grid(u: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """``sign(u) * grid[k]`` with ``grid[k]`` the magnitude nearest to ``|u|`` (no gradient).

    Args:
        u: Values (any shape).
        grid: Sorted non-negative magnitudes (1-D).
    """
    grid = grid.to(device=u.device, dtype=u.dtype)
    mids = 0.5 * (grid[1:] + grid[:-1])
    idx = torch.bucketize(u.detach().abs(), mids)
    q = grid[idx]
    return torch.where(u < 0, -q, q)


def quantize_uniform(u: torch.Tensor, bits: int) -> torch.Tensor:
    """Signed uniform quantiser of ``u`` ∈ [-1, 1] to ``2^(bits-1)-1`` steps per sign (STE).

    ``bits = 0`` means ideal (identity).
    """
    if bits <= 0:
        return u
    return _UniformSTE.apply(u, float(2 ** (bits - 1) - 1))


def quantize_grid(u: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Odd nearest-magnitude quantiser onto ``grid`` with a straight-through gradient."""
    return _GridSTE.apply(u, grid)


def absmax(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Detached full-scale ``max |x|`` (at least ``eps``), a 0-d tensor (one pass)."""
    lo, hi = torch.aminmax(x.detach())
    return torch.maximum(hi, -lo).clamp_min(eps)


class _PassThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return q

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: D102
        return g, None


class _PassThroughBias(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, bias: torch.Tensor, q: torch.Tensor,
                dim: int) -> torch.Tensor:  # noqa: D102
        ctx.dim = dim
        return q

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:  # noqa: D102
        gb = None
        if ctx.needs_input_grad[1]:
            dims = [d for d in range(g.dim()) if d != ctx.dim]
            gb = g.sum(dims)
        return g, gb, None, None


def straight_through_bias(x: torch.Tensor, q: torch.Tensor, bias: torch.Tensor,
                          dim: int) -> torch.Tensor:
    """``q + bias`` (bias along ``dim``) forward, gradient ``g`` to ``x`` and ``Σ g`` to ``bias``.

    Same as ``straight_through(x, q) + bias.view(...)`` without the extra output tensor: the
    bias is added into ``q`` in place (``q`` must be a fresh no-grad tensor).
    """
    shape = [1] * q.dim()
    shape[dim] = -1
    with torch.no_grad():
        q.add_(bias.detach().view(shape))
    if not (x.requires_grad or bias.requires_grad):
        return q
    return _PassThroughBias.apply(x, bias, q, dim)


def straight_through(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``q`` in the forward pass, identity gradient to ``x`` in the backward pass.

    ``q`` must be a fresh tensor computed without gradient (it is returned as is).
    """
    if not x.requires_grad:
        return q
    return _PassThrough.apply(x, q)


_N_TABLE = 4096


def predistort_table(curve_lut: torch.Tensor, k: int, n: int = _N_TABLE) -> torch.Tensor:
    """Look-up table of a pre-distorting DAC: target magnitude → nearest reachable output.

    The DAC has codes ``c/k`` (c = 0..k); the cell turns code c into ``curve(c/k)``. Entry i
    is the reachable output nearest to ``i/(n-1)``.

    Args:
        curve_lut: Normalised curve sampled uniformly on [0, 1] (see ``networks.layers.device``).
        k: Codes per sign.
        n: Table length.
    """
    from networks.layers.device import interp_lut

    codes = torch.linspace(0.0, 1.0, k + 1, dtype=torch.float64)
    grid = torch.unique(interp_lut(codes, curve_lut.to(torch.float64)))
    targets = torch.linspace(0.0, 1.0, n, dtype=torch.float64)
    return snap_to_grid(targets, grid).to(torch.float32)


def symmetric_table(table: torch.Tensor) -> torch.Tensor:
    """Odd extension ``[-table[n], ..., -table[1], table[0], ..., table[n]]`` of a magnitude LUT.

    Entry ``n + j`` is ``sign(j) * table[|j|]``, so :func:`lut_quantize_sym` needs neither
    ``abs`` nor ``copysign`` (two fewer passes over the data than the magnitude form).
    """
    return torch.cat([-table[1:].flip(0), table])


def lut_quantize_sym(x: torch.Tensor, xs: torch.Tensor, sym: torch.Tensor,
                     scale: torch.Tensor | float | None = None,
                     noise: torch.Tensor | None = None, alpha: float = 0.0) -> torch.Tensor:
    """``scale * sym[round(x/xs * n) + n] (+ alpha * noise)`` with ``sym`` from
    :func:`symmetric_table`.

    Equals the magnitude form ``sign(x) * xs * table[round(|x|/xs * n)]`` (``scale = xs``, the
    default) for a table with ``table[0] = 0`` (every layer table), up to the sign of zero.
    ``xs`` must be ``max |x|`` (or larger). ``noise`` (shape of ``x``) is added as
    ``torch.add(q, noise, alpha=alpha)`` would. No gradient; a new tensor. Contiguous float32
    CPU input runs as one fused kernel (``networks.layers.kernels``; same result); otherwise
    an index out of range, from a too small ``xs``, raises in ``index_select``.
    """
    from networks.layers import kernels

    with torch.no_grad():
        n = (sym.numel() - 1) // 2
        m = x.numel()
        if kernels.fusable(x, sym) and (noise is None or kernels.fusable(noise)):
            xs32 = np.float32(float(xs))
            sc = xs32 if scale is None else np.float32(float(scale))
            out = torch.empty(x.shape, dtype=x.dtype)
            kernels.lut_kernel(
                kernels.flat(x), np.float32(n) / xs32, kernels.flat(sym), n, sc,
                scratch(m, torch.int32, x.device).numpy(),
                kernels.EMPTY if noise is None else kernels.flat(noise), np.float32(alpha),
                kernels.flat(out))
            return out
        s = n / xs
        tab = sym.to(device=x.device, dtype=x.dtype)
        tab = tab * (xs if scale is None else scale)
        a = torch.mul(x, s, out=scratch(m, x.dtype, x.device).view(x.shape))
        idx = scratch(m, torch.int32, x.device)
        idx.copy_(a.round_().view(-1))  # exact: the values are integers already
        idx.add_(n)
        q = torch.index_select(tab, 0, idx).view(x.shape)
        if noise is not None:
            q.add_(noise, alpha=alpha)
        return q


def lut_quantize(x: torch.Tensor, xs: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``sign(x) * xs * table[round(|x|/xs * (n-1))]`` (no gradient; a new tensor).

    ``xs`` must be ``max |x|`` (or larger), so the index stays in range.
    """
    with torch.no_grad():
        return lut_quantize_sym(x, xs, symmetric_table(table))
