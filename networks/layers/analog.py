"""Analog crossbar layers on N-LEM differential pairs: :class:`AnalogLinear`, :class:`AnalogConv2d`.

Signal chain of one analog layer (``hw`` given)::

    x ─► /max|x| ─► DAC (codes, optional I-V pre-distortion) ─► cell I-V ─► Σ G·V (crossbar)
      ─► read noise ─► ADC ─► ×max|x| ─► + bias (digital periphery)

Each weight is a differential pair ``(G+ - G-)`` of N-LEM conductances taken from the compact
model's reachable levels (``levels_per_sign`` per device, the lower device of the pair at the
lowest level), scaled per layer by ``max |w|``. Programming noise perturbs every written
conductance; in training mode the array is re-programmed whenever the weights change, i.e.
once per optimiser step (noise-aware training; forwards between two updates read the same
programmed array); in eval mode the programmed device states are frozen in buffers
(``g_pos``, ``g_neg``) until the next switch to training mode. Rounding steps pass gradients
straight through. With ``hw=None`` the layers are exactly ``nn.Linear`` / ``nn.Conv2d``.

Implementation: unless the DAC bends the input with the raw I-V curve (whose true derivative
is kept), a layer is one autograd node (:class:`_Crossbar`): the chain runs without autograd,
the ADC in place on the crossbar output, and the backward is the plain layer's at the applied
input and weight. On contiguous float32 CPU tensors the DAC, ADC and weight programming are
fused Numba kernels (``networks.layers.kernels``) with the torch path's exact arithmetic.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from networks.layers import kernels
from networks.layers.device import DeviceCurves, device_curves, interp_lut, retention_levels
from networks.layers.hardware import HardwareConfig
from networks.layers.quant import (
    absmax,
    lut_quantize_sym,
    predistort_table,
    quantize_uniform,
    scratch,
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


_CPU32 = torch.empty(0)


def _bank_np() -> np.ndarray:
    """The float32 CPU bank as a numpy array (shares memory with :func:`_bank`)."""
    global _BANK_NP
    if _BANK_NP is None:
        _BANK_NP = _bank(_CPU32).numpy()
    return _BANK_NP


_BANK_NP: np.ndarray | None = None


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
        self.epoch = 0
        """Bumped by :meth:`load` (keys of caches that depend on the generator state)."""

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

    def fast_randn_np(self, n: int) -> np.ndarray:
        """:meth:`fast_randn` of ``n`` float32 CPU samples as a flat numpy array (same draw)."""
        if n > _BANK_SIZE // 2:
            return self.randn(torch.Size((n,)), _CPU32).numpy()
        off = int(torch.randint(0, _BANK_SIZE - n + 1, (1,), generator=self.cpu))
        return _bank_np()[off:off + n]

    def state(self) -> dict[str, Any]:
        """Serialisable state (seed and generator states)."""
        return {"seed": self.seed, "cpu": self.cpu.get_state(),
                "dev": None if self.dev is None else self.dev.get_state(),
                "dev_name": None if self.dev is None else str(self.dev.device)}

    def load(self, st: dict[str, Any]) -> None:
        """Restore :meth:`state` output."""
        self.seed = int(st["seed"])
        self.epoch += 1
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
        self._w_snap: torch.Tensor | None = None
        self._train_epoch = 0
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
        """Weight read back from the programmed pairs, ``(G+ - G-) / range * scale``, at
        ``hw.retention_s`` after programming (the pairs relaxed by the compact model's natural
        decay, :func:`~networks.layers.device.retention_levels`, when ``hw.retention``)."""
        hw = self.hw
        gp, gn = self.g_pos, self.g_neg
        if hw is not None and hw.retention and hw.retention_s > 0:
            decayed = retention_levels(hw.compact_model, hw.levels_per_sign, hw.v_read,
                                       float(hw.retention_s)).to(self.levels)
            gp = interp_levels(gp, self.levels, decayed)
            gn = interp_levels(gn, self.levels, decayed)
        return (gp - gn) / self._lvrange * self.w_scale

    def effective_weight(self) -> torch.Tensor:
        """The weight the crossbar applies now (gradient flows straight through to ``weight``)."""
        hw = self.hw
        assert hw is not None
        if not self.training:
            return self._eval_weight()
        w = self.weight
        if not hw.quantize_weights and hw.prog_noise <= 0:
            return w
        q = self._train_weight()[0].detach()  # fresh alias: the cache never enters a graph
        return straight_through(w, q)

    def _eval_weight(self) -> torch.Tensor:
        """Weight read from the programmed pairs (programming them first if needed)."""
        if not bool(self.programmed):
            self.program()
        return self.programmed_weight()

    def _train_weight(self) -> tuple[torch.Tensor, float]:
        """Programmed (quantised + programming noise) training weight and its full scale.

        The array is programmed once per weight value: the result is cached until ``weight``
        changes, the generators are restored (``load_state_dict``), the layer is switched to
        training mode again or the programming settings of ``hw`` change. A weight change is
        seen by the parameter's version counter (bumped by optimiser steps, ``copy_``,
        ``load_state_dict``) and, for writes that bypass it (fused optimisers, ``.data``), by
        comparing the weight with the snapshot taken when it was programmed (one pass over the
        weight, much cheaper than re-programming it).
        """
        hw = self.hw
        assert hw is not None
        w = self.weight
        key = (w._version, w.data_ptr(), w.device, w.dtype, w.shape, self.w_sym.data_ptr(),
               self.noise.epoch, self._train_epoch, hw.prog_noise, hw.quantize_weights)
        if self._wq is not None and self._wq_key == key:
            snap, wd = self._w_snap, w.detach()
            if kernels.same_bits(snap, wd) if kernels.fusable(snap, wd) \
                    else torch.equal(snap, wd):
                return self._wq
        with torch.no_grad():
            wd = w.detach()
            if hw.quantize_weights and kernels.fusable(wd, self.w_sym):
                ws32 = kernels.absmax32(wd)
                ws = float(ws32)
                alpha = math.sqrt(2.0) * hw.prog_noise * ws  # difference of two devices
                sym = self.w_sym
                n = (sym.numel() - 1) // 2
                q = torch.empty(wd.shape)
                kernels.lut_kernel(
                    kernels.flat(wd), F32(n) / ws32, kernels.flat(sym), n, ws32,
                    scratch(wd.numel(), torch.int32, wd.device).numpy(),
                    self.noise.fast_randn_np(wd.numel()) if hw.prog_noise > 0 else kernels.EMPTY,
                    F32(alpha), kernels.flat(q))
            else:
                ws_t = absmax(wd)
                ws = float(ws_t)
                alpha = math.sqrt(2.0) * hw.prog_noise * ws  # difference of two devices
                noise = self.noise.fast_randn(w.shape, w) if hw.prog_noise > 0 else None
                if hw.quantize_weights:
                    q = lut_quantize_sym(wd, ws_t, self.w_sym, noise=noise, alpha=alpha)
                elif noise is not None:
                    q = torch.add(wd, noise, alpha=alpha)
                else:
                    q = wd.clone()
            snap = self._w_snap
            if snap is not None and snap.shape == wd.shape and snap.dtype == wd.dtype \
                    and snap.device == wd.device:
                if kernels.fusable(snap, wd):
                    np.copyto(kernels.flat(snap), kernels.flat(wd))  # serial, no thread hand-off
                else:
                    snap.copy_(wd)
            else:
                self.__dict__["_w_snap"] = wd.clone()
        d = self.__dict__  # plain attributes: skip nn.Module.__setattr__ (hot path)
        d["_wq"], d["_wq_key"] = (q, ws), key
        return d["_wq"]

    def train(self, mode: bool = True) -> Any:  # noqa: D102 - nn.Module API
        if getattr(self, "hw", None) is not None:
            if mode:
                self.programmed.fill_(False)
                self._train_epoch += 1  # re-program the training weights too
            else:  # no memory held for training-sized DAC buffers in eval
                self.__dict__.setdefault("_xq_pool", []).clear()
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
            q = self._dac_codes(x, xs)
        return straight_through(x, q)

    def _dac_codes(self, x: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        """Straight-through DAC output (pre-distorted LUT or uniform codes): a fresh tensor."""
        hw = self.hw
        assert hw is not None
        if self._in_mode == "predistort":
            return lut_quantize_sym(x, xs, self.in_sym)
        k = float(2 ** (hw.dac_bits - 1) - 1)
        q = x * (k / xs)
        return q.round_().mul_(xs / k)

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
            q = y.clone()
            if hw.adc_bits > 0 and kernels.fusable(q):
                self._adc_cpu(q, None, bias_dim)
            else:
                self._adc_(q, None, bias_dim)
        if bias is None:
            return straight_through(y, q)
        return straight_through_bias(y, q, bias, bias_dim)

    def _adc_(self, y: torch.Tensor, bias: torch.Tensor | None, bias_dim: int) -> None:
        """In place on a fresh no-grad ``y``: read noise, ADC and (if given) the digital bias."""
        hw = self.hw
        assert hw is not None
        if hw.read_noise <= 0 and hw.adc_bits <= 0:
            if bias is not None:
                shape = [1] * y.dim()
                shape[bias_dim] = -1
                y.add_(bias.detach().view(shape))
            return
        ys = absmax(y)
        if hw.adc_bits > 0:
            k = float(2 ** (hw.adc_bits - 1) - 1)
            s1 = k / ys
            noise = self.noise.fast_randn(y.shape, y) if hw.read_noise > 0 else None
            q = y.mul_(s1)
            if noise is not None:
                q.add_(noise, alpha=hw.read_noise * k)
            q.clamp_(-k, k).round_().mul_(ys / k)
        else:
            y.add_(self.noise.fast_randn(y.shape, y) * (hw.read_noise * ys))
        if bias is not None:
            shape = [1] * y.dim()
            shape[bias_dim] = -1
            y.add_(bias.detach().view(shape))

    def _analog(self, x: torch.Tensor, op: Any, bias_dim: int) -> torch.Tensor:
        """DAC → crossbar ``op`` → ADC → + digital bias (along ``bias_dim`` of the output)."""
        if self._in_mode == "raw":  # the DAC has a true derivative: composable autograd path
            xs = absmax(x)
            return self._adc(op(self._dac(x, xs), self.effective_weight()), bias_dim)
        hw = self.hw
        assert hw is not None
        if not self.training:
            w_in, wq = None, self._eval_weight()
        elif not hw.quantize_weights and hw.prog_noise <= 0:
            w_in, wq = self.weight, self.weight.detach()
        else:
            w_in, wq = self.weight, self._train_weight()[0]
        bias = self.bias
        graph = torch.is_grad_enabled() and (
            x.requires_grad or (w_in is not None and w_in.requires_grad)
            or (bias is not None and bias.requires_grad))
        return _Crossbar.apply(x, w_in, bias, wq, self, graph)

    def _crossbar_forward(self, x: torch.Tensor, wq: torch.Tensor, bias: torch.Tensor | None,
                          graph: bool = True
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """No-grad forward of the whole chain; returns ``(output, DAC output, pooled buffer)``.

        ``graph``: the DAC output is saved for a backward (it then lives in a buffer of the
        layer's pool, returned with the graph); otherwise it is a per-thread scratch buffer.
        """
        hw = self.hw
        assert hw is not None
        buf = None
        if hw.dac_bits <= 0:
            xq = x
        elif kernels.fusable(x, wq, self.in_sym if self._in_mode == "predistort" else x):
            if graph:
                buf = self._take_buffer(x.numel())
                xq = self._dac_cpu(x, kernels.absmax32(x), buf)
            else:
                xq = self._dac_cpu(x, kernels.absmax32(x),
                                   scratch(x.numel(), x.dtype, x.device, "dac"))
        else:
            xq = self._dac_codes(x, absmax(x))
        y = self._op(xq, wq)
        bias_dim = self._bias_dim(y)
        if (hw.adc_bits > 0 and kernels.fusable(y)
                and (bias is None or kernels.fusable(bias))):
            self._adc_cpu(y, bias, bias_dim)
        else:
            self._adc_(y, bias, bias_dim)
        return y, xq, buf

    def _take_buffer(self, n: int) -> torch.Tensor:
        """A flat float32 CPU buffer of ``n`` elements for the DAC output.

        Buffers come back to the layer's pool when the autograd graph that saved them is freed
        (:class:`_Crossbar`), so in a training loop the same two buffers alternate instead of
        one fresh activation-sized allocation per forward (on glibc, those are paid again as
        page faults whenever the heap is trimmed between steps).
        """
        pool = self.__dict__.setdefault("_xq_pool", [])
        while pool:
            buf = pool.pop()
            if buf.numel() == n:
                return buf
        return torch.empty(n)

    def _dac_cpu(self, x: torch.Tensor, xs: np.float32, out: torch.Tensor) -> torch.Tensor:
        """:meth:`_dac_codes` as one kernel into ``out`` (flat, ``x.numel()`` elements;
        contiguous float32 CPU tensors); returns ``out`` shaped as ``x``. Same values."""
        hw = self.hw
        assert hw is not None
        if self._in_mode == "predistort":
            sym = self.in_sym
            n = (sym.numel() - 1) // 2
            kernels.lut_kernel(kernels.flat(x), F32(n) / xs, kernels.flat(sym), n, xs,
                               scratch(x.numel(), torch.int32, x.device).numpy(),
                               kernels.EMPTY, F32(0.0), kernels.flat(out))
        else:
            k = F32(2 ** (hw.dac_bits - 1) - 1)
            kernels.uniform_kernel(kernels.flat(x), k / xs, xs / k, kernels.flat(out))
        return out.view(x.shape)

    def _adc_cpu(self, y: torch.Tensor, bias: torch.Tensor | None, bias_dim: int) -> None:
        """:meth:`_adc_` (``adc_bits > 0``) as one kernel, in place (same values)."""
        hw = self.hw
        assert hw is not None
        ys = kernels.absmax32(y)
        k = F32(2 ** (hw.adc_bits - 1) - 1)
        noise = self.noise.fast_randn_np(y.numel()) if hw.read_noise > 0 else kernels.EMPTY
        kernels.adc_kernel(kernels.flat(y), y.shape[bias_dim], math.prod(y.shape[bias_dim + 1:]),
                           k / ys, noise, F32(hw.read_noise * k), k, ys / k,
                           kernels.EMPTY if bias is None else kernels.flat(bias))


F32 = np.float32
_POOL_MAX = 2


def interp_levels(g: torch.Tensor, levels: torch.Tensor, mapped: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear map of conductances ``g`` taking ``levels[k]`` to ``mapped[k]``
    (ascending ``levels``; linear extrapolation on the end segments, so programming noise
    around a level maps around its image)."""
    n = levels.numel()
    i = torch.searchsorted(levels, g.contiguous()).clamp(1, n - 1)
    x0, x1 = levels[i - 1], levels[i]
    y0, y1 = mapped[i - 1], mapped[i]
    return y0 + (g - x0) * (y1 - y0) / (x1 - x0)


def _give_back(pool: list[torch.Tensor], buf: torch.Tensor) -> None:
    """Return a DAC-output buffer to its layer's pool (at most ``_POOL_MAX`` kept)."""
    if len(pool) < _POOL_MAX:
        pool.append(buf)


class _Crossbar(torch.autograd.Function):
    """Whole analog layer as one autograd node: DAC → crossbar → ADC → + bias.

    Forward runs the signal chain without autograd (the ADC works in place on the crossbar
    output); backward is the straight-through estimator of the chain, i.e. the gradients of
    the plain layer evaluated at the applied input ``xq`` (DAC output) and weight ``wq``
    (programmed weight), handed unchanged to ``x`` and ``weight``. These are the gradients the
    composable version (a pass-through node per quantiser) gives, with one node and two saved
    tensors instead of five nodes.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor | None,  # noqa: D102
                bias: torch.Tensor | None, wq: torch.Tensor, layer: Any,
                graph: bool) -> torch.Tensor:
        y, xq, buf = layer._crossbar_forward(x, wq, bias, graph)
        ctx.layer = layer
        ctx.save_for_backward(xq, wq)
        if buf is not None:  # the buffer is free again once nothing can use ctx any more
            weakref.finalize(ctx, _give_back, layer.__dict__.setdefault("_xq_pool", []), buf)
        return y

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:  # noqa: D102
        xq, wq = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx, gw, gb = ctx.layer._op_backward(g.contiguous(), xq, wq, (need[0], need[1], need[2]))
        return gx, gw, gb, None, None, None


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

    def _op(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return F.linear(x, w)

    @staticmethod
    def _bias_dim(y: torch.Tensor) -> int:
        return y.dim() - 1

    @staticmethod
    def _op_backward(g: torch.Tensor, x: torch.Tensor, w: torch.Tensor,
                     need: tuple[bool, bool, bool]) -> tuple[torch.Tensor | None, ...]:
        """Gradients of ``x @ w.T + b`` (as ``nn.Linear``'s backward computes them)."""
        g2 = g.reshape(-1, g.shape[-1])
        gx = g.matmul(w) if need[0] else None
        gw = g2.t().mm(x.reshape(-1, x.shape[-1])) if need[1] else None
        gb = g2.sum(0) if need[2] else None
        return gx, gw, gb

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

    _op = _conv

    @staticmethod
    def _bias_dim(y: torch.Tensor) -> int:
        return 1

    def _op_backward(self, g: torch.Tensor, x: torch.Tensor, w: torch.Tensor,
                     need: tuple[bool, bool, bool]) -> tuple[torch.Tensor | None, ...]:
        """Gradients of the convolution: the same ATen call as ``nn.Conv2d``'s backward."""
        if isinstance(self.padding, str):  # "same"/"valid": let autograd work out the padding
            with torch.enable_grad():
                xg, wg = x.detach().requires_grad_(need[0]), w.detach().requires_grad_(need[1])
                y = self._conv(xg, wg)
                ins = [t for t, k in ((xg, need[0]), (wg, need[1])) if k]
                gs = list(torch.autograd.grad(y, ins, g)) if ins else []
            gx = gs.pop(0) if need[0] else None
            gw = gs.pop(0) if need[1] else None
            gb = g.sum((0, 2, 3)) if need[2] else None
            return gx, gw, gb
        gx, gw, gb = torch.ops.aten.convolution_backward(
            g, x, w, [w.shape[0]] if need[2] else None, list(self.stride), list(self.padding),
            list(self.dilation), False, [0, 0], self.groups, [need[0], need[1], need[2]])
        return gx, gw, gb

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if self.hw is None:
            return nn.Conv2d.forward(self, x)
        return self._analog(x, self._conv, 1)

    def extra_repr(self) -> str:  # noqa: D102
        return super().extra_repr() + (", analog" if self.hw is not None else ", digital")
