"""Analog N-LEM layers: digital/ideal equivalence, level sets, converters, state round-trip."""

import pytest
import torch
from torch import nn

from networks.layers import (
    AnalogConv2d,
    AnalogLinear,
    CIBlock,
    HardwareConfig,
    OpticalSkip,
    device_curves,
)

torch.set_num_threads(1)


def _pair(kind: str, hw):
    torch.manual_seed(0)
    if kind == "linear":
        ref = nn.Linear(12, 7)
        ana = AnalogLinear(12, 7, hw=hw)
        x = torch.randn(5, 12)
    else:
        ref = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        ana = AnalogConv2d(3, 4, 3, stride=2, padding=1, hw=hw)
        x = torch.randn(2, 3, 9, 9)
    ana.load_state_dict(ref.state_dict(), strict=False)
    return ref, ana, x


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_digital_equals_torch_exactly(kind):
    ref, ana, x = _pair(kind, None)
    assert torch.equal(ana(x), ref(x))
    assert set(ana.state_dict()) == set(ref.state_dict())


@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize("train", [True, False])
def test_ideal_analog_matches_torch(kind, train):
    ref, ana, x = _pair(kind, HardwareConfig.ideal())
    ana.train(train)
    # float32 rescaling by max|x| and max|w|: a few ulps, far below 1e-6
    assert torch.allclose(ana(x), ref(x), atol=1e-6, rtol=0)


def test_ideal_skip_and_ciblock_are_exact():
    x = torch.randn(3, 4, 5, 5)
    assert torch.allclose(OpticalSkip(HardwareConfig.ideal())(x), x, atol=1e-6, rtol=0)
    assert torch.equal(OpticalSkip(None)(x), x)
    body = nn.Conv2d(4, 4, 3, padding=1)
    blk = CIBlock(body, post=nn.ReLU())
    assert torch.equal(blk(x), torch.relu(body(x) + x))


def test_quantised_weights_take_only_allowed_levels():
    hw = HardwareConfig(prog_noise=0.0, read_noise=0.0, levels_per_sign=15)
    lay = AnalogConv2d(4, 6, 3, hw=hw).eval()
    lay(torch.randn(1, 4, 6, 6))
    levels = device_curves(hw.compact_model, 15, hw.v_read).levels.float()
    assert levels.numel() == 15
    for g in (lay.g_pos, lay.g_neg):
        # every programmed conductance sits on a level (float32 rounding only)
        dist = (g.reshape(-1, 1) - levels.reshape(1, -1)).abs().min(1).values
        assert float(dist.max()) < 1e-6
    # one device of each pair sits at the lowest level
    assert bool(((lay.g_pos == levels[0]) | (lay.g_neg == levels[0])).all())
    wn = (lay.programmed_weight() / lay.w_scale).reshape(-1)
    allowed = torch.cat([-lay.mags, lay.mags])
    assert float((wn[:, None] - allowed[None]).abs().min(1).values.max()) < 1e-6
    assert len(torch.unique(torch.round(wn * 1e5))) <= 29  # 15 per sign, zero shared
    lay.train()  # training mode uses the same level set
    w = (lay.effective_weight() / lay.weight.abs().max()).detach().reshape(-1)
    assert float((w[:, None] - allowed[None]).abs().min(1).values.max()) < 1e-6


def test_dac_and_adc_quantise():
    hw = HardwareConfig.ideal(dac_bits=3)  # 3 codes per sign
    lay = AnalogLinear(1, 1, bias=False, hw=hw)
    with torch.no_grad():
        lay.weight.fill_(1.0)
    x = torch.linspace(-1, 1, 101).reshape(-1, 1)
    y = lay(x).detach()
    assert len(torch.unique(torch.round(y * 1e5))) == 7
    hw = HardwareConfig.ideal(adc_bits=4)
    lay = AnalogLinear(1, 1, bias=False, hw=hw)
    assert len(torch.unique(torch.round(lay(x).detach() * 1e5))) <= 15


