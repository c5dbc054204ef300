"""SRCNN 9-5-5 (Dong et al., TPAMI 2016), the RGB version, on the bicubic-upscaled input.

conv 9×9 (3 → n1) - ReLU - conv 5×5 (n1 → n2) - ReLU - conv 5×5 (n2 → 3), "same" padding so
the output keeps the HR size (the original uses valid convolutions and a smaller output).
The bicubic upscale is MATLAB's (``networks.sr.resize.torch_upscale``), as in the paper.
"""

from __future__ import annotations

import torch
from torch import nn

from networks.archs import register_arch
from networks.sr.resize import torch_upscale


@register_arch("srcnn")
class SRCNN(nn.Module):
    """SRCNN 9-5-5.

    Args:
        scale: Magnification applied by bicubic interpolation before the network.
        n1: Channels of the first layer (paper: 64).
        n2: Channels of the second layer (paper: 32).
    """

    def __init__(self, scale: int = 2, n1: int = 64, n2: int = 32) -> None:
        super().__init__()
        if scale < 1:
            raise ValueError(f"scale = {scale}: must be >= 1")
        self.scale = scale
        self.net = nn.Sequential(
            nn.Conv2d(3, n1, 9, padding=4), nn.ReLU(),
            nn.Conv2d(n1, n2, 5, padding=2), nn.ReLU(),
            nn.Conv2d(n2, 3, 5, padding=2),
        )

    def set_scale(self, scale: int) -> None:
        """Use another magnification (the network itself is scale-agnostic)."""
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(torch_upscale(x, self.scale))
