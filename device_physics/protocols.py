"""Electrical and optical stimulation protocols as data.

A protocol (``config/protocols/*.yaml``) is a sequence of steps, each of one kind:

* ``pulses``: ``amplitude`` (V), ``width`` (s), ``interval`` (s, off time after each pulse),
  ``count``, optional ``base`` (V, default 0), ``rise`` (s, linear edges, default 0) and
  ``uv`` (mW/cm^2 during the whole train, default 0);
* ``sweep``: triangular I-V scans ``v_start`` -> ``v_peak`` -> ``v_end`` at ``rate`` (V/s),
  ``cycles`` times, optional ``uv``;
* ``uv``: exposure of ``intensity`` (mW/cm^2) for ``duration`` (s) at ``bias`` (V, default 0);
* ``rest``: ``duration`` (s) at ``bias`` (V, default 0) in the dark;
* ``sequence``: nested ``steps`` repeated ``repeat`` times.

Quantities are written ``"30 ms"``, ``"5 V"``, ``"70 mW/cm2"`` or ``{value:, unit:}`` and are
converted to SI once, at load. A step may give an absolute ``start`` (s); a start before the
end of the previous step is an overlap and raises :class:`ProtocolError`. Gaps are dark rests
at 0 V. The UV wavelength (default 365 nm) is one per protocol.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from device_physics.units import UnitError, to_si
from lemsim.configtools import load_yaml


class ProtocolError(ValueError):
    """Invalid protocol; the message names the step, key, value and allowed range."""


@dataclass(frozen=True)
class Segment:
    """A primitive piece of the waveform: V and UV are piecewise linear between ``knots``."""

    kind: str
    """``pulse``, ``sweep``, ``uv`` or ``rest``."""
    t0: float
    """Start time, s."""
    t1: float
    """End time, s."""
    knots_t: tuple[float, ...]
    """Times (absolute, s) of the voltage knots, first = t0, last = t1."""
    knots_v: tuple[float, ...]
    """Voltage at the knots, V (linear in between)."""
    uv: float
    """UV irradiance during the segment, W/m^2."""
    label: str = ""
    """Name of the step it came from and its index, e.g. ``pulses[0]#3``."""


@dataclass(frozen=True)
class Protocol:
    """A stimulation protocol: a time-ordered list of :class:`Segment`."""

    name: str
    segments: tuple[Segment, ...]
    wavelength: float = 365e-9
    """UV wavelength, m."""
    description: str = ""
    spec: dict[str, Any] = field(default_factory=dict)
    """The (unconverted) data the protocol was built from."""

    @property
    def duration(self) -> float:
        """Total duration, s."""
        return self.segments[-1].t1 if self.segments else 0.0

    def _knots(self) -> tuple[np.ndarray, np.ndarray]:
        ts: list[float] = []
        vs: list[float] = []
        for s in self.segments:
            ts.extend(s.knots_t)
            vs.extend(s.knots_v)
        return np.asarray(ts), np.asarray(vs)

    def waveform(self, t: float | np.ndarray) -> tuple[Any, Any]:
        """Applied anode voltage (V) and UV irradiance (W/m^2) at time(s) ``t``.

        At a jump the value *after* the jump is returned (right-continuous); after the end the
        last values hold.
        """
        tt = np.atleast_1d(np.asarray(t, dtype=float))
        v = np.zeros_like(tt)
        uv = np.zeros_like(tt)
        for s in self.segments:
            m = (tt >= s.t0) & (tt < s.t1)
            if s is self.segments[-1]:
                m |= tt >= s.t1
            if not m.any():
                continue
            kt = np.asarray(s.knots_t)
            kv = np.asarray(s.knots_v)
            # right-continuous interpolation: for duplicated knot times take the later value
            idx = np.searchsorted(kt, tt[m], side="right") - 1
            idx = np.clip(idx, 0, len(kt) - 1)
            nxt = np.clip(idx + 1, 0, len(kt) - 1)
            dt = kt[nxt] - kt[idx]
            w = np.where(dt > 0, (tt[m] - kt[idx]) / np.where(dt > 0, dt, 1.0), 0.0)
            v[m] = kv[idx] + np.clip(w, 0.0, 1.0) * (kv[nxt] - kv[idx])
            uv[m] = s.uv
        if np.ndim(t) == 0:
            return float(v[0]), float(uv[0])
        return v, uv

    def edges(self) -> np.ndarray:
        """Sorted unique times where V or UV jumps or changes slope (incl. 0 and the end), s."""
        ts = [0.0, self.duration]
        for s in self.segments:
            ts.extend(s.knots_t)
        return np.unique(np.round(np.asarray(ts), 15))

    def jumps(self) -> np.ndarray:
        """Times where V or UV is discontinuous (a BDF1 restart is needed there), s."""
        out: set[float] = set()
        prev_v, prev_uv = 0.0, 0.0
        for s in self.segments:
            if s.knots_v[0] != prev_v or s.uv != prev_uv:
                out.add(s.t0)
            for k in range(1, len(s.knots_t)):
                if s.knots_t[k] == s.knots_t[k - 1] and s.knots_v[k] != s.knots_v[k - 1]:
                    out.add(s.knots_t[k])
            prev_v, prev_uv = s.knots_v[-1], s.uv
        return np.array(sorted(out))

    def pulse_windows(self) -> np.ndarray:
        """(start, end) of every voltage pulse, s, shape (n_pulses, 2)."""
        w = [(s.t0, s.t0 + (s.knots_t[-2] - s.t0)) for s in self.segments if s.kind == "pulse"]
        return np.asarray(w, dtype=float).reshape(-1, 2)

    def to_json(self) -> str:
        """JSON text of the protocol (for the ``protocol`` attribute of output files)."""
        return json.dumps({"name": self.name, "description": self.description,
                           "wavelength": self.wavelength, "spec": self.spec,
                           "segments": [asdict(s) for s in self.segments]})


