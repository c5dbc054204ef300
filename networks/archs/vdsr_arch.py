"""VDSR (Kim et al., CVPR 2016): 20 conv layers with a global residual, RGB version.

conv 3×3 (3 → C) - ReLU - 18 × [conv 3×3 (C → C) - ReLU] - conv 3×3 (C → 3), added to the
MATLAB-bicubic upscale of the input. Paper width C = 64.
"""

from __future__ import annotations

import torch
from torch import nn

from networks.archs import register_arch
from networks.sr.resize import torch_upscale


@register_arch("vdsr")
class VDSR(nn.Module):
    """VDSR.

    Args:
        scale: Magnification applied by bicubic interpolation before the network.
        channels: Feature channels (paper: 64).
        depth: Conv layers (paper: 20).
    """

    def __init__(self, scale: int = 2, channels: int = 64, depth: int = 20) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"depth = {depth}: must be >= 2")
        self.scale = scale
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(channels, 3, 3, padding=1))
        self.net = nn.Sequential(*layers)
        for m in self.net:  # He initialisation, as in the VDSR paper (torch's default
            if isinstance(m, nn.Conv2d):  # init lets the signal die out over 20 layers)
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        with torch.no_grad():  # start at the bicubic image
            self.net[-1].weight.mul_(0.1)

    def set_scale(self, scale: int) -> None:
        """Use another magnification (the network itself is scale-agnostic)."""
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = torch_upscale(x, self.scale)
        return up + self.net(up)
