"""Rows D1-D13 of ``paper_vs_sim.csv`` from ``nlem.json`` (the compact stage's metrics).

The device rows belong to the physics stage; when the compact model is the ``paper`` preset
(fitted to these very numbers) the rows say so in their ``source_stage`` and ``definition``: a
fitted value is a consistency check of the model form, not an independent prediction. When the
compact model was fitted to physics traces, the physics value of each protocol metric is
reported next to the compact one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lemsim.targets import write_rows

_ROWS: tuple[tuple[str, str, str, str], ...] = (
    # id, metric key, unit, what the value is
    ("D3", "D3_nl_current", "", "NL of the normalised per-pulse current peaks (10 pulses)"),
    ("D4", "D4_nl_light", "", "NL of the normalised per-pulse light peaks (10 pulses)"),
    ("D5", "D5_pearson", "", "Pearson r of per-pulse current and light peaks (10 pulses)"),
    ("D6", "D6_gain_current_50", "", "current gain A_50/A_1"),
    ("D7", "D7_gain_light_50", "", "light gain B_50/B_1"),
    ("D8", "D8_ppf_tau1_s", "s", "fast time constant of the PPF-vs-interval fit"),
    ("D9", "D9_uv_on_off_ratio", "", "read-pulse current with UV on / UV off (4 V, 30 ms)"),
    ("D10", "D10_decay_s", "s", "time to lose 63.06 % of the 50-pulse gain in the dark"),
    ("D11", "D11_uv_reset_s", "s", "time to erase 99 % of the 50-pulse gain at 70 mW/cm2"),
    ("D12", "D12_ratio", "%", "D11 / D10"),
    ("D13", "D13_levels", "levels", "conductance levels separated by more than the read noise "
     "under 15 cyclic I-V scans"),
)


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


_TRAINS = ("pulses_10", "pulses_30", "pulses_50", "decay", "uv_reset")
#: Where each paper metric is measured on the physics traces: (protocol, metric of
#: :func:`compact_model.fit.protocol_metrics`) candidates, first found wins.
PHYSICS_SOURCES: dict[str, list[tuple[str, str]]] = {
    "D3_nl_current": [("pulses_10", "nl_current")] + [(p, "nl_current_10") for p in _TRAINS],
    "D4_nl_light": [("pulses_10", "nl_light")] + [(p, "nl_light_10") for p in _TRAINS],
    "D5_pearson": [("pulses_10", "pearson")] + [(p, "pearson_10") for p in _TRAINS],
    **{f"D6_gain_current_{n}": [(p, f"gain_current_{n}") for p in _TRAINS] for n in (10, 30, 50)},
    **{f"D7_gain_light_{n}": [(p, f"gain_light_{n}") for p in _TRAINS] for n in (10, 30, 50)},
    **{f"D8_ppf_{iv}": [(f"ppf_{iv}", "ppf_index")]
       for iv in ("10ms", "30ms", "100ms", "300ms", "1s", "3s", "10s")},
    "D10_gain_lost_after_rest": [("decay", "gain_lost_at_probe")],
    "D11_gain_lost_after_uv": [("uv_reset", "gain_lost_at_probe")],
}


def physics_table(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Per paper metric measurable on the physics traces: the physics value, the compact
    replay of the same waveform and their relative difference (source: ``physics_vs_compact``
    of a physics-fit ``nlem.json``; empty for the preset)."""
    pvc = doc.get("physics_vs_compact") or {}
    out = []
    for key, sources in PHYSICS_SOURCES.items():
        for proto, met in sources:
            pair = pvc.get(proto, {}).get(met)
            if isinstance(pair, dict) and pair.get("physics") is not None:
                phys, comp = pair["physics"], pair.get("compact")
                rel = comp / phys - 1.0 if comp is not None and phys else float("nan")
                paper = doc["metrics"].get(key, {}).get("paper")
                out.append({"metric": key, "protocol": proto, "physics": phys,
                            "compact_replay": comp, "relative_difference": rel,
                            "paper": paper})
                break
    return out


