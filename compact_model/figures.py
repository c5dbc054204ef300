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

from compact_model import protocols
from compact_model.model import NLEM  # noqa: E402
from lemsim import metrics  # noqa: E402
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


#: Paper D rows of the per-protocol metric names of :func:`compact_model.fit.protocol_metrics`.
_D_OF = {"nl_current": "D3", "nl_light": "D4", "pearson": "D5", "gain_current": "D6",
         "gain_light": "D7", "ppf_index": "D8"}


def _d_label(key: str) -> str:
    """``"pulses_10.gain_current_10"`` -> ``"D6 gain_current_10 (pulses_10)"``."""
    proto, metric = key.split(".", 1)
    if metric == "gain_lost_at_probe":
        d = "D11" if proto.startswith("uv") else "D10+D11" if proto == "full" else "D10"
    elif metric in ("charge_decay_s", "rest_memory_left"):
        d = "D10"
    elif metric in ("uv_reset_s", "uv_t63_s"):
        d = "D11"
    else:
        d = next((v for k, v in _D_OF.items() if metric.startswith(k)), "")
    return f"{d} {metric} ({proto})".strip()


def _metrics_panel(ax, doc: dict) -> None:
    """Relative difference [%] of every fitted metric, compact vs physics (physics fit; the
    10/30/50-pulse duplicates of a train's own numbers left out) or compact vs paper."""
    agree = doc.get("physics_agreement")
    if agree:
        diffs = {**agree["relative_difference"]}
        excluded = agree.get("excluded", {})
        both = {**diffs, **excluded}
        keys = sorted((k for k in both
                       if not (k.rsplit("_", 1)[-1] in ("10", "30", "50")
                               and k.rsplit("_", 1)[0] in both)), key=_d_label)
        rel = [100 * both[k] for k in keys]
        colors = ["lightgray" if k in excluded else
                  "tab:green" if abs(r) <= 100 * agree.get("tolerances", {}).get(
                      k, agree["tolerance"]) else "tab:red"
                  for k, r in zip(keys, rel, strict=True)]
        labels = [_d_label(k) + (" [not fitted: UV]" if k in excluded else "") for k in keys]
        ref = doc.get("fitted_to", "physics")
        ax.set_xlabel(f"compact / {ref} - 1 (%)")
        ax.set_title(f"{doc['name']}: compact vs {ref}, {len(diffs)} fitted metrics (worst "
                     f"{100 * max((abs(d) for d in diffs.values()), default=0):.1f} %)",
                     fontsize=9)
    else:
        keys = [k for k, v in doc["metrics"].items() if v.get("paper")]
        rel = [100 * (doc["metrics"][k]["compact"] / doc["metrics"][k]["paper"] - 1)
               for k in keys]
        colors = ["tab:green" if abs(x) <= 10 else "tab:red" for x in rel]
        labels = keys
        ax.set_xlabel("compact / paper - 1 (%)")
        ax.set_title(f"{doc['name']}: compact metrics vs paper", fontsize=9)
    shown = [r for r, c in zip(rel, colors, strict=True) if c != "lightgray" and np.isfinite(r)]
    lim = max(15.0, 1.1 * max((abs(r) for r in shown), default=0.0))
    # bars beyond the axis (not fitted, or infinite) end at its edge and give their value
    labels = [lab if abs(r) <= lim else f"{lab} (= {r:.3g} %)"
              for lab, r in zip(labels, rel, strict=True)]
    rel = [r if abs(r) <= lim else (lim if not r < 0 else -lim) for r in rel]
    ax.barh(labels, rel, color=colors)
    ax.axvline(0.0, color="k", lw=0.8)
    ax.axvspan(-10, 10, color="gray", alpha=0.2, label="±10 %")
    ax.set_xlim(-lim, lim)
    ax.tick_params(axis="y", labelsize=max(5, min(8, int(160 / max(len(labels), 1)))))
    ax.legend(fontsize=7)


def _trace_panel(ax, tr, p, rms: float | None, skip: dict | None, ref: str = "physics"
                 ) -> None:
    """Per-pulse peak current [mA] and light [photons/s] of one protocol: physics or
    measurement (``ref``; markers, edge spike left out) vs the compact replay of the same
    waveform (lines)."""
    from compact_model import fit

    _, i_m, l_m = fit.replay(p, tr.t, tr.V, tr.uv)
    a_p, b_p, t_p = fit.trace_peaks(tr)
    a_m, b_m, t_m = fit.trace_peaks(tr, i_m, l_m)
    ax.plot(t_p, a_p * 1e3, "o", mfc="none", ms=4, color="tab:blue", label=f"I {ref}")
    ax.plot(t_m, a_m * 1e3, "-", lw=1.2, color="tab:blue", label="I compact")
    ax.set_ylabel("peak current per pulse (mA)", color="tab:blue")
    ax.set_xlabel("pulse time (s)")
    ax2 = ax.twinx()
    ax2.plot(t_p, b_p, "s", mfc="none", ms=4, color="tab:red", label=f"L {ref}")
    ax2.plot(t_m, b_m, "--", lw=1.2, color="tab:red", label="L compact")
    ax2.set_ylabel("peak EL photon flux per pulse (photons/s)", color="tab:red")
    if skip:
        ax.axvspan(skip["uv_onset_s"], float(tr.t[-1]), color="violet", alpha=0.15)
        ax.text(0.02, 0.96, "shaded: after the UV onset, not fitted\n(the physics UV raised "
                "the read)", transform=ax.transAxes, ha="left", va="top", fontsize=6,
                color="purple")
    span = max(float(t_p.max()), float(t_m.max())) if t_p.size else 0.0
    if span > 5.0:  # long rests (decay, PPF 10 s): compress
        ax.set_xscale("symlog", linthresh=1.0)
    title = tr.name + (f" (rms ln residual {rms:.2g}" if rms is not None else " (")
    excl = (skip or {}).get("rms_ln_residual_excluded")
    title += (f"; after UV, not fitted: {excl:.2g})" if excl is not None else ")")
    title = title.replace(" ()", "")
    ax.set_title(title, fontsize=8)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=6, loc="lower right", framealpha=0.6)


