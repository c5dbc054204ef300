"""The material-to-accuracy sweep: PVP trap density x UV intensity.

Each grid point goes material -> physics -> compact model -> network:

1. :func:`run_train` (once per trap density): the stack with its PVP trap densities scaled
   by the point's factor (:func:`sweep_stack`) runs the pulse train with fv1d from
   equilibrium; the trace and the final solver state are kept, so the train is not repeated
   for every UV intensity. With ``solver: dolfinx`` (the default) nothing runs here and each
   point runs its whole protocol (train, UV, probe) from equilibrium in :func:`run_point`.
2. :func:`run_point`: from the train's final state, UV at the point's intensity (0 V) and one
   probe pulse; the joined trace is written in the device data contract (``/trace/...``),
   with its status (``complete`` or ``failed: ...``) and the physics summary (current gain of
   the train, UV reset time of the charge in the densest PVP trap species).
3. :func:`fit_point`: the compact model fitted to that trace (:func:`compact_model.fit.build_nlem`),
   or ``{"status": "failed", "reason": ...}`` when the physics failed, does not potentiate
   (config ``require_potentiation``) or the fit raised.
4. :func:`fcn2_point`: the FCN-2 co-design network (Fig. 4: layer 2 written into 50 N-LEMs of
   the fitted model, read as light on photodiodes) trained and tested at small scale, and the
   compact model's UV reset time at the point's intensity; a failed fit passes its reason on.
5. :func:`summarise`: the table of all points and the two-panel heat map (FCN-2 accuracy and
   reset time); a failed cell shows its reason instead of a number.

A failure at one point never stops the DAG: it is written into that point's outputs.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import signal
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from lemsim.configtools import load_yaml

log = logging.getLogger(__name__)

#: Wavelength of the UV reset (nm); the paper's 365 nm LED.
UV_WAVELENGTH_NM = 365.0
#: The paper's programming pulse: amplitude (V), width and interval (s).
PULSE = {"amplitude": 5.0, "width": 0.03, "interval": 0.03}
#: Name of the stack layer whose traps are swept.
SWEPT_LAYER = "pvp"


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} = {value!r}: must be a finite number > 0")
    return value


def _status_of(h5: Any) -> str:
    return str(h5.attrs.get("status", "complete"))


# ----------------------------------------------------------------------------- protocols
def train_protocol_dict(pulses: int) -> dict[str, Any]:
    """The programming train: ``pulses`` paper pulses (5 V, 30 ms, 30 ms interval)."""
    if int(pulses) < 2:
        raise ValueError(f"train_pulses = {pulses!r}: must be an integer >= 2")
    return {"name": "sweep_train", "wavelength": f"{UV_WAVELENGTH_NM:g} nm",
            "steps": [{"kind": "pulses", "amplitude": f"{PULSE['amplitude']:g} V",
                       "width": f"{PULSE['width'] * 1e3:g} ms",
                       "interval": f"{PULSE['interval'] * 1e3:g} ms", "count": int(pulses),
                       "name": "train"}]}


def reset_protocol_dict(uv_mw_cm2: float, duration_s: float) -> dict[str, Any]:
    """UV at ``uv_mw_cm2`` for ``duration_s`` at 0 V, then one probe pulse."""
    _check_positive("uv_intensity_mw_cm2", uv_mw_cm2)
    _check_positive("uv_duration_s", duration_s)
    return {"name": "sweep_reset", "wavelength": f"{UV_WAVELENGTH_NM:g} nm",
            "steps": [{"kind": "uv", "intensity": f"{uv_mw_cm2:g} mW/cm2",
                       "duration": f"{duration_s:g} s", "bias": "0 V", "name": "uv"},
                      {"kind": "pulses", "amplitude": f"{PULSE['amplitude']:g} V",
                       "width": f"{PULSE['width'] * 1e3:g} ms",
                       "interval": f"{PULSE['interval'] * 1e3:g} ms", "count": 1,
                       "name": "probe"}]}


def full_protocol_dict(pulses: int, uv_mw_cm2: float, duration_s: float) -> dict[str, Any]:
    """The whole protocol of a point (train, UV, probe), as recorded in its HDF5 file."""
    steps = (train_protocol_dict(pulses)["steps"]
             + reset_protocol_dict(uv_mw_cm2, duration_s)["steps"])
    return {"name": "sweep_point", "wavelength": f"{UV_WAVELENGTH_NM:g} nm", "steps": steps}


# ----------------------------------------------------------------------------- stack
def _pvp_traps(data: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    layers = [la for la in data.get("layers", []) if la.get("name") == SWEPT_LAYER]
    traps = layers[0].get("traps", []) if layers else []
    if not traps:
        raise ValueError(f"stack = {where}: no layer {SWEPT_LAYER!r} with traps; the sweep "
                         "scales that layer's trap densities")
    return traps


def swept_species(stack_path: str | Path) -> dict[str, Any]:
    """The densest PVP trap species of the stack: ``name``, ``carrier`` and nominal
    ``density_cm2`` (the density the table and heat map report, times the factor)."""
    raw = load_yaml(stack_path)
    traps = _pvp_traps(raw, str(stack_path))
    top = max(traps, key=lambda t: float(t["density"]["value"]))
    return {"name": str(top["name"]), "carrier": str(top["carrier"]),
            "density_cm2": float(top["density"]["value"])}


def sweep_stack(stack_path: str | Path, factor: float) -> Any:
    """The stack of ``stack_path`` with every PVP trap density multiplied by ``factor``.

    Raises:
        ValueError: ``factor`` not positive, or the stack has no PVP layer with traps.
    """
    from device_physics.stack import stack_from_dict

    factor = _check_positive("trap_density_factor", factor)
    data = load_yaml(stack_path)
    for trap in _pvp_traps(data, str(stack_path)):
        trap["density"] = dict(trap["density"], value=float(trap["density"]["value"]) * factor,
                               source=f"material sweep: x{factor:.4g} of the stack value")
    data["name"] = f"{data.get('name', 'stack')}_pvp_traps_x{factor:.4g}"
    return stack_from_dict(data, f"{stack_path} (PVP traps x{factor:.4g})")


# ----------------------------------------------------------------------------- physics
class PhysicsTimeout(RuntimeError):
    """An fv1d run took longer than the sweep's ``max_wall_s``."""


