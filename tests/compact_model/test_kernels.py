"""Numba kernels equal the numpy reference (1e-12, float64); float32 path works."""

import numpy as np
import pytest

from compact_model import kernels, reference
from compact_model.params import pack
from compact_model.presets import PAPER


@pytest.fixture(scope="module")
def pk():
    return pack(PAPER)


def _check_step(p, pk, n, seed, v, uv, dt):
    """Numba ``step`` equals the numpy reference to 1e-12 on random states; returns them."""
    rng = np.random.default_rng(seed)
    ws = rng.uniform(0, 1 - p.f_fast, n)
    wf = rng.uniform(0, p.f_fast, n)
    ks = rng.lognormal(0, 0.1, n)
    xi = rng.standard_normal(n)
    a_s, a_f = kernels.step(ws, wf, np.array([v]), np.array([uv]), dt, pk, ks, xi, 0.05)
    b_s, b_f = reference.step(ws, wf, v, uv, dt, pk, ks, xi, 0.05)
    np.testing.assert_allclose(a_s, b_s, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a_f, b_f, rtol=0, atol=1e-12)
    return ws, wf


@pytest.mark.parametrize("v,uv,dt", [(5.0, 0.0, 0.03), (0.0, 0.0, 10.0), (0.0, 700.0, 0.01),
                                     (4.0, 300.0, 0.5), (-3.0, 0.0, 1.0), (2.0, 1e4, 5.0)])
def test_step_matches_reference(pk, v, uv, dt):
    _check_step(PAPER, pk, 2000, 3, v, uv, dt)


def test_parallel_build_matches_serial(pk):
    rng = np.random.default_rng(4)
    n = 1000
    ws, wf = rng.uniform(0, 0.5, n), rng.uniform(0, PAPER.f_fast, n)
    args = (np.array([5.0]), np.array([100.0]), 0.03, pk, np.ones(1), np.zeros(1), 0.0)
    o1 = (np.empty(n), np.empty(n))
    o2 = (np.empty(n), np.empty(n))
    kernels.step_serial(ws, wf, *args, *o1)
    kernels.step_parallel(ws, wf, *args, *o2)
    np.testing.assert_array_equal(o1[0], o2[0])


def test_iv_matches_reference(pk):
    rng = np.random.default_rng(5)
    v = rng.uniform(-8, 8, 3000)
    w = rng.uniform(0, 1, 3000)
    gs = rng.lognormal(0, 0.1, 3000)
    i, lum = kernels.iv(v, w, pk, gs, 3000)
    np.testing.assert_allclose(i, reference.current(v, w, pk, gs), rtol=1e-12, atol=1e-24)
    np.testing.assert_allclose(lum, reference.light(v, w, pk, gs), rtol=1e-12, atol=1e-6)


def test_float32_states(pk):
    ws = np.full(100, 0.3, dtype=np.float32)
    wf = np.full(100, 0.01, dtype=np.float32)
    s, f = kernels.step(ws, wf, np.array([5.0]), np.array([0.0]), 0.03, pk, np.ones(1),
                        np.zeros(1), 0.0)
    assert s.dtype == np.float32
    r, _ = reference.step(ws.astype(np.float64), wf.astype(np.float64), 5.0, 0.0, 0.03, pk)
    np.testing.assert_allclose(s, r, rtol=1e-6)  # float32 rounding


def test_fused_pulse_read_matches_reference(pk):
    rng = np.random.default_rng(6)
    n = 5000
    ws = rng.uniform(0, 1 - PAPER.f_fast, n)
    wf = rng.uniform(0, PAPER.f_fast, n)
    out = kernels.pulse_read(ws, wf, 5.0, 0.03, 4.0, pk)
    s, f = reference.step(ws, wf, 5.0, 0.0, 0.03, pk)
    np.testing.assert_allclose(out[0], s, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out[1], f, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out[2], reference.current(4.0, s + f, pk), rtol=1e-12)
    np.testing.assert_allclose(out[3], reference.light(4.0, s + f, pk), rtol=1e-12)


def test_fused_pulse_read_float32(pk):
    ws = np.linspace(0, 0.9, 300).astype(np.float32)
    wf = np.linspace(0, PAPER.f_fast, 300).astype(np.float32)
    out = kernels.pulse_read(ws, wf, 5.0, 0.03, 4.0, pk)
    assert all(o.dtype == np.float32 for o in out)
    ref = kernels.pulse_read(ws.astype(np.float64), wf.astype(np.float64), 5.0, 0.03, 4.0, pk)
    for a, b in zip(out, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7 * float(np.max(b)))  # float32


