"""Property tests (hypothesis) of the state model and the outputs."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import compact_model

M = compact_model.load("paper")
P = M.params

pulse_op = st.tuples(st.just("pulse"), st.floats(0.0, 8.0), st.floats(1e-4, 1.0))
rest_op = st.tuples(st.just("rest"), st.floats(0.0, 0.0), st.floats(0.0, 500.0))
uv_op = st.tuples(st.just("uv"), st.floats(0.0, 1000.0), st.floats(0.0, 20.0))
neg_op = st.tuples(st.just("pulse"), st.floats(-8.0, 0.0), st.floats(1e-4, 1.0))
ops = st.lists(st.one_of(pulse_op, rest_op, uv_op, neg_op), min_size=1, max_size=25)
w0s = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6)

SETTINGS = settings(max_examples=40, deadline=None)


def _apply(state, op, rng=None):
    kind, a, b = op
    if kind == "pulse":
        return M.pulse(state, n=1, amplitude=a, width=b, rng=rng)
    if kind == "rest":
        return M.rest(state, b)
    return M.uv(state, a, b)


@SETTINGS
@given(w0s, ops, st.integers(0, 2**31 - 1))
def test_state_stays_in_bounds(w0, seq, seed):
    s = M.as_state(np.array(w0))
    rng = np.random.default_rng(seed)
    for op in seq:
        s = _apply(s, op, rng)
        assert np.all(np.isfinite(s.ws)) and np.all(np.isfinite(s.wf))
        assert np.all(s.ws >= 0) and np.all(s.ws <= 1 - P.f_fast + 1e-15)
        assert np.all(s.wf >= 0) and np.all(s.wf <= P.f_fast + 1e-15)


@SETTINGS
@given(st.floats(2.5, 8.0), st.floats(1e-4, 0.2), st.floats(0.0, 5.0),
       st.integers(2, 30))
def test_potentiation_monotonic_without_uv(amp, width, interval, n):
    _assert_train_monotonic(M, amp, width, interval, n)


def _assert_train_monotonic(model, amp, width, interval, n):
    """From the erased state, the state after each pulse of a train never decreases."""
    s = model.as_state(np.zeros(1))
    prev = 0.0
    for k in range(n):
        if k:
            s = model.rest(s, interval)
        s = model.pulse(s, n=1, amplitude=amp, width=width)
        assert float(s.w[0]) >= prev - 1e-15
        prev = float(s.w[0])


@SETTINGS
@given(w0s, st.floats(0.0, 1e4), st.floats(0.0, 60.0))
def test_uv_never_raises_state(w0, intensity, seconds):
    s = M.as_state(np.array(w0))
    out = M.uv(s, intensity, seconds)
    dark = M.rest(s, seconds)
    assert np.all(out.w <= s.w + 1e-15)
    assert np.all(out.w <= dark.w + 1e-12)  # UV erases at least as much as a dark rest


@SETTINGS
@given(st.lists(st.floats(0.0, P.v_max), min_size=1, max_size=20), w0s)
def test_outputs_finite_non_negative_forward(v, w):
    v = np.array(v)[:, None]
    w = np.array(w)[None, :]
    i = M.current(v, w)
    lum = M.light(v, w)
    assert np.all(np.isfinite(i)) and np.all(i >= 0)
    assert np.all(np.isfinite(lum)) and np.all(lum >= 0)


@SETTINGS
@given(st.integers(0, 2**31 - 1), st.integers(1, 40))
def test_seeds_reproducible(seed, n):
    var = compact_model.Variability(d2d=0.1, c2c=0.05, read=0.01)
    m = compact_model.load("paper", variability=var)
    a = m.sample_devices(n, seed)
    b = m.sample_devices(n, seed)
    np.testing.assert_array_equal(a.ks, b.ks)
    np.testing.assert_array_equal(a.gs, b.gs)
    x = m.pulse(np.zeros(n), n=3, rng=seed, ks=a.ks)
    y = m.pulse(np.zeros(n), n=3, rng=seed, ks=b.ks)
    np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(m.noisy_current(5.0, x, seed), m.noisy_current(5.0, y, seed))


M_SL = compact_model.NLEM(P.replace(cap_sat=0.99, k_slow=5.0, k_fast=5.0))


@settings(max_examples=15, deadline=None)
@given(w0s, st.lists(st.one_of(pulse_op, rest_op, uv_op), min_size=1, max_size=8))
def test_supply_limited_state_stays_in_bounds(w0, seq):
    s = M_SL.as_state(np.array(w0))
    for kind, a, b in seq:
        s = (M_SL.pulse(s, n=1, amplitude=a, width=b) if kind == "pulse"
             else M_SL.rest(s, b) if kind == "rest" else M_SL.uv(s, a, b))
        assert np.all(s.ws >= 0) and np.all(s.ws <= 1 - P.f_fast + 1e-15)
        assert np.all(s.wf >= 0) and np.all(s.wf <= P.f_fast + 1e-15)


@settings(max_examples=15, deadline=None)
@given(st.floats(2.5, 8.0), st.floats(1e-4, 0.1), st.floats(0.0, 5.0), st.integers(2, 12))
def test_supply_limited_potentiation_monotonic(amp, width, interval, n):
    _assert_train_monotonic(M_SL, amp, width, interval, n)