@contextmanager
def wall_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`PhysicsTimeout` in the block after ``seconds`` of wall time (0: no limit;
    only in the main thread, where Snakemake scripts run)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _alarm(signum: int, frame: Any) -> None:
        raise PhysicsTimeout(f"fv1d run exceeded max_wall_s = {seconds:g} s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _solver(stack: Any, cfg: Mapping[str, Any]) -> Any:
    """fv1d on the configured mesh (``mesh``: ``dolfinx``, the calibration mesh, or
    ``graded``), with its robust retry of failed steps (the calibrated stack needs it)."""
    from device_physics.fv1d import FV1D, dolfinx_mesh

    cells = int(cfg["nodes_per_layer"])
    mesh = str(cfg.get("mesh", "dolfinx"))
    kw: dict[str, Any] = {}
    if mesh == "dolfinx":
        x, lay = dolfinx_mesh(stack, cells)
        kw = {"x": x, "layer": lay}
    elif mesh != "graded":
        raise ValueError(f"sweep.mesh = {mesh!r}: must be 'dolfinx' or 'graded'")
    sol = FV1D(stack, cells, ratio=1.2, rtol=float(cfg["rtol"]),
               wavelength=UV_WAVELENGTH_NM * 1e-9, dt_edge=1e-6, **kw)
    sol.retry_sanitized = True
    sol.robust_retry = True
    return sol


def _solver_name(cfg: Mapping[str, Any]) -> str:
    name = str(cfg.get("solver", "fv1d"))
    if name not in ("fv1d", "dolfinx"):
        raise ValueError(f"sweep.solver = {name!r}: must be 'fv1d' or 'dolfinx'")
    return name


def _run_point_dolfinx(stack: Any, full: Any, cfg: Mapping[str, Any], out_h5: str | Path,
                       config: Any) -> tuple[dict[str, np.ndarray], str]:
    """The whole point protocol (train, UV, probe) from equilibrium with the device stage's
    dolfinx solver, mesh and stepper; writes the trace (data contract) to ``out_h5``.

    Returns:
        (trace arrays, status).
    """
    from device_physics.output import write_device_h5
    from device_physics.simulate import build_solver, contract_kwargs, step_options
    from device_physics.timestepping import StepFailure, run_protocol

    solver, ad = build_solver(stack, full.wavelength, int(cfg["nodes_per_layer"]))
    status = "complete"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            # the stepper's own limit keeps the partial trace (a SIGALRM would lose it)
            tr = run_protocol(solver, full, step_options(full, float(cfg["rtol"]),
                                                         float(cfg.get("max_wall_s", 0))))
    except StepFailure as err:
        tr = err.trace
        status = f"failed: physics: {err}"
        log.error("%s", status)
    write_device_h5(out_h5, trace=tr, **contract_kwargs(solver, ad, stack, full, config))
    return tr.arrays(), status


def run_train(stack_path: str | Path, factor: float, cfg: Mapping[str, Any],
              out_npz: str | Path, config: Any = None) -> str:
    """Run the programming train on the swept stack; write its trace and final state.

    Args:
        stack_path: Stack YAML.
        factor: Factor on the PVP trap densities (dimensionless).
        cfg: ``sweep`` config section (``train_pulses``, ``nodes_per_layer``, ``rtol``).
        out_npz: Output ``.npz`` (trace arrays, ``z`` final state, ``status``).
        config: Provenance record.

    Returns:
        ``"complete"`` or ``"failed: <reason>"`` (also stored in the file).
    """
    from device_physics.fv1d import SolverError
    from device_physics.protocols import protocol_from_dict
    from lemsim.io import save_npz

    stack = sweep_stack(stack_path, factor)
    proto = protocol_from_dict(train_protocol_dict(int(cfg["train_pulses"])), "sweep train")
    if _solver_name(cfg) == "dolfinx":
        # dolfinx keeps no restartable state here: each point runs its whole protocol
        status = "complete"
        save_npz(out_npz, config, z=np.zeros(0), status=np.array(status),
                 duration=np.array(proto.duration),
                 note=np.array("solver dolfinx: every point runs train, UV and probe"))
        return status
    sol = _solver(stack, cfg)
    status, z = "complete", np.zeros(0)
    try:
        with warnings.catch_warnings(), wall_limit(float(cfg.get("max_wall_s", 0))):
            warnings.simplefilter("ignore", RuntimeWarning)
            tr = sol.run(proto, snapshots=False)
        z = np.asarray(sol.z, dtype=float)
    except (SolverError, PhysicsTimeout) as err:
        tr = getattr(err, "trace", None)
        status = f"failed: physics (train): {err}"
        log.error("PVP traps x%g: %s", factor, status)
    arrays = tr.arrays() if tr is not None else {}
    save_npz(out_npz, config, z=z, status=np.array(status), duration=np.array(proto.duration),
             **{f"trace_{k}": v for k, v in arrays.items()})
    return status


class _JoinedTrace:
    """Train and reset traces joined in time, shaped for ``write_device_h5``."""

    def __init__(self, arrays: dict[str, np.ndarray], stats: dict[str, Any]):
        self._arrays = arrays
        self.stats = stats
        self.snapshots: list[Any] = []

    def arrays(self) -> dict[str, np.ndarray]:
        return self._arrays


def run_point(stack_path: str | Path, factor: float, uv_mw_cm2: float,
              train_npz: str | Path, cfg: Mapping[str, Any], out_h5: str | Path,
              config: Any = None) -> dict[str, Any]:
    """UV reset and probe of one point from the train's final state; writes the joined trace.

    The HDF5 file follows the device data contract (``/trace/{t,V,uv,J,L,Qt_p,Qt_n}``) with
    attributes ``status`` and ``summary`` (JSON of :func:`physics_summary`).

    Returns:
        The summary (with ``status``).
    """
    from device_physics.fv1d import SolverError
    from device_physics.output import write_device_h5
    from device_physics.protocols import protocol_from_dict

    full = protocol_from_dict(
        full_protocol_dict(int(cfg["train_pulses"]), uv_mw_cm2, float(cfg["uv_duration_s"])),
        "sweep point")
    reset = protocol_from_dict(reset_protocol_dict(uv_mw_cm2, float(cfg["uv_duration_s"])),
                               "sweep reset")
    stack = sweep_stack(stack_path, factor)
    species = swept_species(stack_path)
    if _solver_name(cfg) == "dolfinx":
        arrays, status = _run_point_dolfinx(stack, full, cfg, out_h5, config)
        with np.load(train_npz) as npz:
            t_train = float(npz["duration"])
        return _finish_point(out_h5, arrays, full, t_train, status, cfg, species, factor,
                             uv_mw_cm2, "dolfinx")
    with np.load(train_npz) as npz:
        status = str(npz["status"])
        z0 = npz["z"]
        t_train = float(npz["duration"])
        train = {k[len("trace_"):]: npz[k] for k in npz.files if k.startswith("trace_")}
    arrays = train
    sol = _solver(stack, cfg)
    stats: dict[str, Any] = {"solver": "fv1d"}
    if status == "complete":
        wall = float(cfg.get("max_wall_s", 0))
        try:
            with warnings.catch_warnings(), wall_limit(wall):
                warnings.simplefilter("ignore", RuntimeWarning)
                tr = sol.run(reset, z0=z0, snapshots=False)
            rest = tr.arrays()
            arrays = {k: np.r_[train[k], (rest[k][1:] + t_train) if k == "t" else rest[k][1:]]
                      for k in train}
        except PhysicsTimeout as err:
            status = f"failed: physics (UV reset): {err}"
            log.error("PVP traps x%g, UV %g: %s", factor, uv_mw_cm2, status)
        except SolverError as err:
            # The restart from the saved state failed: the whole protocol from equilibrium.
            log.warning("PVP traps x%g, UV %g: restart from the train failed (%s); running the "
                        "whole protocol", factor, uv_mw_cm2, err)
            stats["restart_failed"] = str(err)
            sol = _solver(stack, cfg)
            try:
                with warnings.catch_warnings(), wall_limit(wall):
                    warnings.simplefilter("ignore", RuntimeWarning)
                    arrays = sol.run(full, snapshots=False).arrays()
            except (SolverError, PhysicsTimeout) as err2:
                tr2 = getattr(err2, "trace", None)
                if tr2 is not None and len(tr2.t) > len(arrays.get("t", [])):
                    arrays = tr2.arrays()
                status = f"failed: physics (UV reset): {err2}"
                log.error("PVP traps x%g, UV %g: %s", factor, uv_mw_cm2, status)
        stats.update(sol.stats)
    d = sol.dev
    write_device_h5(out_h5, x=d.x, cell_layer=d.layer,
                    layer_names=[la.name for la in stack.layers],
                    layer_thicknesses=[la.thickness for la in stack.layers],
                    trace=_JoinedTrace(arrays, stats), protocol_json=full.to_json(),
                    stack_json=stack.to_json(), config=config)
    return _finish_point(out_h5, arrays, full, t_train, status, cfg, species, factor,
                         uv_mw_cm2, "fv1d")


def _finish_point(out_h5: str | Path, arrays: Mapping[str, np.ndarray], full: Any,
                  t_train: float, status: str, cfg: Mapping[str, Any],
                  species: Mapping[str, Any], factor: float, uv_mw_cm2: float,
                  solver: str) -> dict[str, Any]:
    """The point's summary (:func:`physics_summary` plus the grid coordinates), stored with
    the status as attributes of the written trace file."""
    import h5py

    summary = physics_summary(arrays, full, t_train, float(cfg["reset_erased"]), status,
                              carrier=species["carrier"])
    summary.update(trap_factor=float(factor), trap_species=species["name"],
                   trap_density_cm2=species["density_cm2"] * float(factor),
                   uv_intensity_mw_cm2=float(uv_mw_cm2), solver=solver)
    with h5py.File(out_h5, "a") as fh:  # the file is complete; two small attributes more
        fh.attrs["status"] = status
        fh.attrs["summary"] = json.dumps(summary)
    return summary


def physics_summary(arrays: Mapping[str, np.ndarray], protocol: Any, t_train: float,
                    erased: float, status: str, carrier: str = "hole") -> dict[str, Any]:
    """Train gain and UV reset time of a point's trace.

    * ``gain_current`` = J at the end of the last train pulse / J at the end of the first;
    * ``trapped_charge_c_m2``: charge trapped above equilibrium (first sample) at the end of
      the train, in the traps of ``carrier`` (``Qt_p`` for holes, ``Qt_n`` for electrons;
      as a magnitude);
    * ``erased_fraction``: fraction of that charge the UV step removed by its end;
    * ``reset_time_s``: time under UV for that trapped charge to come within
      ``1 - erased`` of its end-of-UV value (the UV erasure's own settling time; NaN when the
      UV removed no charge).
    """
    from lemsim.metrics import loss_time

    out: dict[str, Any] = {"status": status, "gain_current": float("nan"),
                           "reset_time_s": float("nan"), "trapped_charge_c_m2": float("nan"),
                           "erased_fraction": float("nan")}
    t = np.asarray(arrays.get("t", []))
    if t.size < 2:
        return out
    ends = []
    for t0, t1 in protocol.pulse_windows():
        m = np.flatnonzero((t > t0) & (t <= t1 + 1e-12))
        if m.size:
            ends.append(int(m[-1]))
    train_ends = [i for i in ends if t[i] <= t_train + 1e-12]
    j = np.asarray(arrays["J"])
    if len(train_ends) >= 2 and j[train_ends[0]] != 0:
        out["gain_current"] = float(j[train_ends[-1]] / j[train_ends[0]])
    if carrier not in ("hole", "electron"):
        raise ValueError(f"carrier = {carrier!r}: must be 'hole' or 'electron'")
    q = np.asarray(arrays["Qt_p" if carrier == "hole" else "Qt_n"], dtype=float)
    uv = np.asarray(arrays["uv"])
    on = np.flatnonzero((uv > 0) & (t > t_train - 1e-12))
    if on.size >= 2:
        first = max(int(on[0]) - 1, 0)  # the last sample before the UV (end of the train)
        idx = np.r_[first, on]
        if q[first] < q[0]:  # a negative charge density: work with its magnitude
            q = -q
        trapped = float(q[first] - q[0])
        out["trapped_charge_c_m2"] = trapped
        out["erased_fraction"] = (float((q[first] - q[on[-1]]) / trapped) if trapped > 0
                                  else float("nan"))
        try:
            out["reset_time_s"] = loss_time(t[idx], q[idx], float(q[on[-1]]), erased)
        except ValueError as err:  # the UV removed no trapped charge
            out["reset_time_note"] = str(err)
    return out


# ----------------------------------------------------------------------------- compact fit
def fit_point(h5_path: str | Path, out_json: str | Path, cfg: Mapping[str, Any],
              compact: Mapping[str, Any], config: Any = None) -> dict[str, Any]:
    """Fit the compact model to a point's trace, or record why it was not fitted.

    Args:
        h5_path: Point trace of :func:`run_point`.
        out_json: ``nlem.json`` of the point (or ``{"status": "failed", "reason": ...}``).
        cfg: ``sweep`` section (``require_potentiation``, ``fit_max_nfev``).
        compact: ``compact`` section (``preset``, noise spreads).
        config: Provenance record.

    Returns:
        The written document.
    """
    import h5py

    from compact_model.fit import build_nlem
    from compact_model.variability import Variability
    from lemsim.io import write_json

    with h5py.File(h5_path, "r") as fh:
        status = _status_of(fh)
        summary = json.loads(fh.attrs.get("summary", "{}"))
    reason = ""
    if status != "complete":
        reason = status.removeprefix("failed: ")
    elif cfg["require_potentiation"] and not summary.get("gain_current", 0.0) > 1.0:
        reason = ("physics does not potentiate (current gain over the train "
                  f"{summary.get('gain_current', float('nan')):.3f} <= 1)")
    if not reason:
        var = Variability(d2d=compact["d2d_sigma"], c2c=compact["c2c_sigma"],
                          read=compact["read_noise"])
        try:
            doc = build_nlem(out_json, [h5_path], preset=compact["preset"],
                             max_nfev=int(cfg["fit_max_nfev"]), config=config, variability=var)
            doc = dict(doc, status="complete", physics_summary=summary)
            write_json(out_json, doc, config)
            return doc
        except Exception as err:  # noqa: BLE001 - recorded per point, the DAG goes on
            reason = f"{type(err).__name__}: {err}"
    log.error("fit failed at %s: %s", h5_path, reason)
    doc = {"status": "failed", "reason": f"fit failed: {reason}", "physics_summary": summary}
    write_json(out_json, doc, config)
    return doc


# ----------------------------------------------------------------------------- FCN-2
def compact_reset_time(model: Any, uv_mw_cm2: float, erased: float, window_s: float = 60.0,
                       n_train: int = 50) -> float:
    """Compact model's UV reset time [s]: ``n_train`` paper pulses, then UV at ``uv_mw_cm2``
    until the read current has lost ``erased`` of its gain (paper D11 protocol)."""
    from compact_model.params import MW_CM2
    from compact_model.protocols import after_train
    from lemsim.metrics import uv_reset_time

    t, read, base = after_train(model, n_train, uv_mw_cm2 * MW_CM2, window_s, samples=2000)
    return uv_reset_time(t, read, base, erased)


def fcn2_point(nlem_json: str | Path, out_json: str | Path, uv_mw_cm2: float,
               cfg: Mapping[str, Any], fcn: Mapping[str, Any], circuits: Mapping[str, Any],
               seed: int, config: Any = None) -> dict[str, Any]:
    """FCN-2 accuracy (light read-out on photodiodes) with the point's fitted N-LEM.

    The Fig. 4 co-design network (``networks.experiments.fcn_codesign``) on
    ``networks.fcn.classes`` digits, with the sample counts and epochs of the ``sweep``
    section; layer 2 is written into 50 N-LEMs after the last epoch and read through the
    circuit solver. Accuracies are those of the last epoch (no selection on the test set).
    """
    import torch

    import compact_model
    from circuits.config import CircuitsConfig
    from circuits.synapse_array import NLEMSynapseArray
    from lemsim.configtools import from_dict
    from lemsim.io import write_json
    from networks.config import FCNConfig
    from networks.experiments.fcn_codesign import (
        HardwareEvaluator,
        class_subset,
        load_mnist,
        train_fcn,
    )

    fit = json.loads(Path(nlem_json).read_text(encoding="utf-8"))
    out: dict[str, Any] = {"uv_intensity_mw_cm2": float(uv_mw_cm2),
                           "physics": fit.get("physics_summary", {})}
    if fit.get("status") != "complete":
        out.update(status="failed", reason=fit.get("reason", "fit failed: unknown"))
        write_json(out_json, out, config)
        return out
    fcfg = from_dict(FCNConfig, dict(fcn, train_samples=int(cfg["fcn_train_samples"]),
                                     test_samples=int(cfg["fcn_test_samples"]),
                                     epochs=int(cfg["fcn_epochs"])), "networks.fcn")
    ccfg = from_dict(CircuitsConfig, dict(circuits), "circuits")
    torch.set_num_threads(1)
    try:
        model = compact_model.load(str(nlem_json))
        # the point's own train (the protocol its physics reset time is measured after)
        out["reset_time_compact_s"] = compact_reset_time(model, uv_mw_cm2,
                                                         float(cfg["reset_erased"]),
                                                         n_train=int(cfg["train_pulses"]))
        array = NLEMSynapseArray(model, ccfg, 5, 5, w_scale=fcfg.w_scale, seed=seed)
        levels = array.weight_levels()
        xtr, ytr, xte, yte = load_mnist()
        c = fcfg.classes
        x, y = class_subset(xtr, ytr, c, fcfg.train_samples, seed + c)
        xt, yt = class_subset(xte, yte, c, fcfg.test_samples, seed + 100 + c)
        ev = HardwareEvaluator(array, x[: min(500, len(x))], xt, yt)

        def last_epoch_only(ep: int, net: Any) -> None:
            if ep == fcfg.epochs - 1:
                ev(ep, net)

        train_fcn(x, y, xt, yt, c, levels, fcfg, seed + c, last_epoch_only)
        row = ev.rows[-1]
    except Exception as err:  # noqa: BLE001 - recorded per point, the DAG goes on
        out.update(status="failed", reason=f"FCN-2 failed: {type(err).__name__}: {err}")
        write_json(out_json, out, config)
        return out
    out.update(status="complete", classes=c, fcn2_accuracy=row["light"],
               fcn1_accuracy=row["current"], ideal_accuracy=row["ideal"],
               g_err_rms_levels=row["g_err_rms_levels"])
    write_json(out_json, out, config)
    return out


# ----------------------------------------------------------------------------- summary
#: Columns of the sweep table.
COLUMNS = ("trap_factor", "trap_species", "trap_density_cm2", "uv_intensity_mw_cm2", "status",
           "reason", "gain_current",
           "trapped_charge_c_m2", "erased_fraction", "reset_time_s", "reset_time_compact_s",
           "fcn2_accuracy", "fcn1_accuracy", "ideal_accuracy")


def _fmt_time(x: float) -> str:
    if not math.isfinite(x):
        return "> UV step" if x > 0 else "n/a"
    return f"{x * 1e3:.3g} ms" if x < 1 else f"{x:.3g} s"


def summarise(point_jsons: Sequence[str | Path], traps: Sequence[float],
              uvs: Sequence[float], out_csv: str | Path, out_png: str | Path,
              config: Any = None) -> list[dict[str, Any]]:
    """Table of all points and the two-panel heat map (FCN-2 accuracy, UV reset time).

    ``point_jsons`` are the :func:`fcn2_point` outputs, one per (trap factor, uv) in any order;
    the grid is ``traps`` (trap-density factors: rows, y axis, labelled with the densest
    species' density) x ``uvs`` (UV intensities in mW/cm^2: columns, x axis).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lemsim.io import atomic_path

    rows = []
    for path in point_jsons:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        phys = doc.get("physics", {})
        rows.append({
            "trap_factor": float(phys.get("trap_factor", float("nan"))),
            "trap_species": phys.get("trap_species", ""),
            "trap_density_cm2": float(phys.get("trap_density_cm2", float("nan"))),
            "uv_intensity_mw_cm2": float(doc["uv_intensity_mw_cm2"]),
            "status": doc["status"], "reason": doc.get("reason", ""),
            "gain_current": phys.get("gain_current", float("nan")),
            "trapped_charge_c_m2": phys.get("trapped_charge_c_m2", float("nan")),
            "erased_fraction": phys.get("erased_fraction", float("nan")),
            "reset_time_s": phys.get("reset_time_s", float("nan")),
            "reset_time_compact_s": doc.get("reset_time_compact_s", float("nan")),
            "fcn2_accuracy": doc.get("fcn2_accuracy", float("nan")),
            "fcn1_accuracy": doc.get("fcn1_accuracy", float("nan")),
            "ideal_accuracy": doc.get("ideal_accuracy", float("nan")),
        })
    rows.sort(key=lambda r: (r["trap_factor"], r["uv_intensity_mw_cm2"]))
    with atomic_path(out_csv) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        wr.writeheader()
        wr.writerows(rows)

    def cell(tr: float, uv: float) -> dict[str, Any] | None:
        for r in rows:
            if math.isclose(r["trap_factor"], tr, rel_tol=1e-6) and math.isclose(
                    r["uv_intensity_mw_cm2"], uv, rel_tol=1e-6):
                return r
        return None

    acc = np.full((len(traps), len(uvs)), np.nan)
    rst = np.full_like(acc, np.nan)
    for i, tr in enumerate(traps):
        for k, uv in enumerate(uvs):
            r = cell(tr, uv)
            if r is not None:
                acc[i, k] = r["fcn2_accuracy"]
                rst[i, k] = r["reset_time_s"]
    ytick = []
    for tr in traps:
        dens = [r["trap_density_cm2"] for r in rows if math.isclose(r["trap_factor"], tr)
                and math.isfinite(r["trap_density_cm2"])]
        ytick.append(f"{dens[0]:.2g}" if dens else f"x{tr:g}")
    names = sorted({r["trap_species"] for r in rows if r["trap_species"]})
    species = f"\n{', '.join(names)}" if names else ""
    fig, axes = plt.subplots(1, 2, figsize=(12.0, 4.6))
    panels = ((axes[0], acc, "viridis", "FCN-2 test accuracy (%)", "a  FCN-2 accuracy",
               (0.0, 100.0)),
              (axes[1], np.log10(np.where(np.isfinite(rst) & (rst > 0), rst, np.nan)),
               "magma", "log10 UV reset time (s)",
               "b  UV reset time of the trapped charge (physics)", (None, None)))
    for ax, data, cmap, label, title, (vmin, vmax) in panels:
        masked = np.ma.masked_invalid(data)
        im = ax.imshow(masked, cmap=cmap, origin="lower", aspect="auto", vmin=vmin, vmax=vmax)
        ax.set_facecolor("0.85")
        fig.colorbar(im, ax=ax, label=label)
        ax.set_xticks(range(len(uvs)), [f"{u:g}" for u in uvs])
        ax.set_yticks(range(len(traps)), ytick)
        ax.set_xlabel("UV intensity at 365 nm (mW/cm²)")
        ax.set_ylabel(f"PVP trap density (cm⁻²){species}")
        ax.set_title(title)
        for i, tr in enumerate(traps):
            for k, uv in enumerate(uvs):
                r = cell(tr, uv)
                if r is None:
                    text = "missing"
                elif ax is axes[0]:
                    text = (f"{r['fcn2_accuracy']:.1f} %" if r["status"] == "complete"
                            else "\n".join(_wrap(r["reason"], 26, 5)))
                elif math.isfinite(float(r["reset_time_s"])):
                    text = (f"{_fmt_time(float(r['reset_time_s']))}\n"
                            f"{100 * float(r['erased_fraction']):.0f} % erased")
                elif float(r["erased_fraction"]) <= 0:  # the UV added trapped charge
                    text = (f"not erased:\ntrapped charge\n"
                            f"+{-100 * float(r['erased_fraction']):.0f} % under UV")
                else:
                    text = ("physics failed" if "physics (" in r["reason"] else "n/a")
                small = ax is axes[0] and "\n" in text
                ax.text(k, i, text, ha="center", va="center", fontsize=5.5 if small else 7.5,
                        color="k", bbox={"fc": "w", "alpha": 0.6, "lw": 0, "pad": 1})
    fig.suptitle("Material-to-accuracy sweep: PVP trap density x UV intensity")
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)
    return rows


def _wrap(text: str, width: int, lines: int) -> list[str]:
    import textwrap

    out = textwrap.wrap(text, width)
    return out[:lines - 1] + ["..."] if len(out) > lines else out


__all__ = ["sweep_stack", "run_train", "wall_limit", "PhysicsTimeout", "run_point",
           "physics_summary", "fit_point", "fcn2_point", "compact_reset_time", "summarise",
           "COLUMNS"]
