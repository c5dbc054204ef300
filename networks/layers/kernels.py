"""Fused CPU kernels of the analog signal chain (Numba): DAC look-up, ADC, optical skip.

Each kernel does in one pass what the torch path in ``quant.py`` / ``analog.py`` /
``optical.py`` does in four to eight elementwise passes (with a fresh tensor per pass), with the
same float32 arithmetic in the same order, so the results are bit-for-bit those of the torch
path (tested in ``tests/networks/test_layer_kernels.py``):

* rounding is round-half-to-even (``torch.round``), computed as ``(v + 1.5·2^23) - 1.5·2^23``,
  exact for ``|v| < 2^22`` (every value rounded here is at most ``2^12`` in magnitude);
* ``a + alpha * b`` (torch's ``add(a, b, alpha=)``) is one fused multiply-add (``llvm.fma``),
  as in torch's vectorised CPU kernel; no fast-math flag is set, so LLVM neither contracts
  other products into FMAs (that would change the rounding of ``x * s`` before the look-up)
  nor reassociates anything;
* scalars (``n / xs``, ``k / ys``, ...) are float32 divisions, as torch does them on 0-d
  float32 tensors (:func:`absmax32` gives the full scale as a float32 scalar).

The kernels are used for contiguous float32 CPU tensors only, and while torch runs on at most
:data:`MAX_THREADS` threads (:func:`fusable`): they are serial, and one serial fused pass beats
torch's multi-pass chain only while that chain has few threads to spread over (on a 2-core box
a 2-thread torch op also waits for the second core at every hand-off). Anything else (other
dtypes, accelerators, many threads) takes the torch path, with the same values. Look-up
indices are clamped to the table (NaN → first entry), so a bad input can never read outside
it; a NaN input still gives a NaN output, through its NaN full scale.
"""

from __future__ import annotations

import numpy as np
import torch

try:  # numba is a dependency of the compact model; the torch path works without it
    import numba as nb
except ImportError:  # pragma: no cover - numba absent
    nb = None

_MAGIC = np.float32(12582912.0)  # 1.5 * 2**23: (v + M) - M == rint(v) for |v| < 2**22
EMPTY = np.empty(0, dtype=np.float32)
"""Stand-in for an absent optional array argument (no noise, no bias, no addend)."""
F32 = np.float32

ENABLED = nb is not None
"""Use the kernels where :func:`fusable` allows (tests switch it off to compare paths)."""
MAX_THREADS = 4
"""Largest ``torch.get_num_threads()`` for which the (serial) kernels are used."""


def fusable(*ts: torch.Tensor) -> bool:
    """True when every tensor is a contiguous float32 CPU tensor, the kernels are enabled and
    torch uses at most :data:`MAX_THREADS` threads."""
    if not ENABLED or torch.get_num_threads() > MAX_THREADS:
        return False
    for t in ts:
        if t.dtype != torch.float32 or t.device.type != "cpu" or not t.is_contiguous():
            return False
    return True


def flat(t: torch.Tensor) -> np.ndarray:
    """Flat numpy view of a contiguous CPU tensor (no copy, no autograd)."""
    return t.detach().numpy().reshape(-1)


def absmax32(t: torch.Tensor, eps: float = 1e-12) -> np.float32:
    """``max |t|`` (at least ``eps``) as a float32 scalar: :func:`quant.absmax` on the host.

    Fusable tensors: one serial kernel (no thread-pool hand-off); otherwise ``torch.aminmax``.
    A NaN anywhere gives NaN, as ``torch.maximum`` does.
    """
    if fusable(t) and t.numel() > 0:
        m = F32(np.int32(absmax_bits(flat(t).view(np.int32))).view(np.float32))
    else:
        lo, hi = torch.aminmax(t.detach())
        lo_f, hi_f = lo.item(), hi.item()
        if lo_f != lo_f or hi_f != hi_f:
            return F32(np.nan)
        m = F32(max(-lo_f, hi_f))
    if m != m:
        return m
    return F32(max(float(m), eps))


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """True when two fusable tensors of equal shape hold the same bits (serial, one pass)."""
    return bool(equal_bits(flat(a).view(np.int32), flat(b).view(np.int32)))


