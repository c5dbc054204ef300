"""Bad input raises a clear error naming the parameter (never silent NaN)."""

import numpy as np
import pytest

import compact_model
from compact_model.params import NLEMParams


@pytest.fixture(scope="module")
def m():
    return compact_model.load("paper")


@pytest.mark.parametrize("call,match", [
    (lambda m: m.current(np.nan, 0.5), "v"),
    (lambda m: m.current(20.0, 0.5), "v"),
    (lambda m: m.light(5.0, 1.5), "w"),
    (lambda m: m.light(5.0, np.nan), "w"),
    (lambda m: m.uv(np.zeros(2), -1.0, 1.0), "intensity"),
    (lambda m: m.uv(np.zeros(2), 70.0, -1.0), "seconds"),
    (lambda m: m.rest(np.zeros(2), np.nan), "seconds"),
    (lambda m: m.pulse(np.zeros(2), n=-1), "n"),
    (lambda m: m.pulse(np.zeros(2), width=0.0), "width"),
    (lambda m: m.pulse(np.zeros(2), amplitude=12.0), "v"),
    (lambda m: m.program(np.array([0.2, 2.0]), 0), "target_w"),
    (lambda m: m.levels(n_per_sign=1), "n_per_sign"),
    (lambda m: m.current(np.zeros(3), np.zeros(4)), "broadcast"),
])
def test_bad_input(m, call, match):
    with pytest.raises(ValueError, match=match):
        call(m)


def test_bad_params():
    with pytest.raises(ValueError, match="tau_slow"):
        NLEMParams(tau_slow=-1.0)
    with pytest.raises(ValueError, match="g_max"):
        NLEMParams(g_max=np.nan)