def target_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The D rows for one ``nlem.json`` document."""
    m = doc["metrics"]
    preset = not doc.get("physics_vs_compact")
    name = doc.get("name", "?")
    stage = f"compact_model ({name} preset)" if preset else "compact_model (physics fit)"
    caveat = ("PRESET FITTED TO THE PAPER'S NUMBERS (consistency check of the model, not a "
              "prediction); " if preset else "")
    meas = doc.get("measured")
    if meas:  # fitted to a measured device: say where the unconstrained parameters came from
        stage = "compact_model (measured fit)"
        origin = sorted(set((meas.get("not_constrained") or {}).values()))
        caveat = (f"FITTED TO MEASUREMENT {', '.join(meas['files'])} (parameters it does not "
                  f"constrain: {'; '.join(origin) or 'none'}); ")
    phys = {r["metric"]: r for r in physics_table(doc)}
    rows = []
    for rid, key, unit, what in _ROWS:
        if key not in m:
            continue
        value = m[key]["compact"]
        if rid == "D12":
            value = 100.0 * value
        extra = ""
        if rid == "D6":
            extra = f"; N=10: {_fmt(m['D6_gain_current_10']['compact'])}, N=30: " \
                    f"{_fmt(m['D6_gain_current_30']['compact'])}"
        elif rid == "D7":
            extra = f"; N=10: {_fmt(m['D7_gain_light_10']['compact'])}, N=30: " \
                    f"{_fmt(m['D7_gain_light_30']['compact'])}"
        elif rid == "D8":
            extra = (f"; PPF index {_fmt(m['D8_ppf_first']['compact'])} at 10 ms -> "
                     f"{_fmt(m['D8_ppf_last']['compact'])} at 10 s, "
                     f"{m['D8_ppf_n_exp']['compact']}-exponential fit, slow tau "
                     f"{_fmt(m.get('D8_ppf_tau2_s', {}).get('compact', float('nan')))} s")
        if key in phys:
            r = phys[key]
            extra += (f"; physics {r['protocol']}: {_fmt(r['physics'])} (compact replay "
                      f"{_fmt(r['compact_replay'])})")
        rows.append({"id": rid, "simulated": value, "unit": unit, "source_stage": stage,
                     "definition": caveat + what + extra})
    if all(f"D1_I_6V_A_scan{k}" in m for k in (1, 2, 3)):
        i6 = [m[f"D1_I_6V_A_scan{k}"]["compact"] for k in (1, 2, 3)]
        l6 = [m[f"D1_L_6V_scan{k}"]["compact"] for k in (1, 2, 3)]
        area = [m[f"D1_loop_area_W_scan{k}"]["compact"] for k in (1, 2, 3)]
        ccw = all(a < 0 for a in area)
        grows = all(b > a for a, b in zip(i6, i6[1:], strict=False)) and all(
            b > a for a, b in zip(l6, l6[1:], strict=False))
        rows.append({"id": "D1", "simulated": f"{'counter-clockwise' if ccw else 'clockwise'}; "
                     f"{'grows' if grows else 'does not grow'} over 3 scans",
                     "source_stage": stage,
                     "definition": caveat + "three 0->6->0 V sweeps; I(6 V) per scan "
                     + ", ".join(f"{v * 1e6:.1f} uA" for v in i6) + "; loop area sign "
                     + ", ".join("-" if a < 0 else "+" for a in area)})
    if "D3_nl_current" in m:
        rows.append({"id": "D2", "simulated": f"r = {m['D5_pearson']['compact']:.4f}",
                     "source_stage": stage,
                     "definition": caveat + "correlation of per-pulse current and light peaks "
                     "under 10 pulses (5 V, 30 ms)"})
    return rows


def write_target_rows(nlem_path: str | Path, rows_path: str | Path) -> Path:
    """Write the D rows of ``nlem_path`` to ``rows_path`` (lemsim.targets format)."""
    doc = json.loads(Path(nlem_path).read_text(encoding="utf-8"))
    return write_rows(rows_path, target_rows(doc))
