"""Protocols of PAPER_TARGETS D2-D12 run on the compact model, and the metrics they give.

Each protocol is a list of constant-input segments ``(V [V], uv [W/m²], dt [s])``;
:func:`simulate` turns it into a trace (t, V, uv, I, L) sampled at the end of every segment
(and at ``substeps`` points inside it), the same shape of data the physics stage writes, so
:mod:`lemsim.metrics` applies unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compact_model.model import NLEM
from compact_model.params import MW_CM2
from compact_model.state import State
from lemsim import metrics

#: The paper's pulse (Fig. 2c): 5 V, 30 ms, 30 ms apart.
AMP, WIDTH, INTERVAL = 5.0, 30e-3, 30e-3
#: PPF intervals [s] (D8: 10 ms .. 10 s).
PPF_INTERVALS = np.geomspace(0.01, 10.0, 13)
#: UV intensity of D11 [W/m²] (70 mW/cm²).
UV_PAPER = 70.0 * MW_CM2

#: Paper values of the rows the compact model reproduces (PAPER_TARGETS).
PAPER = {
    "D3_nl_current": 0.20, "D4_nl_light": 0.27, "D5_pearson": 0.999,
    "D6_gain_current_10": 1.38, "D6_gain_current_50": 2.40,
    "D7_gain_light_10": 1.57, "D7_gain_light_50": 3.17,
    "D10_decay_s": 71.6, "D11_uv_reset_s": 2.52, "D12_ratio": 2.52 / 71.6,
}


def train(n: int, amplitude: float = AMP, width: float = WIDTH, interval: float = INTERVAL
          ) -> list[tuple[float, float, float]]:
    """``n`` pulses with ``interval`` of 0 V rest between them, plus one interval after."""
    segs = []
    for _ in range(n):
        segs += [(amplitude, 0.0, width), (0.0, 0.0, interval)]
    return segs


@dataclass
class Trace:
    """A simulated trace (SI units) and the states at its samples."""

    t: np.ndarray
    V: np.ndarray
    uv: np.ndarray
    I: np.ndarray  # noqa: E741
    L: np.ndarray
    w: np.ndarray


def simulate(model: NLEM, segments, state: State | None = None, substeps: int = 1,
             v_read: float | None = None) -> tuple[Trace, State]:
    """Run ``segments`` on one device; sample every segment at ``substeps`` points.

    Args:
        v_read: When given, I and L of samples at 0 V are evaluated at ``v_read`` (an
            instantaneous, non-disturbing read) instead of at 0 V.

    Returns:
        The trace and the final state.
    """
    st = state.copy() if state is not None else State(np.zeros(1), np.zeros(1))
    ts, vs, us, ws = [0.0], [0.0], [0.0], [float(st.w[0])]
    t = 0.0
    for v, uv, dt in segments:
        h = dt / substeps
        for _ in range(substeps):
            st = model._advance(st, [(v, uv, h)])
            t += h
            ts.append(t)
            vs.append(v)
            us.append(uv)
            ws.append(float(st.w[0]))
    t_a, v_a, w_a = np.array(ts), np.array(vs), np.array(ws)
    v_eval = v_a if v_read is None else np.where(v_a == 0.0, v_read, v_a)
    i_a = model.current(v_eval, w_a)
    l_a = model.light(v_eval, w_a)
    return Trace(t_a, v_a, np.array(us), i_a, l_a, w_a), st


def train_peaks(model: NLEM, n: int, **kw) -> tuple[np.ndarray, np.ndarray]:
    """Per-pulse peaks (A_k [A], B_k [photons/s]) of an ``n``-pulse train from w = 0."""
    tr, _ = simulate(model, train(n, **kw))
    a, b, _ = metrics.pulse_peaks(tr.t, tr.V, tr.I, tr.L)
    return a, b


def ppf_curve(model: NLEM, intervals=PPF_INTERVALS) -> np.ndarray:
    """PPF index (A_2 - A_1)/A_1 for two paper pulses at each interval [s]."""
    out = []
    for dt in intervals:
        tr, _ = simulate(model, [(AMP, 0.0, WIDTH), (0.0, 0.0, float(dt)), (AMP, 0.0, WIDTH)])
        a, _, _ = metrics.pulse_peaks(tr.t, tr.V, tr.I, tr.L)
        out.append(metrics.ppf_index(a[0], a[1]))
    return np.array(out)


def after_train(model: NLEM, n: int, uv: float, duration: float, samples: int = 400,
                v_read: float = AMP) -> tuple[np.ndarray, np.ndarray, float]:
    """``n`` paper pulses, then ``duration`` [s] of rest (``uv`` = 0) or UV (``uv`` W/m²).

    Returns:
        Times since the end of the last pulse [s], read current at ``v_read`` [A] and the
        pristine read current (baseline) [A].
    """
    _, st = simulate(model, train(n)[:-1])
    tr, _ = simulate(model, [(0.0, uv, duration)], state=st, substeps=samples, v_read=v_read)
    baseline = float(model.current(v_read, 0.0))
    return tr.t, tr.I, baseline


def iv_sweeps(model: NLEM, n_scans: int = 3, v_max: float = 6.0, dv: float = 0.1,
              rate: float = 10.0) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Consecutive dark 0 -> v_max -> 0 V staircase sweeps (D1, D13) from the erased state.

    Args:
        n_scans: Number of consecutive scans.
        v_max: Turning voltage [V].
        dv: Voltage step [V].
        rate: Sweep rate [V/s] (the paper gives none; 10 V/s assumed: 0.1 V steps of 10 ms).

    Returns:
        Per scan ``(V, I [A], L [photons/s])`` sampled at the end of every step.
    """
    up = np.arange(dv, v_max + dv / 2, dv)
    volts = np.r_[up, up[::-1][1:], 0.0]
    st = State(np.zeros(1), np.zeros(1))
    out = []
    for _ in range(n_scans):
        ws = []
        for v in volts:
            st = model._advance(st, [(float(v), 0.0, dv / rate)])
            ws.append(float(st.w[0]))
        w = np.array(ws)
        out.append((volts.copy(), model.current(volts, w), model.light(volts, w)))
    return out


