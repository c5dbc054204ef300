"""Physical constants and the scaling of the drift-diffusion unknowns.

Scaled variables: lengths in ``L0``, densities in ``N0``, potentials in thermal voltages
``Vt = kT/q``, mobilities in ``mu0``, time in ``t0 = L0²/(mu0·Vt)``; current densities in
``J0 = q·N0·mu0·Vt/L0`` and electric displacement in ``D0 = q·N0·L0``.
"""

from __future__ import annotations

from dataclasses import dataclass

Q = 1.602176634e-19
"""Elementary charge (C)."""
KB = 1.380649e-23
"""Boltzmann constant (J/K)."""
EPS0 = 8.8541878128e-12
"""Vacuum permittivity (F/m)."""
H_PLANCK = 6.62607015e-34
"""Planck constant (J s)."""
C_LIGHT = 299792458.0
"""Speed of light (m/s)."""


@dataclass(frozen=True)
class Scaling:
    """Reference quantities of the scaled equations (all SI).

    Attributes:
        L0: Reference length (m).
        N0: Reference density (m^-3).
        mu0: Reference mobility (m²/(V s)).
        T: Temperature (K).
    """

    L0: float
    N0: float
    mu0: float
    T: float = 300.0

    def __post_init__(self) -> None:
        for name in ("L0", "N0", "mu0", "T"):
            val = getattr(self, name)
            if not val > 0:
                raise ValueError(f"Scaling.{name} = {val!r}: must be > 0")

    @property
    def Vt(self) -> float:
        """Thermal voltage kT/q (V)."""
        return KB * self.T / Q

    @property
    def t0(self) -> float:
        """Time unit L0²/(mu0 Vt) (s)."""
        return self.L0**2 / (self.mu0 * self.Vt)

    @property
    def lam2(self) -> float:
        """Squared scaled Debye length eps0·Vt/(q·N0·L0²) (dimensionless)."""
        return EPS0 * self.Vt / (Q * self.N0 * self.L0**2)

    @property
    def J0(self) -> float:
        """Current-density unit q·N0·mu0·Vt/L0 (A/m²)."""
        return Q * self.N0 * self.mu0 * self.Vt / self.L0

    @property
    def D0(self) -> float:
        """Displacement unit q·N0·L0 (C/m²)."""
        return Q * self.N0 * self.L0

    @property
    def R0(self) -> float:
        """Rate-density unit N0/t0 (m^-3 s^-1)."""
        return self.N0 / self.t0
