"""Analog crossbar layers on N-LEM differential pairs: :class:`AnalogLinear`, :class:`AnalogConv2d`.

Signal chain of one analog layer (``hw`` given)::

    x ─► /max|x| ─► DAC (codes, optional I-V pre-distortion) ─► cell I-V ─► Σ G·V (crossbar)
      ─► read noise ─► ADC ─► ×max|x| ─► + bias (digital periphery)

Each weight is a differential pair ``(G+ - G-)`` of N-LEM conductances taken from the compact
model's reachable levels (``levels_per_sign`` per device, the lower device of the pair at the
lowest level), scaled per layer by ``max |w|``. Programming noise perturbs every written
conductance; in training mode the weights are re-programmed each step (noise-aware training);
in eval mode the programmed device states are frozen in buffers (``g_pos``, ``g_neg``) until
the next switch to training mode. Rounding steps pass gradients straight through.
With ``hw=None`` the layers are exactly ``nn.Linear`` / ``nn.Conv2d``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from networks.layers.device import DeviceCurves, device_curves, interp_lut
from networks.layers.hardware import HardwareConfig
from networks.layers.quant import (
    absmax,
    lut_quantize_sym,
    predistort_table,
    quantize_uniform,
    snap_to_grid,
    straight_through,
    straight_through_bias,
    symmetric_table,
)

_BANK_SIZE = 1 << 23
_BANKS: dict[tuple[str, torch.dtype], torch.Tensor] = {}


def _bank(like: torch.Tensor) -> torch.Tensor:
    """A fixed bank of standard-normal samples on ``like``'s device (seed 20240101)."""
    key = (str(like.device), like.dtype)
    if key not in _BANKS:
        g = torch.Generator().manual_seed(20240101)
        _BANKS[key] = torch.randn(_BANK_SIZE, generator=g).to(device=like.device, dtype=like.dtype)
    return _BANKS[key]


class NoiseSource:
    """Seeded per-layer generator; keeps a CPU master and one generator per accelerator.

    :meth:`fast_randn` serves activation-sized noise as a window of a fixed bank of normal
    samples at a random offset drawn from this generator (one draw instead of N): cheap, still
    seeded and reproducible; windows of different calls may overlap (weakly correlated noise).
    """

    def __init__(self, seed: int):
        self.seed = int(seed)
        self.cpu = torch.Generator().manual_seed(self.seed)
        self.dev: torch.Generator | None = None

    def randn(self, shape: torch.Size, like: torch.Tensor) -> torch.Tensor:
        """Standard normal noise of ``shape`` on ``like``'s device and dtype."""
        if like.device.type == "cpu":
            return torch.randn(shape, generator=self.cpu, dtype=like.dtype)
        if self.dev is None or self.dev.device != like.device:
            self.dev = torch.Generator(device=like.device)
            self.dev.manual_seed(int(torch.randint(2**62, (1,), generator=self.cpu)))
        return torch.randn(shape, generator=self.dev, device=like.device, dtype=like.dtype)

    def fast_randn(self, shape: torch.Size, like: torch.Tensor) -> torch.Tensor:
        """Normal noise of ``shape`` taken from the shared bank at a seeded random offset."""
        n = math.prod(shape)
        if n > _BANK_SIZE // 2:
            return self.randn(shape, like)
        off = int(torch.randint(0, _BANK_SIZE - n + 1, (1,), generator=self.cpu))
        return _bank(like)[off:off + n].view(shape)

    def state(self) -> dict[str, Any]:
        """Serialisable state (seed and generator states)."""
        return {"seed": self.seed, "cpu": self.cpu.get_state(),
                "dev": None if self.dev is None else self.dev.get_state(),
                "dev_name": None if self.dev is None else str(self.dev.device)}

    def load(self, st: dict[str, Any]) -> None:
        """Restore :meth:`state` output."""
        self.seed = int(st["seed"])
        self.cpu.set_state(st["cpu"])
        self.dev = None
        if st.get("dev") is not None and torch.device(st["dev_name"]).type != "cpu":
            try:
                self.dev = torch.Generator(device=st["dev_name"])
                self.dev.set_state(st["dev"])
            except RuntimeError:  # accelerator absent now: re-derive on first use
                self.dev = None


NOISE_KEY = "noise_state"


