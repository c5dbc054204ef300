"""VDSR (Kim et al., CVPR 2016): 20 conv layers with a global residual, RGB version.

conv 3×3 (3 → C) - ReLU - 18 × [conv 3×3 (C → C) - ReLU] - conv 3×3 (C → 3), added to the
MATLAB-bicubic upscale of the input. Paper width C = 64.

Initialisation and training (the architecture is the published one):

* He (Kaiming, fan-in, ReLU gain) weights and zero biases in every hidden conv, as in the
  paper.
* The last conv (the residual's output) starts at **zero**, so the untrained network returns
  exactly its bicubic input and training can only improve on bicubic. This is the fix of a
  collapse seen with a random last conv: He-initialised 20-layer residuals add noise (L1 loss
  ≈ 2× the bicubic loss at iteration 0); Adam (lr 1e-3) removed it in ~10 steps by driving
  every unit of the last ReLU layer negative, after which no gradient reached any layer but
  the last conv's bias, and the network stayed frozen at "bicubic + constant" (Set5 ×2 PSNR =
  bicubic to 0.001 dB). Zero-initialising the last layer of a residual branch is the usual
  remedy (Goyal et al. 2017; "fixup"/ReZero-style; BasicSR scales residual inits by 0.1).
* :attr:`lr_scale` = 0.3: ``train_sr`` runs VDSR's Adam at 0.3× the common learning rate
  (3e-4 for the default 1e-3). Zero-initialising the last conv alone does not stop the
  collapse: at Adam lr 1e-3 the last ReLU layer still dies within ~25 steps (0 % of units
  active; measured on 8- and 16-channel nets), whereas at 1e-4 to 3e-4 every layer keeps
  15-85 % active units and the loss falls below bicubic. The paper itself trains this plain
  stack with its own schedule (SGD, lr 0.1 with adjustable clipping); a smaller Adam step is
  the usual Adam equivalent (Adam 1e-4 in common PyTorch reimplementations).
* :attr:`grad_clip_norm`: the paper trains with (adjustable) gradient clipping; here the
  global gradient norm is clipped by :func:`networks.sr.train.train_sr`, which reads the
  attribute.
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

    lr_scale: float = 0.3
    """Factor on the common Adam learning rate applied by ``train_sr`` (see module doc)."""

    grad_clip_norm: float = 0.4
    """Global gradient-norm clip used by ``train_sr`` (the paper's clipping, for Adam)."""

    def __init__(self, scale: int = 2, channels: int = 64, depth: int = 20) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"depth = {depth}: must be >= 2")
        if channels < 1:
            raise ValueError(f"channels = {channels}: must be >= 1")
        self.scale = scale
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(channels, 3, 3, padding=1))
        self.net = nn.Sequential(*layers)
        for m in self.net:  # He initialisation, as in the VDSR paper
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        nn.init.zeros_(self.net[-1].weight)  # residual starts at 0: output = bicubic input

    def set_scale(self, scale: int) -> None:
        """Use another magnification (the network itself is scale-agnostic)."""
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = torch_upscale(x, self.scale)
        return up + self.net(up)
