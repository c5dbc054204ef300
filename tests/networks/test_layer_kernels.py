"""Fast path of the analog layers: fused kernels, one-node autograd, programmed-weight cache.

The fused Numba kernels must give bit-for-bit the torch path's values, the one-node backward
the straight-through gradients of the composable chain, and the cached programmed weights
must follow every change of the weights or of the generators.
"""

import copy

import pytest
import torch
from torch import nn

from networks.layers import (
    AnalogConv2d,
    AnalogLinear,
    CIBlock,
    HardwareConfig,
    OpticalSkip,
    kernels,
)
from networks.layers.quant import absmax

torch.set_num_threads(1)

VARIANTS = {
    "default": {},
    "linear_cell": {"nonlinearity": False},
    "noise_free": {"prog_noise": 0.0, "read_noise": 0.0, "skip_noise": 0.0},
    "no_adc": {"adc_bits": 0},
    "continuous_w": {"quantize_weights": False},
}


def _modules(hw: HardwareConfig) -> dict[str, tuple[nn.Module, tuple[int, ...]]]:
    return {
        "conv": (AnalogConv2d(5, 6, 3, padding=1, hw=hw), (4, 5, 7, 7)),
        "conv_s2_nobias": (AnalogConv2d(5, 6, 3, stride=2, bias=False, hw=hw), (3, 5, 9, 9)),
        "linear": (AnalogLinear(20, 7, hw=hw), (6, 20)),
        "linear_3d": (AnalogLinear(20, 7, hw=hw), (2, 3, 20)),
        "skip": (OpticalSkip(hw), (4, 5, 7, 7)),
        "ciblock": (CIBlock(nn.Sequential(AnalogConv2d(5, 5, 3, padding=1, hw=hw), nn.ReLU(),
                                          AnalogConv2d(5, 5, 3, padding=1, hw=hw)), hw=hw),
                    (4, 5, 7, 7)),
    }


def _run(mod: nn.Module, shape: tuple[int, ...], steps: int = 3) -> list[torch.Tensor]:
    """Outputs and gradients of a few SGD steps (one forward each) and one eval forward."""
    out = []
    params = list(mod.parameters())
    opt = torch.optim.SGD(params, lr=0.05) if params else None
    mod.train()
    for s in range(steps):
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(s), requires_grad=True)
        y = mod(x)
        (y.square().mean() + y.mean()).backward()
        out += [y.detach().clone(), x.grad.clone()] + [p.grad.clone() for p in params]
        if opt is not None:
            opt.step()
            opt.zero_grad()
    mod.eval()
    with torch.no_grad():
        out.append(mod(torch.randn(*shape, generator=torch.Generator().manual_seed(9))))
    return out


@pytest.fixture
def torch_path():
    """Switch the fused kernels off for the duration of a block (restored afterwards)."""
    saved = kernels.ENABLED

    class _Switch:
        def __enter__(self):
            kernels.ENABLED = False

        def __exit__(self, *exc):
            kernels.ENABLED = saved

    yield _Switch()
    kernels.ENABLED = saved


@pytest.mark.skipif(not kernels.ENABLED, reason="numba not installed")
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_fused_kernels_equal_torch_path_bit_for_bit(variant, torch_path):
    torch.manual_seed(0)
    mods = _modules(HardwareConfig(seed=3, **VARIANTS[variant]))
    for name, (mod, shape) in mods.items():
        twin = copy.deepcopy(mod)  # same weights and generator states
        fused = _run(mod, shape)
        with torch_path:
            ref = _run(twin, shape)
        assert len(fused) == len(ref)
        for i, (a, b) in enumerate(zip(fused, ref, strict=True)):
            # identical float32 arithmetic in the same order: exactly equal
            assert torch.equal(a, b), f"{variant}/{name}: tensor {i} differs by " \
                                      f"{float((a - b).abs().max())}"


@pytest.mark.parametrize("kind", ["conv", "linear"])
def test_one_node_backward_is_the_straight_through_chain(kind):
    torch.manual_seed(1)
    hw = HardwareConfig(seed=5)
    if kind == "conv":
        lay, x = AnalogConv2d(4, 6, 3, padding=1, hw=hw), torch.randn(3, 4, 8, 8)
    else:
        lay, x = AnalogLinear(16, 5, hw=hw), torch.randn(7, 16)
    twin = copy.deepcopy(lay)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya = lay(xa)
    # the composable chain: pass-through DAC, pass-through programmed weight, ADC + bias
    yb = twin._adc(twin._op(twin._dac(xb, absmax(xb)), twin.effective_weight()),
                   twin._bias_dim(xb))
    assert torch.equal(ya, yb)  # same programmed weight and read-noise draw
    g = torch.randn_like(ya)
    ya.backward(g)
    yb.backward(g)
    assert torch.equal(xa.grad, xb.grad)
    assert torch.equal(lay.weight.grad, twin.weight.grad)
    # bias: the conv reduces it inside convolution_backward (as nn.Conv2d does) rather than
    # as g.sum over (N, H, W): float32 summation order only
    assert torch.allclose(lay.bias.grad, twin.bias.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["conv", "linear"])
