"""The kernels' exp/log replacements agree with numpy to a few ulp."""

import numpy as np
import pytest

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


def test_pow_matches_numpy_over_the_fit_range():
    # gamma_l's fit range is [1, 3]; g = 1 + (g_max - 1) w lies in [1, g_max], g_max < 2**7.5
    y = np.r_[np.random.default_rng(5).uniform(1, 181, 20000),
              np.random.default_rng(6).uniform(1, 2, 20000), 1.0, 2.0, 4.0, 2.0 ** 0.5, 181.0]
    for gamma in (1.0, 1.1412719650167942, 2.0, 3.0):
        np.testing.assert_allclose(fastmath.pow_ge1(y, gamma), y ** gamma, rtol=2e-14)  # POW_TOL
    assert fastmath.pow_table(1.3, 2.0 ** 7.5) is None  # beyond the 2**(k gamma) table
    # the smallest polynomial and table that suffice: degree 13 and 4 entries for the paper
    # preset (gamma_l 1.14, g_max 8.4), degree 17 and 8 entries for gamma 3 up to 100
    qp, qt = fastmath.pow_table(1.1412719650167942, 8.44)
    assert (len(qp), len(qt)) == (14, 4)
    qp, qt = fastmath.pow_table(3.0, 100.0)
    assert (len(qp), len(qt)) == (18, 8)
    y = np.linspace(1.0, 8.44, 5001)
    np.testing.assert_allclose(fastmath.pow_ge1(y, 1.1412719650167942), y ** 1.1412719650167942,
                               rtol=2e-14)
    with pytest.raises(ValueError, match="y must lie"):
        fastmath.pow_ge1(np.array([0.5]), 1.3)