if nb is not None:
    from numba.core import types as _types
    from numba.core.extending import intrinsic as _intrinsic

    _JIT = dict(cache=True, nogil=True, boundscheck=False)

    @_intrinsic
    def _fma(typingctx, a, b, c):  # pragma: no cover - compiled
        """``a * b + c`` rounded once (float32), the ``llvm.fma`` intrinsic."""
        sig = _types.float32(_types.float32, _types.float32, _types.float32)

        def codegen(context, builder, signature, args):
            return builder.fma(*args)

        return sig, codegen

    @nb.njit(**_JIT)
    def absmax_bits(xi):  # pragma: no cover - compiled
        """Bit pattern of ``max |x|`` from the int32 view of float32 ``x``.

        For IEEE floats with the sign bit cleared the integer order is the float order, with
        every NaN above +inf: an integer max (which vectorises without fast-math) is exact
        and lets a NaN through.
        """
        m = np.int32(0)
        for i in range(xi.size):
            v = xi[i] & np.int32(0x7FFFFFFF)
            m = max(m, v)
        return m

    @nb.njit(**_JIT)
    def equal_bits(a, b):  # pragma: no cover - compiled
        """True when the int32 arrays ``a`` and ``b`` (same size) are equal."""
        d = np.int32(0)
        for i in range(a.size):
            d |= a[i] ^ b[i]
        return d == 0

    @nb.njit(**_JIT)
    def _codes(x, s, n, idx):  # pragma: no cover - compiled
        """``idx[i] = clamp(rint(x[i] * s), -n, n) + n`` (NaN → 0)."""
        fn = np.float32(n)
        for i in range(x.size):
            r = (x[i] * s + _MAGIC) - _MAGIC
            if not r >= -fn:  # also NaN
                r = -fn
            if r > fn:
                r = fn
            idx[i] = np.int32(r) + n

    @nb.njit(**_JIT)
    def lut_kernel(x, s, tab, n, scale, idx, noise, alpha, out):  # pragma: no cover
        """``out = tab[rint(x * s) + n] * scale (+ alpha * noise)``: the symmetric LUT quantiser.

        Args:
            x: Input (flat float32).
            s: ``n / xs`` (float32).
            tab: Symmetric table, ``2n + 1`` entries.
            n: Half length of the table.
            scale: Output scale (float32; ``tab * scale`` as torch would compute it).
            idx: int32 work buffer of ``x.size``.
            noise: Noise window of ``x.size`` (or empty: no noise).
            alpha: Noise factor (FMA, as ``torch.add(q, noise, alpha=alpha)``).
            out: Output (flat float32, may not alias ``x``).
        """
        _codes(x, s, n, idx)
        if noise.size:
            for i in range(x.size):
                out[i] = _fma(alpha, noise[i], tab[idx[i]] * scale)
        else:
            for i in range(x.size):
                out[i] = tab[idx[i]] * scale

    @nb.njit(**_JIT)
    def uniform_kernel(x, s1, s2, out):  # pragma: no cover - compiled
        """``out = rint(x * s1) * s2``: the uniform (linear-cell) DAC."""
        for i in range(x.size):
            out[i] = ((x[i] * s1 + _MAGIC) - _MAGIC) * s2

    @nb.njit(**_JIT)
    def _adc_block(yv, nv, s1, alpha, k, s2, b, has_noise):  # pragma: no cover - compiled
        if has_noise:
            for j in range(yv.size):
                q = _fma(alpha, nv[j], yv[j] * s1)
                q = min(max(q, -k), k)
                yv[j] = ((q + _MAGIC) - _MAGIC) * s2 + b
        else:
            for j in range(yv.size):
                q = min(max(yv[j] * s1, -k), k)
                yv[j] = ((q + _MAGIC) - _MAGIC) * s2 + b

    @nb.njit(**_JIT)
    def adc_kernel(y, channels, inner, s1, noise, alpha, k, s2, bias):  # pragma: no cover
        """In place: ``y = rint(clamp(y*s1 + alpha*noise, -k, k)) * s2 + bias`` (ADC + bias).

        ``y`` is laid out as ``(rows, channels, inner)`` with the bias along ``channels``
        (``inner = 1``: a linear layer's ``(rows, features)``). ``bias`` may be empty (then
        ``+ 0.0``, which only turns ``-0.0`` into ``+0.0``), ``noise`` too.
        """
        has_noise = noise.size > 0
        has_bias = bias.size > 0
        if inner == 1:  # features are contiguous: vectorise along them
            rows = y.size // channels
            for r in range(rows):
                yv = y[r * channels:(r + 1) * channels]
                nv = noise[r * channels:(r + 1) * channels] if has_noise else noise
                if has_noise:
                    for j in range(channels):
                        q = _fma(alpha, nv[j], yv[j] * s1)
                        q = min(max(q, -k), k)
                        yv[j] = ((q + _MAGIC) - _MAGIC) * s2
                else:
                    for j in range(channels):
                        q = min(max(yv[j] * s1, -k), k)
                        yv[j] = ((q + _MAGIC) - _MAGIC) * s2
                if has_bias:
                    for j in range(channels):
                        yv[j] = yv[j] + bias[j]
            return
        rows = y.size // (channels * inner)
        for r in range(rows):
            for c in range(channels):
                a = (r * channels + c) * inner
                b = bias[c] if has_bias else np.float32(0.0)
                nv = noise[a:a + inner] if has_noise else noise
                _adc_block(y[a:a + inner], nv, s1, alpha, k, s2, b, has_noise)

    @nb.njit(**_JIT)
    def skip_kernel(x, s, tab, n, idx, noise, alpha, k, s2, add, out):  # pragma: no cover
        """Optical skip in one call: LUT (light) → + noise → ADC → × full scale (+ ``add``).

        ``out = clamp(rint((tab[rint(x*s) + n] + alpha*noise) * k), -k, k) * s2 (+ add)``,
        ``k = 0`` meaning no ADC (``out = light * s2``); ``add`` empty or the body output the
        skip is summed with (the cross-layer block's addition, fused).
        """
        _codes(x, s, n, idx)
        m = x.size
        for i in range(m):
            out[i] = tab[idx[i]]
        has_noise, has_adc, has_add = noise.size > 0, k > 0, add.size > 0
        for i in range(m):  # loop-invariant branches: LLVM unswitches and vectorises
            v = out[i]
            if has_noise:
                v = _fma(alpha, noise[i], v)
            if has_adc:
                v = (v * k + _MAGIC) - _MAGIC
                v = min(max(v, -k), k)
            v = v * s2
            if has_add:
                v = add[i] + v
            out[i] = v
