"""Device metrics of docs/targets.md D2-D13, shared by the physics and the compact model.

All functions take plain arrays (SI units) so they run on physics traces (HDF5 ``/trace``)
and on compact-model traces alike.

Definitions used (stated here once, quoted in reports):

* **Per-pulse peaks** (D2): a pulse is a maximal run of samples with ``V > v_threshold``
  (default half the largest voltage); its peak current ``A_k`` / light ``B_k`` is the maximum
  of ``I`` / ``L`` over the run.
* **NL** (D3, D4): ``NL = max_k |g_k - lin_k| / (g_N - g_1)``, with ``g_k`` the peak of pulse
  ``k`` normalised by the first one (``g_k = A_k / A_1``; the normalisation cancels) and
  ``lin_k`` the straight chord from ``g_1`` to ``g_N`` (``lin_k = g_1 + (g_N - g_1)(k-1)/(N-1)``).
* **Pearson r** (D5): correlation coefficient of the per-pulse peaks ``A_k`` and ``B_k``.
* **Gain** (D6, D7): ``A_N / A_1``.
* **PPF index** (D8): ``(A_2 - A_1) / A_1``; vs interval fitted with
  ``c0 + c1 exp(-dt/tau1)`` and ``c0 + c1 exp(-dt/tau1) + c2 exp(-dt/tau2)``; the two-exponential
  model is kept only when it lowers the Akaike criterion ``n ln(RSS/n) + 2k`` (residual-based
  choice penalising the extra parameters).
* **Natural decay time** (D10): with ``gain(t) = read(t) - baseline`` (``baseline`` the read of
  the pristine device), the first time at which ``gain`` has lost ``lost`` (0.6306) of its
  value at ``t[0]``; linear interpolation between samples.
* **UV reset time** (D11): the same with ``lost = erased`` (default 0.99: "100 %" within a
  1 % read resolution).
* **Distinguishable levels** (D13): greedy count of sorted levels each more than
  ``n_sigma`` read-noise standard deviations above the last counted one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

#: Fraction of the gain lost at the natural decay time (paper S15: 63.06 %).
DECAY_LOST = 0.6306
#: Fraction of the gain erased at the UV reset time ("100 %" within 1 %).
UV_ERASED = 0.99


def _arr(name: str, x, ndim: int = 1, min_len: int = 1) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError(f"{name} has shape {a.shape}: must be {ndim}-D")
    if a.shape[0] < min_len:
        raise ValueError(f"{name} has {a.shape[0]} entries: need at least {min_len}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} holds NaN or infinity: must be finite")
    return a


def pulse_peaks(t, v, i, light=None, v_threshold: float | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pulse peak current ``A_k`` [A], light ``B_k`` and time of the current peak [s].

    Args:
        t, v, i: Trace time [s], voltage [V], current [A] (same length).
        light: Optional light trace (any unit); zeros when omitted.
        v_threshold: Samples with ``V > v_threshold`` belong to a pulse (default max(V)/2).
    """
    t = _arr("t", t)
    v = _arr("V", v)
    i = _arr("I", i)
    lum = np.zeros_like(i) if light is None else _arr("L", light)
    if not (len(t) == len(v) == len(i) == len(lum)):
        raise ValueError(f"trace lengths differ: t {len(t)}, V {len(v)}, I {len(i)}, "
                         f"L {len(lum)}")
    thr = 0.5 * v.max() if v_threshold is None else v_threshold
    on = v > thr
    if not on.any():
        raise ValueError(f"no pulse: V never exceeds v_threshold = {thr:g} V")
    edges = np.diff(on.astype(np.int8))
    starts = np.flatnonzero(edges == 1) + 1
    ends = np.flatnonzero(edges == -1) + 1
    if on[0]:
        starts = np.r_[0, starts]
    if on[-1]:
        ends = np.r_[ends, len(on)]
    a = np.array([i[s:e].max() for s, e in zip(starts, ends, strict=True)])
    b = np.array([lum[s:e].max() for s, e in zip(starts, ends, strict=True)])
    tk = np.array([t[s + int(np.argmax(i[s:e]))] for s, e in zip(starts, ends, strict=True)])
    return a, b, tk


def window_end_values(t, windows, series):
    """Each series at the last sample inside every window ``(t0, t1]`` [s].

    The per-pulse read-out of a trace whose pulses are known from its protocol (the value at
    the end of each pulse: the EPSC/EPSB without the displacement spike of the edges).
    Windows without a sample are left out.

    Args:
        t: Sample times [s].
        windows: ``(t0, t1)`` pairs [s].
        series: Name -> array of the same length as ``t``.

    Returns:
        ``{"t": end times, **{name: values}}`` as float arrays.
    """
    t = _arr("t", t)
    arrays = {k: np.asarray(v, dtype=float) for k, v in series.items()}
    for k, v in arrays.items():
        if v.shape != t.shape:
            raise ValueError(f"series {k!r} has {v.size} samples, t has {t.size}")
    out: dict[str, list[float]] = {"t": [], **{k: [] for k in arrays}}
    for t0, t1 in windows:
        m = np.flatnonzero((t > t0) & (t <= t1 + 1e-12))
        if m.size == 0:
            continue
        out["t"].append(float(t[m[-1]]))
        for k, v in arrays.items():
            out[k].append(float(v[m[-1]]))
    return {k: np.asarray(v) for k, v in out.items()}


