"""FCN of Fig. 4: 784 → 5 → 5 → 20 → classes, with the hidden-1 → hidden-2 layer on N-LEMs.

The 5 × 5 weights between hidden layers 1 and 2 are restricted during training to the signed
device levels ``w_scale · {±a_k}`` (``a_k`` the normalised conductance steps of the compact
model's level table, 15 per sign) with a straight-through gradient; that layer has no analogue
bias (its bias is digital). :meth:`FCN.forward` accepts a ``synapse`` function replacing the
ideal product ``h1 @ Wᵀ`` by a hardware readout (FCN-1 current, FCN-2 light).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from networks.archs import register_arch


def quantize_to_levels(w: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Nearest signed level: ``sign(w) · levels[argmin |abs(w) − levels|]`` (no gradient)."""
    mag = w.abs().unsqueeze(-1)
    idx = (mag - levels).abs().argmin(dim=-1)
    return torch.sign(w) * levels[idx]


class LevelLinear(nn.Module):
    """Bias-free linear layer whose weights take only the signed device levels (STE).

    Args:
        in_features: Inputs.
        out_features: Outputs.
        levels: Non-negative weight magnitudes, ascending, first 0 (``w_scale · a_k``).
    """

    def __init__(self, in_features: int, out_features: int, levels: torch.Tensor):
        super().__init__()
        lv = torch.as_tensor(levels, dtype=torch.float32)
        if lv.ndim != 1 or lv.numel() < 2 or torch.any(lv < 0):
            raise ValueError("levels must be a 1-D tensor of >= 2 non-negative magnitudes")
        self.register_buffer("levels", torch.sort(lv).values)
        bound = float(self.levels[-1])
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(
            -0.5 * bound, 0.5 * bound))

    def quantized_weight(self) -> torch.Tensor:
        """Weights at the nearest levels with a straight-through gradient."""
        w = self.weight.clamp(-float(self.levels[-1]), float(self.levels[-1]))
        return w + (quantize_to_levels(w, self.levels) - w).detach()

    def level_indices(self) -> torch.Tensor:
        """Signed level index of every weight (+k: level k on G+, −k: level k on G−)."""
        with torch.no_grad():
            w = self.weight.clamp(-float(self.levels[-1]), float(self.levels[-1]))
            idx = (w.abs().unsqueeze(-1) - self.levels).abs().argmin(dim=-1)
            return torch.sign(w).long() * idx

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.quantized_weight().t()


Synapse = Callable[[torch.Tensor], torch.Tensor]


@register_arch("fcn")
class FCN(nn.Module):
    """784 → 5 → 5 → 20 → ``num_classes`` with ReLU; layer 2 on device levels.

    Args:
        num_classes: Output classes (2 … 10).
        levels: Weight magnitudes of the device layer (see :class:`LevelLinear`); default 15
            equally spaced levels in [0, 1].
        hidden: Widths of the three hidden layers.
        in_features: Input size (784 for 28 × 28 MNIST).
    """

    def __init__(self, num_classes: int = 4, levels: torch.Tensor | None = None,
                 hidden: tuple[int, int, int] = (5, 5, 20), in_features: int = 784):
        super().__init__()
        if not 2 <= num_classes <= 1000:
            raise ValueError(f"num_classes = {num_classes!r}: must be in [2, 1000]")
        lv = torch.linspace(0, 1, 15) if levels is None else torch.as_tensor(levels)
        h1, h2, h3 = hidden
        self.fc1 = nn.Linear(in_features, h1)
        self.syn = LevelLinear(h1, h2, lv)
        self.bias2 = nn.Parameter(torch.zeros(h2))
        self.fc3 = nn.Linear(h2, h3)
        self.fc4 = nn.Linear(h3, num_classes)

    def hidden1(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden layer 1 (ReLU, non-negative): the inputs of the device layer."""
        return torch.relu(self.fc1(x.flatten(1)))

    def head(self, pre2: torch.Tensor) -> torch.Tensor:
        """Everything after the device layer's product (digital bias, ReLU, FC, FC)."""
        h2 = torch.relu(pre2 + self.bias2)
        return self.fc4(torch.relu(self.fc3(h2)))

    def forward(self, x: torch.Tensor, synapse: Synapse | None = None) -> torch.Tensor:
        """Logits; ``synapse(h1)`` replaces the ideal ``h1 @ W_qᵀ`` when given."""
        h1 = self.hidden1(x)
        pre2 = self.syn(h1) if synapse is None else synapse(h1)
        return self.head(pre2)
