"""Material parameter table of the N-LEM stack and the verification devices.

Owns the parameter schema of a layer material (key -> dimension, allowed range, meaning) and
the library :data:`MATERIALS` of literature values. Every entry is a :class:`Quantity` in
practical units (nm, eV, cm^2/(V s), cm^-3, cm^-1, cm^3/s) with its source, or the word
``calibrated`` where the value is an effective parameter to be fitted to the paper's device
metrics (docs/calibration.md). Conversion to SI happens once, in :mod:`device_physics.stack`.

Sign conventions: electron affinity ``chi`` and gap ``Eg`` in eV (conduction band at
-chi, valence band at -(chi + Eg) below the vacuum level); ``N_fix`` is a signed fixed
charge density in units of q.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

INF = math.inf


@dataclass(frozen=True)
class Quantity:
    """A value in a practical unit with the literature source it comes from."""

    value: float
    """Number in ``unit``."""
    unit: str
    """Unit spelling understood by :func:`device_physics.units.to_si`."""
    source: str
    """Literature reference, or ``calibrated`` (fitted to the paper's device metrics)."""


@dataclass(frozen=True)
class ParamSpec:
    """Schema of one material parameter."""

    dimension: str
    lo: float
    hi: float
    lo_open: bool
    doc: str


# key -> (dimension, lo, hi, lo_open, doc); ranges are in SI (eV for energies)
PARAMS: dict[str, ParamSpec] = {
    "eps_r": ParamSpec("dimensionless", 0.0, 1000.0, True, "relative permittivity"),
    "chi": ParamSpec("energy", 0.0, 10.0, False, "electron affinity (LUMO/CB depth), eV"),
    "Eg": ParamSpec("energy", 0.0, 12.0, True, "transport gap, eV"),
    "Nc": ParamSpec("density", 0.0, 1e30, True, "effective conduction-band DOS, m^-3"),
    "Nv": ParamSpec("density", 0.0, 1e30, True, "effective valence-band DOS, m^-3"),
    "mu_n": ParamSpec("mobility", 0.0, 10.0, True, "electron mobility, m^2/(V s)"),
    "mu_p": ParamSpec("mobility", 0.0, 10.0, True, "hole mobility, m^2/(V s)"),
    "N_D": ParamSpec("density", 0.0, 1e29, False, "ionised donor density, m^-3"),
    "N_A": ParamSpec("density", 0.0, 1e29, False, "ionised acceptor density, m^-3"),
    "N_fix": ParamSpec("density", -1e29, 1e29, False, "signed fixed charge density / q, m^-3"),
    "alpha_uv": ParamSpec("inverse_length", 0.0, 1e10, False, "UV absorption coefficient, 1/m"),
    "B_rad": ParamSpec("rate_coefficient", 0.0, 1e-6, False, "radiative coefficient, m^3/s"),
    "eta_out": ParamSpec("dimensionless", 0.0, 1.0, False, "photon out-coupling efficiency"),
    "tau_n": ParamSpec("time", 0.0, INF, True, "SRH electron lifetime, s (inf: no SRH)"),
    "tau_p": ParamSpec("time", 0.0, INF, True, "SRH hole lifetime, s (inf: no SRH)"),
}
"""Numeric material parameters; ``langevin`` (bool) and ``alpha_uv`` wavelengths are extra."""

BOOL_PARAMS = {"langevin": "Langevin bimolecular recombination (organic semiconductors)"}

_DEF_ORG = "Typical organic-semiconductor DOS (Baessler 1993; Kirchartz et al. 2012)"

MATERIALS: dict[str, dict[str, Quantity | bool | list[dict]]] = {
    # ---------------------------------------------------------------- N-LEM stack
    "PEDOT:PSS": {
        "eps_r": Quantity(3.0, "1", "Bruevich/Kirchartz drift-diffusion models of PEDOT:PSS HIL"),
        "chi": Quantity(3.6, "eV", "Koch et al., APL 2007 (PEDOT:PSS WF 5.0-5.2 eV)"),
        "Eg": Quantity(1.6, "eV", "Koch et al., APL 2007; HOMO 5.2 eV"),
        "Nc": Quantity(1e21, "cm-3", _DEF_ORG),
        "Nv": Quantity(1e21, "cm-3", _DEF_ORG),
        "mu_n": Quantity(1e-5, "cm2/(V*s)", "calibrated"),
        "mu_p": Quantity(1e-2, "cm2/(V*s)", "AI4083 sigma ~1e-3 S/cm (Heraeus datasheet)"),
        "N_D": Quantity(0.0, "cm-3", "undoped for electrons"),
        "N_A": Quantity(1e19, "cm-3", "AI4083 sigma ~1e-3 S/cm (Heraeus datasheet)"),
        "N_fix": Quantity(0.0, "cm-3", "none"),
        "alpha_uv": Quantity(2e4, "cm-1", "PEDOT:PSS film absorbance at 365 nm (Pettersson 1999)"),
        "B_rad": Quantity(0.0, "cm3/s", "non-emissive"),
        "eta_out": Quantity(0.0, "1", "non-emissive"),
        "tau_n": Quantity(INF, "s", "no SRH"),
        "tau_p": Quantity(INF, "s", "no SRH"),
        "langevin": True,
    },
    "PVK:IDTBT": {
        "eps_r": Quantity(3.0, "1", "PVK eps 2.9-3.0 (Pai 1970); IDTBT ~3 (Venkateshvaran 2014)"),
        "chi": Quantity(3.6, "eV", "IDTBT LUMO -3.6 eV (Zhang et al., JACS 2010, 132, 11437)"),
        "Eg": Quantity(1.7, "eV", "IDTBT HOMO -5.3 eV (Zhang et al., JACS 2010)"),
        "Nc": Quantity(1e21, "cm-3", _DEF_ORG),
        "Nv": Quantity(1e21, "cm-3", _DEF_ORG),
        "mu_n": Quantity(1e-5, "cm2/(V*s)", "calibrated"),
        "mu_p": Quantity(1e-3, "cm2/(V*s)", "calibrated (neat IDTBT ~1, Venkateshvaran 2014)"),
        "N_D": Quantity(0.0, "cm-3", "undoped"),
        "N_A": Quantity(0.0, "cm-3", "undoped"),
        "N_fix": Quantity(0.0, "cm-3", "none"),
        "alpha_uv": Quantity(5e4, "cm-1", "PVK:IDTBT blend absorbance at 365 nm (paper Fig. S1)"),
        "B_rad": Quantity(0.0, "cm3/s", "emission not collected from this layer"),
        "eta_out": Quantity(0.0, "1", "non-emissive"),
        "tau_n": Quantity(INF, "s", "no SRH"),
        "tau_p": Quantity(INF, "s", "no SRH"),
        "langevin": True,
    },
    "PVK": {
        "eps_r": Quantity(3.0, "1", "Pai, J. Chem. Phys. 1970"),
        "chi": Quantity(2.2, "eV", "PVK LUMO -2.2 eV (Zhang et al., Adv. Mater. 2006)"),
        "Eg": Quantity(3.6, "eV", "PVK HOMO -5.8 eV (Zhang et al., Adv. Mater. 2006)"),
        "Nc": Quantity(1e21, "cm-3", _DEF_ORG),
        "Nv": Quantity(1e21, "cm-3", _DEF_ORG),
        "mu_n": Quantity(1e-7, "cm2/(V*s)", "calibrated"),
        "mu_p": Quantity(2.5e-6, "cm2/(V*s)", "Gill, J. Appl. Phys. 1972 (PVK TOF)"),
        "N_D": Quantity(0.0, "cm-3", "undoped"),
        "N_A": Quantity(0.0, "cm-3", "undoped"),
        "N_fix": Quantity(0.0, "cm-3", "none"),
        "alpha_uv": Quantity(1e4, "cm-1", "PVK absorption tail at 365 nm (paper Fig. S1)"),
        "B_rad": Quantity(0.0, "cm3/s", "non-emissive"),
        "eta_out": Quantity(0.0, "1", "non-emissive"),
        "tau_n": Quantity(INF, "s", "no SRH"),
        "tau_p": Quantity(INF, "s", "no SRH"),
        "langevin": True,
    },
    "PVP": {
        "eps_r": Quantity(3.9, "1", "cross-linked PVP eps 3.6-4.2 (Klauk et al., JAP 2002)"),
        "chi": Quantity(2.0, "eV", "calibrated (effective transport level of a wide-gap polymer)"),
        "Eg": Quantity(3.5, "eV", "calibrated (effective HOMO -5.5 eV, 0.2 eV below IDTBT)"),
        "Nc": Quantity(1e21, "cm-3", _DEF_ORG),
        "Nv": Quantity(1e21, "cm-3", _DEF_ORG),
        "mu_n": Quantity(1e-6, "cm2/(V*s)", "calibrated"),
        "mu_p": Quantity(1e-6, "cm2/(V*s)", "calibrated"),
        "N_D": Quantity(0.0, "cm-3", "insulator"),
        "N_A": Quantity(0.0, "cm-3", "insulator"),
        "N_fix": Quantity(0.0, "cm-3", "none"),
        "alpha_uv": Quantity(1e2, "cm-1", "PVP transparent above 300 nm (paper Fig. S1)"),
        "B_rad": Quantity(0.0, "cm3/s", "non-emissive"),
        "eta_out": Quantity(0.0, "1", "non-emissive"),
        "tau_n": Quantity(INF, "s", "no SRH"),
        "tau_p": Quantity(INF, "s", "no SRH"),
        "langevin": True,
    },
    "CdSe/ZnS": {
        "eps_r": Quantity(9.0, "1", "CdSe QD film effective eps (Mashford 2013 QLED models)"),
        "chi": Quantity(4.0, "eV", "CdSe/ZnS QD CB -4.0 eV (Dai et al., Nature 2014)"),
        "Eg": Quantity(2.0, "eV", "red QDs, 620 nm emission; VB -6.0 eV (Dai et al., 2014)"),
        "Nc": Quantity(1e20, "cm-3", "QD number density ~1e19 cm-3 x 2 states (calibrated)"),
        "Nv": Quantity(1e20, "cm-3", "QD number density ~1e19 cm-3 x 2 states (calibrated)"),
        "mu_n": Quantity(1e-4, "cm2/(V*s)", "QD film electron mobility (Kagan & Murray 2015)"),
        "mu_p": Quantity(1e-5, "cm2/(V*s)", "calibrated"),
        "N_D": Quantity(0.0, "cm-3", "undoped"),
        "N_A": Quantity(0.0, "cm-3", "undoped"),
        "N_fix": Quantity(0.0, "cm-3", "none"),
        "alpha_uv": Quantity(1.5e5, "cm-1", "CdSe QD film absorption at 365 nm (Leatherdale 2002)"),
        "B_rad": Quantity(1e-10, "cm3/s", "calibrated (radiative bimolecular in QD film)"),
        "eta_out": Quantity(0.2, "1", "1/(2 n^2) ray-optics estimate for n ~ 1.6 (Greenham 1994)"),
        "tau_n": Quantity(INF, "s", "no SRH"),
        "tau_p": Quantity(INF, "s", "no SRH"),
        "langevin": False,
    },
    "ZnO": {
        "eps_r": Quantity(8.5, "1", "ZnO (Ozgur et al., JAP 2005)"),
        "chi": Quantity(4.2, "eV", "ZnO NP CB -4.2 eV (Qian et al., Nat. Photon. 2011)"),
        "Eg": Quantity(3.3, "eV", "ZnO NP gap 3.3-3.4 eV (Ozgur et al., JAP 2005)"),
        "Nc": Quantity(2.2e18, "cm-3", "ZnO (Ozgur et al., JAP 2005)"),
        "Nv": Quantity(1.8e19, "cm-3", "ZnO (Ozgur et al., JAP 2005)"),
        "mu_n": Quantity(1e-3, "cm2/(V*s)", "ZnO NP film (Qian et al., Nat. Photon. 2011)"),
        "mu_p": Quantity(1e-6, "cm2/(V*s)", "calibrated"),
        "N_D": Quantity(1e17, "cm-3", "calibrated (n-type NP film)"),
        "N_A": Quantity(0.0, "cm-3", "none"),
        "N_fix": Quantity(0.0, "cm-3", "none"),
        "alpha_uv": Quantity(1e5, "cm-1", "ZnO band edge absorption at 365 nm (Ozgur 2005)"),
        "B_rad": Quantity(0.0, "cm3/s", "emission not collected"),
        "eta_out": Quantity(0.0, "1", "non-emissive"),
        "tau_n": Quantity(1e-9, "s", "calibrated (NP surface states)"),
        "tau_p": Quantity(1e-9, "s", "calibrated (NP surface states)"),
        "langevin": False,
    },
    "trap_free_dielectric": {
        "eps_r": Quantity(3.9, "1", "same permittivity as PVP (control stack)"),
        "chi": Quantity(2.0, "eV", "same transport levels as PVP (control stack)"),
        "Eg": Quantity(3.5, "eV", "same transport levels as PVP (control stack)"),
        "Nc": Quantity(1e21, "cm-3", _DEF_ORG),
        "Nv": Quantity(1e21, "cm-3", _DEF_ORG),
        "mu_n": Quantity(1e-6, "cm2/(V*s)", "same as PVP (control stack)"),
        "mu_p": Quantity(1e-6, "cm2/(V*s)", "same as PVP (control stack)"),
        "N_D": Quantity(0.0, "cm-3", "insulator"),
        "N_A": Quantity(0.0, "cm-3", "insulator"),
        "N_fix": Quantity(0.0, "cm-3", "none"),
        "alpha_uv": Quantity(1e2, "cm-1", "same as PVP"),
        "B_rad": Quantity(0.0, "cm3/s", "non-emissive"),
        "eta_out": Quantity(0.0, "1", "non-emissive"),
        "tau_n": Quantity(INF, "s", "no SRH"),
        "tau_p": Quantity(INF, "s", "no SRH"),
        "langevin": True,
    },
    # ---------------------------------------------------------------- verification
    "Si": {
        "eps_r": Quantity(11.7, "1", "Sze & Ng, Physics of Semiconductor Devices, 3rd ed."),
        "chi": Quantity(4.05, "eV", "Sze & Ng"),
        "Eg": Quantity(1.12, "eV", "Sze & Ng (300 K)"),
        "Nc": Quantity(2.8e19, "cm-3", "Sze & Ng (300 K)"),
        "Nv": Quantity(1.04e19, "cm-3", "Sze & Ng (300 K)"),
        "mu_n": Quantity(1400.0, "cm2/(V*s)", "Sze & Ng (intrinsic, 300 K)"),
        "mu_p": Quantity(450.0, "cm2/(V*s)", "Sze & Ng (intrinsic, 300 K)"),
        "N_D": Quantity(0.0, "cm-3", "set per layer"),
        "N_A": Quantity(0.0, "cm-3", "set per layer"),
        "N_fix": Quantity(0.0, "cm-3", "none"),
        "alpha_uv": Quantity(1e6, "cm-1", "Green & Keevers 1995 (365 nm)"),
        "B_rad": Quantity(0.0, "cm3/s", "neglected (indirect gap)"),
        "eta_out": Quantity(0.0, "1", "non-emissive"),
        "tau_n": Quantity(INF, "s", "set per layer"),
        "tau_p": Quantity(INF, "s", "set per layer"),
        "langevin": False,
    },
    "generic_organic": {
        "eps_r": Quantity(3.0, "1", "typical organic semiconductor"),
        "chi": Quantity(2.5, "eV", "typical organic semiconductor"),
        "Eg": Quantity(2.5, "eV", "typical organic semiconductor"),
        "Nc": Quantity(1e21, "cm-3", _DEF_ORG),
        "Nv": Quantity(1e21, "cm-3", _DEF_ORG),
        "mu_n": Quantity(1e-4, "cm2/(V*s)", "typical organic semiconductor"),
        "mu_p": Quantity(1e-4, "cm2/(V*s)", "typical organic semiconductor"),
        "N_D": Quantity(0.0, "cm-3", "undoped"),
        "N_A": Quantity(0.0, "cm-3", "undoped"),
        "N_fix": Quantity(0.0, "cm-3", "none"),
        "alpha_uv": Quantity(0.0, "cm-1", "transparent"),
        "B_rad": Quantity(0.0, "cm3/s", "non-emissive"),
        "eta_out": Quantity(0.0, "1", "non-emissive"),
        "tau_n": Quantity(INF, "s", "no SRH"),
        "tau_p": Quantity(INF, "s", "no SRH"),
        "langevin": False,
    },
}
"""Material library; a stack layer names one and may override any key."""

WORK_FUNCTIONS: dict[str, Quantity] = {
    "ITO": Quantity(4.7, "eV", "Kim et al., JAP 1999 (ITO after plasma treatment 4.7-4.9)"),
    "Ag": Quantity(4.3, "eV", "Michaelson, JAP 1977 (polycrystalline Ag 4.26)"),
    "Al": Quantity(4.28, "eV", "Michaelson, JAP 1977"),
    "Au": Quantity(5.1, "eV", "Michaelson, JAP 1977"),
}
"""Electrode work functions."""


def material_names() -> list[str]:
    """Names of the materials in the library."""
    return sorted(MATERIALS)
