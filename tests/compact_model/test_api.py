"""The public contract other stages code against."""

import numpy as np
import pytest
import torch

import compact_model
from compact_model import torch_bridge
from compact_model.params import NLEMParams


@pytest.fixture(scope="module")
def m():
    return compact_model.load("paper")


def test_load_and_params(m):
    assert isinstance(m.params, NLEMParams)
    assert m.name == "paper"
    with pytest.raises(ValueError, match="source"):
        compact_model.load("no-such-preset")


def test_outputs_shapes_and_signs(m):
    v = np.linspace(-5, 7, 25)
    w = np.full((3, 1), 0.4)
    i = m.current(v, w)
    assert i.shape == (3, 25)
    assert np.all(i[:, v < 0] < 0) and np.all(i[:, v >= 0] >= 0)  # rectifying with leak
    lum = m.light(v, 0.4)
    assert np.all(lum[v < m.params.v_on_light] == 0.0)
    assert np.all(lum[v > m.params.v_on_light] > 0.0)
    p = m.optical_power(5.0, 0.4)
    assert p == pytest.approx(float(lum[np.argmin(abs(v - 5.0))]) * 0 + float(m.light(5.0, 0.4))
                              * 6.62607015e-34 * 299792458.0 / m.params.wavelength, rel=1e-12)
    g = m.conductance(np.array([0.0, 0.5, 1.0]))
    assert np.all(np.diff(g) > 0)
    assert g[0] == pytest.approx(float(m.current(4.0, 0.0)) / 4.0, rel=1e-14)


def test_light_superlinear_in_current(m):
    # along the state: relative light gain exceeds relative current gain
    i0, i1 = m.current(5.0, 0.0), m.current(5.0, 0.6)
    l0, l1 = m.light(5.0, 0.0), m.light(5.0, 0.6)
    assert l1 / l0 > i1 / i0


def test_pulse_rest_uv(m):
    w0 = np.zeros(4)
    w1 = m.pulse(w0, n=10)
    assert np.all(w1 > 0)
    w2 = m.rest(w1, 60.0)
    assert np.all(w2 < w1)
    w3 = m.uv(w1, 70.0, 5.0)
    assert np.all(w3 < 0.05 * w1)


def test_levels_table(m):
    lt = m.levels(n_per_sign=15, v_read=4.0)
    assert lt.w.shape == lt.pulses.shape == lt.g.shape == lt.light.shape == (15,)
    assert lt.pulses[0] == 0 and np.all(np.diff(lt.pulses) > 0)
    assert np.all(np.diff(lt.g) > 0)
    t = torch_bridge.levels_tensor(m)
    assert t.shape == (15,) and float(t[0]) == 0.0 and float(t[-1]) == pytest.approx(1.0)
    assert torch.all(t[1:] > t[:-1])


def test_program_write_verify():
    # large cycle-to-cycle noise, where verification must beat open-loop programming (a
    # large d2d spread would make some targets unreachable: gs * I(0) above the target)
    var = compact_model.Variability(d2d=0.02, c2c=0.3, read=0.002)
    m = compact_model.load("paper", variability=var)
    lt = m.levels()
    targets = np.repeat(lt.w[1:], 20)
    spread = m.sample_devices(targets.shape, 5)
    w, n = m.program(targets, np.random.default_rng(0), write_verify=True, tol=0.005,
                     spread=spread)
    # the loop programs conductance: compare gs * I(w) with the nominal I(target)
    g = m.current(4.0, w) * spread.gs
    g_t = m.current(4.0, targets)
    dw = (g - g_t) / (m.current(4.0, 1.0) - m.current(4.0, 0.0))  # error in nominal w units
    # tol 0.005 plus read noise 0.2 % (~0.003 in w) plus one UV step: allow 0.015
    assert np.max(np.abs(dw)) < 0.015
    assert n.dtype.kind == "i" and np.all(n >= 1)
    w_ol, _ = m.program(targets, np.random.default_rng(0), write_verify=False, spread=spread)
    dw_ol = (m.current(4.0, w_ol) * spread.gs - g_t) / (m.current(4.0, 1.0) - m.current(4.0, 0.0))
    assert np.sqrt(np.mean(dw ** 2)) < 0.5 * np.sqrt(np.mean(dw_ol ** 2))


def test_seeds_reproducible(m):
    t = np.linspace(0.05, 0.6, 50)
    a = m.program(t, np.random.default_rng(7))
    b = m.program(t, np.random.default_rng(7))
    c = m.program(t, np.random.default_rng(8))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    n1 = m.pulse(np.zeros(10), n=5, rng=3)
    n2 = m.pulse(np.zeros(10), n=5, rng=3)
    np.testing.assert_array_equal(n1, n2)


def test_torch_curves_differentiable(m):
    v = torch.linspace(0.0, 6.0, 31, dtype=torch.float64, requires_grad=True)
    lc = torch_bridge.light_curve(m, w=0.5)
    ic = torch_bridge.current_curve(m, w=0.5)
    y = lc(v)
    y.sum().backward()
    assert torch.isfinite(v.grad).all()
    assert float(lc(torch.tensor(5.0, dtype=torch.float64))) == pytest.approx(1.0, rel=1e-12)
    ref = m.light(v.detach().numpy(), 0.5) / m.light(5.0, 0.5)
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(ic(v).detach().numpy(),
                               m.current(v.detach().numpy(), 0.5) / m.current(5.0, 0.5),
                               rtol=1e-10)


def test_state_object_round_trip(m):
    st = m.as_state(np.array([0.0, 0.5, 0.95]))
    out = m.pulse(st, n=2)
    assert isinstance(out, compact_model.State)
    assert np.all(out.ws <= 1 - m.params.f_fast + 1e-15) and np.all(out.wf <= m.params.f_fast)


def test_level_noise_tensors(m):
    lv, mean, std = torch_bridge.level_noise(m, devices=30, seed=1)
    assert lv.shape == mean.shape == std.shape == (15,)
    assert float(std[0]) == 0.0  # level 0 is the erased state: no programming needed
    assert torch.all(std >= 0) and float(std.max()) < 0.05  # write-verify keeps errors small
    torch.testing.assert_close(mean, lv, atol=0.03, rtol=0)  # tol 0.005 in w ~ 0.01-0.02 in g
    lv2, mean2, std2 = torch_bridge.level_noise(m, devices=30, seed=1)
    assert torch.equal(mean, mean2) and torch.equal(std, std2)  # seeded
