"""Calibration of the N-LEM stack's free physics parameters to the paper's device metrics.

Owns the optimiser over drift-diffusion runs (fv1d, or dolfinx with ``--solver dolfinx``:
:func:`simulate_dolfinx`) that fits the few parameters the literature does not fix to
PAPER_TARGETS D3-D12, its on-disk run cache, and the residual definition. Runnable as::

    python -m device_physics.calibration --stack config/stacks/nlem.yaml \
        -o results/calibration/calibration.json --max-evals 20

    # the default-mesh check of the two-population set (dolfinx, 20 cells/layer):
    python -m device_physics.calibration --solver dolfinx --nodes-per-layer 20 \
        --params two_species --evaluate-only

**Shunt**: the stack's ``shunt_conductance`` G_sh (a charge-independent,
non-emitting leakage path, J_ext = J_dd + G_sh V) leaves the light and NL unchanged and pulls
the current gains towards 1; with the traps fitted to the LIGHT gains, :func:`fit_shunt` (CLI
``--fit-shunt``) gives the G_sh whose current gains best fit D6 at 10 and 50 pulses from one
run's drift-diffusion peaks (no further physics run).

**One evaluation** (:func:`simulate`) of a parameter vector runs, on the stack with the
parameters applied:

1. a train of ``n_pulses`` (50) pulses, 5 V / 30 ms / 30 ms interval, from equilibrium: the
   per-pulse peaks (end of each pulse, the EPSC/EPSB read-out without the edge spikes) give
   D3-D7 (first 10 pulses for N = 10, all 50 for N = 50);
2. from the end state of the train, a dark rest of ``rest_s`` (100 s) and one probe pulse (D10);
3. from the same end state, UV at ``uv_mw_cm2`` (70 mW/cm2, 365 nm) for ``uv_s`` (5 s) at 0 V
   and one probe pulse (D11).

**Read-out during the rest and the UV** (D10, D11). A pulse disturbs the state it reads, so
D10 / D11 are :func:`lemsim.metrics.natural_decay_time` / ``uv_reset_time`` on the
written trapped charge ``q(t) - q0`` (net electrons minus holes, C/m^2, relative to the
pristine ``q0`` of the train's first sample; its sign made positive), the D10/D11 definitions
of :func:`device_physics.studies.trace_metrics`. The probe pulse at the end of each branch
checks them: ``probe_lost_rest`` / ``probe_lost_uv`` (extra keys of the metrics) are the
fractions of the train's current gain that the probe has lost. The charge is read instead of
a proxy, ``interp(Q(t); Q_k, J_k)`` over the train's (charge, peak current) pairs: with
two trap populations that proxy overstated the loss (63 % lost after 23 s,
while the probe after 71.6 s had lost 63.9 % and the charge 62.9 %), because the probe (like
every train pulse) refills the fast population within its 30 ms.

**Residuals** (:func:`residuals`), one per target, relative to the paper value and weighted:

=========================  ==================================  ======
metric                     residual                            weight
=========================  ==================================  ======
D3 NL current (0.20)       (sim - 0.20) / 0.20                 1.0
D4 NL light (0.27)         (sim - 0.27) / 0.27                 1.0
D5 Pearson r (0.999)       (0.999 - sim) / 0.01, if sim < .999 1.0
D6 gain current, N = 10    (sim - 1.38) / 1.38                 2.0
D6 gain current, N = 50    (sim - 2.40) / 2.40                 2.0
D7 gain light, N = 10      (sim - 1.57) / 1.57                 1.0
D7 gain light, N = 50      (sim - 3.17) / 3.17                 1.0
D10 natural decay (71.6 s) ln(sim / 71.6)                      1.0
D11 UV reset (2.52 s)      ln(sim / 2.52)                      1.0
D12 reset / decay (3.52 %) (sim - 0.042) / 0.042, if > 4.2 %   0.5
=========================  ==================================  ======

The gains carry weight 2 because they are the primary memristive response; the times enter
logarithmically (they span decades while parameters move); D5 and D12 are one-sided (the
paper states a bound). A metric that cannot be computed (no gain, no decay within the trace)
gets the residual :data:`MISSING` (a large finite value, so the optimiser is steered away).

**Optimiser**: Nelder-Mead (scipy) in the box-normalised coordinates of the free parameters
(log10 for densities and rate coefficients, linear for energies), box bounds enforced by
clipping; the objective is the sum of squared weighted residuals. Every evaluation is cached
in ``cache_dir`` (JSON, one file per run, written atomically with :mod:`lemsim.io`) under the
SHA-256 of the parameter vector, the stack after the parameters are applied, the protocol
bundle, the solver settings and :data:`MODEL_VERSION`; the optimiser is deterministic, so a
rerun replays the cached evaluations at no cost and an interrupted calibration resumes where
it stopped.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import logging
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lemsim.configtools import load_yaml
from lemsim.io import write_json

log = logging.getLogger(__name__)

#: Bump when the physics or the raw record changes: old cache entries are then not reused.
MODEL_VERSION = "fv1d-photoemission-1"
#: Residual of a metric that cannot be computed.
MISSING = 10.0

#: Paper values of D3-D12 (docs/targets.md).
PAPER: dict[str, float] = {
    "D3_nl_current": 0.20, "D4_nl_light": 0.27, "D5_pearson": 0.999,
    "D6_gain_current_10": 1.38, "D6_gain_current_50": 2.40,
    "D7_gain_light_10": 1.57, "D7_gain_light_50": 3.17,
    "D10_decay_s": 71.6, "D11_uv_reset_s": 2.52, "D12_ratio": 0.0352,
}
#: Weights of the residuals (module docstring).
WEIGHTS: dict[str, float] = {
    "D3_nl_current": 1.0, "D4_nl_light": 1.0, "D5_pearson": 1.0,
    "D6_gain_current_10": 2.0, "D6_gain_current_50": 2.0,
    "D7_gain_light_10": 1.0, "D7_gain_light_50": 1.0,
    "D10_decay_s": 1.0, "D11_uv_reset_s": 1.0, "D12_ratio": 0.5,
}
#: Acceptance bands (lo, hi) of the calibration, used in the report.
BANDS: dict[str, tuple[float, float]] = {
    "D3_nl_current": (0.15, 0.25), "D4_nl_light": (0.22, 0.32), "D5_pearson": (0.99, 1.0),
    "D6_gain_current_10": (1.23, 1.53), "D6_gain_current_50": (2.15, 2.65),
    "D7_gain_light_10": (1.42, 1.72), "D7_gain_light_50": (2.87, 3.47),
    "D10_decay_s": (57.28, 85.92), "D11_uv_reset_s": (2.016, 3.024), "D12_ratio": (0.0, 0.042),
}
D12_BOUND = 0.042


# ------------------------------------------------------------------------------ parameters

@dataclass(frozen=True)
class FreeParam:
    """One free parameter: where it lives in the stack file and its allowed box.

    Attributes:
        name: Short name (keys of parameter dicts).
        path: Keys from the stack mapping to the value; a ``str`` key applied to a list picks
            the item whose ``name`` equals it (layers, traps), e.g.
            ``("layers", "pvp", "traps", "pvp_electron_traps", "density", "value")``.
        lo, hi: Bounds in the stack file's unit.
        log: Optimise log10 of the value (densities, rate coefficients).
        unit: Unit of the value (for the report).
    """

    name: str
    path: tuple[str, ...]
    lo: float
    hi: float
    log: bool = False
    unit: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi) and self.lo < self.hi):
            raise ValueError(f"parameter {self.name}: bounds lo = {self.lo}, hi = {self.hi} "
                             "must be finite with lo < hi")
        if self.log and self.lo <= 0:
            raise ValueError(f"parameter {self.name}: log scale needs lo > 0, got {self.lo}")

    def to_unit(self, value: float) -> float:
        """Box coordinate in [0, 1] of a value."""
        if self.log:
            return (math.log10(value) - math.log10(self.lo)) / math.log10(self.hi / self.lo)
        return (value - self.lo) / (self.hi - self.lo)

    def from_unit(self, s: float) -> float:
        """Value at box coordinate ``s`` (clipped to [0, 1])."""
        s = min(1.0, max(0.0, float(s)))
        if self.log:
            return float(10 ** (math.log10(self.lo) + s * math.log10(self.hi / self.lo)))
        return float(self.lo + s * (self.hi - self.lo))


_ET = ("layers", "pvp", "traps", "pvp_electron_traps")
#: Default free parameters: the electron traps at the IDTBT side of the PVP (sheet density,
#: depth distribution, capture, recombination of a trapped electron with a free hole, optical
#: emission cross-section at 365 nm, bounded by deep-level values 1e-18-1e-14 cm2). The QD
#: out-coupling only scales the light and does not enter the ratios D3-D12, so it is not free.
DEFAULT_PARAMS: tuple[FreeParam, ...] = (
    FreeParam("et_density", (*_ET, "density", "value"), 1e11, 3e13, True, "cm-2"),
    FreeParam("et_capture", (*_ET, "capture", "value"), 1e-16, 1e-8, True, "cm3/s"),
    FreeParam("et_depth_mean", (*_ET, "depth", "mean"), 0.45, 0.9, False, "eV"),
    FreeParam("et_depth_sigma", (*_ET, "depth", "sigma"), 0.01, 0.15, False, "eV"),
    FreeParam("et_recombination", (*_ET, "recombination", "value"), 1e-20, 1e-14, True,
              "cm3/s"),
    FreeParam("et_photoemission", (*_ET, "photoemission", "value"), 1e-18, 1e-14, True, "cm2"),
)

_FT = ("layers", "pvp", "traps", "pvp_fast_electron_traps")
#: Free parameters of the two-population stack (docs/calibration.md): the slow
#: population (``pvp_electron_traps``: sheet density, capture, depth mean and width; it carries
#: the growth to 50 pulses and the natural decay) and the fast, saturating one
#: (``pvp_fast_electron_traps``: sheet density, capture, depth; it gives the nonlinearity of
#: the first pulses and the paired-pulse facilitation), each with its optical cross-section.
TWO_SPECIES_PARAMS: tuple[FreeParam, ...] = (
    *(p for p in DEFAULT_PARAMS if p.name != "et_recombination"),
    FreeParam("ft_density", (*_FT, "density", "value"), 1e10, 1e13, True, "cm-2"),
    FreeParam("ft_capture", (*_FT, "capture", "value"), 1e-16, 1e-8, True, "cm3/s"),
    FreeParam("ft_depth_mean", (*_FT, "depth", "mean"), 0.4, 0.9, False, "eV"),
    FreeParam("ft_photoemission", (*_FT, "photoemission", "value"), 1e-18, 1e-14, True, "cm2"),
)
#: Named parameter sets of the command line.
PARAM_SETS: dict[str, tuple[FreeParam, ...]] = {"default": DEFAULT_PARAMS,
                                                "two_species": TWO_SPECIES_PARAMS}


def _locate(node: Any, key: str, where: str) -> Any:
    if isinstance(node, Mapping):
        if key not in node:
            raise KeyError(f"{where}: no key {key!r} (have {sorted(node)})")
        return node[key]
    if isinstance(node, list):
        for item in node:
            if isinstance(item, Mapping) and item.get("name") == key:
                return item
        names = [item.get("name") for item in node if isinstance(item, Mapping)]
        raise KeyError(f"{where}: no item named {key!r} (have {names})")
    raise KeyError(f"{where}: cannot index {type(node).__name__} with {key!r}")


def get_value(stack: Mapping[str, Any], path: Sequence[str]) -> Any:
    """Value at ``path`` of a stack mapping (see :class:`FreeParam`)."""
    node: Any = stack
    for k in path:
        node = _locate(node, k, "/".join(path))
    return node


def apply_params(stack: Mapping[str, Any], params: Mapping[str, float],
                 spec: Sequence[FreeParam] = DEFAULT_PARAMS) -> dict[str, Any]:
    """A copy of the stack mapping with ``params`` written in.

    Raises:
        ValueError: unknown parameter name, or a value outside its bounds.
        KeyError: a parameter's path does not exist in the stack.
    """
    by_name = {p.name: p for p in spec}
    out = copy.deepcopy(dict(stack))
    for name, value in params.items():
        if name not in by_name:
            raise ValueError(f"unknown parameter {name!r}: allowed {sorted(by_name)}")
        p = by_name[name]
        v = float(value)
        if not (p.lo <= v <= p.hi):
            raise ValueError(f"parameter {name} = {v:g} {p.unit}: must be in "
                             f"[{p.lo:g}, {p.hi:g}]")
        parent = get_value(out, p.path[:-1])
        if p.path[-1] not in parent:
            raise KeyError(f"{'/'.join(p.path)}: no key {p.path[-1]!r}")
        parent[p.path[-1]] = v
    return out


# ------------------------------------------------------------------------------ runs

@dataclass(frozen=True)
class Bundle:
    """The protocols of one evaluation (module docstring)."""

    n_pulses: int = 50
    amplitude_v: float = 5.0
    width_s: float = 30e-3
    interval_s: float = 30e-3
    rest_s: float = 100.0
    uv_mw_cm2: float = 70.0
    uv_s: float = 5.0

    def __post_init__(self) -> None:
        if self.n_pulses < 10:
            raise ValueError(f"n_pulses = {self.n_pulses}: must be >= 10 (D3-D7 use 10)")
        for k in ("amplitude_v", "width_s", "interval_s", "rest_s", "uv_mw_cm2", "uv_s"):
            v = getattr(self, k)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{k} = {v!r}: must be finite and > 0")


@dataclass(frozen=True)
class Settings:
    """Solver settings of a calibration run (fv1d, or dolfinx with ``solver="dolfinx"``).

    ``nodes_per_layer`` is fv1d's nodes per layer or dolfinx's cells per layer; ``ratio``,
    ``dt_edge`` and ``newton_tol`` are fv1d's only (dolfinx uses its own step control).
    """

    nodes_per_layer: int = 6
    rtol: float = 0.05
    ratio: float = 1.2
    dt_edge: float = 1e-6
    newton_tol: float = 1e-4
    """Newton update tolerance of the transient steps (scaled units; fv1d default 1e-6)."""
    solver: str = "fv1d"
    """``fv1d`` (:func:`simulate`) or ``dolfinx`` (:func:`simulate_dolfinx`)."""

    def __post_init__(self) -> None:
        if not 2 <= self.nodes_per_layer <= 400:
            raise ValueError(f"nodes_per_layer = {self.nodes_per_layer}: must be in [2, 400]")
        if not 0 < self.rtol < 1:
            raise ValueError(f"rtol = {self.rtol}: must be in (0, 1)")
        if self.solver not in ("fv1d", "dolfinx"):
            raise ValueError(f"solver = {self.solver!r}: must be 'fv1d' or 'dolfinx'")


def _train_protocol(b: Bundle):
    from device_physics.protocols import protocol_from_dict, pulse_train

    return protocol_from_dict({"name": "cal_train", "steps": [
        pulse_train(b.n_pulses, b.amplitude_v, b.width_s, b.interval_s)]})


def _branch_protocol(b: Bundle, uv: bool):
    from device_physics.protocols import protocol_from_dict, pulse_train

    first = ({"kind": "uv", "intensity": f"{b.uv_mw_cm2!r} mW/cm2", "duration": f"{b.uv_s!r} s",
              "bias": "0 V"} if uv else {"kind": "rest", "duration": f"{b.rest_s!r} s"})
    return protocol_from_dict({"name": "cal_uv" if uv else "cal_rest", "steps": [
        first, pulse_train(1, b.amplitude_v, b.width_s, b.interval_s)]})


def _thin(t: np.ndarray, *ys: np.ndarray, n: int = 400) -> list[list[float]]:
    """At most ``n`` samples, log-spaced in time (keeps the early fast part)."""
    if len(t) <= n:
        idx = np.arange(len(t))
    else:
        tt = np.geomspace(max(t[1], 1e-9), t[-1], n)
        idx = np.unique(np.r_[0, np.searchsorted(t, tt).clip(0, len(t) - 1)])
    return [t[idx].tolist()] + [y[idx].tolist() for y in ys]


def simulate(stack: Mapping[str, Any], bundle: Bundle, settings: Settings) -> dict[str, Any]:
    """Run one evaluation with fv1d; returns the raw record (JSON-able, SI units)."""
    from device_physics.fv1d import FV1D, SolverError
    from device_physics.fv1d_study import pulse_end_values
    from device_physics.stack import stack_from_dict

    st = stack_from_dict(copy.deepcopy(dict(stack)), "<calibration>")
    train = _train_protocol(bundle)
    sol = FV1D(st, settings.nodes_per_layer, ratio=settings.ratio, rtol=settings.rtol,
               wavelength=train.wavelength, dt_edge=settings.dt_edge)
    sol.newton_tol_transient = settings.newton_tol
    sol.retry_sanitized = True  # stiff calibrated stacks need it (FV1D.retry_sanitized)
    raw: dict[str, Any] = {"status": "complete", "wall_s": {}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        t0 = time.perf_counter()
        try:
            tr = sol.run(train, snapshots=False)
        except SolverError as exc:
            raw["status"] = f"train failed: {exc}"
            tr = exc.trace
        raw["wall_s"]["train"] = time.perf_counter() - t0
        pk = pulse_end_values(tr, train) if tr is not None else {}
        raw["train"] = {k: np.asarray(v).tolist() for k, v in pk.items()}
        if tr is not None and len(tr.arrays()["t"]):
            a0 = tr.arrays()
            raw["train"]["Q0"] = float(a0["Qt_n"][0] - a0["Qt_p"][0])
        if raw["status"] != "complete":
            return raw
        z_end = sol.z.copy()
        for name, uv in (("rest", False), ("uv", True)):
            pr = _branch_protocol(bundle, uv)
            t0 = time.perf_counter()
            try:
                tb = sol.run(pr, z0=z_end, snapshots=False)
            except SolverError as exc:
                raw["status"] = f"{name} failed: {exc}"
                raw["wall_s"][name] = time.perf_counter() - t0
                return raw
            raw["wall_s"][name] = time.perf_counter() - t0
            a = tb.arrays()
            t_end = bundle.uv_s if uv else bundle.rest_s
            m = a["t"] <= t_end + 1e-12
            tt, qp, qn = _thin(a["t"][m], a["Qt_p"][m], a["Qt_n"][m])
            ppk = pulse_end_values(tb, pr)
            raw[name] = {"t": tt, "Qt_p": qp, "Qt_n": qn,
                         "probe_J": float(ppk["J"][-1]) if ppk["J"].size else float("nan"),
                         "probe_L": float(ppk["L"][-1]) if ppk["L"].size else float("nan")}
    return raw


def _dolfinx_branch_spec(b: Bundle, uv: bool) -> dict[str, Any]:
    """Protocol spec: the train, then the rest or the UV (with a 0.2 s dark pause, so that the
    UV switching off and the probe switching on are separate edges), then one probe pulse."""
    train = {"kind": "pulses", "amplitude": f"{b.amplitude_v!r} V", "width": f"{b.width_s!r} s",
             "interval": f"{b.interval_s!r} s", "count": b.n_pulses, "name": "train"}
    probe = dict(train, count=1, name="probe")
    if uv:
        mid = [{"kind": "uv", "intensity": f"{b.uv_mw_cm2!r} mW/cm2",
                "duration": f"{b.uv_s!r} s", "bias": "0 V", "name": "uv"},
               {"kind": "rest", "duration": "0.2 s"}]
        return {"name": "cal_uv", "wavelength": "365 nm", "steps": [train, *mid, probe]}
    return {"name": "cal_rest", "steps": [train, {"kind": "rest", "duration": f"{b.rest_s!r} s",
                                                  "name": "rest"}, probe]}


def simulate_dolfinx(stack: Mapping[str, Any], bundle: Bundle,
                     settings: Settings) -> dict[str, Any]:
    """One evaluation with the dolfinx solver; the same raw record as :func:`simulate`.

    dolfinx runs a protocol from equilibrium, so the train is run twice: train + dark rest +
    probe, and train + UV + 0.2 s dark + probe (each about 2.5-3.5 min at 20 cells per layer,
    rtol 0.05, on one loaded core). The train peaks come from the first run.
    """
    import tempfile

    from device_physics.simulate import simulate as run_dolfinx
    from device_physics.studies import pulse_reads, read_h5_trace
    from device_physics.timestepping import StepFailure

    raw: dict[str, Any] = {"status": "complete", "wall_s": {}}
    with tempfile.TemporaryDirectory(prefix="lemsim_cal_") as tmp:
        st_path = Path(tmp) / "stack.yaml"
        st_path.write_text(yaml.safe_dump(copy.deepcopy(dict(stack)), sort_keys=False),
                           encoding="utf-8")
        for name, uv in (("rest", False), ("uv", True)):
            pr_path = Path(tmp) / f"{name}.yaml"
            pr_path.write_text(yaml.safe_dump(_dolfinx_branch_spec(bundle, uv)), encoding="utf-8")
            out = Path(tmp) / f"{name}.h5"
            t0 = time.perf_counter()
            try:
                run_dolfinx(st_path, pr_path, out, cells_per_layer=settings.nodes_per_layer,
                            rtol=settings.rtol, xdmf=False)
            except StepFailure as exc:
                raw["status"] = f"{name} failed: {exc}"
            raw["wall_s"][name] = time.perf_counter() - t0
            if not out.exists():
                return raw
            a, pr, _ = read_h5_trace(out)
            rd = pulse_reads(a, pr)
            n = bundle.n_pulses
            idx = np.searchsorted(a["t"], rd["t"][:n]).clip(0, a["t"].size - 1)
            if name == "rest":
                raw["train"] = {"J": rd["J"][:n].tolist(), "L": rd["L"][:n].tolist(),
                                "Qt_n": a["Qt_n"][idx].tolist(), "Qt_p": a["Qt_p"][idx].tolist(),
                                "Q0": float(a["Qt_n"][0] - a["Qt_p"][0])}
            seg = next(sg for sg in pr.segments if sg.kind == ("uv" if uv else "rest"))
            if a["t"].size == 0 or a["t"][-1] < seg.t1 - 1e-9:
                return raw  # failed before the end of the rest / UV: nothing to measure
            # a failure after the rest / UV (e.g. at the UV switching off) keeps the branch;
            # its probe is then NaN and the status names the failure
            m = (a["t"] >= seg.t0 - 1e-12) & (a["t"] <= seg.t1 + 1e-12)
            tt, qp, qn = _thin(a["t"][m] - seg.t0, a["Qt_p"][m], a["Qt_n"][m])
            raw[name] = {"t": tt, "Qt_p": qp, "Qt_n": qn, "probe_J": float(rd["J"][-1]),
                         "probe_L": float(rd["L"][-1])}
    return raw


def run_evaluation(stack: Mapping[str, Any], bundle: Bundle,
                   settings: Settings) -> dict[str, Any]:
    """The evaluation of ``settings.solver``: :func:`simulate` or :func:`simulate_dolfinx`."""
    if settings.solver == "dolfinx":
        return simulate_dolfinx(stack, bundle, settings)
    return simulate(stack, bundle, settings)


# ------------------------------------------------------------------------------ metrics

def metrics_from_raw(raw: Mapping[str, Any]) -> dict[str, float]:
    """D3-D12 of a raw record (NaN where not computable; see the module docstring)."""
    from lemsim import metrics as mt

    out = {k: float("nan") for k in PAPER}
    tr = raw.get("train", {})
    J = np.asarray(tr.get("J", []), dtype=float)
    L = np.asarray(tr.get("L", []), dtype=float)
    if J.size < 10 or L.size < 10 or J[0] <= 0 or L[0] <= 0:
        return out
    for lab, n in (("10", 10), ("50", J.size)):
        if lab == "50" and J.size < 50:
            continue
        out[f"D6_gain_current_{lab}"] = mt.gain(J[:n])
        out[f"D7_gain_light_{lab}"] = mt.gain(L[:n])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            out["D3_nl_current"] = mt.nonlinearity(J[:10])
            out["D4_nl_light"] = mt.nonlinearity(L[:10])
        except ValueError:
            pass
        out["D5_pearson"] = mt.pearson(J[:10], L[:10])
    q = (np.asarray(tr.get("Qt_n", []), dtype=float) - np.asarray(tr.get("Qt_p", []),
                                                                   dtype=float))
    if q.size != J.size or J[-1] <= J[0]:
        return out
    q0 = float(tr.get("Q0", 0.0))
    sign = 1.0 if q[-1] >= q0 else -1.0  # electron (+) or hole (-) memory
    for key, br, fn in (("D10_decay_s", "rest", mt.natural_decay_time),
                        ("D11_uv_reset_s", "uv", mt.uv_reset_time)):
        b = raw.get(br)
        if not b:
            continue
        qb = np.asarray(b["Qt_n"], dtype=float) - np.asarray(b["Qt_p"], dtype=float)
        try:
            out[key] = fn(np.asarray(b["t"], dtype=float), sign * (qb - q0), 0.0)
        except ValueError:
            pass
        probe = float(b.get("probe_J", float("nan")))
        out[f"probe_lost_{br}"] = float((J[-1] - probe) / (J[-1] - J[0]))
    d, u = out["D10_decay_s"], out["D11_uv_reset_s"]
    if math.isfinite(d) and math.isfinite(u) and d > 0:
        out["D12_ratio"] = u / d
    return out


def residuals(metrics: Mapping[str, float]) -> dict[str, float]:
    """Weighted residual per target (module docstring); :data:`MISSING` where not finite.

    Raises:
        ValueError: a target key is absent from ``metrics``.
    """
    missing = [k for k in PAPER if k not in metrics]
    if missing:
        raise ValueError(f"metrics lack the keys {missing}")
    out: dict[str, float] = {}
    for k, ref in PAPER.items():
        v = float(metrics[k])
        w = WEIGHTS[k]
        if not math.isfinite(v) or (k in ("D10_decay_s", "D11_uv_reset_s") and v <= 0):
            out[k] = w * MISSING
            continue
        if k == "D5_pearson":
            r = max(0.0, (ref - v) / 0.01)
        elif k in ("D10_decay_s", "D11_uv_reset_s"):
            r = math.log(v / ref)
        elif k == "D12_ratio":
            r = max(0.0, (v - D12_BOUND) / D12_BOUND)
        else:
            r = (v - ref) / ref
        out[k] = w * r
    return out


# ------------------------------------------------------------------------------ cache

def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def _strip_sources(obj: Any) -> Any:
    """The stack without its ``source`` texts (documentation does not change a run)."""
    if isinstance(obj, Mapping):
        return {k: _strip_sources(v) for k, v in obj.items() if k != "source"}
    if isinstance(obj, list):
        return [_strip_sources(v) for v in obj]
    return obj


def cache_key(params: Mapping[str, float], stack: Mapping[str, Any], bundle: Bundle,
              settings: Settings) -> str:
    """SHA-256 of the parameter vector, stack (without its ``source`` texts), protocol bundle,
    solver settings and model version."""
    blob = _canonical({"params": {k: float(v) for k, v in sorted(params.items())},
                       "stack": _strip_sources(stack), "bundle": asdict(bundle),
                       "settings": asdict(settings), "model": MODEL_VERSION})
    return hashlib.sha256(blob.encode()).hexdigest()


Runner = Callable[[Mapping[str, Any], Bundle, Settings], dict[str, Any]]


@dataclass
class Evaluator:
    """Cached evaluation of parameter vectors on one base stack.

    Attributes:
        base: The stack mapping (as loaded from YAML) the parameters are written into.
        spec: The free parameters.
        cache_dir: Directory of the run cache (one JSON per run).
        bundle, settings: Protocols and solver settings.
        runner: The simulation (default :func:`run_evaluation`, which picks fv1d or dolfinx
            from ``settings.solver``; tests pass a stand-in).
        solves: Number of runs actually simulated (cache misses) by this evaluator.
    """

    base: Mapping[str, Any]
    spec: Sequence[FreeParam] = DEFAULT_PARAMS
    cache_dir: Path = Path("results/calibration/cache")
    bundle: Bundle = field(default_factory=Bundle)
    settings: Settings = field(default_factory=Settings)
    runner: Runner = run_evaluation
    solves: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir)
        for p in self.spec:  # every path must exist before any run
            get_value(self.base, p.path)

    def evaluate(self, params: Mapping[str, float]) -> dict[str, Any]:
        """Raw record, metrics and residuals of ``params`` (from the cache when present)."""
        stack = apply_params(self.base, params, self.spec)
        key = cache_key(params, stack, self.bundle, self.settings)
        path = self.cache_dir / f"{key}.json"
        if path.exists():
            rec = json.loads(path.read_text(encoding="utf-8"))
            cached = True
        else:
            t0 = time.perf_counter()
            raw = self.runner(stack, self.bundle, self.settings)
            self.solves += 1
            rec = {"key": key, "params": dict(params), "bundle": asdict(self.bundle),
                   "settings": asdict(self.settings), "model": MODEL_VERSION, "raw": raw,
                   "wall_s": time.perf_counter() - t0}
            write_json(path, rec)
            cached = False
        met = metrics_from_raw(rec["raw"])
        res = residuals(met)
        out = {"key": key, "params": dict(params), "metrics": met, "residuals": res,
               "cost": float(sum(r * r for r in res.values())), "cached": cached,
               "status": rec["raw"].get("status", "complete"), "raw": rec["raw"]}
        self.history.append({k: out[k] for k in ("key", "params", "cost", "cached", "status")})
        log.info("eval %d (%s): cost %.4g %s", len(self.history),
                 "cached" if cached else "solved", out["cost"],
                 {k: f"{v:.3g}" for k, v in params.items()})
        return out


def calibrate(ev: Evaluator, x0: Mapping[str, float], max_evals: int = 20) -> dict[str, Any]:
    """Nelder-Mead over the box-normalised free parameters from ``x0``.

    Returns the best evaluation (``params``, ``metrics``, ``residuals``, ``cost``) with the
    history. Deterministic: a rerun replays cached evaluations (resume after interruption).
    """
    from scipy.optimize import minimize

    if max_evals < 1:
        raise ValueError(f"max_evals = {max_evals}: must be >= 1")
    names = [p.name for p in ev.spec]
    if set(x0) != set(names):
        raise ValueError(f"x0 keys {sorted(x0)} must be the free parameters {sorted(names)}")
    apply_params(ev.base, x0, ev.spec)  # bounds check before any run
    best: dict[str, Any] = {}

    def to_params(s: np.ndarray) -> dict[str, float]:
        # rounded so that replays hit the same cache keys
        return {p.name: float(f"{p.from_unit(si):.6g}") for p, si in zip(ev.spec, s,
                                                                         strict=True)}

    def f(s: np.ndarray) -> float:
        e = ev.evaluate(to_params(s))
        if not best or e["cost"] < best["cost"]:
            best.clear()
            best.update(e)
        return e["cost"]

    s0 = np.array([p.to_unit(x0[p.name]) for p in ev.spec])
    if max_evals == 1:
        f(s0)
    else:
        simplex = [s0] + [s0 + np.where(np.arange(len(s0)) == i,
                                        0.15 if s0[i] < 0.85 else -0.15, 0.0)
                          for i in range(len(s0))]
        minimize(f, s0, method="Nelder-Mead",
                 options={"maxfev": max_evals, "initial_simplex": np.array(simplex),
                          "xatol": 1e-3, "fatol": 1e-4})
    best = dict(best)
    best["history"] = list(ev.history)
    best["solves"] = ev.solves
    return best


# ------------------------------------------------------------------------------ shunt

#: Current-gain targets the shunt is fitted to (D6, weights as in :data:`WEIGHTS`).
SHUNT_TARGETS: dict[int, str] = {10: "D6_gain_current_10", 50: "D6_gain_current_50"}


def gains_with_shunt(j_dd: Sequence[float], v_read: float, g: float) -> dict[int, float]:
    """Current gains A_N / A_1 (N = 10 and, where there are 50 peaks, 50) of the peaks
    ``j_dd`` (A/m^2, drift-diffusion current without any shunt) read at ``v_read`` (V) with a
    shunt ``g`` (A/(m^2 V)) in parallel: ``(j_N + g v) / (j_1 + g v)``.

    The shunt (stack ``shunt_conductance``) is a charge-independent, non-emitting leakage path:
    it leaves the light gains unchanged and pulls the current gains towards 1, so that
    current gain - 1 = (light gain - 1) x with x = j_1 / (j_1 + g v) when the drift-diffusion
    current follows the light. NL is unchanged (invariant under adding a constant).
    """
    j = np.asarray(j_dd, dtype=float)
    out: dict[int, float] = {}
    for n in SHUNT_TARGETS:
        if j.size >= n:
            out[n] = float((j[n - 1] + g * v_read) / (j[0] + g * v_read))
    return out


def fit_shunt(j_dd: Sequence[float], v_read: float, g_max: float = 1e4) -> dict[str, Any]:
    """The shunt conductance (A/(m^2 V), >= 0) whose current gains best fit the paper's D6 at
    10 and 50 pulses (weighted relative residuals, :data:`WEIGHTS`), by a bounded 1D search.

    Args:
        j_dd: Per-pulse peak currents without a shunt (A/m^2), at least 10.
        v_read: Bias at the read-out (pulse amplitude), V (> 0).
        g_max: Upper end of the search, A/(m^2 V).

    Returns:
        ``{"shunt_conductance": g, "gains": {N: gain}, "residuals": {key: weighted residual}}``.

    Raises:
        ValueError: fewer than 10 peaks, non-positive first peak or ``v_read``.
    """
    from scipy.optimize import minimize_scalar

    j = np.asarray(j_dd, dtype=float)
    if j.size < 10 or not j[0] > 0:
        raise ValueError(f"j_dd: need >= 10 peaks with j_dd[0] > 0, got {j.size} peaks")
    if not (math.isfinite(v_read) and v_read > 0):
        raise ValueError(f"v_read = {v_read!r}: must be > 0 (V)")

    def res(g: float) -> dict[str, float]:
        return {SHUNT_TARGETS[n]: WEIGHTS[SHUNT_TARGETS[n]] * (v - PAPER[SHUNT_TARGETS[n]])
                / PAPER[SHUNT_TARGETS[n]] for n, v in gains_with_shunt(j, v_read, g).items()}

    # the cost is smooth in log(1 + g): search there
    sol = minimize_scalar(lambda s: sum(r * r for r in res(math.expm1(s)).values()),
                          bounds=(0.0, math.log1p(g_max)), method="bounded",
                          options={"xatol": 1e-6})
    g = float(math.expm1(sol.x))
    return {"shunt_conductance": g, "gains": gains_with_shunt(j, v_read, g),
            "residuals": res(g)}


def report(best: Mapping[str, Any], spec: Sequence[FreeParam]) -> dict[str, Any]:
    """JSON-able summary: parameters (with units), metrics vs paper and bands, residuals."""
    units = {p.name: p.unit for p in spec}
    table = {}
    for k, ref in PAPER.items():
        v = best["metrics"][k]
        lo, hi = BANDS[k]
        table[k] = {"paper": ref, "simulated": v, "band": [lo, hi],
                    "in_band": bool(math.isfinite(v) and lo <= v <= hi),
                    "residual": best["residuals"][k]}
    return {"params": {k: {"value": v, "unit": units.get(k, "")}
                       for k, v in best["params"].items()},
            "metrics_vs_paper": table, "cost": best["cost"], "status": best["status"],
            "weights": WEIGHTS, "model": MODEL_VERSION, "history": best.get("history", []),
            "solves": best.get("solves", 0)}


def load_stack_mapping(path: str | Path) -> dict[str, Any]:
    """The stack YAML as a plain mapping (validated by loading it once)."""
    from device_physics.stack import load_stack

    load_stack(path)
    return load_yaml(path)


def current_values(stack: Mapping[str, Any], spec: Sequence[FreeParam]) -> dict[str, float]:
    """The stack's present values of the free parameters (the default start point)."""
    return {p.name: float(get_value(stack, p.path)) for p in spec}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: calibrate a stack and write the calibration JSON."""
    ap = argparse.ArgumentParser(prog="python -m device_physics.calibration",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--stack", default="config/stacks/nlem.yaml")
    ap.add_argument("-o", "--output", default="results/calibration/calibration.json")
    ap.add_argument("--cache", default="results/calibration/cache")
    ap.add_argument("--max-evals", type=int, default=20)
    ap.add_argument("--nodes-per-layer", type=int, default=6)
    ap.add_argument("--rtol", type=float, default=0.05)
    ap.add_argument("--n-pulses", type=int, default=50,
                    help="pulses of the train (>= 10; the N = 50 gains need 50)")
    ap.add_argument("--uv-s", type=float, default=Bundle.uv_s,
                    help="UV exposure of the D11 branch, s (paper: 100 %% erased after 2.52 s)")
    ap.add_argument("--evaluate-only", action="store_true",
                    help="evaluate the stack's present values once (no optimisation)")
    ap.add_argument("--solver", choices=("fv1d", "dolfinx"), default="fv1d",
                    help="physics solver of the runs (dolfinx: --nodes-per-layer is cells)")
    ap.add_argument("--params", choices=sorted(PARAM_SETS), default="default",
                    help="free-parameter set (two_species: slow + fast PVP electron traps)")
    ap.add_argument("--fit-shunt", action="store_true",
                    help="after the run(s), fit the stack's shunt_conductance to the current "
                         "gains D6 (light unchanged by it; see fit_shunt) and report it")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    base = load_stack_mapping(a.stack)
    spec = PARAM_SETS[a.params]
    ev = Evaluator(base, spec, Path(a.cache), bundle=Bundle(n_pulses=a.n_pulses, uv_s=a.uv_s),
                   settings=Settings(nodes_per_layer=a.nodes_per_layer, rtol=a.rtol,
                                     solver=a.solver))
    x0 = current_values(base, spec)
    best = calibrate(ev, x0, 1 if a.evaluate_only else a.max_evals)
    out = report(best, spec)
    out.update(stack=str(a.stack), settings=asdict(ev.settings), bundle=asdict(ev.bundle))
    if a.fit_shunt:
        j = np.asarray(best.get("raw", {}).get("train", {}).get("J", []), dtype=float)
        g0 = float(get_value(base, ("shunt_conductance", "value"))) if isinstance(
            base.get("shunt_conductance"), Mapping) else 0.0
        if j.size >= 10:
            # the run's peaks hold the stack's present shunt (pulse amplitude at the read)
            out["shunt_fit"] = fit_shunt(j - g0 * ev.bundle.amplitude_v, ev.bundle.amplitude_v)
            print(f"shunt_conductance fit: {out['shunt_fit']}")
    write_json(a.output, out)
    for k, row in out["metrics_vs_paper"].items():
        print(f"{k:22s} paper {row['paper']:<8g} sim {row['simulated']:<10.4g} "
              f"{'in band' if row['in_band'] else 'MISS'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
