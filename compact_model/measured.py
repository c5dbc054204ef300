"""A measured device in: read a user's measurement, fit the compact model, write ``nlem.json``.

Three file formats are read (all CSV; ``#`` lines are comments):

* **Time series** (source-measure unit or oscilloscope export): a header row naming every
  column with its unit in parentheses or brackets, e.g. ``time (s), voltage (V), current
  (mA), light (nW), uv (mW/cm2)``. Required: time, voltage, current; optional: light, UV.
  Units: time ``s, ms, us, ns``; voltage ``V, mV``; current ``A, mA, uA, nA, pA`` or a
  current density ``A/m2, mA/cm2, A/cm2`` (times the device area); light as a photon flux
  ``photons/s``, a photon flux density ``photons/(s m2), photons/(s cm2)``, an optical power
  ``W, mW, uW, nW`` or an irradiance ``W/m2, mW/cm2`` (powers become photons/s with the EL
  wavelength); UV ``W/m2, mW/cm2``. Everything is converted once, here, to SI device units
  (A, photons/s, W/m2).
* **Two-column sweep** (Keithley-style export: ``Voltage (V), Current (A)``, or two numeric
  columns without a header, read as V and A): an I-V sweep; the metadata gives its rate
  (``protocol: {sweep_rate: 10 V/s}``), which sets the time axis.
* **Pulse-number / conductance table** (what aihwkit users bring): ``pulse, conductance (uS)``;
  the metadata gives the programming pulse and the read (``protocol: {amplitude, width,
  interval, read_voltage, read_width}``). It becomes a waveform of pulses each followed by a
  read whose current is ``G v_read``; only the reads are measured samples.

Bad input gets a named error before any fitting: :class:`MeasurementFileError` (no such
file, empty, unreadable numbers), :class:`MissingColumnError`, :class:`UnknownUnitError`,
:class:`NonMonotoneTimeError`, :class:`NonFiniteError`, :class:`MetadataError` and
:class:`UndeclaredParametersError`.

The protocol is detected from the waveform (:func:`detect_protocol`: pulse trains with
amplitude, width, interval and count; rests; UV exposures; sweeps) and named like the
physics protocols (``pulses_N``, ``ppf_<interval>``, ``decay``, ``uv_reset``, ``full``,
``iv_<n>scans``; otherwise ``measured``), so the fit and its metrics are those of the physics
fit (:func:`compact_model.fit.fit_physics`, :func:`~compact_model.fit.compare_traces`,
:func:`~compact_model.fit.agreement`, the fit report of :mod:`compact_model.figures`).

A measurement rarely constrains every compact-model parameter. :func:`constrained_parameters`
says which ones the detected protocol constrains (the fit frees only those; the fit report adds
the 1-sigma uncertainty of each from the Jacobian). Every other parameter must be declared in
the metadata file beside the measurement (``<stem>.meta.yaml``: ``parameters: {name: {value,
unit, source}}``) or come from a named preset (``preset: paper``), which ``nlem.json`` then
records as the source of those parameters; otherwise :class:`UndeclaredParametersError`, before
the fit and before any downstream stage.
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from compact_model.params import HC, UNITS, NLEMParams

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------ errors
class MeasurementError(ValueError):
    """A measurement or its metadata cannot be used (the message names file and cause)."""


class MeasurementFileError(MeasurementError):
    """No such file, no data rows, or a cell that is not a number."""


class MissingColumnError(MeasurementError):
    """A required column (time, voltage, current; pulse, conductance) is not in the header."""


class UnknownUnitError(MeasurementError):
    """A column or parameter unit that does not fit the quantity."""


class NonMonotoneTimeError(MeasurementError):
    """The time column decreases (or repeats) somewhere."""


class NonFiniteError(MeasurementError):
    """A NaN or infinite value in a column."""


class MetadataError(MeasurementError):
    """The metadata file is missing a key the format needs, or has an unknown one."""


class UndeclaredParametersError(MeasurementError):
    """Parameters the measurement does not constrain, neither declared nor from a preset."""


# ------------------------------------------------------------------------------ columns
#: Column roles and the header names that select them (lower case; a prefix such as
#: ``SMU-1`` is allowed before the name).
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "time": ("time", "t"),
    "voltage": ("voltage", "v", "bias", "vsource", "vmeas"),
    "current": ("current", "i", "j", "current density", "imeas", "isource"),
    "light": ("light", "l", "el", "photon flux", "optical power", "luminescence"),
    "uv": ("uv", "uv intensity", "uv irradiance"),
    "pulse": ("pulse", "pulses", "pulse number", "n"),
    "conductance": ("conductance", "g"),
}
#: Unit dimensions (keys of :data:`device_physics.units.UNITS`) accepted per column role.
COLUMN_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "time": ("time",), "voltage": ("voltage",), "current": ("current", "current_density"),
    "light": ("photon_flux", "photon_flux_density", "power", "irradiance"),
    "uv": ("irradiance",), "pulse": ("dimensionless",), "conductance": ("conductance",),
}
_HEADER_CELL = re.compile(r"^\s*(?P<name>[^()\[\]]*?)\s*(?:[(\[](?P<unit>.*)[)\]])?\s*$")


def _units_table() -> dict[str, dict[str, float]]:
    from device_physics.units import UNITS as TABLE

    return TABLE


def _role(name: str) -> str | None:
    n = re.sub(r"\s+", " ", name.strip().lower().replace("_", " "))
    for role, names in COLUMN_NAMES.items():
        if n in names or any(n.endswith(" " + x) for x in names if len(x) > 1):
            return role
    return None


def _unit(path: Path, col: str, role: str, unit: str) -> tuple[str, float]:
    """``(dimension, factor to SI)`` of ``unit`` for a column of ``role``."""
    table = _units_table()
    u = unit.strip().replace("²", "2").replace("^2", "2").replace("·", " ").replace("*", " ")
    u = re.sub(r"\s+", " ", u)
    if role == "pulse" and u in ("", "#", "1"):
        return "dimensionless", 1.0
    for dim in COLUMN_DIMENSIONS[role]:
        for spelling, factor in table[dim].items():
            if u == spelling or u.replace(" ", "") == spelling.replace(" ", ""):
                return dim, factor
    allowed = sorted({s for d in COLUMN_DIMENSIONS[role] for s in table[d]})
    raise UnknownUnitError(f"{path}: column {col!r}: unit {unit!r} is not a {role} unit; "
                           f"allowed: {', '.join(allowed)}")


@dataclass
class Measurement:
    """One measured file in SI units, before the device area and wavelength are applied.

    Attributes:
        path: The file.
        kind: ``timeseries``, ``sweep`` (two-column I-V) or ``table`` (pulse/conductance).
        columns: Role -> ``(header cell, dimension)`` as read.
        t: Time [s]; V: voltage [V]; uv: UV intensity [W/m2].
        I: Current [A], or current density [A/m2] when ``current_per_area``.
        L: Light in the SI unit of ``light_dimension`` (None: no light column).
        measured: Mask of measured samples (None: all; a table: its reads).
        current_per_area: Whether ``I`` is a density.
        light_dimension: Dimension of ``L`` (``photon_flux``, ``photon_flux_density``,
            ``power``, ``irradiance``).
    """

    path: Path
    kind: str
    columns: dict[str, tuple[str, str]]
    t: np.ndarray
    V: np.ndarray
    uv: np.ndarray
    I: np.ndarray  # noqa: E741
    L: np.ndarray | None = None
    measured: np.ndarray | None = None
    current_per_area: bool = False
    light_dimension: str = ""

    @property
    def has_light(self) -> bool:
        """Whether the file has a light column."""
        return self.L is not None

    def device_units(self, area: float, wavelength: float) -> tuple[np.ndarray, np.ndarray]:
        """Current [A] and light [photons/s] (zeros without light) of the device of ``area``
        [m2] emitting at ``wavelength`` [m]."""
        i = self.I * area if self.current_per_area else self.I.copy()
        if self.L is None:
            return i, np.zeros_like(i)
        per_photon = HC / wavelength
        lum = {"photon_flux": self.L, "photon_flux_density": self.L * area,
               "power": self.L / per_photon,
               "irradiance": self.L * area / per_photon}[self.light_dimension]
        return i, np.asarray(lum, dtype=np.float64)


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Comment lines, then the rows of the CSV (header included if any)."""
    if not path.is_file():
        raise MeasurementFileError(f"{path}: no such measurement file")
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    comments, body = [], []
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        (comments if s.startswith("#") else body).append(line)
    delim = "\t" if body and "\t" in body[0] and "," not in body[0] else ","
    rows = [[c.strip() for c in r] for r in csv.reader(body, delimiter=delim)]
    rows = [r for r in rows if any(r)]
    if not rows:
        raise MeasurementFileError(f"{path}: no data rows")
    return comments, rows


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _numbers(path: Path, rows: list[list[str]], ncol: int, first_line: int) -> np.ndarray:
    out = np.empty((len(rows), ncol))
    for k, r in enumerate(rows):
        if len(r) < ncol:
            raise MeasurementFileError(f"{path}: data row {first_line + k} has {len(r)} cells, "
                                       f"the header {ncol}")
        for c in range(ncol):
            try:
                out[k, c] = float(r[c]) if r[c] else math.nan
            except ValueError:
                raise MeasurementFileError(f"{path}: data row {first_line + k}, column "
                                           f"{c + 1}: {r[c]!r} is not a number") from None
    return out


