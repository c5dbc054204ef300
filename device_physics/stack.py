"""Device stacks: layers, trap species and contacts loaded from YAML and validated.

A stack file (``config/stacks/*.yaml``) lists layers bottom (anode side, x = 0) to top
(cathode side). Each layer names a material of :data:`device_physics.materials.MATERIALS`
and may override any of its parameters; every value in the file is a mapping
``{value: ..., unit: ..., source: ...}`` in practical units (nm, eV, cm^2/(V s), cm^-3, cm^-1,
cm^3/s), ``source`` being a literature reference or ``calibrated``. :func:`load_stack`
converts everything to SI once (energies stay in eV = V) and checks every value against its
allowed range before any solver runs; all problems are reported in one :class:`StackError`
naming the layer, key, value and allowed range.

Example layer::

    - name: pvp
      material: PVP
      thickness: {value: 20, unit: nm, source: calibrated}
      mu_p: {value: 1e-6, unit: cm2/(V*s), source: calibrated}
      traps:
        - name: pvp_hole_traps
          carrier: hole                # hole | electron
          location: lower_interface    # bulk | lower_interface | upper_interface
          density: {value: 1e12, unit: cm-2, source: calibrated}  # cm-3 for bulk
          width: {value: 2, unit: nm, source: calibrated}          # interface slab only
          depth: {kind: gaussian, mean: 0.65, sigma: 0.05, levels: 5, unit: eV,
                  source: calibrated}  # or {value: 0.6, unit: eV, source: ...}
          capture: {value: 1e-10, unit: cm3/s, source: calibrated}
          recombination: {value: 1e-10, unit: cm3/s, source: calibrated}
          photoemission: {value: 1e-17, unit: cm2, source: calibrated}  # optional, default 0

Optional top-level ``shunt_conductance`` (A/(m^2 V); also ``S/m2``, ``S/cm2``, ``mS/cm2``;
default 0 when absent, must be >= 0): a parallel leakage path of the device (e.g. through
pinholes of the PVP or along the edge of the PVK:IDTBT film) that carries current but emits no
light and does not depend on the trapped charge. It adds ``G_sh * V`` to the terminal current
only (both solvers: ``J``, the contact currents and the conduction part; the displacement part
and the drift-diffusion equations, hence the light, are unchanged)::

    shunt_conductance: {value: 20, unit: A/(m2*V), source: calibrated}
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from device_physics.materials import BOOL_PARAMS, MATERIALS, PARAMS, WORK_FUNCTIONS, Quantity
from device_physics.units import UnitError, to_si
from lemsim.configtools import load_yaml


class StackError(ValueError):
    """Invalid stack definition; the message lists every problem found."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = list(problems)
        super().__init__(
            f"invalid stack {source}:\n" + "\n".join(f"  - {p}" for p in self.problems)
        )


@dataclass(frozen=True)
class TrapSpecies:
    """Immobile traps of one carrier type in one layer (a set of discrete depth levels)."""

    name: str
    carrier: str
    """``hole`` (positive when filled) or ``electron`` (negative when filled)."""
    location: str
    """``bulk``, ``lower_interface`` (x at the layer's bottom) or ``upper_interface``."""
    density: float
    """Total density: m^-3 for bulk, m^-2 (sheet) for interface traps."""
    width: float
    """Thickness of the slab holding interface traps, m (0 for bulk)."""
    depths: tuple[float, ...]
    """Trap depths below the band edge of their carrier (hole: above Ev; electron: below Ec), eV."""
    weights: tuple[float, ...]
    """Fraction of ``density`` at each depth (sums to 1)."""
    capture: float
    """Capture coefficient of its own carrier, m^3/s."""
    recombination: float
    """Coefficient for a trapped carrier recombining with a free opposite carrier, m^3/s."""
    photoemission: float = 0.0
    """Optical (photo-ionisation) cross-section of a trapped carrier at the UV wavelength, m^2:
    under a local photon flux Phi (photons/(s m^2)) a trapped carrier is emitted into its band
    at the rate ``photoemission * Phi`` (the erase path of UV-erasable charge-trap memories)."""
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def volume_density(self) -> float:
        """Density in the region holding the traps, m^-3."""
        return self.density if self.location == "bulk" else self.density / self.width

    def emission_rates(self, layer: Layer, vt: float) -> np.ndarray:
        """Thermal emission rate per level, 1/s (detailed balance, Boltzmann statistics)."""
        nb = layer.Nv if self.carrier == "hole" else layer.Nc
        return self.capture * nb * np.exp(-np.asarray(self.depths) / vt)


