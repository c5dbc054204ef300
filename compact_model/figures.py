"""Figures of the compact model: the paper's device panels (Fig. 2c, f, g; S15, S16) and the
fit report (physics vs compact traces, or compact vs paper metrics for the preset)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from compact_model import metrics, protocols  # noqa: E402
from compact_model.model import NLEM  # noqa: E402
from lemsim.io import save_figure  # noqa: E402

log = logging.getLogger(__name__)


def _save(fig, path: str | Path) -> Path:
    return save_figure(fig, path)


def fig2a_iv(m: NLEM, path: str | Path) -> Path:
    """Fig. 2a analogue: three consecutive dark 0 -> 6 -> 0 V sweeps (D1), current and light."""
    scans = protocols.iv_sweeps(m, 3)
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    ins = ax.inset_axes([0.12, 0.55, 0.35, 0.38])
    for k, (v, i, lum) in enumerate(scans):
        ax.plot(v, i * 1e6, color=f"C{k}", label=f"scan {k + 1}")
        ins.plot(v, lum, color=f"C{k}", lw=0.8)
    ax.set_xlabel("voltage (V)")
    ax.set_ylabel("current (µA)")
    ax.legend(fontsize=8, loc="lower right")
    ins.set_ylabel("L (photons/s)", fontsize=6)
    ins.tick_params(labelsize=5)
    ax.set_title("dark double sweeps at 10 V/s (counter-clockwise loops)", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def fig2c_epsc_epsb(m: NLEM, path: str | Path) -> Path:
    """Fig. 2c analogue: current and EL photon flux under 10 pulses (5 V, 30 ms)."""
    tr, _ = protocols.simulate(m, protocols.train(10), substeps=6)
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    ax.plot(tr.t * 1e3, tr.I * 1e6, color="tab:blue", drawstyle="steps-pre")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("current (µA)", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(tr.t * 1e3, tr.L, color="tab:red", drawstyle="steps-pre", alpha=0.8)
    ax2.set_ylabel("EL photon flux (photons/s)", color="tab:red")
    a, b, _ = metrics.pulse_peaks(tr.t, tr.V, tr.I, tr.L)
    ax.set_title(f"EPSC/EPSB, 10 pulses: NL_I = {metrics.nonlinearity(a):.2f}, "
                 f"NL_L = {metrics.nonlinearity(b):.2f}, r = {metrics.pearson(a, b):.4f}",
                 fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def fig2f_gains(m: NLEM, path: str | Path) -> Path:
    """Fig. 2f analogue: EPSC and EPSB gains A_N/A_1 vs pulse number, with the paper's points."""
    ns = np.arange(2, 51)
    a, b = protocols.train_peaks(m, 50)
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ax.plot(ns, a[ns - 1] / a[0], label="current (compact)", color="tab:blue")
    ax.plot(ns, b[ns - 1] / b[0], label="light (compact)", color="tab:red")
    ax.plot([10, 50], [1.38, 2.40], "s", color="tab:blue", mfc="none", label="current (paper)")
    ax.plot([10, 50], [1.57, 3.17], "o", color="tab:red", mfc="none", label="light (paper)")
    ax.set_xlabel("pulse number N")
    ax.set_ylabel("gain A_N / A_1 (1)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def fig2g_ppf(m: NLEM, path: str | Path) -> Path:
    """Fig. 2g analogue: PPF index vs pulse interval with the chosen exponential fit."""
    dt = protocols.PPF_INTERVALS
    ppf = protocols.ppf_curve(m, dt)
    fit = metrics.fit_ppf(dt, ppf)
    x = np.geomspace(dt[0], dt[-1], 200)
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ax.semilogx(dt, ppf * 100, "o", label="compact model")
    taus = ", ".join(f"{t:.3g} s" for t in fit.taus)
    ax.semilogx(x, fit(x) * 100, "-", label=f"{fit.n_exp}-exp fit, tau = {taus}")
    ax.set_xlabel("pulse interval ΔT (s)")
    ax.set_ylabel("PPF index (%)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def figs15_s16(m: NLEM, path_decay: str | Path, path_uv: str | Path) -> tuple[Path, Path]:
    """S15 / S16 analogues: read current after 50 pulses under dark rest and under UV."""
    t, r, base = protocols.after_train(m, 50, 0.0, 300.0, samples=1500)
    td = metrics.natural_decay_time(t, r, base)
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ax.plot(t, r * 1e6, label="read current at 5 V (compact)")
    ax.axhline(base * 1e6, color="gray", ls=":", label="pristine")
    ax.axvline(td, color="tab:red", ls="--", label=f"63.06 % lost: {td:.1f} s (paper 71.6 s)")
    ax.set_xlabel("time after 50 pulses (s)")
    ax.set_ylabel("current (µA)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    p1 = _save(fig, path_decay)
    t, r, base = protocols.after_train(m, 50, protocols.UV_PAPER, 5.0, samples=500)
    tu = metrics.uv_reset_time(t, r, base)
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ax.plot(t, r * 1e6, color="tab:purple", label="read current at 5 V, UV 70 mW/cm²")
    ax.axhline(base * 1e6, color="gray", ls=":", label="pristine")
    ax.axvline(tu, color="tab:red", ls="--",
               label=f"99 % erased: {tu:.2f} s (paper 2.52 s); ratio {100 * tu / td:.2f} %")
    ax.set_xlabel("UV exposure time (s)")
    ax.set_ylabel("current (µA)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return p1, _save(fig, path_uv)


def fit_report(nlem_json: str | Path, path: str | Path,
               trace_paths: Sequence[str | Path] = ()) -> Path:
    """Fit report: compact vs paper metrics (bars) and, with traces, one panel per physics
    protocol: current and light at the end of every pulse, physics (markers) vs the compact
    replay of the same waveform (lines), each normalised to the physics' first pulse."""
    from compact_model import fit, load

    doc = json.loads(Path(nlem_json).read_text(encoding="utf-8"))
    keys = [k for k, v in doc["metrics"].items() if v.get("paper")]
    rel = [doc["metrics"][k]["compact"] / doc["metrics"][k]["paper"] for k in keys]
    traces = []
    if trace_paths:
        m = load(str(nlem_json))
        traces = [t for t in fit.read_traces(trace_paths, m.params.area) if t.complete]
    ncol = min(1 + len(traces), 4)
    nrow = -(-(1 + len(traces)) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
    ax = axes[0, 0]
    ax.barh(keys, rel, color=["tab:green" if abs(x - 1) <= 0.1 else "tab:red" for x in rel])
    ax.axvline(1.0, color="k")
    ax.axvspan(0.9, 1.1, color="gray", alpha=0.2, label="±10 %")
    ax.set_xlabel("compact / paper (1)")
    ax.set_title(f"{doc['name']}: compact metrics vs paper", fontsize=9)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7)
    rms = doc.get("residuals", {}).get("rms_ln_residual", {})
    for k, tr in enumerate(traces, start=1):
        ax = axes[k // ncol, k % ncol]
        sv, _, _, ends = fit.segments_of(tr.t, tr.V, tr.uv)
        _, i_m, l_m = fit.replay(m.params, tr.t, tr.V, tr.uv, sample_ends_only=True)
        on = sv > m.params.v_bi
        t_on = tr.t[ends][on]
        for y_p, y_m, c, lab in ((tr.I[ends][on], i_m[on], "tab:blue", "I"),
                                 (tr.L[ends][on], l_m[on], "tab:red", "L")):
            if y_p.size == 0 or y_p[0] <= 0:
                continue
            ax.plot(t_on, y_p / y_p[0], "o", ms=3, color=c, label=f"{lab} physics")
            ax.plot(t_on, y_m / y_p[0], "-", lw=1, color=c, label=f"{lab} compact")
        title = tr.name + (f" (rms ln res. {rms[tr.name]:.3f})" if tr.name in rms else "")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("end-of-pulse value / physics pulse 1 (1)")
        if t_on.size and t_on.max() > 5.0:  # long rests (decay, PPF 10 s): compress
            ax.set_xscale("symlog", linthresh=1.0)
        ax.legend(fontsize=6)
    for k in range(1 + len(traces), nrow * ncol):
        axes[k // ncol, k % ncol].axis("off")
    fig.tight_layout()
    return _save(fig, path)


def all_figures(m: NLEM, out_dir: str | Path, prefix: str = "compact_") -> list[Path]:
    """Write every device panel of the compact model into ``out_dir``."""
    out = Path(out_dir)
    paths = [fig2a_iv(m, out / f"{prefix}fig2a_iv.png"),
             fig2c_epsc_epsb(m, out / f"{prefix}fig2c_epsc_epsb.png"),
             fig2f_gains(m, out / f"{prefix}fig2f_gains.png"),
             fig2g_ppf(m, out / f"{prefix}fig2g_ppf.png")]
    paths += list(figs15_s16(m, out / f"{prefix}figS15_decay.png",
                             out / f"{prefix}figS16_uv_reset.png"))
    return paths


def figures_from_json(nlem_json: str | Path, out_dir: str | Path) -> list[Path]:
    """Device panels of the model stored in ``nlem_json`` (rule ``compact_figures``)."""
    from compact_model import load

    m = load(str(nlem_json))
    log.info("compact figures of %s into %s", m.name, out_dir)
    return all_figures(m, out_dir)