def _rest_panel(ax, tr, p) -> bool:
    """Trapped charge over the first dark rest of a trace, physics ``Q/Q0`` vs compact
    ``w/w0``, with both D10 (63.06 % lost); False when the trace has no such rest."""
    from compact_model import fit

    dec = fit.rest_decay(p, tr)
    if dec is None:
        return False
    tt = np.geomspace(dec[0][0], dec[0][-1] * 5, 400)
    full = fit.rest_decay(p, tr, tt[tt <= float(tr.t[fit.dark_rest(tr, p.v_bi)[1]]
                                                 - tr.t[fit.dark_rest(tr, p.v_bi)[0]])])
    t, qp, qc = full
    ax.semilogx(t, qp, "o", ms=2.5, mfc="none", color="k", label="physics Q/Q0")
    ax.semilogx(t, qc, "-", color="tab:green", label="compact w/w0")
    for frac, c, lab in ((qp, "k", "physics"), (qc, "tab:green", "compact")):
        d10 = fit.charge_decay_time(t, frac)
        if np.isfinite(d10):
            ax.axvline(d10, color=c, ls=":", lw=1, label=f"D10 {lab}: {d10:.3g} s")
    ax.axhline(1 - metrics.DECAY_LOST, color="gray", lw=0.6)
    ax.set_xlabel("time in the dark rest (s)")
    ax.set_ylabel("trapped charge / value at rest start (1)")
    ax.set_title(f"{tr.name}: trapped-charge relaxation (rest fitted up to 2x D10)", fontsize=8)
    ax.legend(fontsize=6)
    return True


def fit_report(nlem_json: str | Path, path: str | Path,
               trace_paths: Sequence[str | Path] = (), traces: Sequence = ()) -> Path:
    """Fit report.

    First panel: for a physics fit, compact/physics of every fitted D3-D11 metric per protocol
    (green within 10 %, red outside, gray for the UV metrics of traces whose UV the model
    cannot follow); for the preset, compact/paper. Then, with traces, one panel per physics
    protocol: per-pulse peak current [mA] and light [photons/s], physics (markers) vs the
    compact replay of the same waveform (lines); for traces with the physics' trapped charge
    and a dark rest, its relaxation (physics Q/Q0 vs compact w/w0, D10 marked); for a physics
    fit a last panel gives the compact model's paper metrics next to the paper (it is not
    fitted to them).

    Args:
        nlem_json: The fitted model.
        path: Output PNG.
        trace_paths: Physics HDF5 traces the model was fitted to.
        traces: Already-read :class:`~compact_model.fit.DeviceTrace` objects (a measurement,
            :mod:`compact_model.measured`), drawn after those of ``trace_paths``.
    """
    from compact_model import fit, load

    doc = json.loads(Path(nlem_json).read_text(encoding="utf-8"))
    m = load(str(nlem_json))
    traces = ([t for t in fit.read_traces(trace_paths, m.params.area) if t.complete]
              if trace_paths else []) + list(traces)
    physics = bool(doc.get("physics_agreement"))
    rests = [t for t in traces if t.Q is not None and fit.rest_decay(m.params, t) is not None]
    n = 1 + len(traces) + len(rests) + (1 if physics else 0)
    ncol = min(n, 3)
    nrow = -(-n // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.8 * nrow), squeeze=False)
    flat = list(axes.ravel())
    _metrics_panel(flat[0], doc)
    res = doc.get("residuals", {})
    rms = res.get("rms_ln_residual", {})
    skips = res.get("uv_not_fitted", {}) or {}
    for ax, tr in zip(flat[1:], traces, strict=False):
        try:
            _trace_panel(ax, tr, m.params, rms.get(tr.name), skips.get(tr.name),
                         doc.get("fitted_to", "physics"))
        except ValueError as err:  # a trace without pulses
            ax.set_title(f"{tr.name}: {err}", fontsize=7)
            ax.axis("off")
    k = 1 + len(traces)
    for tr in rests:
        if _rest_panel(flat[k], tr, m.params):
            k += 1
    if physics:
        ax = flat[k]
        k += 1
        _metrics_panel(ax, {**doc, "physics_agreement": None})
        ax.set_title(f"compact (fitted to the {doc.get('fitted_to', 'physics')}) vs paper",
                     fontsize=9)
    for ax in flat[k:]:
        ax.axis("off")
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
    from compact_model.loading import load

    m = load(str(nlem_json))
    log.info("compact figures of %s into %s", m.name, out_dir)
    return all_figures(m, out_dir)