@pytest.mark.parametrize("v", [5.0, 1.0, -2.0])
def test_hoisted_step_path_matches_reference(pk, v):
    # shared voltage, no UV, no device spread: the kernel's hoisted branch
    rng = np.random.default_rng(8)
    n = 1500
    ws = rng.uniform(0, 1 - PAPER.f_fast, n)
    wf = rng.uniform(0, PAPER.f_fast, n)
    xi = rng.standard_normal(n)
    a_s, a_f = kernels.step(ws, wf, np.array([v]), np.zeros(1), 0.03, pk, np.ones(1), xi, 0.1)
    b_s, b_f = reference.step(ws, wf, v, 0.0, 0.03, pk, 1.0, xi, 0.1)
    np.testing.assert_allclose(a_s, b_s, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a_f, b_f, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_pulse_read_in_place_equals_out_of_place(pk, dtype):
    rng = np.random.default_rng(7)
    ws = rng.uniform(0, 1 - PAPER.f_fast, 3000).astype(dtype)
    wf = rng.uniform(0, PAPER.f_fast, 3000).astype(dtype)
    ref = kernels.pulse_read(ws, wf, 5.0, 0.03, 4.0, pk)
    i, lum = np.empty_like(ws), np.empty_like(ws)
    out = kernels.pulse_read(ws, wf, 5.0, 0.03, 4.0, pk, out=(ws, wf, i, lum))
    assert out[0] is ws and out[1] is wf
    for a, b in zip((ws, wf, i, lum), ref, strict=True):
        np.testing.assert_array_equal(a, b)  # same arithmetic, bit for bit
    with pytest.raises(ValueError, match="out must be 4 arrays"):
        kernels.pulse_read(ws, wf, 5.0, 0.03, 4.0, pk, out=(ws, wf, i))


def test_fused_pulse_read_extreme_light_parameters():
    # tiny w_eta: exp(-w/w_eta) underflows (its argument is clamped at the exp range) and the
    # kernel still equals the reference; a light factor g**gamma_l beyond the dtype's range is
    # refused before the kernel runs (that exp is not clamped per device)
    p = PAPER.replace(w_eta=1e-4)
    pk2 = pack(p)
    ws = np.linspace(0, 1 - p.f_fast, 500)
    wf = np.linspace(0, p.f_fast, 500)
    out = kernels.pulse_read(ws, wf, 5.0, 0.03, 4.0, pk2)
    np.testing.assert_allclose(out[3], reference.light(4.0, out[0] + out[1], pk2), rtol=1e-12)
    with pytest.raises(ValueError, match="overflows float32"):
        kernels.pulse_read_consts(5.0, 0.03, 4.0, pack(PAPER.replace(gamma_l=60.0)),
                                  np.float32)


def test_fused_pulse_read_beyond_the_power_table_uses_general_kernels():
    # g_max >= 2**7.5: no float64 power table; pulse_read hands over to step() + iv() and
    # still equals the reference (1e-12), in place too
    p = PAPER.replace(g_max=200.0)
    pk2 = pack(p)
    assert kernels.fused_pow_table(pk2) is None
    with pytest.raises(ValueError, match="beyond the fused kernel"):
        kernels.pulse_read_consts(5.0, 0.03, 4.0, pk2)
    ws = np.linspace(0, 1 - p.f_fast, 400)
    wf = np.linspace(0, p.f_fast, 400)
    s, f = reference.step(ws, wf, 5.0, 0.0, 0.03, pk2)
    i, lum = np.empty_like(ws), np.empty_like(ws)
    kernels.pulse_read(ws, wf, 5.0, 0.03, 4.0, pk2, out=(ws, wf, i, lum))
    np.testing.assert_allclose(ws, s, rtol=0, atol=1e-12)
    np.testing.assert_allclose(wf, f, rtol=0, atol=1e-12)
    np.testing.assert_allclose(i, reference.current(4.0, s + f, pk2), rtol=1e-12)
    np.testing.assert_allclose(lum, reference.light(4.0, s + f, pk2), rtol=1e-12)


@pytest.mark.parametrize("v,uv,dt", [(5.0, 0.0, 0.03), (5.0, 0.0, 1.0), (0.0, 0.0, 10.0),
                                     (4.0, 300.0, 0.5)])
def test_supply_limited_capture_matches_reference(v, uv, dt):
    # cap_sat > 0: sub-stepped split capture/emission with a Newton solve per sub-step
    p = PAPER.replace(cap_sat=0.95, k_fast=5.0, k_slow=2.0)
    pk2 = pack(p)
    ws, wf = _check_step(p, pk2, 500, 9, v, uv, dt)
    out = kernels.pulse_read(ws, wf, v, dt, 4.0, pk2)  # general kernels for cap_sat > 0
    if uv == 0.0:
        np.testing.assert_allclose(out[3], reference.light(4.0, out[0] + out[1], pk2),
                                   rtol=1e-12)