def test_ideal_analog_gradients_match_torch(kind):
    torch.manual_seed(2)
    if kind == "conv":
        ref, x = nn.Conv2d(3, 4, 3, stride=2, padding=1), torch.randn(2, 3, 9, 9)
        ana = AnalogConv2d(3, 4, 3, stride=2, padding=1, hw=HardwareConfig.ideal())
    else:
        ref, x = nn.Linear(12, 7), torch.randn(5, 12)
        ana = AnalogLinear(12, 7, hw=HardwareConfig.ideal())
    ana.load_state_dict(ref.state_dict(), strict=False)
    xr, xa = x.clone().requires_grad_(), x.clone().requires_grad_()
    ref(xr).square().sum().backward()
    ana(xa).square().sum().backward()
    # float32 rescaling by max|x| and max|w| in the forward: a few ulps, far below 1e-5
    assert torch.allclose(xa.grad, xr.grad, atol=1e-5, rtol=1e-5)
    assert torch.allclose(ana.weight.grad, ref.weight.grad, atol=1e-5, rtol=1e-5)
    assert torch.allclose(ana.bias.grad, ref.bias.grad, atol=1e-5, rtol=1e-5)


def _noise_free_read(**kw) -> HardwareConfig:
    return HardwareConfig(read_noise=0.0, seed=7, **kw)


def test_programmed_weight_is_cached_until_the_weight_changes():
    lay = AnalogLinear(16, 8, hw=_noise_free_read()).train()
    x = torch.randn(4, 16)
    y1 = lay(x)
    state = lay.noise.cpu.get_state()
    q1 = lay._wq[0]
    y2 = lay(x)  # same weights: the same programmed array, no new programming-noise draw
    assert lay._wq[0] is q1
    assert torch.equal(y1, y2)
    assert torch.equal(lay.noise.cpu.get_state(), state)
    lay.train()  # a new training phase re-programs the array
    lay(x)
    assert lay._wq[0] is not q1


@pytest.mark.parametrize("update", ["sgd", "adam_fused", "adam_foreach", "data_copy",
                                    "load_state_dict"])
def test_programmed_weight_cache_follows_every_weight_update(update):
    torch.manual_seed(3)
    lay = AnalogLinear(16, 8, hw=_noise_free_read(prog_noise=0.0)).train()
    x = torch.randn(4, 16)
    lay(x).sum().backward()
    q1 = lay._wq[0].clone()
    if update == "sgd":
        torch.optim.SGD(lay.parameters(), lr=1.0).step()
    elif update.startswith("adam"):  # the fused step does not bump the version counter
        opt = torch.optim.Adam(lay.parameters(), lr=0.5, fused=update == "adam_fused",
                               foreach=update == "adam_foreach" or None)
        opt.step()
    elif update == "data_copy":  # writes through .data bypass the version counter too
        lay.weight.data.copy_(torch.linspace(-1, 1, 128).reshape(8, 16))
    else:
        other = AnalogLinear(16, 8, hw=_noise_free_read(prog_noise=0.0))
        lay.load_state_dict(other.state_dict())
    lay(x)
    q2 = lay._wq[0]
    assert not torch.equal(q1, q2)
    # q2 is the fresh quantisation of the new weights: every entry on an allowed level
    ws = lay.weight.detach().abs().max()
    allowed = torch.cat([-lay.mags, lay.mags])
    assert float(((q2 / ws).reshape(-1, 1) - allowed).abs().min(1).values.max()) < 1e-6


def test_restored_generator_reprograms_the_weights():
    hw = HardwareConfig(seed=4)
    a = AnalogConv2d(3, 4, 3, padding=1, hw=hw).train()
    x = torch.randn(2, 3, 6, 6)
    st = a.state_dict()
    ya = a(x)
    a(x)  # cached programmed weight, generator moved on by the read noise
    a.load_state_dict(st)  # same weights, generator state of before the first forward
    assert torch.equal(a(x), ya)


