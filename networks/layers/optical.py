"""Optical cross-layer path and the cross-layer block: :class:`OpticalSkip`, :class:`CIBlock`.

``OpticalSkip`` carries a tensor across layers as light: x → DAC → N-LEM light L(V) →
optical coupling (efficiency η) → photodiode (responsivity R) → ADC. Its gain is calibrated
to 1 at full scale (the photocurrent is divided by η·R·P_full); the L-V curve either bends the
transfer (``predistort=False``) or, with the DAC codes chosen through the inverse L-V curve
(``predistort=True``, the co-design), shows up as non-uniform steps. Photocurrent noise is
``skip_noise`` of full scale. Negative values are sent in a second, inverted phase.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from networks.layers import kernels
from networks.layers.analog import NoiseSource, attach_noise_state
from networks.layers.device import device_curves, interp_lut
from networks.layers.hardware import HardwareConfig
from networks.layers.quant import (
    absmax,
    lut_quantize_sym,
    predistort_table,
    quantize_uniform,
    scratch,
    straight_through,
    symmetric_table,
)


class OpticalSkip(nn.Module):
    """Elementwise optical transmission with ideal gain 1 (``hw=None``: identity).

    Args:
        hw: Hardware description; None = ideal digital identity.
    """

    def __init__(self, hw: HardwareConfig | None = None):
        super().__init__()
        self.hw = hw
        if hw is None:
            return
        curves = device_curves(hw.compact_model, hw.levels_per_sign, hw.v_read)
        self.device_source = curves.source
        self.register_buffer("l_lut", curves.light.to(torch.float32), persistent=False)
        self._mode = "predistort" if hw.predistort else "raw"
        if hw.dac_bits > 0 and self._mode == "predistort":
            k = 2 ** (hw.dac_bits - 1) - 1
            self.register_buffer("l_table", predistort_table(curves.light, k), persistent=False)
            self.register_buffer("l_sym", symmetric_table(self.l_table), persistent=False)
        self.full_scale_a = float(hw.coupling_efficiency) * float(hw.pd_responsivity)
        """Photocurrent at full-scale light (1 W normalised emitted power), in A."""
        self.noise = NoiseSource(hw.next_seed())
        attach_noise_state(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        hw = self.hw
        if hw is None:
            return x
        if self._mode == "raw":  # bent transfer with the curve's true derivative
            xs = absmax(x)
            light = interp_lut(quantize_uniform(x / xs, hw.dac_bits), self.l_lut)
            return self._receive(light, x) * xs
        with torch.no_grad():
            q = self._transmit(x, None)
        return straight_through(x, q)  # ideal gain 1

    def add_to(self, body: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``body + self(x)``, fused into one pass where the kernels apply (same values).

        Gradient: ``g`` to ``body`` and, straight through the optical path, ``g`` to ``x``.
        """
        hw = self.hw
        if (hw is None or self._mode == "raw" or body.shape != x.shape
                or not kernels.fusable(x, body)):
            return body + self(x)
        return _SkipAdd.apply(x, body, self)

    def _transmit(self, x: torch.Tensor, body: torch.Tensor | None) -> torch.Tensor:
        """No-grad straight-through transmission (pre-distorting DAC), ``+ body`` if given."""
        hw = self.hw
        assert hw is not None
        if hw.dac_bits > 0 and kernels.fusable(x, self.l_sym) and (
                body is None or kernels.fusable(body)):
            xs32 = kernels.absmax32(x)
            k = F32(2 ** (hw.adc_bits - 1) - 1) if hw.adc_bits > 0 else F32(0.0)
            sym = self.l_sym
            n = (sym.numel() - 1) // 2
            m = x.numel()
            out = torch.empty(x.shape)
            kernels.skip_kernel(
                kernels.flat(x), F32(n) / xs32, kernels.flat(sym), n,
                scratch(m, torch.int32, x.device).numpy(),
                self.noise.fast_randn_np(m) if hw.skip_noise > 0 else kernels.EMPTY,
                F32(hw.skip_noise), k, xs32 / k if k > 0 else xs32,
                kernels.EMPTY if body is None else kernels.flat(body), kernels.flat(out))
            return out
        xs = absmax(x)
        light = lut_quantize_sym(x, xs, self.l_sym, 1.0) if hw.dac_bits > 0 else x / xs
        q = self._receive(light, x, xs)
        return q if body is None else body + q

    def _receive(self, light: torch.Tensor, x: torch.Tensor,
                 xs: torch.Tensor | None = None) -> torch.Tensor:
        """Coupling → photodiode → noise → ADC, back in units of the normalised input.

        With ``xs`` given, ``light`` is a fresh no-grad tensor that is overwritten in place
        (fast path; the same arithmetic in fewer passes) and the result is scaled back by ``xs``.
        """
        hw = self.hw
        assert hw is not None
        if xs is not None:
            # i_pd / full_scale_a = light + noise * skip_noise: the gain calibration cancels.
            if hw.skip_noise > 0:
                light.add_(self.noise.fast_randn(x.shape, x), alpha=hw.skip_noise)
            if hw.adc_bits > 0:
                k = float(2 ** (hw.adc_bits - 1) - 1)
                return light.mul_(k).round_().clamp_(-k, k).mul_(xs / k)
            return light.mul_(xs)
        i_pd = light * self.full_scale_a  # A, at 1 W normalised full-scale emission
        if hw.skip_noise > 0:
            i_pd = i_pd + self.noise.fast_randn(x.shape, x) * (hw.skip_noise * self.full_scale_a)
        out = i_pd / self.full_scale_a
        if hw.adc_bits > 0:
            k = float(2 ** (hw.adc_bits - 1) - 1)
            out = quantize_uniform(out.clamp(-1.0, 1.0), hw.adc_bits) if out.requires_grad \
                else out.mul_(k).round_().clamp_(-k, k).div_(k)
        return out

    def extra_repr(self) -> str:  # noqa: D102
        return "digital identity" if self.hw is None else f"optical, {self._mode}"


class CIBlock(nn.Module):
    """Cross-layer block ``y = post(body(x) + skip(x))`` with an optical skip.

    Args:
        body: The main path.
        skip: The cross-layer path; None = ``OpticalSkip(hw)``.
        post: Applied to the sum (e.g. ReLU); None = identity.
        hw: Hardware of the default skip (None = digital identity skip).
    """

    def __init__(self, body: nn.Module, skip: nn.Module | None = None,
                 post: nn.Module | None = None, hw: HardwareConfig | None = None):
        super().__init__()
        self.body = body
        self.skip = skip if skip is not None else OpticalSkip(hw)
        self.post = post if post is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        body = self.body(x)
        if isinstance(self.skip, OpticalSkip) and not (
                self.skip._forward_hooks or self.skip._forward_pre_hooks):
            return self.post(self.skip.add_to(body, x))  # same sum, one pass less
        return self.post(body + self.skip(x))


F32 = np.float32


class _SkipAdd(torch.autograd.Function):
    """``body + skip(x)`` as one node: identity gradient to both (the skip is straight-through)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, body: torch.Tensor,  # noqa: D102
                skip: OpticalSkip) -> torch.Tensor:
        return skip._transmit(x, body)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:  # noqa: D102
        return g, g, None
