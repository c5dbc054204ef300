"""UPENN and Contrast Net (Fig. 5): the ResNet-50 layout on N-LEM layers.

UPENN: stem conv, 16 bottleneck CIBlocks in stages [3, 4, 6, 3] (1×1 → 3×3 → 1×1, expansion
4), one 1×1 projection conv on the optical skip of the first block of each stage, and an FC:
1 + 48 + 4 + 1 = 54 weighted layers with 16 cross-layer (optical) modules.
Contrast Net: the same bodies without any cross-layer path (and so without projections):
1 + 48 + 1 = 50 weighted layers.

The stem is a 3×3 conv (stride 2 by default) for inputs below 64 px (28-32 px default scale), the
ResNet 7×7 stride-2 conv + 3×3 max-pool from 64 px up (224 px paper scale). BatchNorm after
every conv is optional (``batchnorm=False`` is the hardware-faithful variant).
"""

from __future__ import annotations

import torch
from torch import nn

from networks.archs import register_arch
from networks.layers import AnalogConv2d, AnalogLinear, CIBlock, HardwareConfig, OpticalSkip

STAGES = (3, 4, 6, 3)
EXPANSION = 4
WEIGHTED = (nn.Conv2d, nn.Linear)


def _norm(ch: int, batchnorm: bool) -> nn.Module:
    return nn.BatchNorm2d(ch) if batchnorm else nn.Identity()


class PlainBlock(nn.Module):
    """A block without a cross-layer path: ``post(body(x))`` (Contrast Net)."""

    def __init__(self, body: nn.Module, post: nn.Module | None = None):
        super().__init__()
        self.body = body
        self.post = post if post is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.post(self.body(x))


def bottleneck_body(cin: int, mid: int, stride: int, hw: HardwareConfig | None,
                    batchnorm: bool) -> nn.Sequential:
    """1×1 → 3×3 (stride) → 1×1 (×4 channels) with ReLU between (no ReLU at the end)."""
    bias = not batchnorm
    return nn.Sequential(
        AnalogConv2d(cin, mid, 1, bias=bias, hw=hw), _norm(mid, batchnorm), nn.ReLU(),
        AnalogConv2d(mid, mid, 3, stride=stride, padding=1, bias=bias, hw=hw),
        _norm(mid, batchnorm), nn.ReLU(),
        AnalogConv2d(mid, mid * EXPANSION, 1, bias=bias, hw=hw), _norm(mid * EXPANSION, batchnorm),
    )


