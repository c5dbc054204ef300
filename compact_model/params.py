"""Parameters of the compact N-LEM model (:class:`NLEMParams`) and their packing for kernels.

Every field carries a docstring with its unit and the physical mechanism it stands for. The
kernels (:mod:`compact_model.kernels`, :mod:`compact_model.reference`) receive the parameters
as one float64 vector built by :func:`pack`; the index constants below name its entries.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Planck constant times speed of light [J m].
HC = 6.62607015e-34 * 299792458.0
#: 1 mW/cm² in W/m².
MW_CM2 = 10.0


@dataclass(frozen=True)
class NLEMParams:
    """Parameters of the two-population trapped-charge model of the N-LEM.

    State: occupancies ``ws`` (deep, slow PVP hole traps) and ``wf`` (shallow, fast traps at
    the IDTBT/PVP interface), both dimensionless fractions of all trap sites, with
    ``0 <= ws <= 1 - f_fast`` and ``0 <= wf <= f_fast``; the total occupancy
    ``w = ws + wf`` in [0, 1] is the synaptic weight the public API exposes.
    """

    # --- electrical output (rectifying, LED-like) -------------------------------------------
    i_ref: float = 1.0e-5
    """Current of the pristine device (w = 0) at ``v_ref`` [A]: injection-limited hole and
    electron current through the stack."""
    v_ref: float = 5.0
    """Reference (programming-pulse) voltage [V]."""
    v_bi: float = 1.8
    """Built-in / injection turn-on voltage [V]: below it the contacts inject (almost) nothing
    and only the leakage flows; this makes the I-V rectifying."""
    alpha_i: float = 2.5
    """Power-law exponent of the injection current above ``v_bi`` [1] (space-charge-limited
    transport with traps gives exponents 2-3)."""
    g_leak: float = 1.0e-10
    """Ohmic leakage conductance through the stack [S] (the only current in reverse bias)."""
    g_max: float = 5.0
    """Conductance multiplier at full trap occupancy (w = 1) relative to w = 0 [1]: trapped
    holes in PVP lower the hole-injection barrier into the QDs (paper Fig. 2b, S3)."""
    # --- optical output (electroluminescence of the QDs) ------------------------------------
    phi_ref: float = 6.0e11
    """EL photon flux of the pristine device at ``v_ref`` [photons/s] (about 1 % EQE)."""
    v_on_light: float = 2.2
    """EL turn-on voltage [V]: below it no radiative recombination in the QDs (zero light)."""
    alpha_l: float = 3.5
    """Power-law exponent of light above ``v_on_light`` [1]; larger than ``alpha_i`` because
    the radiative efficiency grows with the injected density (light superlinear in current)."""
    gamma_l: float = 1.3
    """Exponent of the conductance factor in the light [1] (L ∝ g(w)**gamma_l): the
    radiative rate B n p in the QDs grows faster than the current because the hole density in
    the QD layer (the minority carrier there) rises with the trap-lowered barrier."""
    eta_max: float = 1.5
    """Radiative-efficiency multiplier at full occupancy [1]: trapped holes improve the
    electron/hole balance in the QD layer, so light gains more than current."""
    w_eta: float = 0.3
    """Occupancy scale over which the charge balance improves and saturates [1]
    (eta(w) = 1 + (eta_max - 1)(1 - exp(-w/w_eta))/(1 - exp(-1/w_eta)))."""
    wavelength: float = 630e-9
    """Peak EL wavelength of the CdSe/ZnS QDs [m] (photon energy for optical power)."""
    # --- trapping (potentiation) ------------------------------------------------------------
    f_fast: float = 0.2
    """Fraction of trap sites that are shallow (fast population) [1]."""
    k_fast: float = 20.0
    """Capture rate of the shallow traps at ``v_ref`` [1/s] (hole capture at IDTBT/PVP)."""
    k_slow: float = 0.5
    """Capture rate of the deep PVP traps at ``v_ref`` [1/s]."""
    v_cap: float = 0.5
    """Voltage scale of field-enhanced capture [V]: k(V) = k exp((V - v_ref)/v_cap) for
    V > v_bi (holes injected), 0 otherwise."""
    tau_fast: float = 0.3
    """Thermal emission time of the shallow traps [s] (paired-pulse facilitation decay)."""
    tau_slow: float = 80.0
    """Thermal emission time of the deep traps [s] (retention, natural decay ~72 s)."""
    cap_sat: float = 0.0
    """Supply-limited share ``b`` of the deep (slow) traps' capture [1], in [0, 1); the
    shallow (fast) traps capture first-order. With ``y = C - x`` the
    empty sites of a population of capacity ``C`` and ``k`` its capture rate, capture is
    ``dy/dt = -k y / ((1 - b) + b y / C)``: ``b = 0`` is first-order capture (every empty
    trap captures independently, ``-k y``; the presets); ``b -> 1`` is capture limited by
    the carrier supply (``-k C``, constant until the traps are full, then stop), as in the
    drift-diffusion stack, where the electrons crossing the PVP fill its traps at the rate
    they arrive and the filling ends abruptly. In between it is Michaelis-Menten with
    constant ``C (1 - b)/b``."""
    # --- UV erase (negative photoconductance) -----------------------------------------------
    uv_rate: float = 1.0
    """Maximum UV erase rate [1/s] (occupancy per second at saturating intensity):
    photogenerated electrons recombine with trapped holes and the built-in field E_in opposes
    injection."""
    uv_i_sat: float = 700.0
    """UV intensity at which the erase rate is half its maximum [W/m²] (E_in saturates)."""
    uv_k: float = 0.05
    """Michaelis constant of the erase in occupancy [1]: the erase is zero-order (linear in
    time) while w >> uv_k and first-order near empty traps."""
    # --- validity ---------------------------------------------------------------------------
    v_min: float = -8.0
    """Lowest voltage the model accepts [V] (larger reverse bias: breakdown, not modelled)."""
    v_max: float = 8.0
    """Highest voltage the model accepts [V]."""
    area: float = 4.0e-6
    """Device area [m²] (converts the physics' A/m² and photons/(s m²) to A and photons/s)."""

    def __post_init__(self) -> None:
        for name, (ok, allowed) in _RULES.items():
            value = getattr(self, name)
            good = isinstance(value, (int, float, np.floating, np.integer)) \
                and not isinstance(value, bool) and bool(np.isfinite(value))
            if not (good and ok(self, value)):
                raise ValueError(f"NLEMParams.{name} = {value!r} is outside its allowed "
                                 f"range: {allowed}")

    def replace(self, **changes: Any) -> NLEMParams:
        """Copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, float]:
        """Plain dict of the fields."""
        return dataclasses.asdict(self)


#: Allowed range of every field: (test on ``(params, value)``, the range in words). Values must
#: also be finite real numbers.
_RULES: dict[str, tuple[Any, str]] = {
    "i_ref": (lambda p, v: v > 0, "> 0 A"),
    "v_ref": (lambda p, v: v > p.v_on_light, "> v_on_light V"),
    "v_bi": (lambda p, v: v >= 0, ">= 0 V"),
    "alpha_i": (lambda p, v: v >= 1, ">= 1"),
    "g_leak": (lambda p, v: v >= 0, ">= 0 S"),
    "g_max": (lambda p, v: v >= 1, ">= 1"),
    "phi_ref": (lambda p, v: v > 0, "> 0 photons/s"),
    "v_on_light": (lambda p, v: v >= p.v_bi, ">= v_bi V"),
    "alpha_l": (lambda p, v: v >= 1, ">= 1"),
    "gamma_l": (lambda p, v: v >= 1, ">= 1"),
    "eta_max": (lambda p, v: v >= 1, ">= 1"),
    "w_eta": (lambda p, v: v > 0, "> 0"),
    "wavelength": (lambda p, v: v > 0, "> 0 m"),
    "f_fast": (lambda p, v: 0 <= v <= 1, "[0, 1]"),
    "k_fast": (lambda p, v: v >= 0, ">= 0 1/s"),
    "k_slow": (lambda p, v: v >= 0, ">= 0 1/s"),
    "v_cap": (lambda p, v: v > 0, "> 0 V"),
    "tau_fast": (lambda p, v: v > 0, "> 0 s"),
    "tau_slow": (lambda p, v: v > 0, "> 0 s"),
    "cap_sat": (lambda p, v: 0 <= v < 1, "[0, 1)"),
    "uv_rate": (lambda p, v: v >= 0, ">= 0 1/s"),
    "uv_i_sat": (lambda p, v: v > 0, "> 0 W/m^2"),
    "uv_k": (lambda p, v: v > 0, "> 0"),
    "v_min": (lambda p, v: v < 0, "< 0 V"),
    "v_max": (lambda p, v: v > 0, "> 0 V"),
    "area": (lambda p, v: v > 0, "> 0 m^2"),
}


#: Units of every field (for ``nlem.json``).
UNITS: dict[str, str] = {
    "i_ref": "A", "v_ref": "V", "v_bi": "V", "alpha_i": "1", "g_leak": "S", "g_max": "1",
    "phi_ref": "photons/s", "v_on_light": "V", "alpha_l": "1", "gamma_l": "1", "eta_max": "1",
    "w_eta": "1",
    "wavelength": "m", "f_fast": "1", "k_fast": "1/s", "k_slow": "1/s", "v_cap": "V",
    "tau_fast": "s", "tau_slow": "s", "cap_sat": "1", "uv_rate": "1/s", "uv_i_sat": "W/m^2",
    "uv_k": "1",
    "v_min": "V", "v_max": "V", "area": "m^2",
}

# Indices into the packed parameter vector used by the kernels.
(P_I_REF, P_V_REF, P_V_BI, P_ALPHA_I, P_G_LEAK, P_G_MAX, P_PHI_REF, P_V_ON_L, P_ALPHA_L,
 P_ETA_MAX, P_W_ETA, P_F_FAST, P_K_FAST, P_K_SLOW, P_V_CAP, P_TAU_FAST, P_TAU_SLOW,
 P_UV_RATE, P_UV_I_SAT, P_UV_K, P_GAMMA_L, P_CAP_SAT) = range(22)
N_PACKED = 22


def pack(p: NLEMParams) -> np.ndarray:
    """Float64 vector of the parameters the kernels need (order: the ``P_*`` constants)."""
    return np.array([
        p.i_ref, p.v_ref, p.v_bi, p.alpha_i, p.g_leak, p.g_max, p.phi_ref, p.v_on_light,
        p.alpha_l, p.eta_max, p.w_eta, p.f_fast, p.k_fast, p.k_slow, p.v_cap, p.tau_fast,
        p.tau_slow, p.uv_rate, p.uv_i_sat, p.uv_k, p.gamma_l, p.cap_sat,
    ], dtype=np.float64)