def loop_area(v: np.ndarray, i: np.ndarray) -> float:
    """Signed loop integral of I dV [W] over one closed sweep (negative: counter-clockwise)."""
    vv = np.r_[0.0, v]
    ii = np.r_[0.0, i]
    return float(np.sum(0.5 * (ii[1:] + ii[:-1]) * np.diff(vv)))


def uv_read_ratio(model: NLEM, n_read: int = 10, v_read: float = 4.0) -> float:
    """D9: after 50 paper pulses, ``n_read`` read pulses (4 V, 30 ms) with UV (70 mW/cm²) on
    vs off; ratio of the last read currents (below 1: UV suppresses)."""
    _, st = simulate(model, train(50)[:-1])
    res = []
    for uv in (UV_PAPER, 0.0):
        segs = []
        for _ in range(n_read):
            segs += [(0.0, uv, INTERVAL), (v_read, uv, WIDTH)]
        tr, _ = simulate(model, segs, state=st)
        res.append(tr.I[-1])
    return float(res[0] / res[1])


def paper_metrics(model: NLEM) -> dict[str, float]:
    """D3-D12 computed on the compact model with the protocols above."""
    a10, b10 = train_peaks(model, 10)
    a30, b30 = train_peaks(model, 30)
    a50, b50 = train_peaks(model, 50)
    t, r, base = after_train(model, 50, 0.0, 400.0, samples=2000)
    t_uv, r_uv, _ = after_train(model, 50, UV_PAPER, 8.0, samples=1600)
    decay = metrics.natural_decay_time(t, r, base)
    reset = metrics.uv_reset_time(t_uv, r_uv, base)
    ppf = ppf_curve(model)
    fit = metrics.fit_ppf(PPF_INTERVALS, ppf)
    return {
        "D3_nl_current": metrics.nonlinearity(a10), "D4_nl_light": metrics.nonlinearity(b10),
        "D5_pearson": metrics.pearson(a10, b10),
        "D6_gain_current_10": metrics.gain(a10), "D6_gain_current_30": metrics.gain(a30),
        "D6_gain_current_50": metrics.gain(a50),
        "D7_gain_light_10": metrics.gain(b10), "D7_gain_light_30": metrics.gain(b30),
        "D7_gain_light_50": metrics.gain(b50),
        "D8_ppf_first": float(ppf[0]), "D8_ppf_last": float(ppf[-1]),
        "D8_ppf_n_exp": fit.n_exp, "D8_ppf_tau1_s": fit.taus[0],
        "D8_ppf_tau2_s": fit.taus[1] if fit.n_exp == 2 else float("nan"),
        "D9_uv_on_off_ratio": uv_read_ratio(model),
        "D10_decay_s": decay, "D11_uv_reset_s": reset, "D12_ratio": reset / decay,
        **iv_metrics(model),
    }


def iv_metrics(model: NLEM) -> dict[str, float]:
    """D1 (3 scans) and D13 (15 cyclic scans) from :func:`iv_sweeps`.

    D13 counts the scans whose conductance at the turning voltage differs from the previously
    counted one by more than the read noise (``model.variability.read`` relative).
    """
    scans = iv_sweeps(model, 15)
    out: dict[str, float] = {}
    for k, (v, i, lum) in enumerate(scans[:3]):
        top = int(np.argmax(v))
        out[f"D1_loop_area_W_scan{k + 1}"] = loop_area(v, i)
        out[f"D1_I_6V_A_scan{k + 1}"] = float(i[top])
        out[f"D1_L_6V_scan{k + 1}"] = float(lum[top])
    g = np.array([i[int(np.argmax(v))] / v.max() for v, i, _ in scans])
    out["D13_levels"] = float(metrics.distinguishable_levels(g, model.variability.read * g))
    return out


def write_device_h5(path, trace: Trace, area: float, protocol: str = "", config=None) -> None:
    """Write a compact trace in the physics data contract (``/trace/{t,V,uv,J,L}``, SI per m²).

    Used for tests of :func:`compact_model.fit.fit_physics` and as a stand-in when comparing.
    """
    from lemsim.io import atomic_h5

    with atomic_h5(path, config) as fh:
        g = fh.create_group("trace")
        g["t"] = trace.t
        g["V"] = trace.V
        g["uv"] = trace.uv
        g["J"] = trace.I / area
        g["L"] = trace.L / area
        fh.attrs["protocol"] = protocol
