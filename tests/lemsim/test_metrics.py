"""Metrics on synthetic traces with known answers."""

import numpy as np
import pytest

from lemsim import metrics


def _pulse_trace(peaks, width=0.03, gap=0.03, n_sub=5):
    t, v, i, lum = [0.0], [0.0], [0.0], [0.0]
    now = 0.0
    for a in peaks:
        for k in range(1, n_sub + 1):  # rising current inside the pulse, peak at its end
            now += width / n_sub
            t.append(now)
            v.append(5.0)
            i.append(a * k / n_sub)
            lum.append(2 * a * k / n_sub)
        now += gap
        t.append(now)
        v.append(0.0)
        i.append(0.0)
        lum.append(0.0)
    return map(np.array, (t, v, i, lum))


def test_pulse_peaks_recovers_known_peaks():
    peaks = np.array([1.0, 1.5, 1.8, 2.0])
    a, b, tk = metrics.pulse_peaks(*_pulse_trace(peaks))
    np.testing.assert_allclose(a, peaks, rtol=0, atol=1e-15)
    np.testing.assert_allclose(b, 2 * peaks, rtol=0, atol=1e-15)
    assert np.all(np.diff(tk) > 0)


def test_nonlinearity_known_values():
    # linear peaks: NL exactly 0
    assert metrics.nonlinearity(np.linspace(1, 2, 10)) == pytest.approx(0.0, abs=1e-14)
    # g = [1, 2, 2]: chord 1, 1.5, 2 -> max deviation 0.5 over span 1 -> NL = 0.5
    assert metrics.nonlinearity([1.0, 2.0, 2.0]) == pytest.approx(0.5, abs=1e-14)
    # scale invariance (normalisation by the first peak cancels)
    x = np.array([1.0, 1.7, 2.1, 2.3])
    assert metrics.nonlinearity(3e-6 * x) == pytest.approx(metrics.nonlinearity(x), rel=1e-12)


def test_pearson_and_gain():
    a = np.array([1.0, 2.0, 3.0])
    assert metrics.pearson(a, 2 * a + 1) == pytest.approx(1.0, abs=1e-12)
    assert metrics.pearson(a, -a) == pytest.approx(-1.0, abs=1e-12)
    assert metrics.gain([2.0, 3.0, 5.0]) == pytest.approx(2.5, abs=1e-14)
    assert metrics.ppf_index(2.0, 3.0) == pytest.approx(0.5, abs=1e-14)


def test_fit_ppf_one_exponential():
    dt = np.geomspace(0.01, 10, 13)
    y = 0.05 + 0.4 * np.exp(-dt / 0.3)
    fit = metrics.fit_ppf(dt, y)
    assert fit.n_exp == 1
    assert fit.taus[0] == pytest.approx(0.3, rel=1e-4)  # exact data: tight tolerance
    assert fit.c0 == pytest.approx(0.05, abs=1e-5)


def test_fit_ppf_two_exponentials_chosen():
    dt = np.geomspace(0.01, 10, 15)
    y = 0.02 + 0.3 * np.exp(-dt / 0.05) + 0.2 * np.exp(-dt / 2.0)
    fit = metrics.fit_ppf(dt, y)
    assert fit.n_exp == 2
    assert fit.rss_2 < fit.rss_1
    np.testing.assert_allclose(fit.taus, (0.05, 2.0), rtol=1e-2)  # exact data, 1 %


def test_decay_and_reset_times():
    t = np.linspace(0, 300, 30001)
    base = 1.0
    read = base + 2.0 * np.exp(-t / 50.0)
    # lose 63.06 % -> t = -50 ln(0.3694)
    assert metrics.natural_decay_time(t, read, base) == pytest.approx(
        -50 * np.log(1 - 0.6306), rel=1e-5)  # linear interpolation on a 10 ms grid
    lin = base + 2.0 * np.clip(1 - t / 2.5, 0, None)
    assert metrics.uv_reset_time(t, lin, base) == pytest.approx(0.99 * 2.5, rel=1e-6)
    assert metrics.uv_reset_time(t[:10], read[:10], base) == float("inf")


def test_distinguishable_levels():
    assert metrics.distinguishable_levels(np.arange(10.0), 0.5) == 10
    assert metrics.distinguishable_levels(np.arange(10.0), 1.5) == 5  # every second level
    assert metrics.distinguishable_levels([1.0, 1.0, 1.0], 0.0) == 1


@pytest.mark.parametrize("bad", [[1.0, np.nan, 2.0], [[1.0, 2.0]]])
def test_bad_input_raises(bad):
    with pytest.raises(ValueError):
        metrics.nonlinearity(bad)