# ---------------------------------------------------------------------------- parsing

_DIMS = {"V": "voltage", "mV": "voltage", "s": "time", "ms": "time", "us": "time",
         "µs": "time", "ns": "time", "mW/cm2": "irradiance", "W/m2": "irradiance",
         "W/cm2": "irradiance", "V/s": "voltage_rate", "V/ms": "voltage_rate",
         "nm": "length", "um": "length", "m": "length"}

_STEP_KEYS: dict[str, dict[str, tuple[str, float, float, bool, Any]]] = {
    # key -> (dimension, lo, hi, lo_open, default or None=required)
    "pulses": {"amplitude": ("voltage", -50, 50, False, None),
               "width": ("time", 0, 1e5, True, None),
               "interval": ("time", 0, 1e5, False, None),
               "count": ("count", 1, 100000, False, None),
               "base": ("voltage", -50, 50, False, 0.0),
               "rise": ("time", 0, 1e5, False, 0.0),
               "uv": ("irradiance", 0, 1e5, False, 0.0)},
    "sweep": {"v_start": ("voltage", -50, 50, False, 0.0),
              "v_peak": ("voltage", -50, 50, False, None),
              "v_end": ("voltage", -50, 50, False, 0.0),
              "rate": ("voltage_rate", 0, 1e9, True, None),
              "cycles": ("count", 1, 100000, False, 1),
              "uv": ("irradiance", 0, 1e5, False, 0.0)},
    "uv": {"intensity": ("irradiance", 0, 1e5, False, None),
           "duration": ("time", 0, 1e7, True, None),
           "bias": ("voltage", -50, 50, False, 0.0),
           "wavelength": ("length", 100e-9, 2000e-9, False, 365e-9)},
    "rest": {"duration": ("time", 0, 1e7, True, None),
             "bias": ("voltage", -50, 50, False, 0.0)},
}


