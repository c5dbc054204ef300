"""USRNN: the ultra-deep super-resolution network built from optical CIBlocks (Fig. 6a, S26).

Layout (paper, Fig. S26): a head conv, 43 CIBlocks whose body is conv-ReLU-conv and whose
skip is the optical cross-layer path (``OpticalSkip``), an upsampler of one conv +
PixelShuffle(2) per ×2 stage, and a tail conv. Counting conv, ReLU and PixelShuffle modules
(:func:`count_layers`) this is 1 + 43·3 + 2 + 1 = 133 modules at ×2 and 135 at ×4 (S1).

``hw=None`` gives the digital twin (plain convs, identity skips); a ``HardwareConfig`` makes
every conv an ``AnalogConv2d`` and every skip an ``OpticalSkip`` (``networks.layers``).

Two choices of ours, not stated in the paper, make the 133-layer chain trainable within the
short default-scale budget: the second conv of every block starts at ``block_init_scale``
times its default initialisation (so the chain starts near the identity), and the output is
added to the MATLAB-bicubic upscale of the input (``global_residual``: a parameter-free
function, not a counted module). Both can be switched off.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from networks.archs import register_arch
from networks.sr.resize import torch_upscale

COUNTED = (nn.ReLU, nn.PixelShuffle, nn.PReLU)


def _is_conv(m: nn.Module) -> bool:
    return isinstance(m, nn.Conv2d) or type(m).__name__.endswith("Conv2d")


def count_layers(model: nn.Module) -> int:
    """Number of conv (plain or analog), ReLU/PReLU and PixelShuffle modules in ``model``.

    A matching module is counted once and not descended into, so an analog conv wrapping a
    plain one counts as one layer.
    """

    def walk(m: nn.Module) -> int:
        if _is_conv(m) or isinstance(m, COUNTED):
            return 1
        return sum(walk(c) for c in m.children())

    return walk(model)


def _conv(cin: int, cout: int, k: int, hw: Any) -> nn.Module:
    if hw is None:
        return nn.Conv2d(cin, cout, k, padding=k // 2)
    from networks.layers import AnalogConv2d

    return AnalogConv2d(cin, cout, k, padding=k // 2, hw=hw)


class _Block(nn.Module):
    """y = body(x) + skip(x), the fallback when ``networks.layers.CIBlock`` is absent."""

    def __init__(self, body: nn.Module, skip: nn.Module) -> None:
        super().__init__()
        self.body, self.skip = body, skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.skip(x)


def _ciblock(channels: int, hw: Any, init_scale: float) -> nn.Module:
    body = nn.Sequential(_conv(channels, channels, 3, hw), nn.ReLU(inplace=False),
                         _conv(channels, channels, 3, hw))
    last = body[2]
    with torch.no_grad():
        for p in last.parameters():
            p.mul_(init_scale)
    try:
        from networks.layers import CIBlock, OpticalSkip
    except ImportError:
        if hw is not None:
            raise
        return _Block(body, nn.Identity())
    return CIBlock(body, skip=OpticalSkip(hw=hw))


def make_upsampler(channels: int, scale: int, hw: Any = None) -> nn.Sequential:
    """conv(C → 4C) + PixelShuffle(2) per ×2 stage (scale 2 or 4)."""
    if scale not in (2, 4):
        raise ValueError(f"scale = {scale}: allowed 2 or 4")
    layers: list[nn.Module] = []
    for _ in range({2: 1, 4: 2}[scale]):
        layers += [_conv(channels, 4 * channels, 3, hw), nn.PixelShuffle(2)]
    return nn.Sequential(*layers)


@register_arch("usrnn")
class USRNN(nn.Module):
    """Ultra-deep SR network of CIBlocks.

    Args:
        scale: Magnification, 2 or 4.
        channels: Feature channels (paper: 64).
        n_blocks: CIBlocks (paper: 43).
        hw: ``networks.layers.HardwareConfig`` for the hardware-aware network, None for the
            digital twin.
        global_residual: Add the bicubic upscale of the input to the output.
        block_init_scale: Factor on the initial weights of each block's second conv.
    """

    def __init__(self, scale: int = 2, channels: int = 16, n_blocks: int = 43, hw: Any = None,
                 global_residual: bool = True, block_init_scale: float = 0.1) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels = {channels}: must be >= 1")
        if n_blocks < 0:
            raise ValueError(f"n_blocks = {n_blocks}: must be >= 0")
        self.scale, self.channels, self.hw = scale, channels, hw
        self.global_residual = global_residual
        self.head = _conv(3, channels, 3, hw)
        self.body = nn.Sequential(*[_ciblock(channels, hw, block_init_scale)
                                    for _ in range(n_blocks)])
        self.upsampler = make_upsampler(channels, scale, hw)
        self.tail = _conv(channels, 3, 3, hw)
        if global_residual:  # start close to the bicubic image
            with torch.no_grad():
                for p in self.tail.parameters():
                    p.mul_(0.1)

    def set_scale(self, scale: int) -> None:
        """Replace the upsampler by a fresh one for ``scale`` (the ×4 transfer, S2)."""
        device = next(self.parameters()).device
        self.upsampler = make_upsampler(self.channels, scale, self.hw).to(device)
        self.scale = scale

    def finetune_parameters(self) -> list[nn.Parameter]:
        """Parameters left trainable by the ×4 fine-tuning: upsampler and tail conv."""
        return [*self.upsampler.parameters(), *self.tail.parameters()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tail(self.upsampler(self.body(self.head(x))))
        if self.global_residual:
            y = y + torch_upscale(x, self.scale)
        return y
