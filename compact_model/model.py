"""The compact N-LEM model object :class:`NLEM`: the public face of the device.

Physics in one paragraph (equations in :mod:`compact_model.reference`): hole traps in the
cross-linked PVP (a deep, slow population and a shallow, fast one at the IDTBT/PVP interface)
fill during forward pulses (field-enhanced capture with a soft bound; first-order, or limited
by the carrier supply with ``cap_sat > 0``, as the drift-diffusion stack fills its
electron traps at a constant rate until full), empty by thermal
emission at rest, and are emptied quickly under UV by photogenerated electrons (a saturating
erase). Trapped holes raise the conductance (linear in the occupancy ``w``) and improve the
charge balance in the QDs, so the electroluminescence gains more than the current.

State arguments ``w`` are either arrays of the total occupancy in [0, 1] (the fast population
is then taken as relaxed: the whole occupancy is slow charge, up to its cap ``1 - f_fast``, the
rest fast) or :class:`~compact_model.state.State` objects holding both populations; every
update returns the same kind it was given. Protocol simulations use ``State``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from compact_model import kernels
from compact_model.params import HC, MW_CM2, UNITS, NLEMParams, pack
from compact_model.state import State, check_range
from compact_model.variability import (
    DeviceSpread,
    Variability,
    as_rng,
    read_noise,
    sample_devices,
)

MODEL_NAME = "nlem-2pop"
#: Longest sub-step [s] of a UV segment (operator splitting of erase and thermal emission
#: converges as O(h); 10 ms keeps the splitting error of the UV reset time below 0.5 %).
UV_SUBSTEP = 0.01
#: 1.1: supply-limited capture (``cap_sat``; 0, the 1.0 model, by default).
MODEL_VERSION = "1.1"


@dataclass
class LevelTable:
    """Programmable levels of one sign of a differential pair (sorted, first = pristine).

    Attributes:
        w: Total occupancy of each level [1], shape (n,).
        pulses: Pulses from the erased state that reach the level, shape (n,), int.
        g: Read conductance I(v_read, w)/v_read [S], shape (n,).
        light: EL photon flux at v_read [photons/s], shape (n,).
        v_read: Read voltage [V].
    """

    w: np.ndarray
    pulses: np.ndarray
    g: np.ndarray
    light: np.ndarray
    v_read: float


class NLEM:
    """Compact model of one N-LEM type (vectorised over arrays of devices).

    Args:
        params: Model parameters.
        name: Preset or fit name (for reports).
        source: Where the parameters come from (citation or file).
        variability: Noise spreads used by :meth:`program` and the noisy helpers.
    """

    def __init__(self, params: NLEMParams, name: str = "custom", source: str = "",
                 variability: Variability | None = None):
        self.params = params
        self.name = name
        self.source = source
        self.variability = variability or Variability()
        self._pk = pack(params)

    # ------------------------------------------------------------------ outputs
    def _check_v(self, v: np.ndarray) -> None:
        check_range("v [V]", v, self.params.v_min, self.params.v_max, slack=0.0)

    def _outputs(self, v, w, gs=None):
        v = np.asarray(v, dtype=np.float64)
        w = w.w if isinstance(w, State) else np.asarray(w, dtype=np.float64)
        self._check_v(v)
        check_range("w", w, 0.0, 1.0)
        w = np.clip(w, 0.0, 1.0)
        arrays = [v, w] + ([np.asarray(gs, dtype=np.float64)] if gs is not None else [])
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
        n = int(np.prod(shape))
        flat = [np.ascontiguousarray(a).ravel() if a.shape == shape else
                np.ascontiguousarray(np.broadcast_to(a, shape)).ravel() if a.size > 1 else
                np.ascontiguousarray(a, dtype=np.float64).reshape(1) for a in arrays]
        g = flat[2] if gs is not None else np.ones(1)
        i, lum = kernels.iv(flat[0], flat[1], self._pk, g, n)
        return i.reshape(shape), lum.reshape(shape)

    def current(self, v, w, gs=None) -> np.ndarray:
        """Current [A] at voltage ``v`` [V] (any real in [v_min, v_max]) and state ``w``.

        Args:
            v: Voltage(s) [V]; values outside ``[v_min, v_max]`` raise ``ValueError``.
            w: Occupancy in [0, 1] (array or :class:`State`), broadcasting with ``v``.
            gs: Optional per-device current scale (device-to-device spread).
        """
        return self._outputs(v, w, gs)[0]

    def light(self, v, w, gs=None) -> np.ndarray:
        """EL photon flux [photons/s]; exactly 0 below ``v_on_light``."""
        return self._outputs(v, w, gs)[1]

    def optical_power(self, v, w, gs=None) -> np.ndarray:
        """Emitted optical power [W] (photon flux times h c / wavelength)."""
        return self.light(v, w, gs) * (HC / self.params.wavelength)

    def conductance(self, w, v_read: float = 4.0) -> np.ndarray:
        """Read conductance I(v_read, w)/v_read [S]."""
        if v_read == 0:
            raise ValueError("v_read = 0: must be non-zero")
        return self.current(v_read, w) / v_read

    # ------------------------------------------------------------------ state updates
    def as_state(self, w) -> State:
        """:class:`State` from an occupancy array (fast population relaxed) or a State."""
        if isinstance(w, State):
            check_range("State.ws", w.ws, 0.0, 1.0 - self.params.f_fast)
            check_range("State.wf", w.wf, 0.0, self.params.f_fast)
            return State(np.asarray(w.ws, dtype=np.float64), np.asarray(w.wf, dtype=np.float64))
        w = np.asarray(w, dtype=np.float64)
        check_range("w", w, 0.0, 1.0)
        w = np.clip(w, 0.0, 1.0)
        cs = 1.0 - self.params.f_fast
        ws = np.minimum(w, cs)
        return State(ws, w - ws)

    def _advance(self, w, segments, ks=None, rng=None, c2c: float | None = None):
        """Apply ``segments`` = [(V [V], uv [W/m²], dt [s]), ...] to ``w``."""
        is_state = isinstance(w, State)
        st = self.as_state(w)
        shape = st.ws.shape
        ws = np.ascontiguousarray(st.ws).ravel().copy()
        wf = np.ascontiguousarray(st.wf).ravel().copy()
        n = ws.size
        ksa = np.ones(1) if ks is None else np.ascontiguousarray(
            np.broadcast_to(np.asarray(ks, dtype=np.float64), shape)).ravel()
        c2c = self.variability.c2c if (c2c is None and rng is not None) else (c2c or 0.0)
        gen = as_rng(rng) if rng is not None else None
        zero = np.zeros(1)
        for v, uv, dt in segments:
            xi = gen.standard_normal(n) if (gen is not None and c2c > 0) else zero
            m = max(1, int(np.ceil(dt / UV_SUBSTEP - 1e-9))) if uv > 0 else 1
            for _ in range(m):
                ws, wf = kernels.step(ws, wf, np.array([float(v)]), np.array([float(uv)]),
                                      dt / m, self._pk, ksa, xi, c2c)
        out = State(ws.reshape(shape), wf.reshape(shape))
        return out if is_state else out.w

    def _check_pulse(self, n, amplitude, width, interval):
        if int(n) != n or n < 0:
            raise ValueError(f"n = {n!r}: must be a non-negative integer")
        self._check_v(np.asarray(amplitude))
        if not (np.isfinite(width) and width > 0):
            raise ValueError(f"width = {width!r} s: must be > 0")
        if not (np.isfinite(interval) and interval >= 0):
            raise ValueError(f"interval = {interval!r} s: must be >= 0")

    def pulse(self, w, n: int = 1, amplitude: float = 5.0, width: float = 30e-3,
              interval: float = 30e-3, rng=None, ks=None):
        """``n`` voltage pulses [V, s]; ``interval`` [s] of rest between them (not after the last).

        Args:
            w: State (array of occupancy or :class:`State`).
            rng: Generator or seed for cycle-to-cycle noise (None: noiseless).
            ks: Per-device capture multiplier (device-to-device spread).
        """
        self._check_pulse(n, amplitude, width, interval)
        segs = []
        for k in range(int(n)):
            segs.append((amplitude, 0.0, width))
            if k < n - 1 and interval > 0:
                segs.append((0.0, 0.0, interval))
        return self._advance(w, segs, ks=ks, rng=rng)

    def rest(self, w, seconds: float):
        """Dark rest at 0 V for ``seconds`` [s] (thermal emission of both populations)."""
        if not (np.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds = {seconds!r}: must be >= 0")
        return self._advance(w, [(0.0, 0.0, seconds)])

    def uv(self, w, intensity_mw_cm2: float, seconds: float):
        """UV exposure at ``intensity_mw_cm2`` [mW/cm²] for ``seconds`` [s], 0 V."""
        if not (np.isfinite(intensity_mw_cm2) and intensity_mw_cm2 >= 0):
            raise ValueError(f"intensity_mw_cm2 = {intensity_mw_cm2!r}: must be >= 0")
        if not (np.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds = {seconds!r}: must be >= 0")
        return self._advance(w, [(0.0, intensity_mw_cm2 * MW_CM2, seconds)])

    # ------------------------------------------------------------------ levels, programming
    def train_states(self, n_max: int, amplitude: float = 5.0, width: float = 30e-3,
                     interval: float = 30e-3) -> np.ndarray:
        """Total occupancy right after 0..n_max pulses from the erased state, shape (n_max+1,)."""
        self._check_pulse(n_max, amplitude, width, interval)
        st = State(np.zeros(1), np.zeros(1))
        out = [0.0]
        for k in range(n_max):
            if k > 0 and interval > 0:
                st = self._advance(st, [(0.0, 0.0, interval)])
            st = self._advance(st, [(amplitude, 0.0, width)])
            out.append(float(st.w[0]))
        return np.array(out)

    def levels(self, n_per_sign: int = 15, v_read: float = 4.0, n_max: int = 50,
               amplitude: float = 5.0, width: float = 30e-3, interval: float = 30e-3
               ) -> LevelTable:
        """``n_per_sign`` levels equally spaced in conductance between the erased state and the
        state after ``n_max`` pulses; each level is the first pulse count reaching its target.

        Raises:
            ValueError: if ``n_max`` pulses cannot give ``n_per_sign`` distinct levels.
        """
        if int(n_per_sign) != n_per_sign or n_per_sign < 2:
            raise ValueError(f"n_per_sign = {n_per_sign!r}: must be an integer >= 2")
        ws = self.train_states(n_max, amplitude, width, interval)
        g = self.conductance(ws, v_read)
        targets = np.linspace(g[0], g[-1], n_per_sign)
        idx = np.searchsorted(g, targets - 1e-12 * abs(g[-1]), side="left")
        idx = np.minimum(idx, n_max)
        if len(np.unique(idx)) < n_per_sign:
            raise ValueError(f"n_max = {n_max} pulses of {amplitude} V, {width} s give fewer "
                             f"than n_per_sign = {n_per_sign} distinct levels; raise n_max")
        w = ws[idx]
        return LevelTable(w=w, pulses=idx.astype(np.int64), g=g[idx],
                          light=self.light(v_read, w), v_read=float(v_read))

    def sample_devices(self, shape, rng) -> DeviceSpread:
        """Per-device multipliers from this model's ``variability`` (seeded)."""
        return sample_devices(shape, self.variability, rng)

    def program(self, target_w, rng, write_verify: bool = True, tol: float = 0.005,
                max_pulses: int = 200, amplitude: float = 5.0, width: float = 30e-3,
                interval: float = 30e-3, v_read: float = 4.0, uv_step_s: float = 0.05,
                uv_mw_cm2: float = 70.0, spread: DeviceSpread | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Program erased devices towards ``target_w`` (array of occupancies).

        Devices start UV-erased (w = 0) with device-to-device spread (drawn from ``rng``
        unless ``spread`` is given: capture multiplier ``ks`` and current scale ``gs``) and
        cycle-to-cycle noise on every pulse. With ``write_verify`` each pulse is followed by a
        noisy read of the current at ``v_read`` (which includes the device's ``gs``),
        expressed as the occupancy a nominal device would need for that current; a device
        stops when this is within ``tol`` of its target, and gets a short UV dose
        (``uv_step_s`` at ``uv_mw_cm2``) when it overshoots by more than ``tol``. The loop
        thus programs the *conductance* ``gs * I(v_read, w)`` of each device to that of a
        nominal device at ``target_w`` (its own ``w`` compensates ``gs``). Without it, every
        device gets the nominal pulse count of its target from :meth:`train_states` (open
        loop). A target the pulses cannot reach stops at ``max_pulses``.

        Returns:
            ``(w_reached, pulses_used)``, arrays shaped like ``target_w``.
        """
        target = np.asarray(target_w, dtype=np.float64)
        check_range("target_w", target, 0.0, 1.0)
        if not (np.isfinite(tol) and tol > 0):
            raise ValueError(f"tol = {tol!r}: must be > 0")
        gen = as_rng(rng)
        shape = target.shape
        t = target.ravel()
        n = t.size
        sp = spread or sample_devices(n, self.variability, gen)
        ks = np.asarray(sp.ks, dtype=np.float64).ravel()
        gs = np.asarray(sp.gs, dtype=np.float64).ravel()
        st = State(np.zeros(n), np.zeros(n))
        pulses = np.zeros(n, dtype=np.int64)
        c2c = self.variability.c2c
        if not write_verify:
            nominal = self.train_states(max_pulses, amplitude, width, interval)
            want = np.abs(nominal[None, :] - t[:, None]).argmin(axis=1)
            for k in range(int(want.max(initial=0))):
                act = want > k
                sub = State(st.ws[act], st.wf[act])
                if k > 0 and interval > 0:
                    sub = self._advance(sub, [(0.0, 0.0, interval)], ks=ks[act])
                sub = self._advance(sub, [(amplitude, 0.0, width)], ks=ks[act], rng=gen, c2c=c2c)
                st.ws[act], st.wf[act] = sub.ws, sub.wf
                pulses[act] += 1
            return st.w.reshape(shape), pulses.reshape(shape)
        active = np.ones(n, dtype=bool)
        # the read current is affine in w at fixed v_read: I = i0 + (i1 - i0) w
        i0, i1 = (float(x) for x in self.current(v_read, np.array([0.0, 1.0])))
        for _ in range(max_pulses * 2):
            # noisy read of the current at v_read (device scale gs included), converted to the
            # occupancy a nominal device would need for it: the loop programs conductance
            i_read = (i0 + (i1 - i0) * st.w) * gs
            i_read = i_read * (1.0 + self.variability.read * gen.standard_normal(n))
            w_read = (i_read - i0) / (i1 - i0)
            low = active & (w_read < t - tol)
            high = active & (w_read > t + tol) & (t + tol < 1.0)
            active = low | high
            low &= pulses < max_pulses
            if not (low.any() or high.any()):
                break
            if low.any():
                sub = State(st.ws[low], st.wf[low])
                sub = self._advance(sub, [(amplitude, 0.0, width), (0.0, 0.0, interval)],
                                    ks=ks[low], rng=gen, c2c=c2c)
                st.ws[low], st.wf[low] = sub.ws, sub.wf
                pulses[low] += 1
            if high.any():
                sub = State(st.ws[high], st.wf[high])
                sub = self._advance(sub, [(0.0, uv_mw_cm2 * MW_CM2, uv_step_s)], ks=ks[high])
                st.ws[high], st.wf[high] = sub.ws, sub.wf
        return st.w.reshape(shape), pulses.reshape(shape)

    def noisy_current(self, v, w, rng, gs=None) -> np.ndarray:
        """Current [A] with read noise (seeded)."""
        return read_noise(self.current(v, w, gs), self.variability, rng)

    def noisy_light(self, v, w, rng, gs=None) -> np.ndarray:
        """Photon flux [photons/s] with read noise (seeded)."""
        return read_noise(self.light(v, w, gs), self.variability, rng)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        """JSON-ready description: name, version, parameters with units, source."""
        return {
            "model": MODEL_NAME, "version": MODEL_VERSION, "name": self.name,
            "source": self.source,
            "parameters": {k: {"value": v, "unit": UNITS[k]}
                           for k, v in self.params.to_dict().items()},
            "variability": {"d2d": self.variability.d2d, "c2c": self.variability.c2c,
                            "read": self.variability.read},
        }

    def __repr__(self) -> str:
        return f"NLEM(name={self.name!r}, params={self.params})"


# ---------------------------------------------------------------------- the nlem.json gate
class CompactModelFileError(ValueError):
    """An ``nlem.json`` file (or a compact-model document embedded in a checkpoint) that
    cannot be read or fails validation; the message names the file and the key."""


#: SI prefixes accepted in front of a base unit, with their factors (converted explicitly).
SI_PREFIXES: dict[str, float] = {"p": 1e-12, "n": 1e-9, "u": 1e-6, "\u00b5": 1e-6, "m": 1e-3,
                                 "k": 1e3, "M": 1e6, "G": 1e9}
#: Units of :data:`~compact_model.params.UNITS` that accept an SI prefix (``mA``, ``nm``,
#: ``ms``, ``mS``...); compound units (``1/s``, ``W/m^2``, ``photons/s``) must be written as
#: expected.
PREFIXABLE_UNITS = frozenset({"A", "V", "S", "s", "m"})
#: Document keys of the model itself (what the content hash covers).
_HASHED = ("model", "version", "parameters", "variability")
#: Model versions this loader reads (every parameter of :class:`NLEMParams` is required).
KNOWN_VERSIONS = ("1.0", MODEL_VERSION)


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def unit_factor(unit: Any, expected: str) -> float | None:
    """Factor converting a value in ``unit`` to ``expected`` (1.0 when equal), or None when
    ``unit`` is not ``expected`` or an SI-prefixed form of it."""
    if not isinstance(unit, str):
        return None
    if unit == expected:
        return 1.0
    if expected in PREFIXABLE_UNITS and len(unit) == len(expected) + 1 \
            and unit.endswith(expected) and unit[0] in SI_PREFIXES:
        return SI_PREFIXES[unit[0]]
    return None


def from_document(doc: Any, origin: str, variability: Variability | None = None) -> NLEM:
    """:class:`NLEM` from an ``nlem.json`` document, every field checked.

    Checks: ``model`` is ``nlem-2pop`` and ``version`` a known one; ``parameters`` holds
    exactly the fields of :class:`NLEMParams`, each ``{"value": <finite number>, "unit":
    <str>}`` with the field's unit (an SI-prefixed unit such as ``mA`` or ``nm`` is converted
    explicitly; any other unit is refused) and a value in the field's range; ``variability``
    holds ``d2d``, ``c2c`` and ``read`` in [0, 1] (unless ``variability`` overrides it).
    Nothing falls back to a default.

    Args:
        doc: The parsed JSON document.
        origin: Where it comes from (file path or checkpoint), named in every error.
        variability: Overrides the document's ``variability``.

    Raises:
        CompactModelFileError: naming ``origin``, the key, the value and what is allowed.
    """
    def bad(key: str, text: str) -> CompactModelFileError:
        sep = " " if text.startswith("=") else ": "
        return CompactModelFileError(f"{origin}: {key}{sep}{text}")

    if not isinstance(doc, dict):
        raise bad("<document>", f"is a {type(doc).__name__}, expected a JSON object")
    if doc.get("model") != MODEL_NAME:
        raise bad("model", f"= {doc.get('model')!r}, expected {MODEL_NAME!r}")
    if doc.get("version") not in KNOWN_VERSIONS:
        raise bad("version", f"= {doc.get('version')!r}, allowed {list(KNOWN_VERSIONS)}")
    pars = doc.get("parameters")
    if not isinstance(pars, dict):
        raise bad("parameters", f"= {pars!r}: expected an object of {{value, unit}} entries")
    names = [f.name for f in fields(NLEMParams)]
    missing = [k for k in names if k not in pars]
    if missing:
        raise bad("parameters", f"missing {missing} (every parameter is required; "
                                "nothing takes a default)")
    unknown = sorted(set(pars) - set(names))
    if unknown:
        raise bad("parameters", f"unknown {unknown}; allowed {names}")
    values: dict[str, float] = {}
    for k in names:
        ent = pars[k]
        key = f"parameters.{k}"
        if not isinstance(ent, dict) or not {"value", "unit"} <= set(ent):
            raise bad(key, f"= {ent!r}: expected {{\"value\": <number>, \"unit\": "
                           f"{UNITS[k]!r}}}")
        val, unit = ent["value"], ent["unit"]
        if not _is_real(val):
            raise bad(f"{key}.value", f"= {val!r} ({type(val).__name__}): expected a number")
        if not math.isfinite(val):
            raise bad(f"{key}.value", f"= {val!r}: must be finite")
        fac = unit_factor(unit, UNITS[k])
        if fac is None:
            allowed = [UNITS[k]] + ([p + UNITS[k] for p in SI_PREFIXES]
                                    if UNITS[k] in PREFIXABLE_UNITS else [])
            raise bad(f"{key}.unit", f"= {unit!r}: expected {UNITS[k]!r}"
                      + (f" (or a prefixed form: {', '.join(allowed[1:])})"
                         if len(allowed) > 1 else ""))
        values[k] = float(val) * fac
    try:
        params = NLEMParams(**values)
    except ValueError as exc:
        raise bad("parameters", str(exc)) from None
    if variability is None:
        var = doc.get("variability")
        vnames = [f.name for f in fields(Variability)]
        if not isinstance(var, dict) or sorted(var) != sorted(vnames):
            raise bad("variability", f"= {var!r}: expected an object with exactly {vnames}")
        for k in vnames:
            if not _is_real(var[k]):
                raise bad(f"variability.{k}", f"= {var[k]!r}: expected a number")
        try:
            variability = Variability(**{k: float(var[k]) for k in vnames})
        except ValueError as exc:
            raise bad("variability", str(exc)) from None
    name = doc.get("name", "json")
    if not isinstance(name, str):
        raise bad("name", f"= {name!r}: expected a string")
    return NLEM(params, name=name, source=origin, variability=variability)


def load_json(path: str | Path, variability: Variability | None = None) -> NLEM:
    """:class:`NLEM` from an ``nlem.json`` file through :func:`from_document`.

    Raises:
        CompactModelFileError: unreadable file, invalid JSON (with line and column), or a
            document that fails :func:`from_document`.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CompactModelFileError(f"{path}: cannot read the compact-model file: {exc}") \
            from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CompactModelFileError(f"{path}: not valid JSON (line {exc.lineno}, column "
                                    f"{exc.colno}: {exc.msg}); truncated or corrupt "
                                    "nlem.json?") from None
    return from_document(doc, str(path), variability)


def model_document(doc: dict[str, Any]) -> dict[str, Any]:
    """The part of an ``nlem.json`` document that defines the model (what the hash covers)."""
    return {k: doc[k] for k in _HASHED if k in doc}


def document_sha256(doc: dict[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of :func:`model_document` of ``doc``."""
    text = json.dumps(model_document(doc), sort_keys=True, separators=(",", ":"),
                      allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