def _quantity(where: str, raw: Any, dim: str, lo: float, hi: float, lo_open: bool) -> float:
    if dim == "count":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ProtocolError(f"{where} = {raw!r}: must be an integer in [{lo:g}, {hi:g}]")
        v: float = raw
    else:
        if isinstance(raw, dict):
            value, unit = raw.get("value"), str(raw.get("unit"))
        elif isinstance(raw, str):
            mt = re.fullmatch(r"\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*(\S+)\s*", raw)
            if mt is None:
                raise ProtocolError(f"{where} = {raw!r}: write a number and a unit, e.g. '30 ms'")
            value, unit = mt.group(1), mt.group(2)
        elif isinstance(raw, int | float) and raw == 0:
            value, unit = 0.0, next(u for u, d in _DIMS.items() if d == dim)
        else:
            raise ProtocolError(
                f"{where} = {raw!r}: give a unit, e.g. '30 ms', '5 V', '70 mW/cm2'")
        try:
            v = to_si(float(value), unit, dim, where)
        except (UnitError, ValueError, TypeError) as exc:
            raise ProtocolError(f"{where} = {raw!r}: {exc}") from exc
    ok_lo = v > lo if lo_open else v >= lo
    if not (ok_lo and v <= hi):
        bracket = "(" if lo_open else "["
        raise ProtocolError(
            f"{where} = {raw!r}: must be in {bracket}{lo:g}, {hi:g}] (SI: V, s, W/m2, m)")
    return v


def _step_values(where: str, step: dict[str, Any], kind: str) -> dict[str, float]:
    spec = _STEP_KEYS[kind]
    unknown = set(step) - set(spec) - {"kind", "start", "name"}
    if unknown:
        raise ProtocolError(f"{where}: unknown keys {sorted(unknown)} for kind {kind!r}; "
                            f"allowed {sorted(spec)} + start, name")
    out: dict[str, float] = {}
    for key, (dim, lo, hi, lo_open, default) in spec.items():
        if key not in step:
            if default is None:
                raise ProtocolError(f"{where}: missing required key {key!r} for kind {kind!r}")
            out[key] = default
            continue
        out[key] = _quantity(f"{where}.{key}", step[key], dim, lo, hi, lo_open)
    return out


def _r(t: float) -> float:
    """Round a time to 1 ps so that repeated sums give clean edges."""
    return round(t, 12)


def _expand(steps: Any, where: str, t: float, segs: list[Segment], wl: list[float]) -> float:
    if not isinstance(steps, list) or not steps:
        raise ProtocolError(f"{where}: must be a non-empty list of steps")
    for k, step in enumerate(steps):
        w = f"{where}[{k}]"
        if not isinstance(step, dict):
            raise ProtocolError(f"{w} = {step!r}: must be a mapping")
        kind = step.get("kind")
        if kind not in (*_STEP_KEYS, "sequence"):
            raise ProtocolError(f"{w}.kind = {kind!r}: must be one of "
                                f"{sorted((*_STEP_KEYS, 'sequence'))}")
        label = str(step.get("name", f"{w}"))
        if "start" in step:
            t_start = _quantity(f"{w}.start", step["start"], "time", 0, 1e9, False)
            if t_start < t - 1e-12:
                raise ProtocolError(
                    f"{w}.start = {step['start']!r} ({t_start:g} s) overlaps the previous "
                    f"step, which ends at {t:g} s; steps must not overlap")
            if t_start > t:
                segs.append(Segment("rest", t, t_start, (t, t_start), (0.0, 0.0), 0.0,
                                    f"{w}:gap"))
            t = t_start
        if kind == "sequence":
            rep = step.get("repeat", 1)
            extra = set(step) - {"kind", "steps", "repeat", "start", "name"}
            if extra:
                raise ProtocolError(f"{w}: unknown keys {sorted(extra)} for kind 'sequence'")
            if isinstance(rep, bool) or not isinstance(rep, int) or not 1 <= rep <= 100000:
                raise ProtocolError(f"{w}.repeat = {rep!r}: must be an integer in [1, 100000]")
            for _ in range(rep):
                t = _expand(step.get("steps"), f"{w}.steps", t, segs, wl)
            continue
        p = _step_values(w, step, kind)
        if kind == "pulses":
            if 2 * p["rise"] > p["width"]:
                raise ProtocolError(f"{w}.rise = {step.get('rise')!r}: must be <= width / 2")
            t_train = t
            for i in range(int(p["count"])):
                a, b, r = p["amplitude"], p["base"], p["rise"]
                t = _r(t_train + i * (p["width"] + p["interval"]))
                t1 = _r(t + p["width"])
                t2 = _r(t_train + (i + 1) * (p["width"] + p["interval"]))
                kt = (t, t + r, t1 - r, t1, t2) if r > 0 else (t, t, t1, t1, t2)
                kv = (b, a, a, b, b)
                if r == 0:
                    kt, kv = (t, t1, t1, t2), (a, a, b, b)
                segs.append(Segment("pulse", t, t2, kt, kv, p["uv"], f"{label}#{i}"))
                t = t2
        elif kind == "sweep":
            up = abs(p["v_peak"] - p["v_start"]) / p["rate"]
            down = abs(p["v_end"] - p["v_peak"]) / p["rate"]
            if up + down <= 0:
                raise ProtocolError(f"{w}: sweep has zero span (v_start = v_peak = v_end)")
            for i in range(int(p["cycles"])):
                kt = (t, _r(t + up), _r(t + up + down))
                segs.append(Segment("sweep", t, kt[-1], kt, (p["v_start"], p["v_peak"],
                                                              p["v_end"]), p["uv"],
                                    f"{label}#{i}"))
                t = kt[-1]
        elif kind == "uv":
            wl.append(p["wavelength"])
            t1 = _r(t + p["duration"])
            segs.append(Segment("uv", t, t1, (t, t1), (p["bias"], p["bias"]), p["intensity"],
                                label))
            t = t1
        else:
            t1 = _r(t + p["duration"])
            segs.append(Segment("rest", t, t1, (t, t1), (p["bias"], p["bias"]), 0.0, label))
            t = t1
    return t


