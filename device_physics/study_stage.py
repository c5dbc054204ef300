"""The physics-study stage of the DAG (rules ``study_*``): one call per Snakemake script.

``cfg`` is the plain-data ``studies`` config section. These entry points sit above
:mod:`device_physics.studies` (runs, metrics, tables) and :mod:`device_physics.figures` (which
reads the studies' traces), so neither of those imports the other back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from device_physics.studies import (
    CONTROLS,
    ROOT,
    OverrideError,
    VariantResult,
    control_stack_data,
    mechanism_row,
    mechanism_verdict,
    profile_protocol,
    profile_summary,
    read_profiles,
    run_variant,
    sweep_table,
    trap_overrides,
    write_rows_csv,
)

log = logging.getLogger(__name__)


def _run_kw(cfg: Mapping[str, Any]) -> dict[str, Any]:
    return {"nodes_per_layer": int(cfg.get("nodes_per_layer", 20)),
            "rtol": float(cfg.get("rtol", 0.05)), "mesh": str(cfg.get("mesh", "dolfinx")),
            "robust_retry": bool(cfg.get("robust_retry", True)),
            "solver": str(cfg.get("solver", "fv1d")),
            "max_wall_s": float(cfg.get("max_wall_s", 0.0))}


def _write_result(res: VariantResult, path: str | Path, **extra: Any) -> Path:
    from lemsim.io import write_json

    return write_json(path, {**res.to_dict(), **extra})


def run_mechanism_point(base_stack: str | Path, control: str, protocol: str | Path,
                        out_json: str | Path, out_h5: str | Path,
                        cfg: Mapping[str, Any]) -> VariantResult:
    """Run control ``control`` (derived from ``base_stack``) under the mechanism protocol;
    write its trace (HDF5) and result (JSON)."""
    data = control_stack_data(base_stack, control)
    log.info("mechanism: %s (%s) under %s", control, CONTROLS[control][0], protocol)
    res = run_variant(data, protocol, h5_path=out_h5, config=dict(cfg), **_run_kw(cfg))
    _write_result(res, out_json, control=control)
    log.info("mechanism %s: %s, dI_uv %s, dL_uv %s (%.1f s)", control, res.status,
             res.metrics.get("dI_uv"), res.metrics.get("dL_uv"), res.wall_s)
    return res


def write_mechanism_table(results: list[str | Path], out_csv: str | Path,
                          out_png: str | Path) -> list[dict[str, Any]]:
    """Mechanism table (CSV) and its bar figure (Fig. S8 analogue) from point JSONs."""
    from device_physics import figures

    rows = [mechanism_row(json.loads(Path(p).read_text(encoding="utf-8"))) for p in results]
    write_rows_csv(rows, out_csv)
    verdict = mechanism_verdict(rows)
    log.info("%s", verdict)
    figures.mechanism_bars(rows, out_png, verdict)
    return rows


def run_profiles(base_stack: str | Path, out_h5: str | Path, out_json: str | Path,
                 out_png: str | Path, cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Profile study (Fig. 3 analogue): run, write trace + summary JSON + figure."""
    from device_physics import figures
    from lemsim.io import write_json

    pr = profile_protocol(int(cfg.get("profile_pulses", 50)),
                          float(cfg.get("profile_read_bias", 4.0)),
                          float(cfg.get("uv_intensity", 70.0)),
                          float(cfg.get("profile_uv_s", 1.0)))
    res = run_variant(base_stack, pr, h5_path=out_h5, config=dict(cfg), **_run_kw(cfg))
    prof = read_profiles(out_h5)
    summ = {"status": res.status, "wall_s": res.wall_s, "metrics": res.to_dict()["metrics"],
            "states": sorted(prof["states"]), **profile_summary(prof)}
    write_json(out_json, summ)
    figures.profiles_figure(prof, out_png, summ)
    return summ


def run_sweep_point(base_stack: str | Path, kind: str, value: float, out_json: str | Path,
                    cfg: Mapping[str, Any]) -> VariantResult:
    """One point of a sweep: ``kind`` ``uv_intensity`` (mW/cm^2, the protocol's ``uv`` step)
    or ``trap_scale`` (factor on every trap density of ``cfg["trap_layer"]``)."""
    proto_dir = ROOT / "config" / "protocols"
    if kind == "uv_intensity":
        if not value > 0:
            raise OverrideError(f"uv_intensity = {value!r} mW/cm2: must be > 0")
        protocol = proto_dir / f"{cfg.get('uv_protocol', 'uv_reset')}.yaml"
        res = run_variant(base_stack, protocol, protocol_overrides={"uv.intensity": float(value)},
                          config=dict(cfg), **_run_kw(cfg))
    elif kind == "trap_scale":
        protocol = proto_dir / f"{cfg.get('trap_protocol', 'pulses_10')}.yaml"
        res = run_variant(base_stack, protocol,
                          trap_overrides(str(cfg.get("trap_layer", "pvp")), float(value)),
                          config=dict(cfg), **_run_kw(cfg))
    else:
        raise ValueError(f"sweep kind = {kind!r}: must be 'uv_intensity' or 'trap_scale'")
    _write_result(res, out_json, **{kind: float(value)})
    log.info("sweep %s = %g: %s (%.1f s)", kind, value, res.status, res.wall_s)
    return res


#: Metrics tabulated by each sweep.
SWEEP_KEYS = {"uv_intensity": ("uv_reset_s", "uv_t63_s", "uv_Q_left", "Q_gain", "probe_gain_J"),
              "trap_scale": ("gain_J", "gain_L", "NL_J", "NL_L", "pearson", "Q_gain", "J1")}


def write_sweep(results: list[str | Path], kind: str, out_csv: str | Path,
                out_png: str | Path) -> list[dict[str, Any]]:
    """Sweep table (CSV) and plot from the point JSONs of :func:`run_sweep_point`."""
    from device_physics import figures

    if kind not in SWEEP_KEYS:
        raise ValueError(f"sweep kind = {kind!r}: must be one of {sorted(SWEEP_KEYS)}")
    pts = [json.loads(Path(p).read_text(encoding="utf-8")) for p in results]
    rows = sweep_table(pts, kind, SWEEP_KEYS[kind])
    write_rows_csv(rows, out_csv)
    figures.sweep_plot(rows, kind, out_png)
    return rows


def run_trace(base_stack: str | Path, protocol: str | Path, out_h5: str | Path,
              cfg: Mapping[str, Any]) -> VariantResult:
    """fv1d trace of ``protocol`` on the configured stack for the physics figures."""
    res = run_variant(base_stack, protocol, h5_path=out_h5, config=dict(cfg), **_run_kw(cfg))
    log.info("trace %s: %s (%.1f s), %s", Path(protocol).stem, res.status, res.wall_s,
             res.stats)
    return res