def test_nan_input_gives_nan_not_a_crash():
    hw = HardwareConfig()
    for mod, x in ((AnalogConv2d(2, 3, 3, hw=hw), torch.randn(1, 2, 5, 5)),
                   (AnalogLinear(6, 2, hw=hw), torch.randn(3, 6)),
                   (OpticalSkip(hw), torch.randn(4, 6))):
        x[0, 1] = float("nan")
        assert bool(torch.isnan(mod(x)).any())


def test_rounding_ties_match_torch_round():
    # values exactly halfway between two DAC codes: round half to even, as torch.round
    hw = HardwareConfig.ideal(dac_bits=3)  # k = 3 codes per sign
    lay = AnalogLinear(1, 1, bias=False, hw=hw)
    with torch.no_grad():
        lay.weight.fill_(1.0)
    x = torch.tensor([[-1.5], [-0.5], [0.5], [1.5], [2.5], [3.0]])  # x * k / max|x| = x
    assert torch.equal(lay(x).detach().ravel(), torch.round(x).ravel())


def test_absmax32_matches_torch():
    x = torch.randn(10001)
    assert float(kernels.absmax32(x)) == float(absmax(x))
    assert float(kernels.absmax32(torch.zeros(5))) == float(absmax(torch.zeros(5)))
    y = torch.tensor([1.0, float("inf"), -2.0])
    assert float(kernels.absmax32(y)) == float("inf")


def test_kernels_only_below_the_thread_limit():
    t = torch.zeros(4)
    saved = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert kernels.fusable(t) == kernels.ENABLED
        assert not kernels.fusable(t[::2])  # strided: torch path
        assert not kernels.fusable(t.double())
        torch.set_num_threads(kernels.MAX_THREADS + 1)  # many threads: torch's parallel ops
        assert not kernels.fusable(t)
    finally:
        torch.set_num_threads(saved)


@pytest.mark.skipif(not kernels.ENABLED, reason="numba not installed")
def test_dac_buffer_is_reused_only_after_its_graph_is_freed(torch_path):
    torch.manual_seed(6)
    lay = AnalogConv2d(3, 4, 3, padding=1, hw=HardwareConfig(seed=2)).train()
    twin = copy.deepcopy(lay)
    x1, x2 = torch.randn(2, 3, 6, 6), torch.randn(2, 3, 6, 6)
    y = lay(x1)
    p1 = y.grad_fn.saved_tensors[0].data_ptr()
    y.sum().backward()
    del y  # graph freed: its DAC buffer goes back to the layer
    ya, yb = lay(x1), lay(x2)  # two live graphs: the first reuses the buffer, the second not
    pa, pb = (t.grad_fn.saved_tensors[0].data_ptr() for t in (ya, yb))
    assert pa == p1 and pb != pa
    g1, g2 = torch.randn_like(ya), torch.randn_like(yb)
    ((ya * g1).sum() + (yb * g2).sum()).backward(retain_graph=True)
    with torch_path:  # the same steps on the torch path (no buffer pool)
        y = twin(x1)
        y.sum().backward()
        ta, tb = twin(x1), twin(x2)
        ((ta * g1).sum() + (tb * g2).sum()).backward(retain_graph=True)
    assert torch.equal(ya, ta) and torch.equal(yb, tb)
    assert torch.equal(lay.weight.grad, twin.weight.grad)
    lay(x2)  # a new forward while the retained graphs live must not touch their buffers
    (ya.sum() + yb.sum()).backward()
    with torch_path:
        (ta.sum() + tb.sum()).backward()
    assert torch.equal(lay.weight.grad, twin.weight.grad)


@pytest.mark.skipif(not kernels.ENABLED, reason="numba not installed")
def test_no_grad_forwards_keep_no_dac_buffers():
    lay = AnalogConv2d(3, 4, 3, padding=1, hw=HardwareConfig(seed=2)).train()
    x = torch.randn(2, 3, 6, 6)
    lay(x.requires_grad_()).sum().backward()
    assert len(lay._xq_pool) == 1  # the training graph's buffer, ready for the next step
    lay.eval()
    assert len(lay._xq_pool) == 0  # eval holds no training-sized buffers
    with torch.no_grad():
        ya = lay(x)
        yb = lay(x)  # same programmed array; only the read noise differs
    assert len(lay._xq_pool) == 0
    # read noise 0.005 of full scale (~0.6 ADC codes std): a few codes at most, far below 10 %
    assert float((ya - yb).abs().max()) < 0.1 * float(ya.abs().max())
