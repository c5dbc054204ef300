"""The kernels' exp/log replacements agree with numpy to a few ulp."""

import numpy as np

from compact_model import fastmath


def test_exp_matches_numpy():
    x = np.random.default_rng(0).uniform(-700, 700, 20000)
    np.testing.assert_allclose(fastmath.exp(x), np.exp(x), rtol=1e-15, atol=0)  # few ulp
    assert fastmath.exp(np.array([0.0]))[0] == 1.0
    assert np.isfinite(fastmath.exp(np.array([1e4, -1e4]))).all()  # clamped, never inf/NaN


def test_log_matches_numpy():
    y = np.r_[np.random.default_rng(1).uniform(1, 1e6, 20000), 1.0, 1.0 + 1e-12, 2.0]
    np.testing.assert_allclose(fastmath.log(y), np.log(y), rtol=1e-15, atol=1e-18)