def _check_finite(path: Path, col: str, a: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        raise NonFiniteError(f"{path}: column {col!r} holds NaN or infinity at data row "
                             f"{int(bad[0]) + 1} ({bad.size} value(s) in all)")


def read_measurement(path: str | Path, protocol: Mapping[str, float] | None = None
                     ) -> Measurement:
    """Read and validate one measurement file (format detected from its header).

    Args:
        path: CSV file.
        protocol: The metadata's ``protocol`` section in SI (:func:`read_meta`): the sweep
            rate of a two-column sweep, the pulse and read of a conductance table.

    Raises:
        MeasurementFileError, MissingColumnError, UnknownUnitError, NonMonotoneTimeError,
        NonFiniteError, MetadataError: see the module docstring.
    """
    path = Path(path)
    protocol = dict(protocol or {})
    _, rows = _read_rows(path)
    header = rows[0]
    has_header = not all(_is_number(c) for c in header if c)
    if not has_header:
        if len(header) != 2:
            raise MissingColumnError(f"{path}: no header row and {len(header)} columns; a file "
                                     "without a header must be a two-column sweep (V, A)")
        cols = {"voltage": ("voltage (V)", "voltage"), "current": ("current (A)", "current")}
        data = _numbers(path, rows, 2, 1)
        factors = {"voltage": (0, 1.0), "current": (1, 1.0)}
    else:
        cols, factors = {}, {}
        for c, cell in enumerate(header):
            m = _HEADER_CELL.match(cell)
            name, unit = (m.group("name"), m.group("unit")) if m else (cell, None)
            role = _role(name or "")
            if role is None:
                log.warning("%s: column %r not used (not one of %s)", path, cell,
                            ", ".join(COLUMN_NAMES))
                continue
            if role in cols:
                raise MeasurementFileError(f"{path}: columns {cols[role][0]!r} and {cell!r} "
                                           f"are both {role}")
            if unit is None and role != "pulse":
                raise UnknownUnitError(f"{path}: column {cell!r} gives no unit; write it as "
                                       f"'{name} (unit)', e.g. "
                                       f"'{name} ({_example_unit(role)})'")
            dim, factor = _unit(path, cell, role, unit or "")
            cols[role] = (cell, dim)
            factors[role] = (c, factor)
        data = _numbers(path, rows[1:], len(header), 2)
        if data.shape[0] == 0:
            raise MeasurementFileError(f"{path}: a header but no data rows")
    arr = {role: data[:, c] * f for role, (c, f) in factors.items()}
    for role, a in arr.items():
        _check_finite(path, cols[role][0], a)

    if "pulse" in cols or "conductance" in cols:
        return _table(path, cols, arr, protocol)
    missing = [r for r in ("voltage", "current") if r not in cols]
    if missing:
        raise MissingColumnError(f"{path}: missing column(s) {missing}; a time series needs "
                                 "time, voltage and current (optional light, uv), a sweep "
                                 "voltage and current, a table pulse and conductance")
    per_area = cols["current"][1] == "current_density"
    if "time" not in cols:
        if len(cols) > 2 and not ({"light"} >= set(cols) - {"voltage", "current"}):
            raise MissingColumnError(f"{path}: missing column 'time'")
        return _sweep(path, cols, arr, protocol, per_area)
    t = arr["time"]
    if len(t) < 2:
        raise MeasurementFileError(f"{path}: {len(t)} data row(s); need at least 2")
    back = np.flatnonzero(np.diff(t) <= 0)
    if back.size:
        k = int(back[0])
        raise NonMonotoneTimeError(f"{path}: time is not increasing at data rows {k + 1}-{k + 2}"
                                   f" ({t[k]:.9g} s then {t[k + 1]:.9g} s)")
    uv = arr.get("uv", np.zeros_like(t))
    if np.any(uv < 0):
        raise MeasurementFileError(f"{path}: column {cols['uv'][0]!r} is negative somewhere")
    return Measurement(path, "timeseries", cols, t - t[0], arr["voltage"], uv, arr["current"],
                       arr.get("light"), None, per_area,
                       cols["light"][1] if "light" in cols else "")


def _example_unit(role: str) -> str:
    return {"time": "s", "voltage": "V", "current": "mA", "light": "photons/s",
            "uv": "mW/cm2", "conductance": "uS"}.get(role, "1")


def _need(path: Path, protocol: Mapping[str, float], keys: Sequence[str], what: str) -> None:
    missing = [k for k in keys if k not in protocol]
    if missing:
        raise MetadataError(f"{path}: {what} needs protocol keys {missing} in its metadata "
                            f"file ({meta_path_for(path).name}), e.g. protocol: "
                            + "{" + ", ".join(f"{k}: {_PROTOCOL_KEYS[k][1]}" for k in missing)
                            + "}")


def _sweep(path: Path, cols: dict, arr: dict, protocol: Mapping[str, float],
           per_area: bool) -> Measurement:
    """A two-column I-V sweep on a time axis from the sweep rate."""
    _need(path, protocol, ["sweep_rate"], "a two-column sweep")
    v = arr["voltage"]
    if len(v) < 2:
        raise MeasurementFileError(f"{path}: {len(v)} data row(s); need at least 2")
    dv = np.abs(np.diff(v))
    t = np.r_[0.0, np.cumsum(dv / protocol["sweep_rate"])]
    if np.any(np.diff(t) <= 0):
        k = int(np.flatnonzero(np.diff(t) <= 0)[0])
        raise NonMonotoneTimeError(f"{path}: voltage repeats at data rows {k + 1}-{k + 2} "
                                   f"({v[k]:.6g} V): a sweep's time comes from its voltage "
                                   "steps and the sweep rate")
    return Measurement(path, "sweep", cols, t, v, np.zeros_like(v), arr["current"],
                       arr.get("light"), None, per_area,
                       cols["light"][1] if "light" in cols else "")


def _table(path: Path, cols: dict, arr: dict, protocol: Mapping[str, float]) -> Measurement:
    """A pulse-number/conductance table as a waveform: pulse, gap, read, gap per row."""
    missing = [r for r in ("pulse", "conductance") if r not in cols]
    if missing:
        raise MissingColumnError(f"{path}: missing column(s) {missing}; a conductance table "
                                 "needs 'pulse' and 'conductance (S|mS|uS|nS)'")
    _need(path, protocol, ["amplitude", "width", "interval", "read_voltage"],
          "a pulse-number/conductance table")
    n = arr["pulse"]
    if np.any(np.diff(n) <= 0) or np.any(n != np.round(n)) or n[0] < 0:
        raise NonMonotoneTimeError(f"{path}: column {cols['pulse'][0]!r} must hold increasing "
                                   "whole pulse numbers from 0 or 1")
    g = arr["conductance"]
    amp, width, interval = protocol["amplitude"], protocol["width"], protocol["interval"]
    v_read = protocol["read_voltage"]
    read_w = protocol.get("read_width", 1e-3)
    if read_w >= interval:
        raise MetadataError(f"{path}: protocol read_width {read_w:g} s must be shorter than the "
                            f"interval {interval:g} s")
    # input on (t[k-1], t[k]] is V[k]; sample 0 is the start, at rest
    ts, vs, meas, cur = [0.0], [0.0], [False], [0.0]
    t, done = 0.0, 0
    gap = 0.5 * (interval - read_w)

    def add(dt: float, v: float, is_read: bool, i: float = 0.0) -> None:
        nonlocal t
        t += dt
        ts.append(t)
        vs.append(v)
        meas.append(is_read)
        cur.append(i)

    for k, gk in zip(n.astype(int), g, strict=True):
        while done < k:
            add(gap, 0.0, False)
            add(width, amp, False)
            done += 1
        add(gap, 0.0, False)
        add(read_w, v_read, True, gk * v_read)
    return Measurement(path, "table", cols, np.array(ts), np.array(vs), np.zeros(len(ts)),
                       np.array(cur), None, np.array(meas), False, "")


# ------------------------------------------------------------------------------ metadata
#: Keys of the metadata ``protocol`` section: (dimension, example).
_PROTOCOL_KEYS: dict[str, tuple[str, str]] = {
    "sweep_rate": ("voltage_rate", "10 V/s"), "amplitude": ("voltage", "5 V"),
    "width": ("time", "30 ms"), "interval": ("time", "30 ms"),
    "read_voltage": ("voltage", "4 V"), "read_width": ("time", "1 ms"),
}
#: Dimension of each compact-model parameter unit (``compact_model.params.UNITS``).
_PARAM_DIMENSIONS = {"A": "current", "V": "voltage", "1": "dimensionless", "S": "conductance",
                     "photons/s": "photon_flux", "m": "length", "1/s": "rate", "s": "time",
                     "W/m^2": "irradiance", "m^2": "area"}


@dataclass
class Meta:
    """The metadata file beside a measurement, in SI.

    Attributes:
        path: The file (None: none found).
        preset: Preset giving every parameter the metadata does not declare (None: none).
        parameters: Declared parameter values in the units of ``compact_model.params.UNITS``.
        sources: Where each declared value comes from (the file's ``source`` text).
        protocol: The ``protocol`` section (sweep rate, table pulse and read) in SI.
        description: Free text of the file.
    """

    path: Path | None = None
    preset: str | None = None
    parameters: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    protocol: dict[str, float] = field(default_factory=dict)
    description: str = ""


def meta_path_for(measurement: str | Path) -> Path:
    """``<dir>/<stem>.meta.yaml`` beside ``measurement``."""
    p = Path(measurement)
    return p.with_name(p.stem + ".meta.yaml")


def _quantity(where: str, spec: Any, dimension: str) -> float:
    from device_physics.units import UnitError, to_si

    if isinstance(spec, str):
        m = re.match(r"^\s*([-+0-9.eE]+)\s*(.*)$", spec)
        if not m:
            raise MetadataError(f"{where}: {spec!r} is not 'value unit'")
        value, unit = m.group(1), m.group(2).strip()
    elif isinstance(spec, Mapping):
        if "value" not in spec:
            raise MetadataError(f"{where}: needs 'value' (and 'unit', 'source')")
        value, unit = spec["value"], str(spec.get("unit", ""))
    else:
        value, unit = spec, ""
    unit = unit.replace("^2", "2").replace("²", "2")
    try:
        return to_si(float(value), unit, dimension, where)
    except UnitError as err:
        raise UnknownUnitError(str(err)) from None
    except (TypeError, ValueError):
        raise MetadataError(f"{where}: value {value!r} is not a number") from None


def read_meta(path: str | Path | None) -> Meta:
    """Read a metadata YAML (keys ``description``, ``preset``, ``parameters``, ``protocol``).

    ``parameters: {name: {value, unit, source}}`` for any field of
    :class:`~compact_model.params.NLEMParams` (units converted to the model's); ``protocol``
    values are ``"value unit"`` strings or ``{value, unit}``.

    Raises:
        MetadataError: unreadable file, unknown key or parameter, a parameter without
            ``source``, or an unknown preset. UnknownUnitError: a unit that does not fit.
    """
    if path is None:
        return Meta()
    import yaml

    from compact_model.presets import PRESETS

    path = Path(path)
    if not path.is_file():
        raise MetadataError(f"{path}: no such metadata file")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise MetadataError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(doc, Mapping):
        raise MetadataError(f"{path}: must be a mapping of description, preset, parameters, "
                            "protocol")
    unknown = sorted(set(doc) - {"description", "preset", "parameters", "protocol"})
    if unknown:
        raise MetadataError(f"{path}: unknown key(s) {unknown}; allowed: description, preset, "
                            "parameters, protocol")
    preset = doc.get("preset")
    if preset is not None and preset not in PRESETS:
        raise MetadataError(f"{path}: preset {preset!r} is not one of {sorted(PRESETS)}")
    meta = Meta(path=path, preset=preset, description=str(doc.get("description", "")))
    names = {f.name for f in fields(NLEMParams)}
    for name, spec in (doc.get("parameters") or {}).items():
        where = f"{path}: parameters.{name}"
        if name not in names:
            raise MetadataError(f"{where}: not a compact-model parameter; allowed: "
                                f"{', '.join(sorted(names))}")
        if not isinstance(spec, Mapping) or not str(spec.get("source", "")).strip():
            raise MetadataError(f"{where}: needs value, unit and source (where the value "
                                "comes from)")
        meta.parameters[name] = _quantity(where, spec, _PARAM_DIMENSIONS[UNITS[name]])
        meta.sources[name] = str(spec["source"])
    for key, spec in (doc.get("protocol") or {}).items():
        if key not in _PROTOCOL_KEYS:
            raise MetadataError(f"{path}: protocol.{key}: unknown; allowed: "
                                f"{', '.join(_PROTOCOL_KEYS)}")
        meta.protocol[key] = _quantity(f"{path}: protocol.{key}", spec, _PROTOCOL_KEYS[key][0])
    return meta


# ------------------------------------------------------------------------------ protocol
def _fmt_time(dt: float) -> str:
    return f"{dt * 1e3:.3g}ms" if dt < 1.0 else f"{dt:.3g}s"


def detect_protocol(t: np.ndarray, v: np.ndarray, uv: np.ndarray,
                    measured: np.ndarray | None = None) -> dict[str, Any]:
    """Segments of a sampled waveform and a protocol name for the metrics.

    The input on ``(t[k-1], t[k]]`` is ``V[k]``, ``uv[k]`` (the physics traces' convention).
    A waveform whose voltage changes at most samples, through more than 8 levels, is a sweep
    (``v_min``, ``v_max``, ``rate`` [V/s], ``scans``: up-down cycles). Otherwise a pulse is a
    run of samples above half the largest voltage; consecutive pulses of equal amplitude,
    width and interval (within 10 % and two sampling steps) form a train; gaps that break a
    train are rests, UV runs are UV exposures (intensity [W/m2], duration [s]). A table's
    reads (``measured``) are not pulses.

    Returns:
        ``{"name", "segments": [{"kind": "pulses" | "rest" | "uv" | "sweep", ...}],
        "pulse_amplitudes", "gaps", "uv_intensities"}`` (SI).
    """
    t, v, uv = (np.asarray(a, dtype=np.float64) for a in (t, v, uv))
    dv = np.abs(np.diff(v))
    vmax = float(np.max(np.abs(v))) if v.size else 0.0
    tol = max(0.02 * vmax, 1e-3)
    levels = np.unique(np.round(v / tol)).size
    if measured is None and v.size > 10 and levels > 8 and np.mean(dv > tol / 4) > 0.5:
        rate = float(np.median(dv / np.maximum(np.diff(t), 1e-300)))
        d = np.sign(np.diff(v))
        d = d[d != 0]
        scans = int(np.sum((d[:-1] > 0) & (d[1:] < 0))) or 1
        seg = {"kind": "sweep", "v_min": float(v.min()), "v_max": float(v.max()),
               "rate": rate, "scans": scans}
        return {"name": f"iv_{scans}scans", "segments": [seg],
                "pulse_amplitudes": [], "gaps": [], "uv_intensities": []}
    on = v > 0.5 * vmax if vmax > 0 else np.zeros_like(v, dtype=bool)
    if measured is not None:
        on &= ~measured
    dt_s = float(np.median(np.diff(t))) if t.size > 1 else 0.0

    def runs(mask: np.ndarray) -> list[tuple[int, int]]:
        e = np.diff(np.r_[0, mask[1:].astype(np.int8), 0])
        return [(int(a) + 1, int(b)) for a, b in zip(np.flatnonzero(e == 1),
                                                     np.flatnonzero(e == -1), strict=True)]

    pulses = [(float(t[a - 1]), float(t[b]), float(np.median(v[a:b + 1])))
              for a, b in runs(on)]
    uvs = [(float(t[a - 1]), float(t[b]), float(np.median(uv[a:b + 1])))
           for a, b in runs(uv > 0)]
    events = sorted([("p", *p) for p in pulses] + [("u", *u) for u in uvs],
                    key=lambda e: e[1])
    segs: list[dict[str, Any]] = []
    gaps: list[float] = []
    last_end = 0.0
    for kind, t0, t1, level in events:
        gap = t0 - last_end
        if kind == "p":
            tr = segs[-1] if segs and segs[-1]["kind"] == "pulses" else None
            width = t1 - t0
            slack = 2 * dt_s
            if tr is not None and abs(level - tr["amplitude"]) <= 0.1 * abs(tr["amplitude"]) \
                    and abs(width - tr["width"]) <= 0.1 * tr["width"] + slack \
                    and (tr["count"] == 1 and gap < 1.0 or tr["count"] > 1
                         and abs(gap - tr["interval"]) <= 0.1 * tr["interval"] + slack):
                if tr["count"] == 1:
                    tr["interval"] = gap
                tr["count"] += 1
                gaps.append(gap)
            else:
                if segs and gap > 0:
                    segs.append({"kind": "rest", "duration": gap})
                    gaps.append(gap)
                segs.append({"kind": "pulses", "amplitude": level, "width": width,
                             "interval": 0.0, "count": 1})
        else:
            if gap > 0 and segs:
                segs.append({"kind": "rest", "duration": gap})
            segs.append({"kind": "uv", "intensity": level, "duration": t1 - t0})
        last_end = t1
    if t.size and t[-1] > last_end and segs:
        segs.append({"kind": "rest", "duration": float(t[-1] - last_end)})
    kinds = [s["kind"] for s in segs]
    trains = [s for s in segs if s["kind"] == "pulses"]
    n_pulses = sum(s["count"] for s in trains)
    core = list(kinds)
    while core and core[-1] == "rest":
        core.pop()
    name = "measured"
    long_rest = any(s["kind"] == "rest" and s["duration"] >= 1.0 for s in segs)
    if "uv" not in kinds and len(trains) == 1 and n_pulses >= 3:
        name = f"pulses_{n_pulses}"
    elif "uv" not in kinds and n_pulses == 2:
        name = f"ppf_{_fmt_time(gaps[0])}" if gaps else "measured"
    elif len(trains) == 2 and trains[0]["count"] >= 3 and trains[1]["count"] == 1:
        if core == ["pulses", "rest", "pulses"] and long_rest:
            name = "decay"
        elif core in (["pulses", "uv", "pulses"], ["pulses", "rest", "uv", "pulses"],
                      ["pulses", "uv", "rest", "pulses"], ["pulses", "rest", "uv", "rest",
                                                           "pulses"]):
            name = "full" if core[1] == "rest" and segs[1]["duration"] >= 1.0 else "uv_reset"
    return {"name": name, "segments": segs,
            "pulse_amplitudes": sorted({round(p[2], 3) for p in pulses}),
            "gaps": gaps, "uv_intensities": sorted({round(u[2], 6) for u in uvs})}


# ------------------------------------------------------------------------------ parameters
def constrained_parameters(protocol: Mapping[str, Any], has_light: bool,
                           table_reads: Sequence[float] = ()) -> dict[str, str]:
    """Compact-model parameters the detected protocol constrains, each with why.

    The rules follow the model's equations (:mod:`compact_model.reference`): one pulse
    amplitude fixes the current and light scales at that voltage but not the power-law
    exponents (those need two voltages, a sweep or several amplitudes); a train of three or
    more pulses shows the capture (rates, populations, the conductance gain, the supply
    limit); a second interval between pulses (paired pulses, a rest and a probe) shows the
    fast emission; a dark rest of 1 s or more followed by a read shows the slow emission; UV
    followed by a read shows the erase rate and its Michaelis constant, a second UV intensity
    its saturation. Light adds the light scale and its gain parameters.
    """
    segs = protocol.get("segments", [])
    trains = [s for s in segs if s["kind"] == "pulses"]
    n = sum(s["count"] for s in trains)
    out: dict[str, str] = {}
    # forward voltages at which the current is measured (a table: its reads only)
    volts = ({round(v, 3) for v in table_reads} if table_reads
             else set(protocol.get("pulse_amplitudes", [])))
    sweep = any(s["kind"] == "sweep" for s in segs)
    if n or sweep or table_reads:
        out["i_ref"] = "current at a forward voltage"
        if has_light:
            out["phi_ref"] = "light at a forward voltage"
    if len(volts) >= 2 or sweep:
        out["alpha_i"] = "current at two or more forward voltages"
        if has_light:
            out["alpha_l"] = "light at two or more forward voltages"
    if max((s["count"] for s in trains), default=0) >= 3 or (table_reads and n >= 3):
        for k in ("g_max", "k_slow", "k_fast", "f_fast", "cap_sat"):
            out[k] = "growth of the reads over a train of 3 or more pulses"
        if has_light:
            for k in ("gamma_l", "eta_max", "w_eta"):
                out[k] = "growth of the light over a train of 3 or more pulses"
    gaps = protocol.get("gaps", [])
    if len({round(g, 4) for g in gaps}) >= 2 or any(s["kind"] == "rest" for s in segs[1:-1]):
        out["tau_fast"] = "reads after two or more different intervals"
    for k, s in enumerate(segs[:-1]):
        after = segs[k + 1:]
        read_after = any(x["kind"] == "pulses" for x in after)
        if s["kind"] == "rest" and s["duration"] >= 1.0 and read_after \
                and not any(x["kind"] == "uv" for x in segs[:k]):
            out["tau_slow"] = "a read after a dark rest of 1 s or more"
        if s["kind"] == "uv" and read_after:
            out["uv_rate"] = "a read after a UV exposure"
            out["uv_k"] = "a read after a UV exposure"
    if len(protocol.get("uv_intensities", [])) >= 2 and "uv_rate" in out:
        out["uv_i_sat"] = "reads after UV of two or more intensities"
    return out


def resolve_parameters(constrained: Sequence[str], meta: Meta, where: str
                       ) -> tuple[NLEMParams, dict[str, str]]:
    """Start parameters and the source of every parameter.

    Constrained parameters start at their declared value, else the preset's, else the
    model's default, and are fitted. Every other one is the declared value, else the
    preset's.

    Raises:
        UndeclaredParametersError: naming every parameter that is neither constrained,
            declared nor covered by a preset, with its unit.
    """
    from compact_model.presets import PRESETS

    names = [f.name for f in fields(NLEMParams)]
    missing = [k for k in names if k not in constrained and k not in meta.parameters]
    if missing and meta.preset is None:
        raise UndeclaredParametersError(
            f"{where}: the measurement does not constrain {len(missing)} compact-model "
            f"parameter(s): " + ", ".join(f"{k} [{UNITS[k]}]" for k in missing)
            + f"; declare each in the metadata file ({meta.path or 'none given'}) as "
            "'parameters: {name: {value, unit, source}}', or name a preset ('preset: paper') "
            "that then gives them")
    base = PRESETS[meta.preset][0] if meta.preset else NLEMParams()
    values = base.to_dict()
    sources: dict[str, str] = {}
    for k in names:
        if k in meta.parameters:
            values[k] = meta.parameters[k]
        if k in constrained:
            sources[k] = "fitted to the measurement"
        elif k in meta.parameters:
            sources[k] = f"declared in {meta.path.name}: {meta.sources[k]}"
        else:
            sources[k] = f"preset {meta.preset}"
    try:
        return NLEMParams(**values), sources
    except ValueError as err:
        raise MetadataError(f"{where}: {err}") from None


# ------------------------------------------------------------------------------ fit
def measured_traces(measurements: Sequence[Measurement], params: NLEMParams,
                    protocols: Sequence[Mapping[str, Any]]) -> list:
    """:class:`~compact_model.fit.DeviceTrace` objects of the measurements in device units
    (named by their detected protocols; a repeated name gets the file's stem)."""
    from compact_model.fit import DeviceTrace

    out, seen = [], set()
    for m, proto in zip(measurements, protocols, strict=True):
        i, lum = m.device_units(params.area, params.wavelength)
        name = proto["name"]
        if name in seen:
            name = f"{name}_{m.path.stem}"
        seen.add(name)
        out.append(DeviceTrace(name, m.t, m.V, m.uv, i, lum, measured=m.measured))
    return out


def fit_measured(paths: Sequence[str | Path], meta_path: str | Path | None = None,
                 out: str | Path | None = None, report: str | Path | None = None,
                 max_nfev: int = 200, variability: Any = None, config: Any = None
                 ) -> dict[str, Any]:
    """Fit the compact model to measured files and write ``nlem.json`` (and the fit report).

    Args:
        paths: Measurement files (one device; fitted at once).
        meta_path: Metadata YAML; default ``<stem>.meta.yaml`` beside the first file when it
            exists.
        out: Output ``nlem.json`` (None: not written).
        report: Output fit-report PNG (None: not drawn).
        max_nfev: Function-evaluation cap of the least-squares fit.
        variability: Noise spreads stored with the model (default: the model's default).
        config: Config section stamped into the provenance.

    Returns:
        The ``nlem.json`` document.

    Raises:
        MeasurementError (and its named subclasses) before any fitting.
    """
    from compact_model.fit import PHYSICS_FREE, agreement, compare_traces, fit_physics, nlem_json
    from compact_model.model import NLEM

    if not paths:
        raise MeasurementError("no measurement files given")
    paths = [Path(p) for p in paths]
    if meta_path is None and meta_path_for(paths[0]).is_file():
        meta_path = meta_path_for(paths[0])
    meta = read_meta(meta_path)
    meas = [read_measurement(p, meta.protocol) for p in paths]
    protos = [detect_protocol(m.t, m.V, m.uv, m.measured) for m in meas]
    constrained: dict[str, str] = {}
    for m, pr in zip(meas, protos, strict=True):
        reads = [meta.protocol["read_voltage"]] if m.kind == "table" else []
        for k, why in constrained_parameters(pr, m.has_light, reads).items():
            constrained.setdefault(k, why)
        log.info("%s: %s (%s), %d samples", m.path, pr["name"], m.kind, len(m.t))
    where = ", ".join(str(p) for p in paths)
    base, sources = resolve_parameters(list(constrained), meta, where)
    traces = measured_traces(meas, base, protos)
    free = {k: PHYSICS_FREE[k] for k in constrained if k in PHYSICS_FREE}
    params, rep = fit_physics(traces, base=base, free=free, max_nfev=max_nfev)
    model = NLEM(params, name="measured", source="fit_measured of " + where,
                 variability=variability)
    comparison = compare_traces(params, traces)
    sigma = rep.get("ln_sigma", {})
    doc = nlem_json(model, rep["protocols"],
                    {"rms_ln_residual": rep["rms_ln_residual"], "cost": rep["cost"],
                     "nfev": rep["nfev"], "status": rep["status"],
                     "at_bounds": rep["at_bounds"], "start": rep["start"],
                     "uv_not_fitted": rep["uv_not_fitted"],
                     "metric_polish": rep["metric_polish"]},
                    physics=comparison)
    doc["physics_agreement"] = agreement(comparison, uv_not_fitted=rep["uv_not_fitted"])
    doc["fitted_to"] = "measurement"
    doc["parameter_sources"] = sources
    doc["measured"] = {
        "files": [str(p) for p in paths], "metadata": str(meta.path) if meta.path else None,
        "preset_for_undeclared": meta.preset,
        "protocols": {tr.name: pr for tr, pr in zip(traces, protos, strict=True)},
        "constrained": {k: {"why": why, "fitted": k in sigma, "ln_sigma": sigma.get(k)}
                        for k, why in constrained.items()},
        "constrained_note": "fitted: False where the kept fit start held the parameter (the "
                            "preset start fixes cap_sat = 0); ln_sigma: 1-sigma uncertainty in "
                            "ln units from the fit's Jacobian (large: weakly constrained)",
        "not_constrained": {k: s for k, s in sources.items() if k not in constrained},
    }
    if out is not None:
        from lemsim.io import write_json

        write_json(out, doc, config)
        if report is not None:
            from compact_model.figures import fit_report

            fit_report(out, report, traces=traces)
    return doc


# ------------------------------------------------------------------------------ CLI
def add_fit_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The arguments of ``fit --measured`` (one place, for ``python -m compact_model fit``
    and any other front end)."""
    parser.add_argument("--measured", nargs="+", required=True, metavar="FILE",
                        help="measurement CSV file(s) of one device")
    parser.add_argument("--meta", default=None, metavar="META.yaml",
                        help="metadata file (default: <stem>.meta.yaml beside the first file)")
    parser.add_argument("-o", "--output", default="nlem.json", help="output nlem.json")
    parser.add_argument("--report", default=None, metavar="PNG",
                        help="also draw the fit report")
    parser.add_argument("--max-nfev", type=int, default=200,
                        help="function-evaluation cap of the fit (default 200)")
    return parser


def run_fit_cli(args: argparse.Namespace) -> dict[str, Any]:
    """Run :func:`fit_measured` from parsed :func:`add_fit_arguments` arguments and print a
    summary (constrained parameters with their uncertainty, residuals, sources)."""
    doc = fit_measured(args.measured, args.meta, args.output, args.report,
                       max_nfev=args.max_nfev)
    print(f"wrote {args.output}")
    for k, c in doc["measured"]["constrained"].items():
        s = c["ln_sigma"]
        val = doc["parameters"][k]
        how = ("held at its start by the kept fit" if not c["fitted"] else
               f"1-sigma x{math.exp(s):.3g}" if s < 5 else "weakly constrained")
        print(f"  fitted {k:10s} = {val['value']:.5g} {val['unit']}  ({how})")
    srcs: dict[str, list[str]] = {}
    for k, s in doc["measured"]["not_constrained"].items():
        srcs.setdefault(s, []).append(k)
    for s, ks in srcs.items():
        print(f"  from {s}: {', '.join(ks)}")
    for name, r in doc["residuals"]["rms_ln_residual"].items():
        print(f"  {name}: rms ln residual {r:.3g}")
    return doc


__all__ = ["read_measurement", "read_meta", "detect_protocol", "constrained_parameters",
           "resolve_parameters", "fit_measured", "add_fit_arguments", "run_fit_cli",
           "MeasurementError", "MeasurementFileError", "MissingColumnError", "UnknownUnitError",
           "NonMonotoneTimeError", "NonFiniteError", "MetadataError",
           "UndeclaredParametersError", "Measurement", "Meta", "meta_path_for"]
