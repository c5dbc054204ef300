"""FCN of Fig. 4 (784-5-5-20-C) with the level-restricted hidden layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from networks.archs import build_model, list_models
from networks.archs.fcn_arch import FCN, LevelLinear


def test_registered_and_shapes() -> None:
    assert "fcn" in list_models()
    net = build_model("fcn", num_classes=4)
    out = net(torch.rand(7, 1, 28, 28))
    assert out.shape == (7, 4)
    assert [p.shape for p in (net.fc1.weight, net.syn.weight, net.fc3.weight, net.fc4.weight)] \
        == [(5, 784), (5, 5), (20, 5), (4, 20)]


def test_layer_weights_take_only_the_levels_and_have_gradients() -> None:
    levels = torch.tensor([0.0, 0.1, 0.25, 0.6, 1.0])
    layer = LevelLinear(5, 5, levels)
    wq = layer.quantized_weight()
    allowed = torch.cat([-levels, levels])
    assert torch.all((wq.detach().unsqueeze(-1) - allowed).abs().min(-1).values < 1e-7)
    layer(torch.rand(3, 5)).sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    idx = layer.level_indices()
    assert torch.allclose(torch.sign(idx) * levels[idx.abs()], wq.detach())


def test_synapse_hook_replaces_the_product() -> None:
    torch.manual_seed(0)
    net = FCN(3)
    x = torch.rand(4, 784)
    ideal = net(x)
    same = net(x, synapse=lambda h: net.syn(h))
    assert torch.allclose(ideal, same)
    other = net(x, synapse=lambda h: torch.zeros(h.shape[0], 5))
    assert not torch.allclose(ideal, other)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        FCN(1)
    with pytest.raises(ValueError, match="levels"):
        LevelLinear(2, 2, np.array([-1.0, 1.0]))
