"""SRResNet (Ledig et al., CVPR 2017), the generator of SRGAN trained with MSE only.

conv 9×9 - PReLU, 16 residual blocks [conv-BN-PReLU-conv-BN + skip], conv-BN + long skip,
an upsampler of [conv (C → 4C) - PixelShuffle(2) - PReLU] per ×2 stage, conv 9×9 to RGB.
Paper width C = 64. No adversarial loss.

Global residual (the one change to the published network, as in BasicSR's ``MSRResNet``):
the output is added to the MATLAB-bicubic upscale of the input (BasicSR adds a bilinear one;
bicubic is the same operator that feeds SRCNN and VDSR here), and the last conv starts at
zero, so the untrained network returns the bicubic image and learns only the residual. Why:
without it, the few hundred iterations of the common budget are spent learning to reproduce
colours and low frequencies through a random 9×9-conv/PixelShuffle path (Set5 ×2 26.1 dB at
200 iterations, 7.6 dB below bicubic). Convs, BN, PReLU, blocks and upsampler are unchanged;
the ×4 transfer swaps the upsampler and the skip follows ``scale``.

Learning rate: :attr:`SRResNet.lr_scale` = 0.1 makes ``train_sr`` run Adam at 0.1× the common
rate, i.e. the paper's 1e-4 for the default 1e-3 (Set5 ×2 after 200 iterations of 48×48 ×8
patches: 34.47 dB at 1e-4 against 33.77 dB at 1e-3; bicubic 33.68).
"""

from __future__ import annotations

import torch
from torch import nn

from networks.archs import register_arch
from networks.sr.resize import torch_upscale


class _ResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.PReLU(c),
                                  nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _upsampler(c: int, scale: int) -> nn.Sequential:
    if scale not in (2, 4):
        raise ValueError(f"scale = {scale}: allowed 2 or 4")
    layers: list[nn.Module] = []
    for _ in range({2: 1, 4: 2}[scale]):
        layers += [nn.Conv2d(c, 4 * c, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(c)]
    return nn.Sequential(*layers)


@register_arch("srresnet")
class SRResNet(nn.Module):
    """SRResNet.

    Args:
        scale: Magnification, 2 or 4.
        channels: Feature channels (paper: 64).
        n_blocks: Residual blocks (paper: 16).
    """

    lr_scale: float = 0.1
    """Factor on the common Adam learning rate applied by ``train_sr`` (paper: Adam 1e-4)."""

    def __init__(self, scale: int = 2, channels: int = 64, n_blocks: int = 16) -> None:
        super().__init__()
        self.scale, self.channels = scale, channels
        self.head = nn.Sequential(nn.Conv2d(3, channels, 9, padding=4), nn.PReLU(channels))
        self.body = nn.Sequential(*[_ResBlock(channels) for _ in range(n_blocks)])
        self.body_end = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1),
                                      nn.BatchNorm2d(channels))
        self.upsampler = _upsampler(channels, scale)
        self.tail = nn.Conv2d(channels, 3, 9, padding=4)
        nn.init.zeros_(self.tail.weight)  # residual starts at 0: output = bicubic upscale
        nn.init.zeros_(self.tail.bias)

    def set_scale(self, scale: int) -> None:
        """Replace the upsampler by a fresh one for ``scale`` (×4 transfer as for USRNN)."""
        device = next(self.parameters()).device
        self.upsampler = _upsampler(self.channels, scale).to(device)
        self.scale = scale

    def finetune_parameters(self) -> list[nn.Parameter]:
        """Parameters trained by the ×4 fine-tuning: upsampler and tail conv."""
        return [*self.upsampler.parameters(), *self.tail.parameters()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.head(x)
        f = f + self.body_end(self.body(f))
        return torch_upscale(x, self.scale) + self.tail(self.upsampler(f))