@dataclass(frozen=True)
class Layer:
    """One layer of the stack, all values in SI (energies in eV)."""

    name: str
    material: str
    thickness: float
    """m"""
    eps_r: float
    chi: float
    """electron affinity, eV"""
    Eg: float
    """gap, eV"""
    Nc: float
    Nv: float
    mu_n: float
    mu_p: float
    N_D: float
    N_A: float
    N_fix: float
    alpha_uv: tuple[tuple[float, float], ...]
    """(wavelength m, absorption coefficient 1/m) pairs, sorted by wavelength."""
    B_rad: float
    eta_out: float
    tau_n: float
    tau_p: float
    langevin: bool
    traps: tuple[TrapSpecies, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)

    def absorption(self, wavelength: float) -> float:
        """UV absorption coefficient at ``wavelength`` (m), 1/m.

        Interpolated (log-linear) inside the tabulated range; a single tabulated point is used
        within +-10 nm of its wavelength. Outside: ValueError.
        """
        wl = np.array([w for w, _ in self.alpha_uv])
        al = np.array([a for _, a in self.alpha_uv])
        if len(wl) == 1:
            if abs(wavelength - wl[0]) > 10e-9:
                raise ValueError(
                    f"layer {self.name!r}: alpha_uv given only at {wl[0] * 1e9:g} nm, "
                    f"asked at {wavelength * 1e9:g} nm (allowed within 10 nm)"
                )
            return float(al[0])
        if not wl[0] <= wavelength <= wl[-1]:
            raise ValueError(
                f"layer {self.name!r}: wavelength {wavelength * 1e9:g} nm outside the "
                f"tabulated alpha_uv range [{wl[0] * 1e9:g}, {wl[-1] * 1e9:g}] nm"
            )
        if np.all(al > 0):
            return float(np.exp(np.interp(wavelength, wl, np.log(al))))
        return float(np.interp(wavelength, wl, al))

    def ni(self, vt: float) -> float:
        """Intrinsic density sqrt(Nc Nv) exp(-Eg / 2 Vt), m^-3."""
        return math.sqrt(self.Nc * self.Nv) * math.exp(-self.Eg / (2 * vt))