class ResNet50Layout(nn.Module):
    """ResNet-50 layout with optical cross-layer paths (UPENN) or none (Contrast Net).

    Args:
        num_classes: Outputs of the FC.
        in_channels: Image channels.
        base_width: Stem channels at width multiplier 1 (paper 64).
        width_mult: Multiplier on every width.
        input_size: Image side in pixels (chooses the stem).
        cross_layer: True = UPENN (optical skips), False = Contrast Net.
        batchnorm: BatchNorm after every conv.
        hw: Hardware description of every layer; None = digital.
        stem_stride: Stride of the 3×3 stem below 64 px (2: stage 1 at half the input side,
            like the ResNet stem's 1/4 at 224 px but keeping 28-32 px inputs usable).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, base_width: int = 64,
                 width_mult: float = 1.0, input_size: int = 224, cross_layer: bool = True,
                 batchnorm: bool = True, hw: HardwareConfig | None = None, stem_stride: int = 2):
        super().__init__()
        if stem_stride not in (1, 2):
            raise ValueError(f"stem_stride = {stem_stride}: allowed 1, 2")
        for name, val, lo in (("num_classes", num_classes, 1), ("in_channels", in_channels, 1),
                              ("input_size", input_size, 8)):
            if int(val) < lo:
                raise ValueError(f"{name} = {val}: must be >= {lo}")
        if not width_mult > 0:
            raise ValueError(f"width_mult = {width_mult}: must be > 0")
        w = max(1, round(base_width * width_mult))
        if w < 1 or base_width < 1:
            raise ValueError(f"base_width = {base_width}: must be >= 1")
        self.cross_layer = cross_layer
        self.input_size = int(input_size)
        self.hw = hw
        bias = not batchnorm
        if input_size >= 64:
            self.stem = nn.Sequential(
                AnalogConv2d(in_channels, w, 7, stride=2, padding=3, bias=bias, hw=hw),
                _norm(w, batchnorm), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        else:
            self.stem = nn.Sequential(
                AnalogConv2d(in_channels, w, 3, stride=stem_stride, padding=1, bias=bias, hw=hw),
                _norm(w, batchnorm), nn.ReLU())
        stages = []
        cin = w
        for i, n in enumerate(STAGES):
            mid = w * 2**i
            blocks: list[nn.Module] = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                body = bottleneck_body(cin, mid, stride, hw, batchnorm)
                if not batchnorm:  # keep the residual sum's variance bounded without BN
                    with torch.no_grad():
                        body[-2].weight.mul_(0.2 if cross_layer else 1.0)
                if cross_layer:
                    skip: nn.Module = OpticalSkip(hw)
                    if j == 0:
                        skip = nn.Sequential(
                            OpticalSkip(hw),
                            AnalogConv2d(cin, mid * EXPANSION, 1, stride=stride, bias=bias, hw=hw),
                            _norm(mid * EXPANSION, batchnorm))
                    blocks.append(CIBlock(body, skip=skip, post=nn.ReLU()))
                else:
                    blocks.append(PlainBlock(body, post=nn.ReLU()))
                cin = mid * EXPANSION
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = AnalogLinear(cin, num_classes, hw=hw)
        self.feature_dim = cin

    def stage_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps after stages 1-4."""
        x = self.stem(x)
        outs = []
        for st in self.stages:
            x = st(x)
            outs.append(x)
        return outs

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled stage-4 features (the frozen features of the transfer tests)."""
        return torch.flatten(self.pool(self.stage_outputs(x)[-1]), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.fc(self.embed(x))

    def replace_head(self, num_classes: int) -> None:
        """New FC for a task with ``num_classes`` classes (same hardware)."""
        dev = self.fc.weight.device
        self.fc = AnalogLinear(self.feature_dim, num_classes, hw=self.hw).to(dev)


def zero_residual_gammas(model: ResNet50Layout) -> int:
    """Zero the scale (gamma) of the last BatchNorm of every CIBlock body (Goyal et al. 2017).

    Each cross-layer block then starts as its (optical) skip alone, so the 16-block chain
    starts shallow. Contrast Net and the no-BN variants are left as they are (no skip to fall
    back on, or no BatchNorm). Returns the number of BatchNorm layers zeroed.
    """
    n = 0
    for blk in model.modules():
        if isinstance(blk, CIBlock) and isinstance(blk.body[-1], nn.BatchNorm2d):
            nn.init.zeros_(blk.body[-1].weight)
            n += 1
    return n


def count_weighted_layers(model: nn.Module) -> int:
    """Number of conv and linear layers (analog or digital) in ``model``."""
    return sum(isinstance(m, WEIGHTED) for m in model.modules())


def count_cross_layer_modules(model: nn.Module) -> int:
    """Number of CIBlocks (blocks with a cross-layer path)."""
    return sum(isinstance(m, CIBlock) for m in model.modules())


def block_first_convs(model: ResNet50Layout) -> dict[str, nn.Module]:
    """First conv of every block, named ``s<stage>b<block>`` (stage and block from 1)."""
    out = {}
    for i, st in enumerate(model.stages):
        for j, blk in enumerate(st):
            out[f"s{i + 1}b{j + 1}"] = blk.body[0]
    return out


@register_arch("upenn")
def upenn(**kw: object) -> ResNet50Layout:
    """UPENN: ResNet-50 layout with optical cross-layer paths (54 weighted layers)."""
    return ResNet50Layout(cross_layer=True, **kw)  # type: ignore[arg-type]


@register_arch("contrast_net")
def contrast_net(**kw: object) -> ResNet50Layout:
    """Contrast Net: UPENN without cross-layer paths (50 weighted layers)."""
    return ResNet50Layout(cross_layer=False, **kw)  # type: ignore[arg-type]
