"""The compact-model stage of the DAG (rule ``fit_compact``): the fit and its report figure.

It sits above :mod:`compact_model.fit` and :mod:`compact_model.figures` (the figures replay
the fit), so neither imports the other back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compact_model.fit import build_nlem
from compact_model.variability import Variability


def run_fit_compact(out_json: str | Path, out_report: str | Path,
                    trace_paths: Sequence[str | Path], cfg: Mapping[str, Any],
                    table_csv: str | Path | None = None) -> dict[str, Any]:
    """Rule ``fit_compact``: :func:`build_nlem` from the ``compact`` config section (the
    physics-vs-compact table also to ``table_csv``), then the fit-report figure; with
    ``source: measured``, :func:`compact_model.measured.fit_measured` of the files of
    ``measured`` instead."""
    from compact_model.figures import fit_report

    var = Variability(d2d=cfg["d2d_sigma"], c2c=cfg["c2c_sigma"], read=cfg["read_noise"])
    if cfg.get("source") == "measured":
        from compact_model.measured import fit_measured

        return fit_measured(list(cfg["measured"]), out=out_json, report=out_report,
                            max_nfev=cfg["fit_max_nfev"], variability=var, config=dict(cfg))
    doc = build_nlem(out_json, trace_paths, preset=cfg["preset"], max_nfev=cfg["fit_max_nfev"],
                     config=dict(cfg), variability=var,
                     stack=str(cfg.get("physics_study", "nlem")), table_csv=table_csv)
    fit_report(out_json, out_report, trace_paths)
    return doc