def protocol_from_dict(data: Any, source: str = "<dict>") -> Protocol:
    """Build a :class:`Protocol` from parsed YAML data (validated, SI).

    Raises:
        ProtocolError: naming the step, key, value and allowed range.
    """
    if not isinstance(data, dict):
        raise ProtocolError(f"{source}: top level must be a mapping")
    unknown = set(data) - {"name", "description", "steps", "wavelength"}
    if unknown:
        raise ProtocolError(f"{source}: unknown top-level keys {sorted(unknown)}; allowed "
                            "name, description, steps, wavelength")
    segs: list[Segment] = []
    wls: list[float] = []
    try:
        _expand(data.get("steps"), "steps", 0.0, segs, wls)
    except ProtocolError as exc:
        raise ProtocolError(f"{source}: {exc}") from None
    wl = _quantity("wavelength", data["wavelength"], "length", 100e-9, 2000e-9, False) \
        if "wavelength" in data else (wls[0] if wls else 365e-9)
    if any(abs(w - wl) > 1e-12 for w in wls):
        raise ProtocolError(f"{source}: all UV steps must use one wavelength, got "
                            f"{sorted({round(w * 1e9, 3) for w in wls})} nm")
    return Protocol(name=str(data.get("name", Path(source).stem)), segments=tuple(segs),
                    wavelength=wl, description=str(data.get("description", "")), spec=data)


def load_protocol(path: str | Path) -> Protocol:
    """Load and validate a protocol YAML file."""
    p = Path(path)
    return protocol_from_dict(load_yaml(p), str(p))


# ----------------------------------------------------------------- programmatic builders

def pulse_train(count: int, amplitude: float = 5.0, width: float = 30e-3,
                interval: float = 30e-3, uv_mw_cm2: float = 0.0, name: str = "") -> dict:
    """Step dict of a pulse train (SI inputs: V, s; UV in mW/cm^2)."""
    return {"kind": "pulses", "amplitude": f"{amplitude!r} V", "width": f"{width!r} s",
            "interval": f"{interval!r} s", "count": int(count), "uv": f"{uv_mw_cm2!r} mW/cm2",
            **({"name": name} if name else {})}


def ppf_protocol(interval: float, amplitude: float = 5.0, width: float = 30e-3) -> Protocol:
    """Paired pulses separated by ``interval`` (s), for the PPF index (D8)."""
    if not interval > 0 or not math.isfinite(interval):
        raise ProtocolError(f"interval = {interval!r}: must be > 0 s")
    steps = [
        {"kind": "pulses", "amplitude": f"{amplitude!r} V", "width": f"{width!r} s",
         "interval": f"{interval!r} s", "count": 1, "name": "p1"},
        {"kind": "pulses", "amplitude": f"{amplitude!r} V", "width": f"{width!r} s",
         "interval": f"{width!r} s", "count": 1, "name": "p2"},
    ]
    return protocol_from_dict({"name": f"ppf_{interval:g}s", "steps": steps})
