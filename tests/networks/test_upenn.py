"""UPENN / Contrast Net: layer counts, gradients to every parameter, feature stages."""

import pytest
import torch

from networks.archs import build_model
from networks.archs.upenn_arch import (
    block_first_convs,
    count_cross_layer_modules,
    count_weighted_layers,
)
from networks.layers import HardwareConfig

torch.set_num_threads(1)


@pytest.mark.parametrize("name,n,ci", [("upenn", 54, 16), ("contrast_net", 50, 0)])
def test_weighted_layer_counts(name, n, ci):
    for size in (28, 224):
        m = build_model(name, base_width=2, input_size=size, num_classes=3)
        assert count_weighted_layers(m) == n
        assert count_cross_layer_modules(m) == ci
    assert len(block_first_convs(m)) == 16


@pytest.mark.parametrize("name", ["upenn", "contrast_net"])
@pytest.mark.parametrize("batchnorm", [True, False])
def test_gradients_reach_every_parameter(name, batchnorm):
    # width 4 and a fixed init: tiny no-BN nets can start with a dead ReLU block
    torch.manual_seed(0)
    m = build_model(name, base_width=4, input_size=16, num_classes=4, batchnorm=batchnorm,
                    hw=HardwareConfig(seed=1))
    x = torch.rand(8, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    y = torch.arange(8) % 4
    torch.nn.functional.cross_entropy(m(x), y).backward()
    for k, p in m.named_parameters():
        assert p.grad is not None, k
        assert float(p.grad.abs().sum()) > 0, k


def test_stage_outputs_and_head_replacement():
    m = build_model("upenn", base_width=2, width_mult=2.0, input_size=32, num_classes=5)
    outs = m.stage_outputs(torch.rand(2, 1, 32, 32))
    assert [o.shape[1] for o in outs] == [16, 32, 64, 128]
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]
    m.replace_head(7)
    assert m(torch.rand(2, 1, 32, 32)).shape == (2, 7)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="num_classes"):
        build_model("upenn", num_classes=0)
    with pytest.raises(KeyError, match="upenn"):
        build_model("nope")


def test_zero_residual_gammas_only_touch_ciblock_bodies() -> None:
    from networks.archs.upenn_arch import zero_residual_gammas

    m = build_model("upenn", base_width=2, input_size=32, num_classes=3)
    assert zero_residual_gammas(m) == 16  # one per CIBlock
    x = torch.rand(2, 1, 32, 32)
    m.eval()
    with torch.no_grad():  # every block is its skip alone: output finite, model still runs
        assert torch.isfinite(m(x)).all()
    assert zero_residual_gammas(build_model("contrast_net", base_width=2, input_size=32)) == 0
    assert zero_residual_gammas(build_model("upenn", base_width=2, input_size=32,
                                            batchnorm=False)) == 0
