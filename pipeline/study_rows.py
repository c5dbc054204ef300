"""Rows D1 and D8-D14 of ``paper_vs_sim.csv`` measured on the device-physics studies.

The study rules (``workflow/rules/studies.smk``) run the drift-diffusion physics on the paper's
protocols: three I-V scans (D1), fifteen (D13: conductance levels at the turning voltage that
differ by more than the read noise), paired pulses at several intervals (D8), 50 pulses then a dark
rest (D10) or UV (D11), and the control stacks under UV read pulses (D9, D14) with the field
profiles of Fig. 3. This module turns those outputs into table rows. It joins two stages (the
studies' trace metrics and the compact model's metric functions) and so lives in the
infrastructure package, next to :mod:`pipeline.device_rows`.

Decisions, stated here and in every row's definition:

* the physics value is the row's ``simulated`` value (physics first); the compact model's value
  for the same row is named in the definition (for the ``paper`` preset it is fitted to the
  paper, not predicted);
* D10 and D11 are measured on the **trapped charge** of the memory (``Qt_p - Qt_n`` relative to
  the pristine device): 63.06 % of it lost in the dark rest (D10), 99 % of it erased under UV
  (D11, "100 %" read as 99 %). The read current is only sampled by the probe pulse at the end of
  each protocol, so its time course is not available; the probe's gain is given next to it;
* D8 fits the PPF index (A_2 - A_1)/A_1 against the interval between the pulses (end of the
  first to start of the second) with one and two exponentials (better by AIC,
  :func:`lemsim.metrics.fit_ppf`); with fewer than 3 intervals only the indices are given.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lemsim.targets import write_rows
from pipeline.device_rows import compact_metrics

#: Fraction of the trapped charge that counts as "erased" by UV (D11: the paper's 100 %).
UV_ERASED = 0.99


def _fmt(x: Any, digits: int = 4) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    return "n/a" if not math.isfinite(v) else f"{v:.{digits}g}"


def _trace(path: str | Path):
    from device_physics.studies import read_h5_trace

    arrays, protocol, attrs = read_h5_trace(path)
    status = str(attrs.get("status", "complete"))
    return arrays, protocol, status


def _status(path: str | Path) -> str:
    import h5py

    with h5py.File(path, "r") as fh:
        return str(fh.attrs.get("status", "complete"))


def iv_scan_metrics(t: np.ndarray, v: np.ndarray, i: np.ndarray, lum: np.ndarray
                    ) -> list[dict[str, float]]:
    """Per-scan loop area (signed integral of I dV, negative = counter-clockwise), current and
    light at the turning voltage, for a trace of consecutive triangular sweeps from 0 V.

    Scans are split at the samples where the voltage is back at its minimum between two maxima.

    Raises:
        ValueError: when the trace holds no complete scan.
    """
    from compact_model.protocols import loop_area

    t, v, i, lum = (np.asarray(a, dtype=float) for a in (t, v, i, lum))
    if v.size < 3 or np.ptp(v) <= 0:
        raise ValueError("iv trace: the voltage does not sweep")
    vmax = float(v.max())
    top = v >= vmax - 1e-6 * max(abs(vmax), 1.0)
    # one run of samples at the top per scan
    starts = np.flatnonzero(np.diff(np.r_[0, top.astype(np.int8)]) == 1)
    bounds = [0]
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        bounds.append(a + int(np.argmin(v[a:b])))
    bounds.append(v.size - 1)
    out = []
    for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        seg = slice(a, b + 1)
        vk, ik, lk = v[seg], i[seg], lum[seg]
        if vk.size < 3:
            continue
        j = int(np.argmax(vk))
        out.append({"scan": k + 1, "loop_area": loop_area(vk - vk[0], ik),
                    "I_top": float(ik[j]), "L_top": float(lk[j]), "V_top": float(vk[j])})
    if not out:
        raise ValueError("iv trace: no complete scan")
    return out


def _saturation(g: np.ndarray, read_noise: float) -> str:
    """Text saying from which scan on the conductance stays within the read noise of its final
    value (empty when it still moves at the last scan)."""
    close = np.abs(g - g[-1]) <= read_noise * abs(g[-1])
    k = len(g)
    while k > 0 and close[k - 1]:
        k -= 1
    if k >= len(g) - 1:
        return ""
    return (f"; from scan {k + 1} on the conductance stays within the read noise of its "
            "final value: the memory reaches its steady state at the turning voltage within "
            f"{k + 1} scans")


def _by_name(paths: Sequence[str | Path]) -> dict[str, Path]:
    return {Path(p).stem: Path(p) for p in paths}


def study_rows(trace_paths: Sequence[str | Path], mechanism_csv: str | Path | None = None,
               profiles_json: str | Path | None = None, nlem_path: str | Path | None = None,
               solver: str = "drift-diffusion", read_noise: float = 0.005
               ) -> list[dict[str, Any]]:
    """Rows D1, D8-D14 from the study outputs that exist among the inputs.

    Args:
        trace_paths: Study traces ``<protocol>.h5`` (``iv_3scans*``, ``ppf_*``, ``decay*``,
            ``uv_reset*``); a protocol that is absent leaves its row to the other stages.
        mechanism_csv: The mechanism table (control stacks under UV reads): D9, D14.
        profiles_json: The profile study summary (interface fields in the dark / under UV): D14.
        nlem_path: The compact model JSON, whose value of each row goes into the definition.
        solver: Solver and mesh description for ``source_stage``.
        read_noise: Relative read-noise standard deviation of a conductance level (D13; the
            default 0.005 is the compact section's ``read_noise``): two consecutive scans'
            conductances at the turning voltage count as distinct levels when they differ by
            more than this times the conductance.
    """
    if not (math.isfinite(read_noise) and 0 <= read_noise < 1):
        raise ValueError(f"read_noise = {read_noise!r}: must be in [0, 1)")
    from device_physics.studies import trace_metrics
    from lemsim.metrics import fit_ppf

    comp, ctag = compact_metrics(nlem_path)
    stage = f"device_physics studies ({solver})"
    traces = _by_name(trace_paths)
    rows: list[dict[str, Any]] = []

    def cval(key: str, scale: float = 1.0) -> str:
        if comp.get(key) is None:
            return ""
        return f"; {ctag}: {_fmt(scale * float(comp[key]))}"

    def st(status: str, name: str) -> str:
        return "" if status == "complete" else f" [run {name} {status[:160]}]"

    # every I-V trace read and split into scans once: (scans or the error, status), in input
    # order; D1 from the first, D13 from the one with the most scans
    iv: dict[str, tuple[list[dict[str, float]] | ValueError, str]] = {}
    for name in (n for n in traces if n.startswith("iv_")):
        arrays, _, status = _trace(traces[name])
        try:
            iv[name] = (iv_scan_metrics(arrays["t"], arrays["V"],
                                        arrays.get("J_conduction", arrays["J"]), arrays["L"]),
                        status)
        except ValueError as err:
            iv[name] = (err, status)
    if iv:
        first = next(iter(iv))
        res, status = iv[first]
        if isinstance(res, ValueError):
            rows.append({"id": "D1", "simulated": "", "source_stage": stage,
                         "definition": f"{first}: {res}" + st(status, first)})
        else:
            scans = res[:3]
            ccw = all(s["loop_area"] < 0 for s in scans)
            grows = all(b["I_top"] > a["I_top"] and b["L_top"] > a["L_top"]
                        for a, b in zip(scans, scans[1:], strict=False))
            rows.append({
                "id": "D1", "source_stage": stage,
                "simulated": f"{'counter-clockwise' if ccw else 'not counter-clockwise'}; "
                             f"{'grows' if grows else 'does not grow'} over {len(scans)} scans",
                "definition": f"{first} physics trace, triangular 0 -> "
                              f"{_fmt(scans[0]['V_top'], 3)} -> 0 V sweeps in the dark; J at the "
                              "top per scan " + ", ".join(f"{s['I_top']:.4g}" for s in scans)
                              + " A/m2; L at the top " + ", ".join(f"{s['L_top']:.4g}"
                                                                 for s in scans)
                              + " photons/(s m2); loop area sign "
                              + ", ".join("-" if s["loop_area"] < 0 else "+" for s in scans)
                              + " (- = counter-clockwise)" + st(status, first)})

    # D13: the I-V trace with the most scans (iv_15scans), if it has more than 3
    best: tuple[int, str, list[dict[str, float]], str] | None = None
    for name, (res, status) in iv.items():
        if not isinstance(res, ValueError) and (best is None or len(res) > best[0]):
            best = (len(res), name, res, status)
    if best is not None and best[0] > 3:
        from lemsim.metrics import distinguishable_levels

        n, name, sc, status = best
        g = np.array([s["I_top"] / s["V_top"] for s in sc])
        lv = distinguishable_levels(g, read_noise * g)
        rows.append({
            "id": "D13", "simulated": int(lv), "unit": "levels", "source_stage": stage,
            "definition": f"{name} physics trace, {n} triangular 0 -> {_fmt(sc[0]['V_top'], 3)}"
                          f" -> 0 V scans in the dark: conductance levels at the turning voltage "
                          f"separated by more than a read noise of {100 * read_noise:g} %; "
                          "G per scan " + ", ".join(f"{x:.5g}" for x in g) + " S/m2"
                          + _saturation(g, read_noise) + cval("D13_levels") + st(status, name)})

    ppf = [traces[n] for n in sorted(traces) if n.startswith("ppf_")]
    if ppf:
        from device_physics.figures import ppf_points

        pts = ppf_points(ppf)  # (interval, PPF of current, PPF of light), complete pairs only
        pairs = ", ".join(f"{dt * 1e3:g} ms: {x:.4g}" for dt, x, _ in pts)
        bad = [p for p in ppf if _status(p) != "complete"]
        if len(pts) >= 3:
            fit = fit_ppf([p[0] for p in pts], [p[1] for p in pts])
            falls = all(b[1] <= a[1] for a, b in zip(pts, pts[1:], strict=False))
            rows.append({
                "id": "D8", "simulated": float(fit.taus[0]), "unit": "s", "source_stage": stage,
                "definition": f"fast time constant of the {fit.n_exp}-exponential fit of the "
                              f"physics PPF index (A2 - A1)/A1 vs interval ({pairs}); "
                              f"{'falls' if falls else 'does not fall'} with the interval"
                              + (f"; slow tau {_fmt(fit.taus[1])} s" if fit.n_exp == 2 else "")
                              + cval("D8_ppf_tau1_s")
                              + (f" [{len(bad)} runs incomplete]" if bad else "")})
        elif pts:
            rows.append({"id": "D8", "simulated": "", "source_stage": stage,
                         "definition": f"physics PPF index vs interval ({pairs}); fewer than 3 "
                                       "intervals, no fit" + cval("D8_ppf_tau1_s")})

    decay_s = reset_s = float("nan")
    dec = sorted(n for n in traces if n.startswith("decay"))
    if dec:
        arrays, pr, status = _trace(traces[dec[0]])
        m = trace_metrics(arrays, pr)
        decay_s = float(m.get("decay_s", float("nan")))
        left = m.get("decay_Q_left", float("nan"))
        rest = max((s.t1 - s.t0 for s in pr.segments if s.kind == "rest"), default=0.0)
        sim: Any = decay_s if math.isfinite(decay_s) else \
            f"> {rest:g} s ({100 * float(left):.0f} % of the trapped charge left)"
        rows.append({
            "id": "D10", "simulated": sim, "unit": "s", "source_stage": stage,
            "definition": f"{dec[0]} physics trace ({int(m.get('n_pulses', 0)) - 1} pulses, "
                          f"{rest:g} s dark rest, probe): time for the trapped charge of the "
                          f"memory to lose 63.06 %; {100 * float(left):.0f} % left at the end "
                          f"of the rest; probe pulse / first pulse "
                          f"{_fmt(m.get('probe_gain_J'))} (train gain "
                          f"{_fmt(m.get('gain_J'))})" + cval("D10_decay_s") + st(status, dec[0])})
    uv = sorted(n for n in traces if n.startswith("uv_reset"))
    if uv:
        arrays, pr, status = _trace(traces[uv[0]])
        m = trace_metrics(arrays, pr)
        reset_s = float(m.get("uv_reset_s", float("nan")))
        left = float(m.get("uv_Q_left", float("nan")))
        dur = sum(s.t1 - s.t0 for s in pr.segments if s.kind == "uv")
        sim = reset_s if math.isfinite(reset_s) else \
            f"> {dur:g} s ({100 * left:.0f} % of the trapped charge left)"
        rows.append({
            "id": "D11", "simulated": sim, "unit": "s", "source_stage": stage,
            "definition": f"{uv[0]} physics trace (train, UV "
                          f"{_fmt(m.get('uv_intensity_mW_cm2'), 3)} mW/cm2 at 0 V, probe): "
                          f"time under UV to erase {100 * UV_ERASED:g} % of the trapped charge "
                          f"(63 % in {_fmt(m.get('uv_t63_s'))} s; {100 * left:.1f} % left at "
                          f"the end); probe pulse / first pulse {_fmt(m.get('probe_gain_J'))} "
                          f"(train gain {_fmt(m.get('gain_J'))})" + cval("D11_uv_reset_s")
                          + st(status, uv[0])
                          + ("; far faster than the paper's 2.52 s: UV photo-emission empties "
                             "the traps within ms; a slower emission leaves a floor because the "
                             "UV photoelectrons of the IDTBT refill the fast traps "
                             "(docs/calibration.md)"
                             if math.isfinite(reset_s) and reset_s < 0.25 else "")})
    if dec and uv:
        ratio = reset_s / decay_s if math.isfinite(reset_s) and math.isfinite(decay_s) else None
        if ratio is not None:
            rows.append({"id": "D12", "simulated": 100 * ratio, "unit": "%",
                         "source_stage": stage,
                         "definition": "physics D11 / D10 (trapped charge), in %"
                                       + cval("D12_ratio", 100.0)})
        else:
            rows.append({"id": "D12", "simulated": "", "unit": "%", "source_stage": stage,
                         "definition": f"physics D11 / D10 undefined: D10 {_fmt(decay_s)} s, "
                                       f"D11 {_fmt(reset_s)} s (a time that was not reached "
                                       "within its protocol)" + cval("D12_ratio", 100.0)})

    if mechanism_csv and Path(mechanism_csv).exists():
        with open(mechanism_csv, newline="", encoding="utf-8") as fh:
            mech = list(csv.DictReader(fh))
        rows += _mechanism_rows(mech, profiles_json, stage, cval("D9_uv_on_off_ratio"))
    return rows


def _f(row: Mapping[str, Any], key: str) -> float:
    try:
        return float(row.get(key, "nan"))
    except (TypeError, ValueError):
        return float("nan")


def _neg_end(r: dict[str, Any]) -> bool:
    """The current of the last read under UV is below the dark read: by the table's absolute
    sign (device_physics.studies floors) when present, else by more than 0.1 %."""
    if r.get("sign_I_uv_end") not in (None, ""):
        return r["sign_I_uv_end"] == "-"
    return _f(r, "dI_uv_end") < -1e-3


def _change_text(r: dict[str, Any]) -> str:
    """``stack: dI ..., dL ...``: relative changes and, where the table has them, absolute."""
    txt = f"{r['stack']}: dI {100 * _f(r, 'dI_uv_end'):+.2f} %"
    if np.isfinite(_f(r, "dI_uv_end_A_m2")):
        txt += f" ({_f(r, 'dI_uv_end_A_m2'):+.3g} A/m2, sign {r.get('sign_I_uv_end')})"
    txt += f", dL {100 * _f(r, 'dL_uv_end'):+.2f} %"
    if np.isfinite(_f(r, "dL_uv_end_ph_s_m2")):
        txt += f" ({_f(r, 'dL_uv_end_ph_s_m2'):+.3g} photons/(s m2), sign " \
               f"{r.get('sign_L_uv_end')})"
    return txt


def _mechanism_rows(mech: list[dict[str, Any]], profiles_json: str | Path | None, stage: str,
                    compact_d9: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    full = next((r for r in mech if r.get("stack") == "nlem"), None)
    if full is not None:
        di, dl = _f(full, "dI_uv_end"), _f(full, "dL_uv_end")
        dle = _f(full, "dEL_uv_end")
        drops = di < 0 and dl < 0
        rows.append({
            "id": "D9", "simulated": f"dI {100 * di:+.2f} %, dL {100 * dl:+.2f} %", "unit": "%",
            "source_stage": stage,
            "definition": f"full stack, 4 V / 30 ms read pulses: last read under UV vs last dark "
                          f"read (first UV read dI {100 * _f(full, 'dI_uv'):+.2f} %); current "
                          f"and light {'both drop' if drops else 'do not both drop'} under UV; "
                          f"EL without the UV photoluminescence {100 * dle:+.2f} %"
                          + compact_d9 + ("" if full.get("status") == "complete"
                                          else f" [run {str(full.get('status'))[:120]}]")})
    neg = [r["stack"] for r in mech if _neg_end(r)]
    signs = "; ".join(_change_text(r) for r in mech)
    only = neg == ["nlem"]
    field = ""
    if profiles_json and Path(profiles_json).exists():
        prof = json.loads(Path(profiles_json).read_text(encoding="utf-8"))
        lo, up = prof.get("builtin_E_pvp_lower_V_m"), prof.get("builtin_E_pvp_upper_V_m")
        ulo, uup = prof.get("uv_change_E_pvp_lower_V_m"), prof.get("uv_change_E_pvp_upper_V_m")
        field = (f"; built-in field of the trapped charge at 0 V (trained - pristine): "
                 f"IDTBT/PVP {_fmt(lo)} V/m, PVP/QD {_fmt(up)} V/m (negative = opposite to the "
                 f"applied field); change under UV at the read bias: {_fmt(ulo)} / {_fmt(uup)} "
                 "V/m")
    rows.append({
        "id": "D14", "source_stage": stage,
        "simulated": (f"negative UV photoconductance only in the full stack: "
                      f"{'yes' if only else 'no'} (negative in: {', '.join(neg) or 'none'})"),
        "definition": "sign of dI and dL (last read under UV vs dark, 4 V reads) per control "
                      f"stack: {signs}{field}"})
    return rows


def write_study_rows(trace_paths: Sequence[str | Path], mechanism_csv: str | Path | None,
                     profiles_json: str | Path | None, nlem_path: str | Path | None,
                     rows_path: str | Path, solver: str = "drift-diffusion") -> Path:
    """Write :func:`study_rows` to ``rows_path`` (lemsim.targets format)."""
    return write_rows(rows_path, study_rows(trace_paths, mechanism_csv, profiles_json,
                                            nlem_path, solver))