def test_nonlinearity_bends_raw_input_and_predistortion_keeps_it_monotone():
    x = torch.linspace(0, 1, 65).reshape(-1, 1)
    raw = AnalogLinear(1, 1, bias=False, hw=HardwareConfig.ideal(nonlinearity=True,
                                                                   predistort=False))
    pre = AnalogLinear(1, 1, bias=False, hw=HardwareConfig.ideal(nonlinearity=True,
                                                                   predistort=True, dac_bits=6))
    for lay in (raw, pre):
        with torch.no_grad():
            lay.weight.fill_(1.0)
    yr, yp = raw(x).detach().ravel(), pre(x).detach().ravel()
    assert float((yr - x.ravel()).abs().max()) > 0.05  # the I-V curve bends the transfer
    assert float((yp - x.ravel()).abs().max()) < 0.5  # pre-distorted: only coarse steps
    assert bool((yp[1:] >= yp[:-1] - 1e-7).all())


def test_straight_through_gradients():
    hw = HardwareConfig()
    lay = AnalogConv2d(3, 5, 3, padding=1, hw=hw)
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    lay(OpticalSkip(hw)(x)).square().sum().backward()
    for t in (x.grad, lay.weight.grad, lay.bias.grad):
        assert t is not None and float(t.abs().sum()) > 0


def test_state_dict_round_trips_devices_and_generators():
    hw = HardwareConfig(prog_noise=0.05, read_noise=0.02, seed=11)
    a = AnalogLinear(10, 4, hw=hw)
    x = torch.randn(8, 10)
    a.eval()
    ya = a(x)
    b = AnalogLinear(10, 4, hw=HardwareConfig(prog_noise=0.05, read_noise=0.02, seed=99)).eval()
    b.load_state_dict(a.state_dict())
    assert torch.equal(b.g_pos, a.g_pos) and torch.equal(b.g_neg, a.g_neg)
    assert torch.equal(b(x), a(x))  # same devices and same read-noise stream from here on
    assert not torch.equal(a(x), ya)  # read noise is redrawn per read
    a.train()
    b.load_state_dict(a.state_dict())
    b.train()
    assert torch.equal(a(x), b(x))  # programming noise stream restored too
    s = OpticalSkip(hw)
    s2 = OpticalSkip(HardwareConfig(seed=5))
    s2.load_state_dict(s.state_dict())
    z = torch.rand(3, 7)
    assert torch.equal(s(z), s2(z))


def test_bad_hardware_config_is_rejected():
    with pytest.raises(ValueError, match="levels_per_sign"):
        HardwareConfig(levels_per_sign=1)
    with pytest.raises(ValueError, match="adc_bits"):
        HardwareConfig(adc_bits=1)
    with pytest.raises(ValueError, match="prog_noise"):
        HardwareConfig(prog_noise=-0.1)


def test_symmetric_lut_quantize_matches_magnitude_form():
    from networks.layers.quant import lut_quantize_sym, symmetric_table

    torch.manual_seed(1)
    table = torch.sort(torch.rand(257))[0]
    table[0] = 0.0  # as in every layer table (zero input -> zero output)
    x = torch.randn(1000)
    xs = x.abs().max()
    n = table.numel() - 1
    ref = torch.copysign(table[torch.round(x.abs() * (n / xs)).long()] * xs, x)
    # same index arithmetic and table entries: equal up to the sign of an exact zero
    assert torch.equal(lut_quantize_sym(x, xs, symmetric_table(table)), ref + 0.0)


def test_quantised_weight_cache_follows_in_place_updates():
    hw = HardwareConfig(prog_noise=0.0, read_noise=0.0)
    lay = AnalogLinear(16, 8, hw=hw).train()
    q1 = lay.effective_weight().detach().clone()
    assert lay.effective_weight().detach().data_ptr() == lay._wq[0].data_ptr()  # cache hit
    opt = torch.optim.SGD(lay.parameters(), lr=1.0)
    lay(torch.randn(4, 16)).sum().backward()
    opt.step()  # in-place update: the cache must be invalidated
    q2 = lay.effective_weight().detach()
    allowed = torch.cat([-lay.mags, lay.mags])
    ws = lay.weight.detach().abs().max()
    # fresh quantisation of the new weights (float32 rounding only), and it differs from q1
    assert float(((q2 / ws).reshape(-1, 1) - allowed).abs().min(1).values.max()) < 1e-6
    assert not torch.equal(q1, q2)
    with torch.no_grad():
        lay.weight.copy_(torch.linspace(-1, 1, 128).reshape(8, 16))
    q3 = lay.effective_weight().detach()
    assert float(q3.abs().max()) == pytest.approx(1.0, abs=1e-6)  # full-scale weight is a level
