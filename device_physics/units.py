"""Physical constants and the practical-unit -> SI conversions used when stacks and protocols
are loaded (the one place where units are converted; everything downstream is SI).

Energies (electron affinity, gap, trap depth, work function) are kept in eV, i.e. as volts
(energy / q), because they enter the equations as potentials; this is stated on every field.
"""

from __future__ import annotations

import math

Q = 1.602176634e-19
"""Elementary charge, C."""
KB = 1.380649e-23
"""Boltzmann constant, J/K."""
EPS0 = 8.8541878128e-12
"""Vacuum permittivity, F/m."""
H_PLANCK = 6.62607015e-34
"""Planck constant, J s."""
C_LIGHT = 299792458.0
"""Speed of light, m/s."""


def thermal_voltage(temperature_k: float) -> float:
    """k_B T / q in V."""
    return KB * temperature_k / Q


def photon_energy_j(wavelength_m: float) -> float:
    """Energy of one photon of the given vacuum wavelength, J."""
    return H_PLANCK * C_LIGHT / wavelength_m


# dimension -> {unit spelling -> factor to SI}
UNITS: dict[str, dict[str, float]] = {
    "length": {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "nm": 1e-9},
    "energy": {"eV": 1.0, "meV": 1e-3},  # kept in eV (= V)
    "mobility": {"m2/(V*s)": 1.0, "m2/Vs": 1.0, "cm2/(V*s)": 1e-4, "cm2/Vs": 1e-4},
    "density": {"m-3": 1.0, "cm-3": 1e6},
    "areal_density": {"m-2": 1.0, "cm-2": 1e4},
    "inverse_length": {"m-1": 1.0, "cm-1": 1e2, "nm-1": 1e9},
    "rate_coefficient": {"m3/s": 1.0, "cm3/s": 1e-6},
    "cross_section": {"m2": 1.0, "cm2": 1e-4},
    "time": {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9},
    "dimensionless": {"1": 1.0, "": 1.0},
    "temperature": {"K": 1.0},
    "voltage": {"V": 1.0, "mV": 1e-3},
    "irradiance": {"W/m2": 1.0, "mW/cm2": 10.0, "W/cm2": 1e4},
    "voltage_rate": {"V/s": 1.0, "V/ms": 1e3},
    # measured traces (compact_model.measured): terminal quantities of a device
    "current": {"A": 1.0, "mA": 1e-3, "uA": 1e-6, "µA": 1e-6, "nA": 1e-9, "pA": 1e-12},
    "current_density": {"A/m2": 1.0, "mA/cm2": 10.0, "A/cm2": 1e4, "uA/cm2": 1e-2,
                        "µA/cm2": 1e-2},
    "conductance": {"S": 1.0, "mS": 1e-3, "uS": 1e-6, "µS": 1e-6, "nS": 1e-9},
    "area": {"m2": 1.0, "cm2": 1e-4, "mm2": 1e-6, "um2": 1e-12, "µm2": 1e-12},
    "photon_flux": {"photons/s": 1.0},
    "photon_flux_density": {"photons/(s m2)": 1.0, "photons/(s cm2)": 1e4},
    "power": {"W": 1.0, "mW": 1e-3, "uW": 1e-6, "µW": 1e-6, "nW": 1e-9},
    "rate": {"1/s": 1.0, "1/ms": 1e3},
}


class UnitError(ValueError):
    """A value was given with a unit that does not fit its key."""


def to_si(value: float, unit: str, dimension: str, where: str = "") -> float:
    """Convert ``value`` in ``unit`` to SI (eV stays eV) for a quantity of ``dimension``.

    Args:
        value: Number in the practical unit.
        unit: Unit spelling, e.g. ``"nm"`` or ``"cm2/(V*s)"``.
        dimension: Key of :data:`UNITS`.
        where: Text naming the quantity for error messages.

    Raises:
        UnitError: Unknown unit for this dimension, or a non-finite value.
    """
    table = UNITS[dimension]
    if unit not in table:
        raise UnitError(
            f"{where}: unit {unit!r} is not a {dimension} unit; allowed: {sorted(table)}"
        )
    v = float(value)
    if math.isnan(v) or v == -math.inf:
        raise UnitError(f"{where}: value {value!r} is not a finite number")
    return v * table[unit]
