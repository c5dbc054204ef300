"""BatchNorm recalibration on the deployed network (``networks.train.recalibrate_bn``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from networks.layers import AnalogConv2d, HardwareConfig
from networks.train import recalibrate_bn


def test_recalibration_gives_exact_statistics_of_the_programmed_network() -> None:
    torch.manual_seed(0)
    # programming noise and 15 weight levels on; read noise and converters off, so a forward
    # pass does not depend on the batch it is in (per-read noise, per-batch ADC full scale)
    hw = HardwareConfig(seed=1, read_noise=0.0, adc_bits=0, dac_bits=0)
    conv = AnalogConv2d(1, 4, 3, padding=1, hw=hw)
    bn = nn.BatchNorm2d(4)
    model = nn.Sequential(conv, bn)
    bn.running_mean.fill_(5.0)  # stale statistics from "training"
    x = torch.rand(96, 1, 6, 6)
    assert recalibrate_bn(model, x, samples=96, batch_size=32) == 1
    assert not model.training and bn.momentum == 0.1  # back in eval, momentum restored
    with torch.no_grad():
        feats = conv(x)  # the same programmed weights (eval mode, programmed once)
    # equal-size batches: the cumulative average of batch means is the global mean (float32)
    torch.testing.assert_close(bn.running_mean, feats.mean((0, 2, 3)), atol=1e-5, rtol=1e-5)
    out = model(x)  # eval mode: normalised by the recalibrated statistics
    assert float(out.mean((0, 2, 3)).abs().max()) < 0.05  # near zero mean per channel


def test_recalibration_without_batchnorm_and_bad_input() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3))
    assert recalibrate_bn(model, torch.rand(4, 1, 5, 5)) == 0
    with pytest.raises(ValueError, match="samples = 0"):
        recalibrate_bn(model, torch.rand(4, 1, 5, 5), samples=0)