def attach_noise_state(module: nn.Module) -> None:
    """Make ``module.noise`` (a :class:`NoiseSource`) and ``module.hw`` travel in its state dict.

    Adds the entry ``<prefix>noise_state`` (seed, generator states, hardware) on
    ``state_dict()`` and consumes it on ``load_state_dict()``; digital modules get no entry, so
    their state dicts equal those of the plain torch layers.
    """

    def save(mod: nn.Module, sd: dict[str, Any], prefix: str, meta: Any) -> None:
        sd[prefix + NOISE_KEY] = {"noise": mod.noise.state(), "hw": mod.hw.to_dict()}

    def load(mod: nn.Module, sd: dict[str, Any], prefix: str, *args: Any) -> None:
        st = sd.pop(prefix + NOISE_KEY, None)
        if st is not None:
            mod.noise.load(st["noise"])

    module.register_state_dict_post_hook(save)
    module.register_load_state_dict_pre_hook(load)


class _AnalogMixin:
    """Shared analog machinery of the crossbar layers (needs ``weight`` and ``bias``)."""

    hw: HardwareConfig | None
    weight: nn.Parameter
    bias: nn.Parameter | None

    def _init_analog(self, hw: HardwareConfig | None) -> None:
        self.hw = hw
        if hw is None:
            return
        curves: DeviceCurves = device_curves(hw.compact_model, hw.levels_per_sign, hw.v_read)
        lv = curves.levels.to(torch.float32)
        self.device_source = curves.source
        self._lv0 = float(lv[0])
        self._lvrange = float(lv[-1] - lv[0])
        self.register_buffer("mags", (lv - lv[0]) / self._lvrange, persistent=False)
        self.register_buffer("w_table", snap_to_grid(torch.linspace(0.0, 1.0, 4096), self.mags),
                             persistent=False)
        self.register_buffer("w_sym", symmetric_table(self.w_table), persistent=False)
        self.register_buffer("levels", lv, persistent=False)
        k = 2 ** (hw.dac_bits - 1) - 1 if hw.dac_bits > 0 else 0
        self._in_mode = "linear"
        if hw.nonlinearity:
            self._in_mode = "predistort" if hw.predistort else "raw"
        self.register_buffer("iv_lut", curves.current.to(torch.float32), persistent=False)
        if self._in_mode == "predistort" and k > 0:
            self.register_buffer("in_table", predistort_table(curves.current, k),
                                 persistent=False)
            self.register_buffer("in_sym", symmetric_table(self.in_table), persistent=False)
        self._wq_key: tuple[Any, ...] | None = None
        self._wq: tuple[torch.Tensor, float] | None = None
        self.noise = NoiseSource(hw.next_seed())
        attach_noise_state(self)  # type: ignore[arg-type]
        w = self.weight
        self.register_buffer("g_pos", torch.zeros_like(w, requires_grad=False))
        self.register_buffer("g_neg", torch.zeros_like(w, requires_grad=False))
        self.register_buffer("w_scale", torch.ones(()))
        self.register_buffer("programmed", torch.zeros((), dtype=torch.bool))

    # --- device states -------------------------------------------------------------------
    def program(self) -> None:
        """Write the current weights into the device pairs (with programming noise)."""
        hw = self.hw
        assert hw is not None
        with torch.no_grad():
            w = self.weight
            ws = absmax(w)
            u = w / ws
            mag = snap_to_grid(u, self.mags).abs() if hw.quantize_weights else u.abs().clamp(max=1)
            hi = self._lv0 + mag * self._lvrange
            lo = torch.full_like(hi, self._lv0)
            pos = torch.where(u >= 0, hi, lo)
            neg = torch.where(u >= 0, lo, hi)
            if hw.prog_noise > 0:
                s = hw.prog_noise * self._lvrange
                pos = pos + s * self.noise.randn(w.shape, w)
                neg = neg + s * self.noise.randn(w.shape, w)
            self.g_pos.copy_(pos)
            self.g_neg.copy_(neg)
            self.w_scale.copy_(ws)
            self.programmed.fill_(True)

    def programmed_weight(self) -> torch.Tensor:
        """Weight read back from the programmed pairs, ``(G+ - G-) / range * scale``."""
        return (self.g_pos - self.g_neg) / self._lvrange * self.w_scale

    def effective_weight(self) -> torch.Tensor:
        """The weight the crossbar applies now (gradient flows straight through to ``weight``)."""
        hw = self.hw
        assert hw is not None
        if not self.training:
            if not bool(self.programmed):
                self.program()
            return self.programmed_weight()
        w = self.weight
        if not hw.quantize_weights and hw.prog_noise <= 0:
            return w
        with torch.no_grad():
            q0, ws = self._quantized_weight()
            if hw.prog_noise > 0:
                q = torch.add(q0, self.noise.fast_randn(w.shape, w),
                              alpha=math.sqrt(2.0) * hw.prog_noise * ws)
            else:
                q = q0.detach()  # fresh alias: the cached tensor itself never enters a graph
        return straight_through(w, q)

    def _quantized_weight(self) -> tuple[torch.Tensor, float]:
        """Noise-free quantised weight and its full scale, cached until ``weight`` changes.

        The key is the parameter's version counter (bumped by every in-place update: optimiser
        steps, ``copy_``, ``load_state_dict``) with its storage, device and dtype, so the level
        table is looked up once per optimiser step, however many forwards run in between.
        """
        hw = self.hw
        assert hw is not None
        w = self.weight
        key = (w._version, w.data_ptr(), w.device, w.dtype, w.shape, self.w_sym.data_ptr())
        if self._wq is None or self._wq_key != key:
            with torch.no_grad():
                ws_t = absmax(w)
                ws = float(ws_t)
                q = lut_quantize_sym(w, ws_t, self.w_sym) if hw.quantize_weights else w.clone()
            self._wq, self._wq_key = (q, ws), key
        return self._wq

    def train(self, mode: bool = True) -> Any:  # noqa: D102 - nn.Module API
        if mode and getattr(self, "hw", None) is not None:
            self.programmed.fill_(False)
        return super().train(mode)  # type: ignore[misc]

    # --- signal chain ----------------------------------------------------------------------
    def _dac(self, x: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        """Input after DAC (and I-V curve), in the units of ``x`` (full scale ``xs``)."""
        hw = self.hw
        assert hw is not None
        if self._in_mode == "raw":  # bent transfer: keep the curve's true derivative
            return interp_lut(quantize_uniform(x / xs, hw.dac_bits), self.iv_lut) * xs
        if hw.dac_bits <= 0:
            return x
        with torch.no_grad():
            if self._in_mode == "predistort":
                q = lut_quantize_sym(x, xs, self.in_sym)
            else:
                k = float(2 ** (hw.dac_bits - 1) - 1)
                q = x * (k / xs)
                q.round_().mul_(xs / k)
        return straight_through(x, q)

    def _adc(self, y: torch.Tensor, bias_dim: int) -> torch.Tensor:
        """Output after read noise and ADC (saturating at the noise-free full scale) + bias."""
        hw = self.hw
        assert hw is not None
        bias = self.bias
        if hw.read_noise <= 0 and hw.adc_bits <= 0:
            if bias is None:
                return y
            shape = [1] * y.dim()
            shape[bias_dim] = -1
            return y + bias.view(shape)
        with torch.no_grad():
            ys = absmax(y)
            if hw.adc_bits > 0:
                k = float(2 ** (hw.adc_bits - 1) - 1)
                q = y * (k / ys)
                if hw.read_noise > 0:
                    q.add_(self.noise.fast_randn(y.shape, y), alpha=hw.read_noise * k)
                    q.clamp_(-k, k)
                q.round_().mul_(ys / k)
            else:
                q = y + self.noise.fast_randn(y.shape, y) * (hw.read_noise * ys)
        if bias is None:
            return straight_through(y, q)
        return straight_through_bias(y, q, bias, bias_dim)

    def _analog(self, x: torch.Tensor, op: Any, bias_dim: int) -> torch.Tensor:
        """DAC → crossbar ``op`` → ADC → + digital bias (along ``bias_dim`` of the output)."""
        xs = absmax(x)
        return self._adc(op(self._dac(x, xs), self.effective_weight()), bias_dim)



class AnalogLinear(_AnalogMixin, nn.Linear):
    """Fully connected layer on an N-LEM crossbar (``hw=None``: exactly ``nn.Linear``).

    Args:
        in_features: Inputs.
        out_features: Outputs.
        bias: Digital bias added after the ADC.
        hw: Hardware description; None = digital.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 hw: HardwareConfig | None = None):
        nn.Linear.__init__(self, in_features, out_features, bias=bias)
        self._init_analog(hw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if self.hw is None:
            return F.linear(x, self.weight, self.bias)
        return self._analog(x, F.linear, x.dim() - 1)

    def extra_repr(self) -> str:  # noqa: D102
        return super().extra_repr() + (", analog" if self.hw is not None else ", digital")


class AnalogConv2d(_AnalogMixin, nn.Conv2d):
    """2-D convolution on an N-LEM crossbar (im2col rows; ``hw=None``: exactly ``nn.Conv2d``).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Kernel side (int or pair).
        stride: Stride.
        padding: Zero padding.
        bias: Digital bias added after the ADC.
        hw: Hardware description; None = digital.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 bias: bool = True, hw: HardwareConfig | None = None):
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride=stride,
                           padding=padding, bias=bias)
        self._init_analog(hw)

    def _conv(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, w, None, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if self.hw is None:
            return nn.Conv2d.forward(self, x)
        return self._analog(x, self._conv, 1)

    def extra_repr(self) -> str:  # noqa: D102
        return super().extra_repr() + (", analog" if self.hw is not None else ", digital")
