"""Mechanism studies and parameter variants of the device physics.

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

from device_physics.materials import MATERIALS, Quantity
from device_physics.protocols import Protocol, ProtocolError, load_protocol, protocol_from_dict
from device_physics.stack import Stack, StackError, stack_from_dict
from lemsim import metrics as M
from lemsim.configtools import load_yaml

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
    data = load_yaml(p)
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
    charge (C/m^2) at the end of every pulse, the pulse end times (s), and ``L_pre``: the light
    at the last sample before the pulse (under UV at 0 V that is the UV-excited QD
    photoluminescence, which the model counts in L)."""
    t = np.asarray(arrays["t"])
    v = np.asarray(arrays["V"])
    j = np.asarray(arrays["J_conduction"] if "J_conduction" in arrays else arrays["J"])
    lum = np.asarray(arrays["L"])
    q = np.asarray(arrays["Qt_p"]) - np.asarray(arrays["Qt_n"])
    out: dict[str, list[float]] = {"t": [], "J": [], "L": [], "Q": [], "L_pre": []}
    for t0, t1 in protocol.pulse_windows():
        m = np.flatnonzero((t > t0) & (t <= t1 + 1e-12))
        if m.size == 0 or t[-1] < t1 - 1e-12:  # not reached, or cut short by a failure
            out["t"].append(t1)
            for k in ("J", "L", "Q", "L_pre"):
                out[k].append(float("nan"))
            continue
        pre = np.flatnonzero(t <= t0 + 1e-12)
        out["L_pre"].append(float(lum[pre[-1]]) if pre.size else 0.0)
        vm = np.abs(v[m])
        on = m[vm >= 0.5 * vm.max()] if vm.max() > 0 else m
        i = on[-1]  # last sample with the pulse still on (a right-limit sample at t1 is off)
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
      read under UV), ``dI_after``/``dL_after`` (first dark read after UV); ``dEL_uv``/
      ``dEL_uv_end``: the light change without the UV-excited photoluminescence (the light
      just before each read, at 0 V, subtracted from the read);
    * memory state ``Q = Qt_p - Qt_n`` (net trapped charge, C/m^2) relative to its pristine
      value: ``Q_gain`` after the first train (negative when the memory is trapped electrons;
      the times below use ``|Q - Q_pristine|`` with the sign of ``Q_gain``); ``uv_reset_s``
      (time under UV, from the start of the first UV exposure, to erase 99 % of it: D11
      definition on the trapped charge),
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
    qm = q - q0  # written memory, made positive below (hole or electron trapping)
    if groups:
        first = next(iter(groups.values()))
        J, L = rd["J"][first], rd["L"][first]
        ok = np.isfinite(J)
        J, L = J[ok], L[ok]
        if J.size:
            res["J1"], res["L1"] = float(J[0]), float(L[0])
            res["Q_gain"] = float(rd["Q"][first][ok][-1] - q0)
            if res["Q_gain"] < 0:
                qm = -qm
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
            # electroluminescence only: the light before each read (PL under UV) removed
            el = rd["L"] - rd["L_pre"]
            base = float(el[d])
            res["dEL_uv"] = _rel(float(el[u[0]]), base)
            res["dEL_uv_end"] = _rel(float(el[u[-1]]), base)
        if "probe" in groups and J.size:
            res["probe_gain_J"] = _rel(float(rd["J"][groups["probe"][0]]), float(J[0])) + 1.0
    # UV exposure: from the first sample with UV on to the last one of that exposure
    uv_on = a["uv"] > 0
    if uv_on.any():
        i0 = int(np.argmax(uv_on))
        off = np.flatnonzero(~uv_on[i0:])
        i1 = i0 + (int(off[0]) if off.size else int(uv_on[i0:].size))
        s = slice(max(i0 - 1, 0), i1)
        tt, qq = t[s], qm[s]
        if tt.size >= 2 and qq[0] > 0:
            res["uv_reset_s"] = _safe(M.uv_reset_time, tt, qq, 0.0)
            res["uv_t63_s"] = _safe(M.natural_decay_time, tt, qq, 0.0)
            res["uv_Q_left"] = float(qq[-1] / qq[0])
        res["uv_intensity_mW_cm2"] = float(a["uv"][i0] / 10.0)
    for sgm in protocol.segments:
        t_uv = float(t[int(np.argmax(uv_on))]) if uv_on.any() else math.inf
        if sgm.kind == "rest" and sgm.t1 - sgm.t0 >= 1.0 and sgm.t0 < t_uv:
            m = np.flatnonzero((t >= sgm.t0 - 1e-12) & (t <= sgm.t1 + 1e-12))
            if m.size >= 2 and qm[m[0]] > 0:
                res["decay_s"] = _safe(M.natural_decay_time, t[m], qm[m], 0.0)
                res["decay_Q_left"] = float(qm[m[-1]] / qm[m[0]])
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
    """fv1d solver class that retries a failed UV-on Newton solve (more iterations, then
    continuation in the UV intensity).

    fv1d's time loop caps Newton at 25 iterations; at the onset of UV after a pulse train
    (hole density in the QD/ZnO around 1e-30 m^-3) Newton needs 30-100 iterations at any
    step size, so the step is rejected down to 1e-15 s and the run fails. This subclass
    retries only a failed Newton solve with UV on: from the same guess with ``newton_its``
    iterations, then by continuation in the UV intensity (1e-3, 1e-2, 0.1, 0.3, 1 times the
    intensity, each solution starting the next) of the same time-discrete system; everything
    else is fv1d's own (raising the cap everywhere lets Newton accept poor states in the pulse
    edges, so it is not done). The accepted state solves fv1d's equations at the full
    intensity either way.
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
            try:
                return super().newton(z0, v, uv, *args, max_its=newton_its, **kw)
            except NewtonFailure:
                pass
            # continuation in the UV intensity: same time-discrete system, the solution at a
            # lower intensity is the start of the next (the accepted state is the full one)
            z = z0
            for frac in (1e-3, 1e-2, 0.1, 0.3, 1.0):
                z = super().newton(z, v, uv * frac, *args, max_its=newton_its, **kw)
            return z

    return StudyFV1D


def run_variant(stack: str | Path | Mapping[str, Any] | Stack,
                protocol: str | Path | Mapping[str, Any] | Protocol,
                overrides: Mapping[str, Any] | None = None, *,
                protocol_overrides: Mapping[str, Any] | None = None,
                nodes_per_layer: int = 6, rtol: float = 0.05, ratio: float = 1.2,
                dt_edge: float = 1e-6, h5_path: str | Path | None = None,
                keep_trace: bool = False, config: Any = None,
                fail_soft: bool = True, newton_its: int = 25,
                retry_sanitized: bool = True, mesh: str = "graded",
                robust_retry: bool = True, solver: str = "fv1d",
                max_wall_s: float = 0.0) -> VariantResult:
    """Run ``protocol`` on ``stack`` with parameter overrides using the fv1d (default) or the
    dolfinx solver.

    Signature (stable, used by the material-to-accuracy sweep)::

        run_variant(stack, protocol, overrides=None, *, protocol_overrides=None,
                    nodes_per_layer=6, rtol=0.05, ratio=1.2, dt_edge=1e-6, h5_path=None,
                    keep_trace=False, config=None, fail_soft=True, newton_its=25,
                    retry_sanitized=True, mesh="graded", robust_retry=True, solver="fv1d",
                    max_wall_s=0.0) -> VariantResult

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
        newton_its: Newton iteration cap of a failed UV-on step's retry (:func:`_study_solver`);
            the default 25 (fv1d's own cap) turns the retry off: fv1d starts
            the first UV step from the photo-generated carriers (``FV1D.photo_predictor``)
            and the retry's poorer states made the later pulse edges fail.
        retry_sanitized: fv1d's retry of a failed step from a sanitised guess
            (``FV1D.retry_sanitized``; on, as in the calibration, for the stiff calibrated
            stacks).
        mesh: ``graded`` (fv1d's geometric grading ``ratio`` with ``nodes_per_layer`` cells
            per layer) or ``dolfinx`` (the dolfinx solver's mesh with ``nodes_per_layer``
            cells per layer, trap slabs as sublayers: :func:`device_physics.fv1d.dolfinx_mesh`;
            the stack is calibrated on it at 20).
        robust_retry: fv1d's retry of a failed step with its edge safeguards
            (``FV1D.robust_retry``; the calibrated stack at 20 cells needs it).
        solver: ``fv1d`` or ``dolfinx``. With ``dolfinx`` the run is the device stage's
            (``device_physics.simulate.build_solver``: ``nodes_per_layer`` cells per layer,
            trap slabs as sublayers, tanh grading) with the same adaptive stepper, and the
            fv1d-only arguments (``ratio``, ``dt_edge``, ``mesh``, ``newton_its``,
            ``retry_sanitized``, ``robust_retry``, ``keep_trace``) are not used. On the
            calibrated stack at 20 cells dolfinx is about 8x faster than fv1d (pulses_10:
            40 s vs 332 s, agreeing to 1e-4).
        max_wall_s: Wall-time limit of the solve, s (0: none). Past it the run stops like a
            failed solve: ``status = "failed: wall-time limit ..."`` with the metrics of the
            partial trace (a row that says why it is incomplete, not a DAG that never ends).

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
    if mesh not in ("graded", "dolfinx"):
        raise ValueError(f"mesh = {mesh!r}: must be 'graded' or 'dolfinx'")
    if solver not in ("fv1d", "dolfinx"):
        raise ValueError(f"solver = {solver!r}: must be 'fv1d' or 'dolfinx'")
    if not (math.isfinite(max_wall_s) and max_wall_s >= 0):
        raise ValueError(f"max_wall_s = {max_wall_s!r}: must be >= 0 s (0: no limit)")
    st = variant_stack(stack, overrides)
    pr = variant_protocol(protocol, protocol_overrides)
    if solver == "dolfinx":
        return _run_variant_dolfinx(st, pr, dict(overrides or {}),
                                    dict(protocol_overrides or {}), nodes_per_layer, rtol,
                                    h5_path, config, fail_soft, max_wall_s)
    mesh_kw: dict[str, Any] = {}
    if mesh == "dolfinx":
        from device_physics.fv1d import dolfinx_mesh

        x, lay = dolfinx_mesh(st, nodes_per_layer)
        mesh_kw = {"x": x, "layer": lay}
    solver = _study_solver(newton_its)(st, nodes_per_layer, ratio=ratio, rtol=rtol,
                                       wavelength=pr.wavelength, dt_edge=dt_edge, **mesh_kw)
    if hasattr(solver, "retry_sanitized"):
        solver.retry_sanitized = bool(retry_sanitized)
    solver.robust_retry = bool(robust_retry)
    solver.max_wall_s = float(max_wall_s)
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


def _run_variant_dolfinx(st: Stack, pr: Protocol, overrides: dict[str, Any],
                         protocol_overrides: dict[str, Any], cells: int, rtol: float,
                         h5_path: str | Path | None, config: Any, fail_soft: bool,
                         max_wall_s: float = 0.0) -> VariantResult:
    """:func:`run_variant` with the dolfinx solver (the device stage's mesh and stepper)."""
    import h5py

    from device_physics.output import write_device_h5
    from device_physics.simulate import build_solver, contract_kwargs, step_options
    from device_physics.timestepping import StepFailure, run_protocol

    solver, ad = build_solver(st, pr.wavelength, cells)
    t0 = time.perf_counter()
    status = "complete"
    try:
        tr = run_protocol(solver, pr, step_options(pr, rtol, max_wall_s))
    except StepFailure as exc:
        if not fail_soft:
            raise
        tr = exc.trace
        status = f"failed: {exc}"
        log.warning("variant %s %s failed (dolfinx): %s", st.name, overrides, exc)
    wall = time.perf_counter() - t0
    if h5_path is not None:
        write_device_h5(h5_path, trace=tr, **contract_kwargs(solver, ad, st, pr, config))
        with h5py.File(h5_path, "a") as fh:
            fh.attrs["status"] = status
            fh.attrs["overrides"] = json.dumps({"stack": overrides,
                                                "protocol": protocol_overrides})
    met = trace_metrics(tr.arrays(), pr)
    return VariantResult(stack=st.name, protocol=pr.name, overrides=overrides,
                         protocol_overrides=protocol_overrides, status=status, metrics=met,
                         wall_s=wall, stats={k: v for k, v in dict(tr.stats).items()
                                             if isinstance(v, (int, float))},
                         h5=str(h5_path) if h5_path is not None else None)


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


# ============================================================================ control stacks

def _layer_index_by_material(data: Mapping[str, Any], material: str) -> int:
    mats = [la.get("material") for la in data["layers"]]
    if material not in mats:
        raise OverrideError(f"stack {data.get('name')!r} has no {material} layer; layers: {mats}")
    return mats.index(material)


def _drop_layer(material: str):
    def f(d: dict[str, Any]) -> None:
        del d["layers"][_layer_index_by_material(d, material)]
    return f


def _pvp_traps(keep: str | None):
    def f(d: dict[str, Any]) -> None:
        la = d["layers"][_layer_index_by_material(d, "PVP")]
        la["traps"] = [t for t in la.get("traps") or [] if keep is not None
                       and t.get("carrier") == keep]
    return f


def _pvk_for_blend(d: dict[str, Any]) -> None:
    """Replace the PVK:IDTBT layer by neat PVK (the no_idtbt control file's PVK layer when it
    exists, else the PVK material defaults), keeping the blend layer's thickness."""
    i = _layer_index_by_material(d, "PVK:IDTBT")
    old = d["layers"][i]
    new: dict[str, Any] = {"name": "pvk", "material": "PVK"}
    ref = ROOT / "config" / "stacks" / "no_idtbt.yaml"
    if ref.exists():
        for la in _read_yaml(ref)["layers"]:
            if la.get("material") == "PVK":
                new = copy.deepcopy(la)
    new["thickness"] = copy.deepcopy(old["thickness"])
    new["traps"] = copy.deepcopy(old.get("traps") or [])
    d["layers"][i] = new


#: Control stacks derived from the configured N-LEM stack: name -> (meaning, transform).
CONTROLS: dict[str, tuple[str, Any]] = {
    "nlem": ("full stack ITO|PEDOT:PSS|PVK:IDTBT|PVP|QD|ZnO|Ag", None),
    "no_pvp": ("PVP layer removed", _drop_layer("PVP")),
    "no_qd": ("QD layer removed", _drop_layer("CdSe/ZnS")),
    "no_zno": ("ZnO layer removed", _drop_layer("ZnO")),
    "no_idtbt": ("neat PVK instead of PVK:IDTBT", _pvk_for_blend),
    "pvp_trapfree": ("PVP without traps (trap-free dielectric)", _pvp_traps(None)),
    "pvp_no_electron_traps": ("PVP with its hole traps only", _pvp_traps("hole")),
    "pvp_no_hole_traps": ("PVP with its electron traps only", _pvp_traps("electron")),
}


def control_stack_data(base: str | Path | Mapping[str, Any], control: str) -> dict[str, Any]:
    """YAML data of control ``control`` (:data:`CONTROLS`) derived from the ``base`` stack.

    Deriving the controls (instead of reading ``config/stacks/<control>.yaml``) keeps them in
    step with the calibrated N-LEM stack: they differ from it in the named layer only.
    """
    if control not in CONTROLS:
        raise OverrideError(f"control = {control!r}: must be one of {sorted(CONTROLS)}")
    data, _ = _stack_data(base)
    fn = CONTROLS[control][1]
    if fn is not None:
        fn(data)
        data["name"] = control
        data["description"] = f"Control: {CONTROLS[control][0]} (derived from "\
                              f"{data.get('description', 'the N-LEM stack')!s:.60})"
    return data


# ============================================================================ mechanism table

#: Columns of the mechanism table (relative changes, dimensionless).
MECH_KEYS = ("dI_uv", "dL_uv", "dI_uv_end", "dL_uv_end", "dI_after", "dL_after", "dEL_uv",
             "dEL_uv_end")


#: Smallest current change under UV counted as a change, A/m^2 (0.1 uA/cm^2): a stack
#: that hardly conducts (no IDTBT: about 1e-20 A/m^2 in the dark) has relative changes of
#: 1e17 that are numerical noise on nothing, so the sign is read from the absolute change.
DI_FLOOR_A_M2 = 1.0e-3
#: Smallest light change under UV counted as a change, photons/(s m^2) (1e-6 of the full
#: stack's read emission, about 1e21).
DL_FLOOR_PH_S_M2 = 1.0e15


def _sign(x: float, tol: float = 1e-3) -> str:
    if not np.isfinite(x):
        return "n/a"
    return "0" if abs(x) < tol else ("-" if x < 0 else "+")


def _change_sign(rel: float, dark: float, floor: float) -> tuple[float, str]:
    """(absolute change, its sign) of a relative change ``rel`` from the dark value ``dark``:
    zero when below ``max(1e-3 |dark|, floor)``."""
    if not (np.isfinite(rel) and np.isfinite(dark)):
        return float("nan"), "n/a"
    delta = float(rel * dark)
    return delta, _sign(delta, max(1e-3 * abs(dark), floor))


def mechanism_row(result: VariantResult | Mapping[str, Any]) -> dict[str, Any]:
    """One row of the mechanism table from a variant result (or its :meth:`to_dict`)."""
    d = result.to_dict() if isinstance(result, VariantResult) else dict(result)
    m = {k: float(v) for k, v in d["metrics"].items()}
    name = d["stack"]
    row: dict[str, Any] = {"stack": name,
                           "meaning": CONTROLS.get(name, ("", None))[0],
                           "status": str(d["status"])[:120]}
    for k in MECH_KEYS:
        row[k] = m.get(k, float("nan"))
    row["I_dark_A_m2"] = m.get("I_dark", float("nan"))
    row["L_dark_ph_s_m2"] = m.get("L_dark", float("nan"))
    # absolute changes of the first read under UV; the signs come from them (see the floors)
    row["dI_uv_A_m2"], row["sign_I_uv"] = _change_sign(row["dI_uv"], row["I_dark_A_m2"],
                                                       DI_FLOOR_A_M2)
    row["dL_uv_ph_s_m2"], row["sign_L_uv"] = _change_sign(row["dL_uv"], row["L_dark_ph_s_m2"],
                                                          DL_FLOOR_PH_S_M2)
    row["dI_uv_end_A_m2"], row["sign_I_uv_end"] = _change_sign(
        row["dI_uv_end"], row["I_dark_A_m2"], DI_FLOOR_A_M2)
    row["dL_uv_end_ph_s_m2"], row["sign_L_uv_end"] = _change_sign(
        row["dL_uv_end"], row["L_dark_ph_s_m2"], DL_FLOOR_PH_S_M2)
    row["gain_J_train"] = m.get("gain_J", float("nan"))
    row["wall_s"] = float(d.get("wall_s", float("nan")))
    return row


def mechanism_verdict(rows: list[Mapping[str, Any]]) -> str:
    """Sentence testing the paper's claim that only the full stack has negative UV
    photoconductance (the current of the first read under UV below the last dark read, by
    more than ``max(1e-3 I_dark, DI_FLOOR_A_M2)``)."""
    neg = [r["stack"] for r in rows if r.get("sign_I_uv") == "-"]
    full = any(r["stack"] == "nlem" for r in rows)
    if not full:
        return f"full stack not in the table; negative dI under UV: {neg}"
    holds = neg == ["nlem"]
    return (f"negative UV photoconductance (dI_uv < 0 beyond the floor) in: {neg or 'none'}; "
            f"the paper's claim (only the full stack) {'holds' if holds else 'does not hold'} "
            "in the simulation")


# ============================================================================ profiles

def profile_protocol(pulses: int = 50, read_bias: float = 4.0, uv_mw_cm2: float = 70.0,
                     uv_s: float = 1.0) -> dict[str, Any]:
    """Protocol data of the profile study (Fig. 3 analogue); each named step ends in a state
    whose profiles are snapshotted:

    ``pristine`` (1 ms at 0 V), ``pristine_read`` (30 ms at the read bias), ``train``
    (``pulses`` x 5 V, 30 ms), ``trained_0V`` (0.1 s dark at 0 V), ``trained_read`` (30 ms dark
    at the read bias), ``uv_read`` (UV for ``uv_s`` at the read bias), ``uv_0V`` (30 ms UV at
    0 V), ``after_uv_read`` (30 ms dark at the read bias).
    """
    if not 1 <= pulses <= 10000:
        raise ValueError(f"pulses = {pulses}: must be in [1, 10000]")
    if not 0 <= read_bias <= 20:
        raise ValueError(f"read_bias = {read_bias} V: must be in [0, 20] V")
    if not uv_mw_cm2 > 0 or not uv_s > 0:
        raise ValueError(f"uv_mw_cm2 = {uv_mw_cm2}, uv_s = {uv_s}: must be > 0")
    vb = f"{read_bias!r} V"
    uv = f"{uv_mw_cm2!r} mW/cm2"
    return {"name": "profiles", "description": "profiles in the dark and under UV (Fig. 3)",
            "wavelength": "365 nm", "steps": [
                {"kind": "rest", "duration": "1 ms", "name": "pristine"},
                {"kind": "rest", "duration": "30 ms", "bias": vb, "name": "pristine_read"},
                {"kind": "rest", "duration": "30 ms", "name": "relax"},
                {"kind": "pulses", "amplitude": "5 V", "width": "30 ms", "interval": "30 ms",
                 "count": int(pulses), "name": "train"},
                {"kind": "rest", "duration": "0.1 s", "name": "trained_0V"},
                {"kind": "rest", "duration": "30 ms", "bias": vb, "name": "trained_read"},
                {"kind": "uv", "intensity": uv, "duration": f"{uv_s!r} s", "bias": vb,
                 "name": "uv_read"},
                {"kind": "uv", "intensity": uv, "duration": "30 ms", "name": "uv_0V"},
                {"kind": "rest", "duration": "30 ms", "bias": vb, "name": "after_uv_read"}]}


#: States of the profile figure: snapshot label -> legend text.
PROFILE_STATES = {"pristine": "pristine, 0 V", "trained_0V": "after training, 0 V",
                  "pristine_read": "pristine, read bias", "trained_read": "trained, read bias",
                  "uv_read": "trained, read bias, UV", "uv_0V": "UV, 0 V",
                  "after_uv_read": "after UV, read bias"}


def read_profiles(path: str | Path) -> dict[str, Any]:
    """Profiles of a device HDF5 by snapshot label, with the band edges.

    Returns ``{"x": nodes (m), "cell_layer", "layers": names, "interfaces": (m),
    "chi", "Eg" (per cell, eV), "states": {label: {t, psi, n, p, nt, pt, E, Ec, Ev}}}``;
    ``Ec``/``Ev`` (eV, per cell at its two ends, shape (cells, 2)) are electron energies
    ``-chi - psi`` and ``Ec - Eg`` relative to the cathode's Fermi level (0 V).
    Labels come from the protocol segment ending at each snapshot's time.
    """
    import h5py

    with h5py.File(path, "r") as fh:
        x = fh["mesh/x"][()]
        cl = fh["mesh/layer"][()]
        names = json.loads(fh["mesh"].attrs["layers"])
        thick = np.asarray(fh["mesh"].attrs["thicknesses"], float)
        stack = json.loads(fh.attrs["stack"])
        prot = json.loads(fh.attrs["protocol"])
        snaps = []
        for k in sorted(fh["snapshots"], key=int):
            g = fh["snapshots"][k]
            snaps.append((float(g.attrs["t"]), {n: g[n][()] for n in g}))
    chi_l = np.array([float(la["chi"]) for la in stack["layers"]])
    eg_l = np.array([float(la["Eg"]) for la in stack["layers"]])
    # the file's cell layers index the stack layers (fv1d and dolfinx writers alike)
    chi, eg = chi_l[cl], eg_l[cl]
    ends = {round(float(s["t1"]), 9): str(s["label"]) for s in prot["segments"]}
    states: dict[str, Any] = {}
    for t, prof in snaps:
        lab = ends.get(round(t, 9), f"t={t:g}")
        psi = np.asarray(prof["psi"], float)
        pe = np.stack([psi[:-1], psi[1:]], axis=1)
        ec = -chi[:, None] - pe
        states[lab] = {"t": t, **prof, "Ec": ec, "Ev": ec - eg[:, None]}
    return {"x": x, "cell_layer": cl, "layers": names,
            "materials": [str(la.get("material", "")) for la in stack["layers"]],
            "interfaces": np.concatenate([[0.0], np.cumsum(thick)]), "chi": chi, "Eg": eg,
            "states": states}


def interface_fields(prof: Mapping[str, Any], state: str) -> dict[str, float]:
    """Field (V/m, + = anode -> cathode, the direction of the forward applied field) in the
    PVP cells next to its IDTBT-side (lower) and QD-side (upper) interfaces and its mean over
    the PVP layer, for snapshot ``state`` (empty without a PVP layer)."""
    mats = list(prof.get("materials") or [])
    out: dict[str, float] = {}
    if "PVP" not in mats:
        return out
    ip = mats.index("PVP")
    E = np.asarray(prof["states"][state]["E"], float)
    cells = np.flatnonzero(np.asarray(prof["cell_layer"]) == ip)
    if cells.size:
        out["E_pvp_lower_V_m"] = float(E[cells[0]])
        out["E_pvp_upper_V_m"] = float(E[cells[-1]])
        out["E_pvp_mean_V_m"] = float(np.mean(E[cells]))
    return out


def profile_summary(prof: Mapping[str, Any]) -> dict[str, Any]:
    """Interface fields per state and the built-in field of the trapped charge.

    ``builtin_*`` = field after training minus pristine at 0 V: a negative value is a
    built-in field opposite to the forward applied field; ``uv_change_*`` = field under UV
    minus trained, both at the read bias.
    """
    out: dict[str, Any] = {}
    for s in prof["states"]:
        for k, v in interface_fields(prof, s).items():
            out[f"{s}:{k}"] = v
    for a, b, tag in (("trained_0V", "pristine", "builtin"),
                      ("uv_read", "trained_read", "uv_change")):
        if a in prof["states"] and b in prof["states"]:
            fa, fb = interface_fields(prof, a), interface_fields(prof, b)
            for k in fa:
                out[f"{tag}_{k}"] = fa[k] - fb[k]
    for s, st in prof["states"].items():
        w = np.gradient(prof["x"])
        out[f"{s}:trapped_holes_m2"] = float(np.sum(np.asarray(st["pt"]) * w))
        out[f"{s}:trapped_electrons_m2"] = float(np.sum(np.asarray(st["nt"]) * w))
    mean_key = "builtin_E_pvp_mean_V_m"
    if mean_key in out:
        out["builtin_field_opposes_applied"] = bool(out[mean_key] < 0)
    return out


# ============================================================================ sweeps

def trap_overrides(layer: str, scale: float) -> dict[str, Any]:
    """Overrides scaling every trap density of ``layer`` by ``scale``."""
    if not scale >= 0:
        raise OverrideError(f"trap scale = {scale!r}: must be >= 0")
    return {f"{layer}.traps.*.density": {"scale": float(scale)}}


def sweep_table(results: list[Mapping[str, Any]], param: str,
                keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows ``{param, status, key...}`` of sweep point results (``VariantResult.to_dict()``
    plus ``{param: value}``), sorted by the parameter."""
    rows = []
    for r in results:
        m = r["metrics"]
        row = {param: float(r[param]), "status": str(r["status"])[:120]}
        for k in keys:
            row[k] = float(m.get(k, float("nan")))
        rows.append(row)
    return sorted(rows, key=lambda z: z[param])