@dataclass(frozen=True)
class Contact:
    """An electrode: ``ohmic`` (charge-neutral, equilibrium densities of the adjacent layer)
    or ``fermi_pinned`` (Fermi level at the work function: injection barriers from it)."""

    name: str
    material: str
    kind: str
    work_function: float
    """eV (used by ``fermi_pinned``)"""
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stack:
    """Layers bottom (anode, x = 0) to top (cathode), contacts and temperature."""

    name: str
    layers: tuple[Layer, ...]
    anode: Contact
    cathode: Contact
    temperature: float
    """K"""
    uv_side: str
    """``anode`` (light enters through ITO/glass) or ``cathode``."""
    sources: dict[str, str] = field(default_factory=dict)
    shunt_conductance: float = 0.0
    """A/(m^2 V), >= 0: charge-independent, non-emitting parallel leakage path; the terminal
    current is ``J_dd + shunt_conductance * V`` (module docstring). 0: no shunt."""

    @property
    def thickness(self) -> float:
        """Total thickness, m."""
        return float(sum(la.thickness for la in self.layers))

    @property
    def interfaces(self) -> np.ndarray:
        """Positions of the layer boundaries including both contacts, m (len = layers + 1)."""
        return np.concatenate([[0.0], np.cumsum([la.thickness for la in self.layers])])

    def layer_index(self, name: str) -> int:
        """Index of the layer called ``name``."""
        for i, la in enumerate(self.layers):
            if la.name == name:
                return i
        raise KeyError(f"stack {self.name!r} has no layer {name!r}; layers: "
                       f"{[la.name for la in self.layers]}")

    def to_dict(self) -> dict[str, Any]:
        """Plain-data view (SI) for the ``stack`` attribute of output files."""
        return asdict(self)

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict` (inf written as a string)."""
        def fix(o: Any) -> Any:
            if isinstance(o, float) and not math.isfinite(o):
                return str(o)
            if isinstance(o, dict):
                return {k: fix(v) for k, v in o.items()}
            if isinstance(o, list | tuple):
                return [fix(v) for v in o]
            return o
        return json.dumps(fix(self.to_dict()))


# ------------------------------------------------------------------------- loading

_LAYER_KEYS = {"name", "material", "thickness", "traps"} | set(PARAMS) | set(BOOL_PARAMS)
_TRAP_KEYS = {"name", "carrier", "location", "density", "width", "depth", "capture",
              "recombination", "photoemission"}
_CONTACT_KEYS = {"material", "kind", "work_function"}
_TOP_KEYS = {"name", "description", "layers", "contacts", "temperature", "uv_side",
             "shunt_conductance"}
_CONDUCTANCE_UNITS = {"A/(m2*V)": 1.0, "S/m2": 1.0, "A/(cm2*V)": 1e4, "S/cm2": 1e4,
                      "mS/cm2": 10.0}
"""Units of ``shunt_conductance`` (area-specific conductance) -> A/(m^2 V)."""
SHUNT_CONDUCTANCE_MAX = 1e6
"""Largest ``shunt_conductance``, A/(m^2 V) (100 S/cm^2: far above any leakage path)."""


def _fmt_range(lo: float, hi: float, lo_open: bool) -> str:
    return f"{'(' if lo_open else '['}{lo:g}, {hi:g}]"


class _Reader:
    """Collects problems while converting quantities."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[str] = []

    def quantity(self, where: str, raw: Any, dimension: str, lo: float, hi: float,
                 lo_open: bool, need_source: bool = True) -> tuple[float, str] | None:
        if isinstance(raw, Quantity):
            raw = {"value": raw.value, "unit": raw.unit, "source": raw.source}
        if not isinstance(raw, dict) or "value" not in raw or "unit" not in raw:
            self.problems.append(
                f"{where} = {raw!r}: must be a mapping {{value, unit, source}}")
            return None
        extra = set(raw) - {"value", "unit", "source", "wavelength"}
        if extra:
            self.problems.append(f"{where}: unknown keys {sorted(extra)}")
        src = raw.get("source")
        if need_source and (not isinstance(src, str) or not src.strip()):
            self.problems.append(
                f"{where}: missing 'source' (a literature reference or 'calibrated')")
            src = ""
        try:
            value = raw["value"]
            if isinstance(value, str):
                value = float(value)
            v = to_si(value, str(raw["unit"]), dimension, where)
        except (UnitError, ValueError, TypeError) as exc:
            self.problems.append(str(exc))
            return None
        ok_lo = v > lo if lo_open else v >= lo
        if not (ok_lo and v <= hi) and not (math.isinf(v) and math.isinf(hi) and v > 0):
            self.problems.append(
                f"{where} = {raw['value']} {raw['unit']} (= {v:g} SI): must be in "
                f"{_fmt_range(lo, hi, lo_open)} (SI units)")
            return None
        return v, str(src)


def _read_depths(r: _Reader, where: str, raw: Any) -> tuple[tuple[float, ...],
                                                             tuple[float, ...], str] | None:
    if not isinstance(raw, dict):
        r.problems.append(f"{where} = {raw!r}: must be a mapping")
        return None
    kind = raw.get("kind", "single")
    src = raw.get("source")
    if not isinstance(src, str) or not src.strip():
        r.problems.append(f"{where}: missing 'source'")
        src = ""
    unit = raw.get("unit", "eV")
    try:
        if kind == "single":
            q = r.quantity(where, raw, "energy", 0.0, 5.0, True)
            return None if q is None else ((q[0],), (1.0,), q[1])
        if kind == "discrete":
            vals = [to_si(v, unit, "energy", where) for v in raw["values"]]
            w = np.asarray(raw.get("weights", [1.0] * len(vals)), dtype=float)
        elif kind in ("gaussian", "uniform"):
            n = int(raw.get("levels", 5))
            if not 1 <= n <= 50:
                r.problems.append(f"{where}.levels = {n}: must be in [1, 50]")
                return None
            if kind == "gaussian":
                mu = to_si(raw["mean"], unit, "energy", where)
                sg = to_si(raw["sigma"], unit, "energy", where)
                if sg <= 0:
                    r.problems.append(f"{where}.sigma = {raw['sigma']}: must be > 0")
                    return None
                z = np.linspace(-2.5, 2.5, n) if n > 1 else np.zeros(1)
                vals = list(mu + sg * z)
                w = np.exp(-0.5 * z**2)
            else:
                lo = to_si(raw["min"], unit, "energy", where)
                hi = to_si(raw["max"], unit, "energy", where)
                if hi < lo:
                    r.problems.append(f"{where}: max {raw['max']} < min {raw['min']}")
                    return None
                vals = list(np.linspace(lo, hi, n))
                w = np.ones(n)
        else:
            r.problems.append(
                f"{where}.kind = {kind!r}: must be one of single, discrete, gaussian, uniform")
            return None
    except KeyError as exc:
        r.problems.append(f"{where}: missing key {exc} for kind {kind!r}")
        return None
    except (UnitError, ValueError, TypeError) as exc:
        r.problems.append(f"{where}: {exc}")
        return None
    if len(w) != len(vals) or np.any(w < 0) or w.sum() <= 0:
        r.problems.append(f"{where}: weights must be non-negative, one per depth, not all 0")
        return None
    if any(not 0.0 < v <= 5.0 for v in vals):
        r.problems.append(f"{where}: depths {vals} eV must be in (0, 5] eV")
        return None
    return tuple(float(v) for v in vals), tuple(float(x) for x in w / w.sum()), src


def _read_trap(r: _Reader, where: str, raw: Any, layer_thickness: float) -> TrapSpecies | None:
    if not isinstance(raw, dict):
        r.problems.append(f"{where} = {raw!r}: must be a mapping")
        return None
    unknown = set(raw) - _TRAP_KEYS
    if unknown:
        r.problems.append(f"{where}: unknown keys {sorted(unknown)}; allowed {sorted(_TRAP_KEYS)}")
    carrier = raw.get("carrier")
    if carrier not in ("hole", "electron"):
        r.problems.append(f"{where}.carrier = {carrier!r}: must be 'hole' or 'electron'")
    loc = raw.get("location", "bulk")
    if loc not in ("bulk", "lower_interface", "upper_interface"):
        r.problems.append(
            f"{where}.location = {loc!r}: must be bulk, lower_interface or upper_interface")
    sources: dict[str, str] = {}
    dim = "density" if loc == "bulk" else "areal_density"
    dens = r.quantity(f"{where}.density", raw.get("density"), dim, 0.0, 1e30, False)
    width = 0.0
    if loc != "bulk":
        wq = r.quantity(f"{where}.width", raw.get("width"), "length", 0.0, layer_thickness, True)
        if wq is not None:
            width, sources["width"] = wq
    cap = r.quantity(f"{where}.capture", raw.get("capture"), "rate_coefficient", 0.0, 1e-6,
                     False)
    rec = r.quantity(f"{where}.recombination", raw.get("recombination"), "rate_coefficient",
                     0.0, 1e-6, False)
    dep = _read_depths(r, f"{where}.depth", raw.get("depth"))
    photo: tuple[float, str] | None = (0.0, "none")
    if "photoemission" in raw:
        photo = r.quantity(f"{where}.photoemission", raw.get("photoemission"), "cross_section",
                           0.0, 1e-18, False)
    if None in (dens, cap, rec, dep, photo) or carrier not in ("hole", "electron"):
        return None
    assert photo is not None
    sources.update(density=dens[1], capture=cap[1], recombination=rec[1], depth=dep[2],
                   photoemission=photo[1])
    return TrapSpecies(
        name=str(raw.get("name", f"{carrier}_traps")), carrier=carrier, location=loc,
        density=dens[0], width=width, depths=dep[0], weights=dep[1], capture=cap[0],
        recombination=rec[0], photoemission=photo[0], sources=sources)


def _read_alpha(r: _Reader, where: str, raw: Any) -> tuple[tuple[tuple[float, float], ...],
                                                           str] | None:
    items = raw if isinstance(raw, list) else [raw]
    out: list[tuple[float, float]] = []
    srcs = []
    spec = PARAMS["alpha_uv"]
    for k, it in enumerate(items):
        w = f"{where}[{k}]" if isinstance(raw, list) else where
        if isinstance(it, Quantity):
            it = {"value": it.value, "unit": it.unit, "source": it.source}
        q = r.quantity(w, it, spec.dimension, spec.lo, spec.hi, spec.lo_open)
        if q is None:
            return None
        wl_raw = it.get("wavelength", {"value": 365, "unit": "nm"})
        try:
            wl = to_si(wl_raw["value"], wl_raw["unit"], "length", f"{w}.wavelength")
        except (UnitError, KeyError, TypeError) as exc:
            r.problems.append(f"{w}.wavelength = {wl_raw!r}: {exc}")
            return None
        if not 100e-9 <= wl <= 2000e-9:
            r.problems.append(f"{w}.wavelength = {wl * 1e9:g} nm: must be in [100, 2000] nm")
            return None
        out.append((wl, q[0]))
        srcs.append(q[1])
    out.sort()
    return tuple(out), "; ".join(srcs)


def _read_layer(r: _Reader, k: int, raw: Any) -> Layer | None:
    if not isinstance(raw, dict):
        r.problems.append(f"layers[{k}] = {raw!r}: must be a mapping")
        return None
    name = str(raw.get("name", f"layer{k}"))
    where = f"layer {name!r} (index {k})"
    unknown = set(raw) - _LAYER_KEYS
    if unknown:
        r.problems.append(f"{where}: unknown keys {sorted(unknown)}; allowed "
                          f"{sorted(_LAYER_KEYS)}")
    mat = raw.get("material")
    if mat not in MATERIALS:
        r.problems.append(f"{where}.material = {mat!r}: unknown material; known: "
                          f"{sorted(MATERIALS)}")
        return None
    base = MATERIALS[mat]
    vals: dict[str, Any] = {}
    sources: dict[str, str] = {}
    th = r.quantity(f"{where}.thickness", raw.get("thickness"), "length", 0.0, 1e-2, True)
    if th is not None:
        vals["thickness"], sources["thickness"] = th
    for key, spec in PARAMS.items():
        src_raw = raw.get(key, base.get(key))
        if key == "alpha_uv":
            a = _read_alpha(r, f"{where}.alpha_uv", src_raw)
            if a is not None:
                vals["alpha_uv"], sources["alpha_uv"] = a
            continue
        q = r.quantity(f"{where}.{key}", src_raw, spec.dimension, spec.lo, spec.hi,
                       spec.lo_open)
        if q is not None:
            vals[key], sources[key] = q
    for key in BOOL_PARAMS:
        b = raw.get(key, base.get(key, False))
        if not isinstance(b, bool):
            r.problems.append(f"{where}.{key} = {b!r}: must be true or false")
        vals[key] = bool(b)
    traps = []
    trap_raw = raw.get("traps", []) or []
    if not isinstance(trap_raw, list):
        r.problems.append(f"{where}.traps: must be a list")
        trap_raw = []
    for j, t in enumerate(trap_raw):
        tr = _read_trap(r, f"{where}.traps[{j}]", t, vals.get("thickness", 1.0))
        if tr is not None:
            traps.append(tr)
    needed = {"thickness", "alpha_uv"} | set(PARAMS)
    if not needed <= set(vals):
        return None
    return Layer(name=name, material=mat, traps=tuple(traps), sources=sources, **vals)


def _read_contact(r: _Reader, which: str, raw: Any) -> Contact | None:
    where = f"contacts.{which}"
    if not isinstance(raw, dict):
        r.problems.append(f"{where} = {raw!r}: must be a mapping")
        return None
    unknown = set(raw) - _CONTACT_KEYS
    if unknown:
        r.problems.append(f"{where}: unknown keys {sorted(unknown)}; allowed "
                          f"{sorted(_CONTACT_KEYS)}")
    kind = raw.get("kind", "fermi_pinned")
    if kind not in ("ohmic", "fermi_pinned"):
        r.problems.append(f"{where}.kind = {kind!r}: must be 'ohmic' or 'fermi_pinned'")
    mat = str(raw.get("material", "metal"))
    wf_raw = raw.get("work_function", WORK_FUNCTIONS.get(mat))
    if wf_raw is None:
        r.problems.append(f"{where}: no work_function and material {mat!r} not in "
                          f"{sorted(WORK_FUNCTIONS)}")
        return None
    wf = r.quantity(f"{where}.work_function", wf_raw, "energy", 1.0, 8.0, False)
    if wf is None:
        return None
    return Contact(name=which, material=mat, kind=kind, work_function=wf[0],
                   sources={"work_function": wf[1]})


def _read_shunt(r: _Reader, raw: Any) -> tuple[float, str]:
    """``shunt_conductance`` in A/(m^2 V) (0 when absent); problems go to ``r``."""
    where = "shunt_conductance"
    if raw is None:
        return 0.0, "absent: no shunt"
    if not isinstance(raw, dict) or "value" not in raw or "unit" not in raw:
        r.problems.append(f"{where} = {raw!r}: must be a mapping {{value, unit, source}}")
        return 0.0, ""
    extra = set(raw) - {"value", "unit", "source"}
    if extra:
        r.problems.append(f"{where}: unknown keys {sorted(extra)}")
    src = raw.get("source")
    if not isinstance(src, str) or not src.strip():
        r.problems.append(f"{where}: missing 'source' (a literature reference or 'calibrated')")
        src = ""
    unit = str(raw["unit"])
    if unit not in _CONDUCTANCE_UNITS:
        r.problems.append(f"{where}: unit {unit!r} is not a conductance-per-area unit; allowed: "
                          f"{sorted(_CONDUCTANCE_UNITS)}")
        return 0.0, str(src)
    try:
        v = float(raw["value"]) * _CONDUCTANCE_UNITS[unit]
    except (TypeError, ValueError):
        r.problems.append(f"{where} = {raw['value']!r}: not a number")
        return 0.0, str(src)
    if not (math.isfinite(v) and 0.0 <= v <= SHUNT_CONDUCTANCE_MAX):
        r.problems.append(f"{where} = {raw['value']} {unit} (= {v:g} A/(m2*V)): must be in "
                          f"[0, {SHUNT_CONDUCTANCE_MAX:g}] A/(m2*V)")
        return 0.0, str(src)
    return v, str(src)


def stack_from_dict(data: Any, source: str = "<dict>") -> Stack:
    """Build and validate a :class:`Stack` from parsed YAML data.

    Raises:
        StackError: listing every invalid key, value and allowed range.
    """
    r = _Reader(source)
    if not isinstance(data, dict):
        raise StackError(source, [f"top level must be a mapping, got {type(data).__name__}"])
    unknown = set(data) - _TOP_KEYS
    if unknown:
        r.problems.append(f"unknown top-level keys {sorted(unknown)}; allowed {sorted(_TOP_KEYS)}")
    layers_raw = data.get("layers")
    if not isinstance(layers_raw, list) or not layers_raw:
        raise StackError(source, r.problems + ["layers: must be a non-empty list"])
    layers = [_read_layer(r, k, la) for k, la in enumerate(layers_raw)]
    names = [la.name for la in layers if la is not None]
    if len(set(names)) != len(names):
        r.problems.append(f"layer names must be unique, got {names}")
    contacts = data.get("contacts", {})
    if not isinstance(contacts, dict) or set(contacts) != {"anode", "cathode"}:
        r.problems.append(f"contacts: must have exactly 'anode' and 'cathode', got {contacts!r}")
        anode = cathode = None
    else:
        anode = _read_contact(r, "anode", contacts["anode"])
        cathode = _read_contact(r, "cathode", contacts["cathode"])
    temp = r.quantity("temperature", data.get(
        "temperature", {"value": 300, "unit": "K", "source": "room temperature"}),
        "temperature", 1.0, 1000.0, False)
    uv_side = data.get("uv_side", "anode")
    if uv_side not in ("anode", "cathode"):
        r.problems.append(f"uv_side = {uv_side!r}: must be 'anode' or 'cathode'")
    shunt, shunt_src = _read_shunt(r, data.get("shunt_conductance"))
    if r.problems or None in layers or anode is None or cathode is None or temp is None:
        raise StackError(source, r.problems or ["incomplete stack"])
    return Stack(name=str(data.get("name", Path(source).stem)), layers=tuple(layers),
                 anode=anode, cathode=cathode, temperature=temp[0], uv_side=uv_side,
                 sources={"temperature": temp[1], "shunt_conductance": shunt_src},
                 shunt_conductance=shunt)


def load_stack(path: str | Path) -> Stack:
    """Load, convert to SI and validate a stack YAML file.

    Raises:
        FileNotFoundError: no such file.
        StackError: invalid content (every problem listed, with layer, key, value, range).
    """
    p = Path(path)
    data = load_yaml(p)
    return stack_from_dict(data, str(p))
