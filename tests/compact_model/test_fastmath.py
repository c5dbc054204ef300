"""The kernels' exp/log replacements agree with numpy to a few ulp."""

import numpy as np

from compact_model import fastmath


def test_exp_matches_numpy():
    x = np.random.default_rng(0).uniform(-700, 700, 20000)
    np.testing.assert_allclose(fastmath.exp(x), np.exp(x), rtol=1e-15, atol=0)  # few ulp
    assert fastmath.exp(np.array([0.0]))[0] == 1.0
    assert np.isfinite(fastmath.exp(np.array([1e4, -1e4]))).all()  # clamped, never inf/NaN


def test_log_matches_numpy():
    y = np.r_[np.random.default_rng(1).uniform(1, 1e6, 20000),
              np.random.default_rng(4).uniform(1, 2, 20000), 1.0, 1.0 + 1e-12, 2.0]
    np.testing.assert_allclose(fastmath.log(y), np.log(y), rtol=1e-15, atol=1e-18)


def test_float32_exp_log_match_numpy():
    x = np.random.default_rng(2).uniform(-80, 80, 20000).astype(np.float32)
    e = fastmath.exp(x)
    assert e.dtype == np.float32
    # float32 arithmetic: a few float32 ulp (2**-23 = 1.2e-7)
    np.testing.assert_allclose(e, np.exp(x.astype(np.float64)), rtol=5e-7, atol=0)
    y = np.r_[np.random.default_rng(3).uniform(1, 1e6, 20000), 1.0, 2.0].astype(np.float32)
    lg = fastmath.log(y)
    assert lg.dtype == np.float32
    np.testing.assert_allclose(lg, np.log(y.astype(np.float64)), rtol=5e-7, atol=1e-7)
    assert fastmath.log(np.array([1.0], np.float32))[0] == 0.0
    assert np.isfinite(fastmath.exp(np.array([1e4, -1e4], np.float32))).all()  # clamped
