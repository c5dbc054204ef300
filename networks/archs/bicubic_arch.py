"""Bicubic interpolation as a parameter-free "model" (MATLAB ``imresize`` kernel)."""

from __future__ import annotations

import torch
from torch import nn

from networks.archs import register_arch
from networks.sr.resize import torch_upscale


@register_arch("bicubic")
class Bicubic(nn.Module):
    """MATLAB-compatible bicubic upscaling by ``scale``."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.scale = scale

    def set_scale(self, scale: int) -> None:
        """Use another magnification."""
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch_upscale(x, self.scale)
