"""USRNN layer counts (S1) and the shapes of every SR architecture."""

from __future__ import annotations

import pytest
import torch

from networks.archs import build_model
from networks.archs.usrnn_arch import count_layers
from networks.layers import AnalogConv2d, HardwareConfig, OpticalSkip


@pytest.mark.parametrize(("scale", "layers"), [(2, 133), (4, 135)])
def test_usrnn_layer_count(scale: int, layers: int) -> None:
    m = build_model("usrnn", scale=scale, channels=2)
    assert count_layers(m) == layers
    x = torch.rand(1, 3, 6, 5)
    assert m(x).shape == (1, 3, 6 * scale, 5 * scale)


def test_x2_to_x4_transfer_gives_135_layers() -> None:
    m = build_model("usrnn", scale=2, channels=2)
    m.set_scale(4)
    assert count_layers(m) == 135
    assert m(torch.rand(1, 3, 4, 4)).shape == (1, 3, 16, 16)


def test_hardware_usrnn_uses_analog_layers_and_optical_skips() -> None:
    m = build_model("usrnn", scale=2, channels=2, hw=HardwareConfig(seed=1))
    assert count_layers(m) == 133
    convs = [x for x in m.modules() if isinstance(x, AnalogConv2d)]
    skips = [x for x in m.modules() if isinstance(x, OpticalSkip)]
    assert len(convs) == 1 + 2 * 43 + 1 + 1 and all(c.hw is not None for c in convs)
    assert len(skips) == 43 and all(s.hw is not None for s in skips)
    y = m(torch.rand(2, 3, 6, 6))
    assert y.shape == (2, 3, 12, 12) and torch.isfinite(y).all()


@pytest.mark.parametrize("name", ["srcnn", "vdsr", "srresnet", "bicubic"])
@pytest.mark.parametrize("scale", [2, 4])
def test_baseline_shapes(name: str, scale: int) -> None:
    kw = {"channels": 4} if name in ("vdsr", "srresnet") else {}
    m = build_model(name, scale=scale, **kw)
    assert m(torch.rand(2, 3, 7, 6)).shape == (2, 3, 7 * scale, 6 * scale)


def test_baseline_depths() -> None:
    # SRCNN 9-5-5: 3 convs; VDSR: 20 convs; SRResNet: 16 blocks x 2 + head, body end, upsampler,
    # tail = 36 convs at x2
    convs = {n: sum(isinstance(x, torch.nn.Conv2d) for x in build_model(n, scale=2).modules())
             for n in ("srcnn", "vdsr", "srresnet")}
    assert convs == {"srcnn": 3, "vdsr": 20, "srresnet": 36}


def test_bad_scale_raises() -> None:
    with pytest.raises(ValueError, match="scale = 3"):
        build_model("usrnn", scale=3, channels=2)
