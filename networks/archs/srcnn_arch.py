"""SRCNN 9-5-5 (Dong et al., TPAMI 2016), the RGB version, on the bicubic-upscaled input.

conv 9×9 (3 → n1) - ReLU - conv 5×5 (n1 → n2) - ReLU - conv 5×5 (n2 → 3), "same" padding so
the output keeps the HR size (the original uses valid convolutions and a smaller output).
The bicubic upscale is MATLAB's (``networks.sr.resize.torch_upscale``), as in the paper.

Initialisation (the architecture is the published one, with no added skip): the network
starts as the identity on its bicubic input, so its output starts at bicubic quality and
training only has to learn the correction. Three channels of each layer carry the input
through as Dirac (centre-tap) kernels (``torch.nn.init.dirac_``, as in DiracNets; the input is
≥ 0 up to small bicubic undershoots, so the ReLUs pass it); the other channels of the first two
layers keep torch's default random init, and the last layer's weights on them start at zero.
Why: the paper initialises with N(0, 0.001²) and trains for ~10⁸ back-propagations; from a
random start, the few hundred iterations of the common budget here are spent learning to
reproduce the input (Set5 ×2: 27.7 dB, 6 dB below bicubic, at 200 iterations), which says
nothing about the method. Working on the bicubic-upsampled input is itself the paper's (and
BasicSR's) setting.
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
        if n1 < 3 or n2 < 3:
            raise ValueError(f"n1 = {n1}, n2 = {n2}: both must be >= 3")
        self.scale = scale
        self.net = nn.Sequential(
            nn.Conv2d(3, n1, 9, padding=4), nn.ReLU(),
            nn.Conv2d(n1, n2, 5, padding=2), nn.ReLU(),
            nn.Conv2d(n2, 3, 5, padding=2),
        )
        self._identity_init()

    @torch.no_grad()
    def _identity_init(self) -> None:
        """Make channels 0-2 of every layer a Dirac pass-through of the RGB input."""
        convs = [m for m in self.net if isinstance(m, nn.Conv2d)]
        for conv in convs:
            nn.init.dirac_(conv.weight[:3, :3])  # centre tap 1 on the matching channel
            conv.weight[:3, 3:] = 0.0
            conv.bias[:3] = 0.0

    def set_scale(self, scale: int) -> None:
        """Use another magnification (the network itself is scale-agnostic)."""
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(torch_upscale(x, self.scale))