#: Samples this long after each rising voltage edge are left out of physics per-pulse peaks [s]:
#: the terminal current there is the displacement (charging) spike of the stack capacitance,
#: which a source-measure unit does not resolve; the EPSC is the conduction response of the
#: rest of the 30 ms pulse (the rule of the compact fit and of the physics D rows). The
#: compact model has no displacement current, so its traces are unaffected.
SETTLE_S = 1e-3


def drop_edge_transients(t, v, i, lum, settle: float = SETTLE_S, falling: bool = False
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The trace without the samples less than ``settle`` [s] after each rising voltage edge.

    The edge is at the last sample before the voltage rises (the input on
    ``(t[k-1], t[k]]`` is ``V[k]``); the last sample of every pulse is always kept, so a
    coarsely sampled trace (one sample per pulse) keeps all its pulses. ``falling``: also
    drop the samples within ``settle`` after each falling edge (the discharge spike; for
    plots of the conduction current, the per-pulse peaks do not need it).
    """
    t, v, i, lum = (_arr(n, a) for n, a in (("t", t), ("V", v), ("I", i), ("L", lum)))
    if not (len(t) == len(v) == len(i) == len(lum)):
        raise ValueError(f"trace lengths differ: t {len(t)}, V {len(v)}, I {len(i)}, "
                         f"L {len(lum)}")
    if settle < 0:
        raise ValueError(f"settle = {settle!r} s: must be >= 0")
    on = v > 0.5 * v.max()
    step = np.diff(on.astype(np.int8))
    keep = np.ones(len(t), dtype=bool)
    for t0 in t[np.flatnonzero((step == 1) | ((step == -1) & falling))]:
        keep &= ~((t > t0) & (t < t0 + settle))
    keep[np.flatnonzero(step == -1)] = True  # last sample of each pulse
    if on[-1]:
        keep[-1] = True
    return t[keep], v[keep], i[keep], lum[keep]


def nonlinearity(peaks) -> float:
    """NL = max_k |g_k - lin_k| / (g_N - g_1) (module docstring, D3)."""
    a = _arr("peaks", peaks, min_len=3)
    g = a / a[0]
    span = g[-1] - g[0]
    if span == 0:
        raise ValueError("peaks: first and last are equal, NL undefined")
    lin = g[0] + span * np.arange(len(g)) / (len(g) - 1)
    return float(np.max(np.abs(g - lin)) / abs(span))


def pearson(a, b) -> float:
    """Pearson correlation coefficient of two equal-length series."""
    a = _arr("a", a, min_len=2)
    b = _arr("b", b, min_len=2)
    if len(a) != len(b):
        raise ValueError(f"lengths differ: {len(a)} vs {len(b)}")
    return float(np.corrcoef(a, b)[0, 1])


def gain(peaks) -> float:
    """A_N / A_1 of per-pulse peaks."""
    a = _arr("peaks", peaks, min_len=2)
    if a[0] == 0:
        raise ValueError("peaks[0] = 0: gain undefined")
    return float(a[-1] / a[0])


def ppf_index(a1, a2):
    """PPF index (A_2 - A_1)/A_1 (arrays allowed)."""
    a1 = np.asarray(a1, dtype=np.float64)
    return (np.asarray(a2, dtype=np.float64) - a1) / a1


@dataclass
class PPFFit:
    """Exponential fit of the PPF index vs interval.

    Attributes:
        n_exp: 1 or 2 (the chosen model).
        c0: Long-interval offset [1].
        amplitudes: c1 (, c2) [1].
        taus: tau1 (, tau2) [s], ascending.
        rss: Residual sum of squares of the chosen model.
        rss_1, rss_2: RSS of the one- and two-exponential fits (inf when a fit failed).
    """

    n_exp: int
    c0: float
    amplitudes: tuple[float, ...]
    taus: tuple[float, ...]
    rss: float
    rss_1: float
    rss_2: float

    def __call__(self, dt) -> np.ndarray:
        dt = np.asarray(dt, dtype=np.float64)
        out = np.full(dt.shape, self.c0)
        for c, tau in zip(self.amplitudes, self.taus, strict=True):
            out = out + c * np.exp(-dt / tau)
        return out


def _e1(x, c0, c1, lt1):
    return c0 + c1 * np.exp(-x / np.exp(lt1))


def _e2(x, c0, c1, lt1, c2, lt2):
    return c0 + c1 * np.exp(-x / np.exp(lt1)) + c2 * np.exp(-x / np.exp(lt2))


def fit_ppf(intervals, ppf) -> PPFFit:
    """Fit PPF(dt) with one and two exponentials and keep the better by AIC (docstring)."""
    x = _arr("intervals", intervals, min_len=3)
    y = _arr("ppf", ppf, min_len=3)
    if len(x) != len(y):
        raise ValueError(f"lengths differ: {len(x)} vs {len(y)}")
    if np.any(x <= 0):
        raise ValueError("intervals must be > 0 s")
    n = len(x)
    lx = np.log(x)
    best1, rss1 = None, np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for lt in np.linspace(lx.min(), lx.max(), 5):
            try:
                p, _ = curve_fit(_e1, x, y, p0=[y[-1], y[0] - y[-1], lt], maxfev=4000)
            except (RuntimeError, ValueError):
                continue
            r = float(np.sum((_e1(x, *p) - y) ** 2))
            if r < rss1:
                best1, rss1 = p, r
        best2, rss2 = None, np.inf
        if n >= 6 and best1 is not None:
            for lt2 in np.linspace(lx.min(), lx.max(), 5):
                p0 = [best1[0], 0.7 * best1[1], best1[2], 0.3 * best1[1], lt2]
                try:
                    p, _ = curve_fit(_e2, x, y, p0=p0, maxfev=8000)
                except (RuntimeError, ValueError):
                    continue
                r = float(np.sum((_e2(x, *p) - y) ** 2))
                if r < rss2:
                    best2, rss2 = p, r
    if best1 is None:
        raise ValueError("PPF fit failed: no exponential fits the data")
    tiny = 1e-300

    def aic(rss, k):
        return n * np.log(max(rss, tiny) / n) + 2 * k

    if best2 is not None and aic(rss2, 5) < aic(rss1, 3) - 2.0:
        order = np.argsort([best2[2], best2[4]])
        amps = (best2[1], best2[3])
        taus = (np.exp(best2[2]), np.exp(best2[4]))
        return PPFFit(2, float(best2[0]), tuple(float(amps[k]) for k in order),
                      tuple(float(taus[k]) for k in order), rss2, rss1, rss2)
    return PPFFit(1, float(best1[0]), (float(best1[1]),), (float(np.exp(best1[2])),), rss1,
                  rss1, rss2)


def loss_time(t, read, baseline: float, lost: float) -> float:
    """First time [s] (relative to ``t[0]``) at which ``read - baseline`` has lost the fraction
    ``lost`` of its value at ``t[0]``; ``inf`` if never within the trace."""
    t = _arr("t", t, min_len=2)
    r = _arr("read", read, min_len=2)
    if len(t) != len(r):
        raise ValueError(f"lengths differ: t {len(t)} vs read {len(r)}")
    if not 0 < lost < 1:
        raise ValueError(f"lost = {lost!r}: must be in (0, 1)")
    g = r - baseline
    if g[0] <= 0:
        raise ValueError(f"read[0] = {r[0]:g} is not above baseline = {baseline:g}: no gain")
    level = (1.0 - lost) * g[0]
    below = np.flatnonzero(g <= level)
    if below.size == 0:
        return float("inf")
    k = below[0]
    if k == 0:
        return 0.0
    f = (g[k - 1] - level) / (g[k - 1] - g[k])
    return float(t[k - 1] + f * (t[k] - t[k - 1]) - t[0])


def natural_decay_time(t, read, baseline: float, lost: float = DECAY_LOST) -> float:
    """D10: time [s] for the read current to lose ``lost`` (63.06 %) of its gain."""
    return loss_time(t, read, baseline, lost)


def uv_reset_time(t, read, baseline: float, erased: float = UV_ERASED) -> float:
    """D11: time [s] under UV to erase the fraction ``erased`` of the gain."""
    return loss_time(t, read, baseline, erased)


def distinguishable_levels(levels, noise, n_sigma: float = 1.0) -> int:
    """D13: number of levels separated by more than ``n_sigma`` read-noise stds.

    Args:
        levels: Level values (any order), e.g. conductances [S].
        noise: Read-noise standard deviation, scalar or one per level (same unit).
        n_sigma: Required separation in units of the noise.
    """
    lv = _arr("levels", levels)
    sd = np.broadcast_to(np.asarray(noise, dtype=np.float64), lv.shape)
    if np.any(sd < 0) or not np.all(np.isfinite(sd)):
        raise ValueError("noise must be finite and >= 0")
    order = np.argsort(lv)
    lv, sd = lv[order], sd[order]
    count, last, last_sd = 1, lv[0], sd[0]
    for x, s in zip(lv[1:], sd[1:], strict=True):
        if x - last > n_sigma * max(s, last_sd):
            count += 1
            last, last_sd = x, s
    return count
