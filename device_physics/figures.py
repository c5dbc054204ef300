"""Figures of the device-physics studies, drawn from physics traces (device HDF5 contract).

Owns the paper-panel analogues of the drift-diffusion traces (Fig. 2a I-V hysteresis, 2c
EPSC/EPSB, 2d NL, 2f gains, 2g PPF, 2h UV suppression, S15/S16 natural decay vs UV reset),
the Fig. 3 analogue (band diagram, densities, trapped charge and field in the dark and under
UV), the mechanism bar chart (Fig. S8 analogue) and the sweep plots. Style follows
:mod:`compact_model.figures` (single panels ~5 x 3.5 in, PNG at 120 dpi, units on every axis).

Units shown: current density in mA/cm^2 (1 A/m^2 = 0.1 mA/cm^2), EL photon flux in
photons/(s cm^2), trapped charge in uC/cm^2, energies in eV relative to the cathode's Fermi
level, fields in MV/cm. Per-pulse reads are taken at the end of each pulse (conduction
current), as in :func:`device_physics.studies.pulse_reads`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lemsim import metrics as M  # noqa: E402
from lemsim.io import save_figure  # noqa: E402

log = logging.getLogger(__name__)

#: Paper values drawn next to the simulation (PAPER_TARGETS D3, D4, D6, D7, D10, D11).
PAPER = {"NL_J": 0.20, "NL_L": 0.27, "gain_J": {10: 1.38, 50: 2.40},
         "gain_L": {10: 1.57, 50: 3.17}, "decay_s": 71.6, "uv_reset_s": 2.52}
J_UNIT = 0.1  # A/m^2 -> mA/cm^2
L_UNIT = 1e-4  # photons/(s m^2) -> photons/(s cm^2)
Q_UNIT = 1e2  # C/m^2 -> uC/cm^2


def _save(fig: Any, path: str | Path) -> Path:
    return save_figure(fig, path)


def _empty(path: str | Path, title: str, why: str) -> Path:
    """A placeholder panel saying why it is empty (missing or failed trace)."""
    fig, ax = plt.subplots(figsize=(5.0, 3.5))
    ax.axis("off")
    ax.text(0.5, 0.55, title, ha="center", va="center", fontsize=10, weight="bold")
    ax.text(0.5, 0.4, why, ha="center", va="center", fontsize=8, wrap=True)
    return _save(fig, path)


def _load(path: str | Path) -> tuple[dict[str, np.ndarray], Any, str]:
    from device_physics.studies import read_h5_trace

    arrays, pr, attrs = read_h5_trace(path)
    return arrays, pr, str(attrs.get("status", "complete"))


def _status_note(status: str) -> str:
    return "" if status == "complete" else f"\n[partial trace: {status[:90]}]"


def _current(a: Mapping[str, np.ndarray]) -> np.ndarray:
    return np.asarray(a["J_conduction"] if "J_conduction" in a else a["J"])


# ------------------------------------------------------------------------ paper panels

def fig2a_iv(h5: str | Path, path: str | Path) -> Path:
    """Fig. 2a analogue: consecutive dark I-V scans (current, light inset)."""
    a, pr, status = _load(h5)
    t, v, j, lum = a["t"], a["V"], _current(a), a["L"]
    scans = [s for s in pr.segments if s.kind == "sweep"]
    if not scans:
        return _empty(path, "Fig. 2a (I-V hysteresis)", f"protocol {pr.name} has no sweep")
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    ins = ax.inset_axes([0.13, 0.55, 0.35, 0.38])
    for k, s in enumerate(scans):
        m = (t >= s.t0) & (t <= s.t1)
        ax.plot(v[m], j[m] * J_UNIT, color=f"C{k}", label=f"scan {k + 1}")
        ins.plot(v[m], lum[m] * L_UNIT, color=f"C{k}", lw=0.8)
    ax.set_xlabel("voltage (V)")
    ax.set_ylabel("current density (mA/cm²)")
    ax.legend(fontsize=8, loc="lower right")
    ins.set_ylabel("L (photons/(s cm²))", fontsize=6)
    ins.tick_params(labelsize=5)
    ax.set_title(f"physics: dark I-V scans ({pr.name}){_status_note(status)}", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def conduction_trace(a: Mapping[str, np.ndarray]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """``(t, J, L, what)``: the conduction current of a trace [A/m2] with its light, without
    the displacement spikes at the pulse edges: ``/trace/J_conduction`` when the file has it,
    else the terminal current without the samples within
    :data:`lemsim.metrics.SETTLE_S` after each rising and falling edge
    (:func:`lemsim.metrics.drop_edge_transients`, the rule of the per-pulse peaks)."""
    if "J_conduction" in a:
        return (np.asarray(a["t"]), np.asarray(a["J_conduction"]), np.asarray(a["L"]),
                "conduction current")
    t, _, j, lum = M.drop_edge_transients(a["t"], a["V"], a["J"], a["L"], falling=True)
    return t, j, lum, f"terminal current, {M.SETTLE_S * 1e3:g} ms after each edge left out"


def fig2c_figure(h5: str | Path) -> Any:
    """Fig. 2c analogue as a Figure: the EPSC (conduction current) and EPSB (EL) under a pulse
    train with the per-pulse reads (end of each pulse), NL and Pearson r.

    The current axis is set by the conduction current; the displacement spikes of the
    terminal current at the pulse edges (orders of magnitude larger, and not what a
    source-measure unit reads) are clipped, with their size in a note and the first edge's
    spike in an inset.
    """
    from device_physics.studies import pulse_reads, trace_metrics

    a, pr, status = _load(h5)
    met = trace_metrics(a, pr)
    tc, jc, lc, what = conduction_trace(a)
    rd = pulse_reads(a, pr)
    ok = np.isfinite(rd["J"])
    fig, ax = plt.subplots(figsize=(6.2, 3.9))
    ax.plot(tc * 1e3, jc * J_UNIT, color="tab:blue", lw=0.9, label=f"EPSC ({what})")
    ax.plot(rd["t"][ok] * 1e3, rd["J"][ok] * J_UNIT, "o", ms=3.5, mfc="none", color="tab:blue",
            label="per-pulse read (end of pulse)")
    lo, hi = float(min(jc.min(), 0.0)), float(jc.max())
    pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi), 1e-12)
    ax.set_ylim((lo - pad) * J_UNIT, (hi + pad) * J_UNIT)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("current density (mA/cm²)", color="tab:blue")
    jt = np.asarray(a["J"])
    out = (jt > hi + pad) | (jt < lo - pad)
    if out.any():
        ext = float(jt[np.argmax(np.abs(jt))])
        ax.text(0.01, 0.99, f"displacement spikes at the pulse edges (up to {ext * J_UNIT:+.3g} "
                "mA/cm²) clipped; inset: first edge, full scale", transform=ax.transAxes,
                ha="left", va="top", fontsize=6, color="0.3")
        w = pr.pulse_windows()
        t0 = float(w[0][0]) if len(w) else float(a["t"][0])
        m = (a["t"] >= t0) & (a["t"] <= t0 + 5 * M.SETTLE_S)
        ins = ax.inset_axes([0.62, 0.08, 0.34, 0.32])
        ins.plot((a["t"][m] - t0) * 1e3, jt[m] * J_UNIT, color="0.4", lw=0.8)
        ins.set_xlabel("time after edge (ms)", fontsize=5)
        ins.set_ylabel("J (mA/cm²)", fontsize=5)
        ins.tick_params(labelsize=5)
    ax2 = ax.twinx()
    ax2.plot(tc * 1e3, lc * L_UNIT, color="tab:red", lw=0.9, alpha=0.8, label="EPSB (EL)")
    ax2.plot(rd["t"][ok] * 1e3, rd["L"][ok] * L_UNIT, "s", ms=3.5, mfc="none", color="tab:red")
    ax2.set_ylabel("EL photon flux (photons/(s cm²))", color="tab:red")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=6, loc="center left", framealpha=0.7)
    def num(key: str, fmt: str) -> str:
        v = met.get(key, np.nan)
        return format(v, fmt) if np.isfinite(v) else "n/a"

    ax.set_title(f"physics EPSC/EPSB ({pr.name}): NL_I = {num('NL_J', '.2f')}, "
                 f"NL_L = {num('NL_L', '.2f')}, r = {num('pearson', '.4f')}"
                 f"{_status_note(status)}", fontsize=8, pad=12)
    fig.tight_layout()
    return fig


def fig2c_epsc_epsb(h5: str | Path, path: str | Path) -> Path:
    """Fig. 2c analogue written to ``path`` (:func:`fig2c_figure`)."""
    return _save(fig2c_figure(h5), path)


def _train_reads(h5: str | Path) -> tuple[np.ndarray, np.ndarray, str, str]:
    from device_physics.studies import _seg_groups, pulse_reads

    a, pr, status = _load(h5)
    rd = pulse_reads(a, pr)
    groups = _seg_groups(pr)
    first = next(iter(groups.values())) if groups else []
    j, lum = rd["J"][first], rd["L"][first]
    ok = np.isfinite(j)
    return j[ok], lum[ok], pr.name, status


def fig2d_nl(h5: str | Path, path: str | Path) -> Path:
    """Fig. 2d analogue: normalised per-pulse current and light vs pulse number, the chord
    from the first to the last pulse and the NL (PAPER_TARGETS D3) of each."""
    j, lum, name, status = _train_reads(h5)
    if j.size < 3:
        return _empty(path, "Fig. 2d (NL)", f"{name}: fewer than 3 complete pulses")
    k = np.arange(1, j.size + 1)
    fig, ax = plt.subplots(figsize=(4.6, 3.5))
    for y, col, lab, key in ((j, "tab:blue", "current", "NL_J"), (lum, "tab:red", "light",
                                                                  "NL_L")):
        if y[0] <= 0:
            continue
        g = y / y[0]
        nl = M.nonlinearity(y)
        ax.plot(k, g, "o", ms=3, color=col,
                label=f"{lab}: NL = {nl:.2f} (paper {PAPER[key]:.2f})")
        ax.plot([1, k[-1]], [g[0], g[-1]], "--", color=col, lw=0.8)
    ax.set_xlabel("pulse number")
    ax.set_ylabel("normalised response A_k / A_1 (1)")
    ax.legend(fontsize=7)
    ax.set_title(f"physics NL over {j.size} pulses ({name}){_status_note(status)}", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def fig2f_gains(h5: str | Path, path: str | Path) -> Path:
    """Fig. 2f analogue: gains A_N / A_1 vs N, with the paper's points at 10 and 50 pulses."""
    j, lum, name, status = _train_reads(h5)
    if j.size < 2:
        return _empty(path, "Fig. 2f (gains)", f"{name}: fewer than 2 complete pulses")
    n = np.arange(1, j.size + 1)
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ax.plot(n, j / j[0], "o-", ms=3, color="tab:blue", label="current (physics)")
    if lum[0] > 0:
        ax.plot(n, lum / lum[0], "s-", ms=3, color="tab:red", label="light (physics)")
    # the paper's points only where the train reaches them: a 5-pulse train drawn to N = 50
    # would squeeze the physics into a flat line at the left edge
    shown = [k for k in PAPER["gain_J"] if k <= j.size]
    ax.plot(shown, [PAPER["gain_J"][k] for k in shown], "s", color="tab:blue", mfc="none",
            ms=7, label="current (paper)" if shown else None)
    ax.plot(shown, [PAPER["gain_L"][k] for k in shown], "o", color="tab:red", mfc="none",
            ms=7, label="light (paper)" if shown else None)
    missing = [k for k in PAPER["gain_J"] if k > j.size]
    if missing:
        ax.text(0.02, 0.98, "paper (beyond this train): " + ", ".join(
            f"N = {k}: current {PAPER['gain_J'][k]}, light {PAPER['gain_L'][k]}"
            for k in missing), transform=ax.transAxes, ha="left", va="top", fontsize=6)
    ax.set_xlabel("pulse number N")
    ax.set_ylabel("gain A_N / A_1 (1)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"physics gains ({name}){_status_note(status)}", fontsize=8, pad=10)
    fig.tight_layout()
    return _save(fig, path)


def ppf_points(h5s: Sequence[str | Path]) -> list[tuple[float, float, float]]:
    """(interval s, PPF of current, PPF of light) of paired-pulse traces (complete pairs)."""
    from device_physics.studies import pulse_reads

    pts = []
    for h in h5s:
        a, pr, _ = _load(h)
        w = pr.pulse_windows()
        if len(w) < 2:
            continue
        rd = pulse_reads(a, pr)
        if not np.all(np.isfinite(rd["J"][:2])):
            continue
        ppf_l = float(M.ppf_index(rd["L"][0], rd["L"][1])) if rd["L"][0] > 0 else np.nan
        pts.append((float(w[1][0] - w[0][1]), float(M.ppf_index(rd["J"][0], rd["J"][1])),
                    ppf_l))
    return sorted(pts)


def fig2g_ppf(h5s: Sequence[str | Path], path: str | Path) -> Path:
    """Fig. 2g analogue: PPF index (A2 - A1)/A1 vs pulse interval, with the exponential fit
    of :func:`lemsim.metrics.fit_ppf` when there are 3 or more intervals."""
    pts = ppf_points(h5s)
    if not pts:
        return _empty(path, "Fig. 2g (PPF)", "no complete paired-pulse trace")
    dt, pj, pl = (np.array(c) for c in zip(*pts, strict=True))
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ax.semilogx(dt * 1e3, pj * 100, "o", color="tab:blue", label="current (physics)")
    if np.isfinite(pl).any():
        ax.semilogx(dt * 1e3, pl * 100, "s", color="tab:red", mfc="none",
                    label="light (physics)")
    note = ""
    if len(dt) >= 3:
        try:
            f = M.fit_ppf(dt, pj)
            xx = np.geomspace(dt.min(), dt.max(), 100)
            ax.semilogx(xx * 1e3, f(xx) * 100, "-", color="tab:blue", lw=0.8,
                        label=f"{f.n_exp}-exp fit, tau = "
                              + ", ".join(f"{t * 1e3:.3g} ms" for t in f.taus))
        except ValueError as exc:
            note = f" (fit failed: {exc})"
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlabel("pulse interval (ms)")
    ax.set_ylabel("PPF index (A2 - A1)/A1 (%)")
    ax.legend(fontsize=7)
    ax.set_title(f"physics paired-pulse facilitation{note}", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def fig2h_uv(h5: str | Path, path: str | Path) -> Path:
    """Fig. 2h analogue: per-pulse current and light reads before, under and after UV,
    normalised to the last dark read (UV period shaded)."""
    from device_physics.studies import _seg_groups, pulse_reads

    a, pr, status = _load(h5)
    rd = pulse_reads(a, pr)
    groups = _seg_groups(pr)
    reads = [g for g in ("dark_read", "uv_read", "after_read") if g in groups]
    if "dark_read" not in groups or "uv_read" not in groups:
        return _empty(path, "Fig. 2h (UV suppression)",
                      f"{pr.name}: needs pulse steps named dark_read and uv_read")
    idx = [i for g in reads for i in groups[g]]
    base = rd["J"][groups["dark_read"][-1]]
    lbase = rd["L"][groups["dark_read"][-1]]
    t = rd["t"][idx]
    fig, ax = plt.subplots(figsize=(5.0, 3.5))
    ax.plot(t, rd["J"][idx] / base, "o-", ms=3, color="tab:blue", label="current")
    if lbase > 0:
        ax.plot(t, rd["L"][idx] / lbase, "s-", ms=3, color="tab:red", mfc="none",
                label="light")
    u = groups["uv_read"]
    w = pr.pulse_windows()
    ax.axvspan(w[u[0]][0], w[u[-1]][1], color="violet", alpha=0.15, label="UV on")
    ax.axhline(1.0, color="0.6", lw=0.6)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("read / last dark read (1)")
    ax.legend(fontsize=7)
    ax.set_title(f"physics UV suppression of the reads ({pr.name}){_status_note(status)}",
                 fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def _memory_curve(h5: str | Path, kind: str) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(time from the start of the rest/UV s, remaining fraction of the trapped-charge gain,
    status) for ``kind`` ``rest`` (first dark rest >= 1 s) or ``uv`` (first UV exposure)."""
    a, pr, status = _load(h5)
    t = a["t"]
    q = a["Qt_p"] - a["Qt_n"]
    q0 = q[0]
    if kind == "uv":
        on = a["uv"] > 0
        if not on.any():
            return None
        i0 = max(int(np.argmax(on)) - 1, 0)
        off = np.flatnonzero(~on[i0 + 1:])
        i1 = i0 + 1 + (int(off[0]) if off.size else int(on[i0 + 1:].size))
        m = np.arange(i0, i1)
    else:
        seg = next((s for s in pr.segments if s.kind == "rest" and s.t1 - s.t0 >= 1.0), None)
        if seg is None:
            return None
        m = np.flatnonzero((t >= seg.t0 - 1e-12) & (t <= seg.t1 + 1e-12))
    if m.size < 2 or q[m[0]] == q0:
        return None
    return t[m] - t[m[0]], (q[m] - q0) / (q[m[0]] - q0), status  # sign-free (holes/electrons)


def figS15_S16(decay_h5: str | Path | None, uv_h5: str | Path | None,
               path: str | Path) -> Path:
    """S15/S16 analogue: remaining fraction of the trapped-charge gain during the natural
    decay (dark, 0 V) and under UV, with the 63.06 % and 99 % marks and the paper's times."""
    fig, axs = plt.subplots(1, 2, figsize=(8.0, 3.4))
    for ax, h5, kind, lost, key, lab in (
            (axs[0], decay_h5, "rest", M.DECAY_LOST, "decay_s", "natural decay (dark, 0 V)"),
            (axs[1], uv_h5, "uv", M.UV_ERASED, "uv_reset_s", "UV reset")):
        cur = _memory_curve(h5, kind) if h5 is not None else None
        if cur is None:
            ax.text(0.5, 0.5, f"{lab}: no trace with a trapped-charge gain", ha="center",
                    transform=ax.transAxes, fontsize=8)
            ax.set_axis_off()
            continue
        tt, frac, status = cur
        tl = M.loss_time(tt, frac, 0.0, lost)
        ax.plot(tt, frac * 100, color="tab:purple")
        ax.axhline((1 - lost) * 100, color="0.5", ls=":", lw=0.8)
        if np.isfinite(tl):
            ax.axvline(tl, color="tab:purple", ls="--", lw=0.8)
        ax.set_xscale("symlog", linthresh=1e-3)
        ax.set_xlim(0.0, float(tt[-1]) * 1.05)  # no negative times on the symlog axis
        ax.set_xlabel("time (s)")
        ax.set_ylabel("trapped-charge gain left (%)")
        when = (f"at {tl:.3g} s" if np.isfinite(tl)
                else f"not reached in this {tt[-1]:.3g} s trace")
        ax.set_title(f"{lab}: {lost * 100:.2f} % lost {when} "
                     f"(paper {PAPER[key]} s){_status_note(status)}", fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def paper_panels(traces: Mapping[str, str | Path], outs: Mapping[str, str | Path]) -> dict:
    """Draw the panels ``outs`` (keys ``fig2a, fig2c, fig2d, fig2f, fig2g, fig2h, figS15_S16``)
    from the traces ``{protocol name: HDF5}``; roles come from the protocol names (``iv_*``,
    ``pulses_*`` (fewest pulses for 2c, most for 2d/2f), ``ppf_*``, ``decay*``, ``uv_reset*``,
    ``mechanism*``; a ``_smoke`` suffix is ignored). A panel without its trace is a placeholder
    saying so. Returns {panel: path}."""
    def base(n: str) -> str:
        return n[:-6] if n.endswith("_smoke") else n

    roles: dict[str, list[tuple[str, Path]]] = {}
    for name, p in traces.items():
        b = base(name)
        role = next((r for r in ("iv", "pulses", "ppf", "decay", "uv_reset", "mechanism")
                     if b.startswith(r)), None)
        if role is not None:
            roles.setdefault(role, []).append((b, Path(p)))

    def pick(role: str, most: bool | None = None) -> Path | None:
        cand = roles.get(role, [])
        if not cand:
            return None
        if most is None:
            return cand[0][1]
        from device_physics.studies import read_h5_trace

        counts = [(len(read_h5_trace(p)[1].pulse_windows()), p) for _, p in cand]
        return (max if most else min)(counts, key=lambda c: c[0])[1]

    done: dict[str, Path] = {}
    jobs = {"fig2a": (fig2a_iv, pick("iv")), "fig2c": (fig2c_epsc_epsb, pick("pulses", False)),
            "fig2d": (fig2d_nl, pick("pulses", True)),
            "fig2f": (fig2f_gains, pick("pulses", True)),
            "fig2h": (fig2h_uv, pick("mechanism"))}
    for key, (fn, h5) in jobs.items():
        if key not in outs:
            continue
        try:
            done[key] = fn(h5, outs[key]) if h5 is not None else _empty(
                outs[key], key, "no trace of this protocol in studies.figure_protocols")
        except (ValueError, KeyError, OSError) as exc:
            log.error("%s: %s", key, exc)
            done[key] = _empty(outs[key], key, f"failed: {exc}")
    if "fig2g" in outs:
        done["fig2g"] = fig2g_ppf([p for _, p in roles.get("ppf", [])], outs["fig2g"])
    if "figS15_S16" in outs:
        done["figS15_S16"] = figS15_S16(pick("decay"), pick("uv_reset"), outs["figS15_S16"])
    return done


# ------------------------------------------------------------------------ studies

def mechanism_bars(rows: Sequence[Mapping[str, Any]], path: str | Path,
                   verdict: str = "") -> Path:
    """Fig. S8 analogue: change of the read current (a) and light (b) under UV per stack, in
    absolute units (a control without emitter or conduction has a dark value near zero, so a
    relative change says nothing there); the relative change is written on each bar."""
    names = [str(r["stack"]) for r in rows]
    x = np.arange(len(names))

    def col(key: str) -> np.ndarray:
        return np.array([float(r.get(key, float("nan"))) for r in rows])

    di, dl = col("dI_uv_A_m2"), col("dL_uv_ph_s_m2")
    ri, rl = col("dI_uv") * 100, col("dL_uv") * 100
    fig, axs = plt.subplots(1, 2, figsize=(max(7.0, 1.3 * len(names) + 3), 3.8))
    for ax, d, rel, color, lab, unit, lin in (
            (axs[0], di, ri, "tab:blue", "(a) read current", "ΔI under UV (A/m²)", 1.0),
            (axs[1], dl, rl, "tab:red", "(b) read light", "ΔL under UV (photons/(s m²))",
             1e17)):
        ax.bar(x, np.nan_to_num(d), 0.6, color=color)
        for xi, (v, r) in enumerate(zip(d, rel, strict=True)):
            txt = "n/a" if not np.isfinite(v) else (f"{r:+.3g} %" if abs(r) < 1e4 else "dark ≈ 0")
            ax.text(xi, 0, txt, ha="center", va="bottom" if (v >= 0 or not np.isfinite(v))
                    else "top", fontsize=6, rotation=90)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_yscale("symlog", linthresh=lin)
        fin = d[np.isfinite(d)]
        if fin.size:
            lo, hi = float(fin.min()), float(fin.max())
            ax.set_ylim(3 * lo if lo < -lin else -lin, 3 * hi if hi > lin else lin)
        ax.set_xticks(x, names, rotation=30, ha="right", fontsize=7)
        ax.set_ylabel(unit)
        ax.set_title(lab, fontsize=8)
    fig.suptitle(verdict, fontsize=7, wrap=True)
    fig.tight_layout()
    return _save(fig, path)


def _layer_lines(ax: Any, prof: Mapping[str, Any]) -> None:
    xi = np.asarray(prof["interfaces"]) * 1e9
    for v in xi[1:-1]:
        ax.axvline(v, color="0.75", lw=0.6)


def profiles_figure(prof: Mapping[str, Any], path: str | Path,
                    summary: Mapping[str, Any] | None = None) -> Path:
    """Fig. 3 analogue: (a) band diagram Ec/Ev, (b) n and p, (c) trapped holes/electrons,
    (d) field, for the states of :data:`device_physics.studies.PROFILE_STATES` present."""
    from device_physics.studies import PROFILE_STATES

    states = [s for s in ("pristine", "trained_0V", "trained_read", "uv_read")
              if s in prof["states"]]
    if not states:
        return _empty(path, "Fig. 3 (profiles)", "no labelled snapshot in the trace")
    x = np.asarray(prof["x"]) * 1e9
    xc = np.stack([x[:-1], x[1:]], axis=1)
    fig, axs = plt.subplots(2, 2, figsize=(9.0, 6.4), sharex=True)
    for k, s in enumerate(states):
        st = prof["states"][s]
        col = f"C{k}"
        lab = PROFILE_STATES.get(s, s)
        for c in range(xc.shape[0]):
            axs[0, 0].plot(xc[c], st["Ec"][c], color=col, lw=1.0,
                           label=lab if c == 0 else None)
            axs[0, 0].plot(xc[c], st["Ev"][c], color=col, lw=1.0, ls="--")
        axs[0, 1].semilogy(x, np.maximum(st["n"], 1e-10) * 1e-6, color=col, lw=1.0,
                           label=f"n, {lab}")
        axs[0, 1].semilogy(x, np.maximum(st["p"], 1e-10) * 1e-6, color=col, lw=1.0, ls="--")
        axs[1, 0].plot(x, np.asarray(st["pt"]) * 1e-6, color=col, lw=1.0, label=lab)
        axs[1, 0].plot(x, -np.asarray(st["nt"]) * 1e-6, color=col, lw=1.0, ls="--")
        e = np.asarray(st["E"]) * 1e-8  # V/m -> MV/cm
        axs[1, 1].step(x[:-1], e, where="post", color=col, lw=1.0, label=lab)
    axs[0, 0].set_ylabel("energy (eV, 0 = cathode E_F)")
    axs[0, 0].set_title("(a) band diagram: Ec solid, Ev dashed", fontsize=8)
    axs[0, 1].set_ylabel("density (cm⁻³)")
    axs[0, 1].set_ylim(1e0, None)
    axs[0, 1].set_title("(b) electrons solid, holes dashed", fontsize=8)
    axs[1, 0].set_ylabel("trapped charge density (q cm⁻³)")
    axs[1, 0].set_title("(c) trapped holes (+, solid), electrons (−, dashed)", fontsize=8)
    axs[1, 1].set_ylabel("field E (MV/cm), + = anode→cathode")
    title = "(d) field"
    if summary and "builtin_E_pvp_mean_V_m" in summary:
        title += (f": trapped charge adds {summary['builtin_E_pvp_mean_V_m'] * 1e-8:+.3g} MV/cm"
                  " in PVP at 0 V")
    axs[1, 1].set_title(title, fontsize=8)
    for ax in axs.flat:
        _layer_lines(ax, prof)
        ax.tick_params(labelsize=7)
    for ax in axs[1]:
        ax.set_xlabel("position from anode (nm)")
    xi = np.asarray(prof["interfaces"]) * 1e9
    for name, a, b in zip(prof["layers"], xi[:-1], xi[1:], strict=True):
        axs[0, 0].text((a + b) / 2, 1.0, name, transform=axs[0, 0].get_xaxis_transform(),
                       ha="center", va="bottom", fontsize=6)
    axs[0, 0].legend(fontsize=6, loc="lower left")
    fig.tight_layout()
    return _save(fig, path)


def sweep_plot(rows: Sequence[Mapping[str, Any]], kind: str, path: str | Path) -> Path:
    """Sweep plot: ``uv_intensity`` -> UV reset and 63 % times (log-log), ``trap_scale`` ->
    10-pulse gains and NL of current and light."""
    if not rows:
        return _empty(path, f"sweep {kind}", "no points")
    xs = np.array([float(r[kind]) for r in rows])
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    if kind == "uv_intensity":
        for key, mk, lab in (("uv_reset_s", "o-", "99 % erased (reset time)"),
                             ("uv_t63_s", "s--", "63.06 % erased")):
            y = np.array([float(r.get(key, np.nan)) for r in rows])
            ok = np.isfinite(y) & (y > 0)
            ax.loglog(xs[ok], y[ok], mk, label=lab)
            for xv in xs[~ok]:
                ax.axvline(xv, color="0.85", lw=3, zorder=0)
        ax.plot([70], [PAPER["uv_reset_s"]], "k*", ms=9, label="paper (70 mW/cm², 2.52 s)")
        ax.set_xlabel("UV intensity at 365 nm (mW/cm²)")
        ax.set_ylabel("time under UV (s)")
        ax.set_title("physics: UV erase time of the trapped-charge gain\n(grey: not reached "
                     "in the exposure)", fontsize=8)
    elif kind == "trap_scale":
        ax2 = ax.twinx()
        for key, col, ls in (("gain_J", "tab:blue", "-"), ("gain_L", "tab:red", "-")):
            ax.semilogx(xs, [float(r.get(key, np.nan)) for r in rows], "o" + ls, color=col,
                        label=key.replace("gain_J", "gain current").replace(
                            "gain_L", "gain light"))
        for key, col in (("NL_J", "tab:blue"), ("NL_L", "tab:red")):
            ax2.semilogx(xs, [float(r.get(key, np.nan)) for r in rows], "s--", color=col,
                         mfc="none", label=key.replace("NL_J", "NL current").replace(
                             "NL_L", "NL light"))
        ax.set_xlabel("PVP trap density / stack value (1)")
        ax.set_ylabel("gain A_N / A_1 (1), circles")
        ax2.set_ylabel("NL (1), squares")
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=6)
        ax.set_title("physics: pulse-train gain and NL vs PVP trap density", fontsize=8)
    else:
        raise ValueError(f"kind = {kind!r}: must be 'uv_intensity' or 'trap_scale'")
    if kind == "uv_intensity":
        ax.legend(fontsize=6)
    fig.tight_layout()
    return _save(fig, path)
