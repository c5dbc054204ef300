"""Mechanism studies and parameter variants of the device physics (issue 4, items 4-5).

Owns

* **overrides** of stack and protocol parameters by dotted path (:func:`apply_stack_overrides`,
  :func:`apply_protocol_overrides`), validated by the stack/protocol loaders before any solve;
* :func:`run_variant`: one (possibly overridden) stack under one protocol with the fast fv1d
  solver, returning :class:`VariantResult` (metrics, status, wall time, optional trace/HDF5);
* :func:`trace_metrics`: the study metrics of any trace in the device data contract
  (fv1d or dolfinx HDF5), read per pulse at the end of each pulse (the conduction response,
  without the displacement spike of the edges);
* the **control stacks** derived from the configured stack (:data:`CONTROLS`,
  :func:`control_stack_data`), so the controls follow the calibrated N-LEM stack, and the
  **mechanism table** (:func:`mechanism_table`);
* the **profile study** (:func:`profile_protocol`, :func:`run_profiles`): band diagram,
  densities, trapped charge and field in the dark and under UV (Fig. 3 analogue).

Override paths (``run_variant(..., overrides={path: value})``)
-------------------------------------------------------------
Stack paths address the stack YAML; layers and trap species may be named or indexed::

    pvp.thickness                              layer "pvp", key thickness
    layers.pvp.mu_p                            same scheme with an explicit "layers." prefix
    pvp.traps.pvp_hole_traps_idtbt_side.density  trap species by name
    pvp.traps.0.density                        trap species by index
    pvp.traps.*.density                        every trap species of the layer
    pvp.traps.0.depth.mean                     a key inside a depth distribution
    contacts.cathode.work_function             contact parameter
    temperature

Values: a number replaces the quantity's ``value`` and keeps its unit (a parameter the layer
inherits from its material takes the material's unit); ``{"scale": f}`` multiplies the
current value; a mapping ``{value, unit[, source]}`` replaces the quantity; anything else
(strings, lists, ``None``) replaces the entry as is (e.g. ``pvp.traps: []``). Overridden
quantities get ``source: override``.

Protocol paths address steps by their ``name`` (or index, or ``*`` for all steps)::

    uv.intensity          step named "uv"
    *.amplitude           every step that has an amplitude
    uv_read.uv            the UV of the read train under UV

A number keeps the unit of the value it replaces (``70 mW/cm2`` -> ``35`` means 35 mW/cm2);
a string with a unit (``"35 mW/cm2"``) replaces it; ``{"scale": f}`` multiplies.

A path that names nothing, or a value of the wrong kind, raises :class:`OverrideError` naming
the path, the failing part and what exists there; a value out of range raises it with the
stack/protocol validator's message (parameter, value, allowed range).
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import math
import re
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from compact_model import metrics as M
from device_physics.materials import MATERIALS, Quantity
from device_physics.protocols import Protocol, ProtocolError, load_protocol, protocol_from_dict
from device_physics.stack import Stack, StackError, stack_from_dict

log = logging.getLogger(__name__)

#: Repository root (stack/protocol paths in the config are relative to it).
ROOT = Path(__file__).resolve().parents[1]


class OverrideError(ValueError):
    """An override names no parameter, has a value of the wrong kind, or is out of range."""


# ============================================================================ overrides

def _read_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_absolute() and not p.exists():
        p = ROOT / p
    with open(p, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise OverrideError(f"{path}: top level must be a mapping")
    return data


def _pick(items: list[Any], key: str, where: str, what: str) -> list[int]:
    """Indices of the list entries selected by ``key`` (name, index or ``*``)."""
    if key == "*":
        return list(range(len(items)))
    names = [str(it.get("name", "")) if isinstance(it, dict) else "" for it in items]
    if key in names:
        return [names.index(key)]
    if re.fullmatch(r"-?\d+", key):
        k = int(key)
        if -len(items) <= k < len(items):
            return [k % len(items)]
        raise OverrideError(f"{where}: index {k} out of range; {what} has {len(items)} "
                            f"entries {names}")
    raise OverrideError(f"{where}: no {what} named {key!r}; known: {names} (or an index, or *)")


def _num(x: Any) -> float | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int | float):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            return None
    return None


def _set_quantity(node: dict[str, Any], key: str, value: Any, where: str,
                  inherited: Quantity | None = None) -> None:
    """Apply ``value`` (see module docstring) to the quantity ``node[key]``."""
    cur = node.get(key)
    if cur is None and inherited is not None:
        cur = {"value": inherited.value, "unit": inherited.unit, "source": inherited.source}
    is_q = isinstance(cur, dict) and "value" in cur
    if isinstance(value, Mapping) and set(value) == {"scale"}:
        f = _num(value["scale"])
        if f is None:
            raise OverrideError(f"{where} = {dict(value)!r}: scale must be a number")
        if is_q:
            base = _num(cur["value"])
        else:
            base = _num(cur)
        if base is None:
            raise OverrideError(f"{where}: current value {cur!r} is not a number; cannot scale")
        value = base * f
    if isinstance(value, Mapping):
        node[key] = dict(value)
        if "source" not in node[key] and "value" in node[key]:
            node[key]["source"] = "override"
        return
    if is_q and _num(value) is not None:
        node[key] = {**cur, "value": float(value), "source": "override"}
        return
    if is_q and (value is None or isinstance(value, bool | str | list)):
        raise OverrideError(f"{where} = {value!r}: a quantity needs a number, "
                            f"{{scale: f}} or {{value, unit}}")
    node[key] = value


def apply_stack_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]
                          ) -> dict[str, Any]:
    """Copy of the stack YAML data with ``overrides`` applied (module docstring).

    Raises:
        OverrideError: a path that names nothing or a value of the wrong kind.
    """
    out = copy.deepcopy(dict(data))
    layers = out.get("layers")
    if not isinstance(layers, list):
        raise OverrideError("stack data has no 'layers' list")
    for path, value in overrides.items():
        if not isinstance(path, str) or not path:
            raise OverrideError(f"override path {path!r}: must be a non-empty dotted string")
        parts = path.split(".")
        where = f"override {path!r}"
        if parts[0] in ("temperature", "uv_side", "name", "description"):
            if len(parts) != 1:
                raise OverrideError(f"{where}: {parts[0]!r} has no sub-keys")
            if parts[0] == "temperature":
                _set_quantity(out, "temperature", value, where, Quantity(300, "K", "default"))
            else:
                out[parts[0]] = value
            continue
        if parts[0] == "contacts":
            if len(parts) != 3:
                raise OverrideError(f"{where}: write contacts.<anode|cathode>.<key>")
            c = out.get("contacts", {}).get(parts[1])
            if not isinstance(c, dict):
                raise OverrideError(f"{where}: no contact {parts[1]!r}; known: anode, cathode")
            if parts[2] not in ("material", "kind", "work_function"):
                raise OverrideError(f"{where}: contact key {parts[2]!r}; known: material, "
                                    "kind, work_function")
            _set_quantity(c, parts[2], value, where)
            continue
        if parts[0] == "layers":
            parts = parts[1:]
        if len(parts) < 2:
            raise OverrideError(f"{where}: write <layer>.<key> (layers: "
                                f"{[la.get('name') for la in layers]})")
        for li in _pick(layers, parts[0], where, "layer"):
            _apply_layer(layers[li], parts[1:], value, where)
    return out


def _apply_layer(layer: dict[str, Any], parts: list[str], value: Any, where: str) -> None:
    from device_physics.materials import BOOL_PARAMS, PARAMS

    key = parts[0]
    mat = MATERIALS.get(layer.get("material"), {})
    if key == "traps":
        if len(parts) == 1:
            if not isinstance(value, list):
                raise OverrideError(f"{where} = {value!r}: traps must be a list")
            layer["traps"] = copy.deepcopy(value)
            return
        traps = layer.get("traps") or []
        if not traps:
            raise OverrideError(f"{where}: layer {layer.get('name')!r} has no traps")
        if len(parts) < 3:
            raise OverrideError(f"{where}: write <layer>.traps.<name|index|*>.<key>")
        for ti in _pick(traps, parts[1], where, "trap species"):
            tr = traps[ti]
            tkey = parts[2]
            allowed = ("name", "carrier", "location", "density", "width", "depth", "capture",
                       "recombination")
            if tkey not in allowed:
                raise OverrideError(f"{where}: trap key {tkey!r}; known: {list(allowed)}")
            if tkey == "depth" and len(parts) == 4:
                dep = tr.get("depth")
                if not isinstance(dep, dict) or parts[3] not in dep:
                    raise OverrideError(f"{where}: depth has no key {parts[3]!r}; keys: "
                                        f"{sorted(dep) if isinstance(dep, dict) else []}")
                if isinstance(value, Mapping) and set(value) == {"scale"}:
                    base = _num(dep[parts[3]])
                    if base is None:
                        raise OverrideError(f"{where}: {dep[parts[3]]!r} is not a number")
                    dep[parts[3]] = base * float(value["scale"])
                elif parts[3] in ("mean", "sigma", "min", "max", "value") and \
                        _num(value) is None:
                    raise OverrideError(f"{where} = {value!r}: must be a number (eV)")
                else:
                    dep[parts[3]] = value
                dep["source"] = "override"
                continue
            if len(parts) != 3:
                raise OverrideError(f"{where}: too many parts after trap key {tkey!r}")
            if tkey in ("density", "width", "capture", "recombination", "depth") and \
                    tkey not in tr and not isinstance(value, Mapping):
                raise OverrideError(f"{where}: trap has no {tkey!r} to keep a unit from; "
                                    "give {value, unit}")
            _set_quantity(tr, tkey, value, where)
        return
    if len(parts) != 1:
        raise OverrideError(f"{where}: layer key {key!r} has no sub-keys")
    if key in PARAMS or key in ("thickness",):
        _set_quantity(layer, key, value, where, mat.get(key))
    elif key in BOOL_PARAMS:
        if not isinstance(value, bool):
            raise OverrideError(f"{where} = {value!r}: must be true or false")
        layer[key] = value
    elif key in ("name", "material"):
        layer[key] = value
    else:
        raise OverrideError(f"{where}: layer key {key!r} unknown; known: thickness, traps, "
                            f"{sorted(PARAMS)} {sorted(BOOL_PARAMS)}")


_QTY = re.compile(r"\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*(\S+)\s*")


def _steps_flat(steps: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s in steps:
        if isinstance(s, dict):
            out.append(s)
            if s.get("kind") == "sequence" and isinstance(s.get("steps"), list):
                out.extend(_steps_flat(s["steps"]))
    return out


def apply_protocol_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]
                             ) -> dict[str, Any]:
    """Copy of the protocol YAML data with ``overrides`` applied (module docstring)."""
    out = copy.deepcopy(dict(data))
    steps = _steps_flat(out.get("steps") or [])
    for path, value in overrides.items():
        where = f"protocol override {path!r}"
        if not isinstance(path, str) or path.count(".") != 1:
            raise OverrideError(f"{where}: write <step name|index|*>.<key>")
        sel, key = path.split(".")
        if key in ("kind", "name", "steps"):
            raise OverrideError(f"{where}: {key!r} cannot be overridden")
        idx = _pick(steps, sel, where, "step")
        if sel == "*":
            idx = [i for i in idx if key in steps[i]]
            if not idx:
                raise OverrideError(f"{where}: no step has a key {key!r}")
        for i in idx:
            st = steps[i]
            cur = st.get(key)
            v = value
            if isinstance(v, Mapping) and set(v) == {"scale"}:
                m = _QTY.fullmatch(cur) if isinstance(cur, str) else None
                f = _num(v["scale"])
                if m is None or f is None:
                    raise OverrideError(f"{where}: cannot scale {cur!r} by {v['scale']!r}")
                v = f"{float(m.group(1)) * f!r} {m.group(2)}"
            elif _num(v) is not None and not isinstance(v, str) and key not in (
                    "count", "cycles", "repeat"):
                m = _QTY.fullmatch(cur) if isinstance(cur, str) else None
                if m is None:
                    raise OverrideError(
                        f"{where} = {v!r}: step {st.get('name', i)!r} has no value with a unit "
                        f"to keep (current {cur!r}); give a string such as '35 mW/cm2'")
                v = f"{float(v)!r} {m.group(2)}"
            st[key] = v
    return out


def _stack_data(stack: str | Path | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    if isinstance(stack, Mapping):
        return copy.deepcopy(dict(stack)), str(stack.get("name", "<dict>"))
    return _read_yaml(stack), str(stack)


def variant_stack(stack: str | Path | Mapping[str, Any] | Stack,
                  overrides: Mapping[str, Any] | None = None) -> Stack:
    """The validated :class:`Stack` of ``stack`` (file, YAML data or Stack) with overrides.

    Raises:
        OverrideError: bad path, value kind, or (validator message) value out of range.
    """
    if isinstance(stack, Stack):
        if overrides:
            raise OverrideError("overrides need the stack as a file or YAML data, not a Stack")
        return stack
    data, src = _stack_data(stack)
    if overrides:
        data = apply_stack_overrides(data, overrides)
    try:
        return stack_from_dict(data, src + (" (with overrides)" if overrides else ""))
    except StackError as exc:
        if overrides:
            raise OverrideError(f"overrides {dict(overrides)!r} give an invalid stack: "
                                f"{exc}") from None
        raise


def variant_protocol(protocol: str | Path | Mapping[str, Any] | Protocol,
                     overrides: Mapping[str, Any] | None = None) -> Protocol:
    """The validated :class:`Protocol` with overrides (see :func:`variant_stack`)."""
    if isinstance(protocol, Protocol):
        if not overrides:
            return protocol
        data, src = dict(protocol.spec), protocol.name
    elif isinstance(protocol, Mapping):
        data, src = dict(protocol), str(protocol.get("name", "<dict>"))
    else:
        p = Path(protocol)
        if not overrides:
            return load_protocol(p if p.exists() else ROOT / p)
        data, src = _read_yaml(p), str(p)
    if overrides:
        data = apply_protocol_overrides(data, overrides)
    try:
        return protocol_from_dict(data, src)
    except ProtocolError as exc:
        if overrides:
            raise OverrideError(f"protocol overrides {dict(overrides)!r}: {exc}") from None
        raise


# ============================================================================ metrics

def _seg_groups(protocol: Protocol) -> dict[str, list[int]]:
    """Pulse indices (in :meth:`Protocol.pulse_windows` order) per step label."""
    groups: dict[str, list[int]] = {}
    k = 0
    for s in protocol.segments:
        if s.kind != "pulse":
            continue
        groups.setdefault(s.label.rsplit("#", 1)[0], []).append(k)
        k += 1
    return groups


def pulse_reads(arrays: Mapping[str, np.ndarray], protocol: Protocol) -> dict[str, np.ndarray]:
    """Current (A/m^2, conduction when recorded), light (photons/(s m^2)) and net trapped
    charge (C/m^2) at the end of every pulse, and the pulse end times (s)."""
    t = np.asarray(arrays["t"])
    j = np.asarray(arrays.get("J_conduction", arrays["J"]))
    if "J_conduction" not in arrays:
        j = np.asarray(arrays["J"])
    lum = np.asarray(arrays["L"])
    q = np.asarray(arrays["Qt_p"]) - np.asarray(arrays["Qt_n"])
    out: dict[str, list[float]] = {"t": [], "J": [], "L": [], "Q": []}
    for t0, t1 in protocol.pulse_windows():
        m = np.flatnonzero((t > t0) & (t <= t1 + 1e-12))
        if m.size == 0 or t[-1] < t1 - 1e-12:  # not reached, or cut short by a failure
            out["t"].append(t1)
            for k in ("J", "L", "Q"):
                out[k].append(float("nan"))
            continue
        i = m[-1]
        out["t"].append(float(t[i]))
        out["J"].append(float(j[i]))
        out["L"].append(float(lum[i]))
        out["Q"].append(float(q[i]))
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def _safe(fn, *a, **kw) -> float:
    try:
        v = float(fn(*a, **kw))
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return float("nan")
    return v


def _rel(a: float, b: float) -> float:
    return (a - b) / abs(b) if b != 0 and np.isfinite(a) and np.isfinite(b) else float("nan")


def trace_metrics(arrays: Mapping[str, np.ndarray], protocol: Protocol) -> dict[str, float]:
    """Study metrics of a trace (SI arrays ``t, V, uv, J[, J_conduction], L, Qt_p, Qt_n``).

    Keys (absent when the protocol has no such part; NaN when undefined):

    * ``n_pulses``, ``J1``/``L1`` (first read), ``gain_J``/``gain_L`` (last/first pulse of the
      first pulse train), ``gain_J_<N>``/``gain_L_<N>`` for N in 10, 30, 50, ``NL_J``/``NL_L``
      (PAPER_TARGETS D3 over the first train), ``pearson`` (peaks J vs L of the first train);
    * mechanism reads (steps ``dark_read``, ``uv_read``, ``after_read``): ``dI_uv``/``dL_uv``
      (first read under UV vs last dark read, relative), ``dI_uv_end``/``dL_uv_end`` (last
      read under UV), ``dI_after``/``dL_after`` (first dark read after UV);
    * memory state ``Q = Qt_p - Qt_n`` (net trapped charge, C/m^2) relative to its pristine
      value: ``Q_gain`` after the first train; ``uv_reset_s`` (time under UV, from the start of
      the first UV exposure, to erase 99 % of it: D11 definition on the trapped charge),
      ``uv_t63_s`` (63.06 %), ``uv_Q_left`` (fraction left at the end of the exposure);
      ``decay_s`` (first dark rest of >= 1 s before any UV: 63.06 % lost, D10 definition),
      ``decay_Q_left``;
    * ``probe_gain_J``: the probe pulse (step ``probe``) over the first pulse of the train.
    """
    a = {k: np.asarray(v, dtype=float) for k, v in arrays.items()}
    t = a["t"]
    res: dict[str, float] = {"t_end": float(t[-1]) if t.size else 0.0,
                             "complete": float(bool(t.size) and t[-1] >= protocol.duration
                                               - 1e-9)}
    rd = pulse_reads(a, protocol)
    groups = _seg_groups(protocol)
    res["n_pulses"] = float(np.sum(np.isfinite(rd["J"])))
    q = a["Qt_p"] - a["Qt_n"]
    q0 = float(q[0]) if q.size else float("nan")
    if groups:
        first = next(iter(groups.values()))
        J, L = rd["J"][first], rd["L"][first]
        ok = np.isfinite(J)
        J, L = J[ok], L[ok]
        if J.size:
            res["J1"], res["L1"] = float(J[0]), float(L[0])
            res["Q_gain"] = float(rd["Q"][first][ok][-1] - q0)
        if J.size >= 2:
            res["gain_J"] = _safe(M.gain, J)
            res["gain_L"] = _safe(M.gain, L) if L[0] > 0 else float("nan")
            for n in (10, 30, 50):
                if J.size >= n:
                    res[f"gain_J_{n}"] = _safe(M.gain, J[:n])
                    res[f"gain_L_{n}"] = _safe(M.gain, L[:n]) if L[0] > 0 else float("nan")
        if J.size >= 3:
            res["NL_J"] = _safe(M.nonlinearity, J)
            res["NL_L"] = _safe(M.nonlinearity, L) if L[0] > 0 else float("nan")
            res["pearson"] = _safe(M.pearson, J, L) if np.ptp(L) > 0 else float("nan")
        if "dark_read" in groups and "uv_read" in groups:
            d = groups["dark_read"][-1]
            u = groups["uv_read"]
            for k, key in (("J", "dI"), ("L", "dL")):
                base = float(rd[k][d])
                res[f"{key}_uv"] = _rel(float(rd[k][u[0]]), base)
                res[f"{key}_uv_end"] = _rel(float(rd[k][u[-1]]), base)
                if "after_read" in groups:
                    res[f"{key}_after"] = _rel(float(rd[k][groups["after_read"][0]]), base)
                res[f"{'I' if k == 'J' else 'L'}_dark"] = base
        if "probe" in groups and J.size:
            res["probe_gain_J"] = _rel(float(rd["J"][groups["probe"][0]]), float(J[0])) + 1.0
    # UV exposure: from the first sample with UV on to the last one of that exposure
    uv_on = a["uv"] > 0
    if uv_on.any():
        i0 = int(np.argmax(uv_on))
        off = np.flatnonzero(~uv_on[i0:])
        i1 = i0 + (int(off[0]) if off.size else int(uv_on[i0:].size))
        s = slice(max(i0 - 1, 0), i1)
        tt, qq = t[s], q[s]
        if tt.size >= 2 and qq[0] - q0 > 0:
            res["uv_reset_s"] = _safe(M.uv_reset_time, tt, qq, q0)
            res["uv_t63_s"] = _safe(M.natural_decay_time, tt, qq, q0)
            res["uv_Q_left"] = float((qq[-1] - q0) / (qq[0] - q0))
        res["uv_intensity_mW_cm2"] = float(a["uv"][i0] / 10.0)
    for sgm in protocol.segments:
        t_uv = float(t[int(np.argmax(uv_on))]) if uv_on.any() else math.inf
        if sgm.kind == "rest" and sgm.t1 - sgm.t0 >= 1.0 and sgm.t0 < t_uv:
            m = np.flatnonzero((t >= sgm.t0 - 1e-12) & (t <= sgm.t1 + 1e-12))
            if m.size >= 2 and q[m[0]] - q0 > 0:
                res["decay_s"] = _safe(M.natural_decay_time, t[m], q[m], q0)
                res["decay_Q_left"] = float((q[m[-1]] - q0) / (q[m[0]] - q0))
            break
    return res


# ============================================================================ variants

@dataclass
class VariantResult:
    """Outcome of :func:`run_variant`.

    Attributes:
        stack: Stack name.
        protocol: Protocol name.
        overrides: Stack overrides applied.
        protocol_overrides: Protocol overrides applied.
        status: ``complete`` or ``failed: <solver message>`` (metrics then come from the
            partial trace).
        metrics: :func:`trace_metrics` of the trace.
        wall_s: Wall time of the solve, s.
        stats: Solver statistics (steps, rejected, Newton iterations and failures).
        trace: The fv1d trace when ``keep_trace`` (else None).
        h5: Path of the HDF5 written when ``h5_path`` was given.
    """

    stack: str
    protocol: str
    overrides: dict[str, Any]
    protocol_overrides: dict[str, Any]
    status: str
    metrics: dict[str, float]
    wall_s: float
    stats: dict[str, int] = field(default_factory=dict)
    trace: Any = None
    h5: str | None = None

    @property
    def ok(self) -> bool:
        """True when the whole protocol was integrated."""
        return self.status == "complete"

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready: NaN/inf as strings), without the trace."""
        def fix(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return str(v)
            return v
        return {"stack": self.stack, "protocol": self.protocol,
                "overrides": self.overrides, "protocol_overrides": self.protocol_overrides,
                "status": self.status, "wall_s": self.wall_s, "stats": self.stats,
                "metrics": {k: fix(v) for k, v in self.metrics.items()}, "h5": self.h5}


def _study_solver(newton_its: int):
    """fv1d solver class that retries a failed UV-on time step with ``newton_its`` iterations.

    fv1d's time loop caps Newton at 25 iterations; at the onset of UV after a pulse train
    (hole density in the QD/ZnO around 1e-30 m^-3) Newton needs 30-100 iterations at any
    step size, so the step is rejected down to 1e-15 s and the run fails. This subclass
    retries only a failed Newton solve with UV on, from the same guess, with the larger cap;
    everything else is fv1d's own (raising the cap everywhere lets Newton accept poor states
    in the pulse edges, so it is not done).
    """
    from device_physics.fv1d import FV1D, NewtonFailure

    class StudyFV1D(FV1D):
        def newton(self, z0: np.ndarray, v: float, uv: float, *args: Any,
                   max_its: int | None = None, **kw: Any) -> np.ndarray:
            try:
                return super().newton(z0, v, uv, *args, max_its=max_its, **kw)
            except NewtonFailure:
                if uv <= 0 or max_its is None or max_its >= newton_its:
                    raise
                return super().newton(z0, v, uv, *args, max_its=newton_its, **kw)

    return StudyFV1D


def run_variant(stack: str | Path | Mapping[str, Any] | Stack,
                protocol: str | Path | Mapping[str, Any] | Protocol,
                overrides: Mapping[str, Any] | None = None, *,
                protocol_overrides: Mapping[str, Any] | None = None,
                nodes_per_layer: int = 6, rtol: float = 0.05, ratio: float = 1.2,
                dt_edge: float = 1e-6, h5_path: str | Path | None = None,
                keep_trace: bool = False, config: Any = None,
                fail_soft: bool = True, newton_its: int = 100) -> VariantResult:
    """Run ``protocol`` on ``stack`` with parameter overrides using the fv1d solver.

    Signature (stable, used by the issue-9 material-to-accuracy sweep)::

        run_variant(stack, protocol, overrides=None, *, protocol_overrides=None,
                    nodes_per_layer=6, rtol=0.05, ratio=1.2, dt_edge=1e-6, h5_path=None,
                    keep_trace=False, config=None, fail_soft=True, newton_its=100)
            -> VariantResult

    Args:
        stack: Stack YAML path (relative to the repository root or absolute), parsed YAML data,
            or a :class:`Stack` (then no ``overrides``).
        protocol: Protocol YAML path, parsed data, or a :class:`Protocol`.
        overrides: Stack overrides ``{dotted path: value}`` (module docstring), e.g.
            ``{"pvp.traps.*.density": {"scale": 2.0}}``.
        protocol_overrides: Protocol overrides, e.g. ``{"uv.intensity": 35}`` (mW/cm2 kept).
        nodes_per_layer: Cells per stack layer of the graded fv1d mesh (>= 2).
        rtol: Local error tolerance of the time stepper, in (0, 1).
        ratio: Grading ratio of neighbouring cells (>= 1).
        dt_edge: First time step after every waveform jump, s.
        h5_path: Also write the trace in the device data contract (HDF5) there.
        keep_trace: Keep the fv1d :class:`~device_physics.fv1d.Trace` on the result.
        config: Provenance written into the HDF5.
        fail_soft: A solver failure returns ``status = "failed: ..."`` with the metrics of the
            partial trace (written to ``h5_path`` too); false re-raises it.
        newton_its: Newton iteration cap of a time step (fv1d's own is 25; see
            :func:`_study_solver`).

    Returns:
        :class:`VariantResult` with ``metrics`` from :func:`trace_metrics`.

    Raises:
        OverrideError: invalid override path, value kind or range (before any solve).
        ValueError: ``nodes_per_layer``, ``rtol``, ``ratio`` or ``dt_edge`` out of range.
    """
    from device_physics.fv1d import SolverError, write_h5

    if isinstance(nodes_per_layer, bool) or not isinstance(nodes_per_layer, int) or \
            nodes_per_layer < 2:
        raise ValueError(f"nodes_per_layer = {nodes_per_layer!r}: must be an integer >= 2")
    if not 0 < rtol < 1:
        raise ValueError(f"rtol = {rtol!r}: must be in (0, 1)")
    if not 1.0 <= ratio <= 3.0:
        raise ValueError(f"ratio = {ratio!r}: must be in [1, 3]")
    if not 0 < dt_edge <= 1.0:
        raise ValueError(f"dt_edge = {dt_edge!r}: must be in (0, 1] s")
    st = variant_stack(stack, overrides)
    pr = variant_protocol(protocol, protocol_overrides)
    solver = _study_solver(newton_its)(st, nodes_per_layer, ratio=ratio, rtol=rtol,
                                       wavelength=pr.wavelength, dt_edge=dt_edge)
    t0 = time.perf_counter()
    status = "complete"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            tr = solver.run(pr)
        except SolverError as exc:
            if not fail_soft or exc.trace is None:
                raise
            tr = exc.trace
            tr.stats = dict(solver.stats)
            status = f"failed: {exc}"
            log.warning("variant %s %s failed: %s", st.name, dict(overrides or {}), exc)
    wall = time.perf_counter() - t0
    h5 = None
    if h5_path is not None:
        write_h5(h5_path, solver, tr, pr, config)
        import h5py

        with h5py.File(h5_path, "a") as fh:
            fh.attrs["status"] = status
            fh.attrs["overrides"] = json.dumps({"stack": dict(overrides or {}),
                                                "protocol": dict(protocol_overrides or {})})
        h5 = str(h5_path)
    met = trace_metrics(tr.arrays(), pr) if tr.t else {}
    return VariantResult(stack=st.name, protocol=pr.name, overrides=dict(overrides or {}),
                         protocol_overrides=dict(protocol_overrides or {}), status=status,
                         metrics=met, wall_s=wall, stats=dict(tr.stats),
                         trace=tr if keep_trace else None, h5=h5)


def read_h5_trace(path: str | Path) -> tuple[dict[str, np.ndarray], Protocol, dict[str, Any]]:
    """(trace arrays, protocol, file attributes) of a device HDF5 (data contract)."""
    import h5py

    with h5py.File(path, "r") as fh:
        arrays = {k: np.asarray(v[()], dtype=float) for k, v in fh["trace"].items()}
        spec = json.loads(fh.attrs["protocol"])
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in fh.attrs.items()}
    pr = protocol_from_dict(spec["spec"], spec.get("name", str(path)))
    return arrays, pr, attrs


def write_rows_csv(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write dict rows (union of keys, in first-seen order) as CSV, atomically."""
    from lemsim.io import atomic_path

    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in keys})
    return path
