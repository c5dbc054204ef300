"""Device rows (D2-D7, and the UV/decay probes) of ``paper_vs_sim.csv`` measured on the
drift-diffusion traces, next to the compact model's values.

This module joins two stages (it reads the physics HDF5 files with the compact model's metric
functions, shared by both) and so lives in the infrastructure package. The physics
value is the row's ``simulated`` value: the pipeline is physics-first, and a physics stack that
is not calibrated yet is reported as it is. The compact model's value is named in the definition
(for the ``paper`` preset it is fitted to the paper's numbers, not predicted).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lemsim.metrics import SETTLE_S, drop_edge_transients
from lemsim.targets import write_rows

_AREA = 1.0  # metrics here are ratios: the traces are used per m² as written


def _physics_metrics(paths: Sequence[str | Path]) -> dict[str, dict[str, Any]]:
    import h5py

    from compact_model.fit import protocol_metrics, read_traces

    out: dict[str, dict[str, Any]] = {}
    for path in paths:
        with h5py.File(path, "r") as fh:
            status = str(fh.attrs.get("status", "complete"))
        (tr,) = read_traces([path], _AREA)
        try:
            m: dict[str, Any] = protocol_metrics(
                tr.name, *drop_edge_transients(tr.t, tr.V, tr.I, tr.L))
        except ValueError as err:
            m = {"error": str(err)}
        m["status"] = status
        m["t_end_s"] = float(tr.t[-1]) if len(tr.t) else 0.0
        out[tr.name] = m
    return out


def compact_metrics(nlem_path: str | Path | None) -> tuple[dict[str, Any], str]:
    """The compact model's value of every metric in ``nlem.json`` and how to name its source
    in a row ("compact fit" for a fit to the physics, else the preset fitted to the paper)."""
    if not nlem_path:
        return {}, "compact model"
    doc = json.loads(Path(nlem_path).read_text(encoding="utf-8"))
    tag = "compact fit" if doc.get("physics_vs_compact") else \
        "compact preset (fitted to the paper)"
    return {k: v.get("compact") for k, v in doc.get("metrics", {}).items()
            if isinstance(v, Mapping)}, tag


def device_rows(trace_paths: Sequence[str | Path], nlem_path: str | Path) -> list[dict[str, Any]]:
    """Rows measured on the physics traces ``pulses_<N>`` (and ``full``), with compact values."""
    phys = _physics_metrics(trace_paths)
    comp, ctag = compact_metrics(nlem_path)
    pulse_runs = sorted((k for k in phys if k.startswith("pulses_") and "gain_current" in phys[k]),
                        key=lambda k: int(k.split("_")[1]))
    rows: list[dict[str, Any]] = []
    if not pulse_runs:
        return rows
    first, last = pulse_runs[0], pulse_runs[-1]
    p1, pn = phys[first], phys[last]
    n_last = int(last.split("_")[1])
    stage = "device_physics (dolfinx drift-diffusion; stack partly calibrated, docs/calibration.md)"

    def note(run: str) -> str:
        st = phys[run]["status"]
        return "" if st == "complete" else f" [run {run} {st[:160]}]"

    rows.append({"id": "D2", "simulated": f"r = {p1['pearson']:.4f}", "source_stage": stage,
                 "definition": f"Pearson r of per-pulse current and light peaks, {first} physics "
                               f"trace; {ctag}: r = {comp['D5_pearson']:.4f}"
                               + note(first)})
    for rid, key, ckey, what in (("D3", "nl_current", "D3_nl_current", "NL of current peaks"),
                                 ("D4", "nl_light", "D4_nl_light", "NL of light peaks"),
                                 ("D5", "pearson", "D5_pearson", "Pearson r of the peaks")):
        rows.append({"id": rid, "simulated": float(p1[key]), "source_stage": stage,
                     "definition": f"{what}, {first} physics trace (5 V, 30 ms; peaks after "
                                   f"{SETTLE_S * 1e3:g} ms of each edge); {ctag}: "
                                   f"{comp[ckey]:.4g}" + note(first)
                                   + (_same_nl(p1) if rid == "D4" else "")})
    gains_i = ", ".join(f"N={k.split('_')[1]}: {phys[k]['gain_current']:.3f}" for k in pulse_runs)
    gains_l = ", ".join(f"N={k.split('_')[1]}: {phys[k]['gain_light']:.3f}" for k in pulse_runs)
    ci = comp.get(f"D6_gain_current_{n_last}", float("nan"))
    cl = comp.get(f"D7_gain_light_{n_last}", float("nan"))
    rows.append({"id": "D6", "simulated": float(pn["gain_current"]), "source_stage": stage,
                 "definition": f"physics current gain A_N/A_1 at N={n_last} ({gains_i}); "
                               f"{ctag} at N={n_last}: {ci:.3f}" + note(last)})
    rows.append({"id": "D7", "simulated": float(pn["gain_light"]), "source_stage": stage,
                 "definition": f"physics light gain B_N/B_1 at N={n_last} ({gains_l}); "
                               f"{ctag} at N={n_last}: {cl:.3f}" + note(last)})
    return rows


def _same_nl(run: dict[str, Any]) -> str:
    """Why D4 misses when the NL of the light equals that of the current (empty otherwise)."""
    d = float(run["nl_light"]) - float(run["nl_current"])
    if not abs(d) < 0.01:
        return ""
    return (f"; NL of the light equals that of the current (difference {d:+.4f}; paper: 0.27 "
            "above 0.20): in this model current and light are modulated by the same trapped "
            "sheet, and the stack's shunt adds a constant to the current, which leaves NL "
            "unchanged")


def write_device_rows(trace_paths: Sequence[str | Path], nlem_path: str | Path,
                      rows_path: str | Path) -> Path:
    """Write :func:`device_rows` to ``rows_path`` (lemsim.targets format)."""
    return write_rows(rows_path, device_rows(trace_paths, nlem_path))
