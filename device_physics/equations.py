"""Device description used by the dolfinx solver and the scaled weak forms (UFL).

The solver's own plain description of a 1D device (:class:`DDLayer`, :class:`DDTrap`,
:class:`DDContact`, :class:`DDDevice`, SI units, validated on construction) and
:func:`build_forms`, which writes the scaled drift-diffusion residual in the unknowns
(psi, phi_n, phi_p, f_1..f_k):

* Poisson with free, trapped and fixed charge,
* electron/hole continuity with Scharfetter-Gummel fluxes in quasi-Fermi form, evaluated
  with one midpoint quadrature point per cell, and vertex-lumped (box-method) storage,
  generation and recombination terms,
* trap occupancies f_k (electrons per trap) as immobile species with capture, thermal
  emission set by the trap depth, recombination through the trap (a trapped carrier meeting a
  free opposite carrier) and optical emission of the trapped carrier under UV at the rate
  sigma_opt * Phi(x) (Phi the local Beer-Lambert photon flux): the UV erase path,
* SRH (midgap), Langevin and radiative B·n·p recombination, Beer-Lambert UV generation.

Densities are n = exp(theta_n + psi - phi_n), p = exp(theta_p - psi + phi_p) (scaled), so they
stay positive by construction; theta_n, theta_p hold the band parameters of each layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from device_physics.scaling import EPS0, Q, Scaling

_INF = math.inf


@dataclass
class DDTrap:
    """A discrete trap level (SRH-like), SI units.

    Attributes:
        density: Trap density N_t (m^-3, >= 0).
        depth_eV: Depth below Ec (``kind='electron'``) or above Ev (``kind='hole'``) (eV, > 0).
        kind: ``'electron'`` (acceptor-like: negative when holding an electron) or ``'hole'``
            (donor-like: positive when holding a hole).
        c_n: Electron capture coefficient (m³/s, >= 0).
        c_p: Hole capture coefficient (m³/s, >= 0).
        sigma_opt: Optical cross-section of the trapped carrier (m², >= 0): under the local UV
            photon flux Phi it is emitted into its band at the rate sigma_opt * Phi
            (electron trap: electron to the conduction band; hole trap: hole to the valence
            band).
    """

    density: float
    depth_eV: float
    kind: str = "hole"
    c_n: float = 1e-18
    c_p: float = 1e-18
    sigma_opt: float = 0.0

    def __post_init__(self) -> None:
        if not self.density >= 0:
            raise ValueError(f"trap density = {self.density!r}: must be >= 0 (m^-3)")
        if not self.depth_eV > 0:
            raise ValueError(f"trap depth_eV = {self.depth_eV!r}: must be > 0 (eV)")
        if self.kind not in ("electron", "hole"):
            raise ValueError(f"trap kind = {self.kind!r}: must be 'electron' or 'hole'")
        for nm in ("c_n", "c_p"):
            if not getattr(self, nm) >= 0:
                raise ValueError(f"trap {nm} = {getattr(self, nm)!r}: must be >= 0 (m^3/s)")
        if not self.sigma_opt >= 0:
            raise ValueError(f"trap sigma_opt = {self.sigma_opt!r}: must be >= 0 (m^2)")


@dataclass
class DDLayer:
    """One layer of the 1D device, SI units (energies in eV).

    Attributes:
        name: Layer name.
        thickness: Thickness (m, > 0).
        eps_r: Relative permittivity (> 0).
        chi: Electron affinity (eV).
        Eg: Band gap (eV, > 0).
        Nc: Effective conduction-band density of states (m^-3, > 0).
        Nv: Effective valence-band density of states (m^-3, > 0).
        mu_n: Electron mobility (m²/(V s), > 0).
        mu_p: Hole mobility (m²/(V s), > 0).
        N_D: Donor density (m^-3, >= 0).
        N_A: Acceptor density (m^-3, >= 0).
        N_fix: Fixed charge density, signed (elementary charges per m³).
        tau_n: SRH electron lifetime (s, > 0; inf: no SRH).
        tau_p: SRH hole lifetime (s, > 0; inf: no SRH).
        langevin: Langevin recombination gamma = q(mu_n+mu_p)/(eps0 eps_r) (organics).
        langevin_factor: Prefactor of the Langevin rate (dimensionless, >= 0).
        B_rad: Radiative coefficient (m³/s, >= 0); counted as light.
        outcoupling: Out-coupled fraction of the radiative photons (0..1).
        alpha_uv: UV absorption coefficient (1/m, >= 0).
        traps: Trap levels in this layer.
    """

    name: str
    thickness: float
    eps_r: float
    chi: float
    Eg: float
    Nc: float
    Nv: float
    mu_n: float
    mu_p: float
    N_D: float = 0.0
    N_A: float = 0.0
    N_fix: float = 0.0
    tau_n: float = _INF
    tau_p: float = _INF
    langevin: bool = False
    langevin_factor: float = 1.0
    B_rad: float = 0.0
    outcoupling: float = 0.0
    alpha_uv: float = 0.0
    traps: list[DDTrap] = field(default_factory=list)

    def __post_init__(self) -> None:
        pos = ("thickness", "eps_r", "Eg", "Nc", "Nv", "mu_n", "mu_p", "tau_n", "tau_p")
        for nm in pos:
            v = getattr(self, nm)
            if not (isinstance(v, (int, float)) and v > 0):
                raise ValueError(f"layer {self.name!r}: {nm} = {v!r}: must be > 0")
        for nm in ("N_D", "N_A", "B_rad", "alpha_uv", "langevin_factor"):
            v = getattr(self, nm)
            if not (isinstance(v, (int, float)) and v >= 0):
                raise ValueError(f"layer {self.name!r}: {nm} = {v!r}: must be >= 0")
        if not 0 <= self.outcoupling <= 1:
            raise ValueError(f"layer {self.name!r}: outcoupling = {self.outcoupling!r}: "
                             "must be in [0, 1]")


@dataclass
class DDContact:
    """A contact: ohmic (charge neutral, equilibrium) when ``workfunction`` is None.

    Attributes:
        workfunction: Metal work function (eV, > 0) or None for an ohmic contact.
    """

    workfunction: float | None = None

    def __post_init__(self) -> None:
        if self.workfunction is not None and not self.workfunction > 0:
            raise ValueError(f"contact workfunction = {self.workfunction!r}: must be > 0 (eV)")


@dataclass
class DDDevice:
    """A 1D layered device: layers bottom (x=0, biased contact) to top (grounded contact).

    Attributes:
        layers: Layers from x = 0 upward.
        left: Contact at x = 0 (the applied voltage V is put here).
        right: Contact at x = L (grounded).
        T: Temperature (K).
        uv_wavelength_nm: UV wavelength (nm) used to turn intensity into photon flux.
        uv_from: Side the UV enters from, ``'left'`` or ``'right'``.
    """

    layers: list[DDLayer]
    left: DDContact = field(default_factory=DDContact)
    right: DDContact = field(default_factory=DDContact)
    T: float = 300.0
    uv_wavelength_nm: float = 365.0
    uv_from: str = "left"

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("layers = []: a device needs at least one layer")
        if not self.T > 0:
            raise ValueError(f"T = {self.T!r}: must be > 0 (K)")
        if not self.uv_wavelength_nm > 0:
            raise ValueError(f"uv_wavelength_nm = {self.uv_wavelength_nm!r}: must be > 0")
        if self.uv_from not in ("left", "right"):
            raise ValueError(f"uv_from = {self.uv_from!r}: must be 'left' or 'right'")

    @property
    def thickness(self) -> float:
        """Total thickness (m)."""
        return float(sum(lay.thickness for lay in self.layers))

    @property
    def trap_list(self) -> list[tuple[int, DDTrap]]:
        """All traps as (layer index, trap); each is one occupancy unknown."""
        return [(i, t) for i, lay in enumerate(self.layers) for t in lay.traps]

    def default_scaling(self) -> Scaling:
        """A scaling with L0 = total thickness, N0 = max(Nc, Nv, |doping|), mu0 = max mobility."""
        n0 = max(max(lay.Nc, lay.Nv, lay.N_D, lay.N_A) for lay in self.layers)
        mu0 = max(max(lay.mu_n, lay.mu_p) for lay in self.layers)
        return Scaling(L0=self.thickness, N0=n0, mu0=mu0, T=self.T)

    def energy_reference(self) -> float:
        """Gauge energy E0 (eV): mean mid-gap depth, to keep exponents moderate."""
        return float(np.mean([lay.chi + 0.5 * lay.Eg for lay in self.layers]))


def layer_arrays(dev: DDDevice, sc: Scaling) -> dict[str, np.ndarray]:
    """Scaled per-layer parameter arrays (one entry per layer)."""
    vt = sc.Vt
    e0 = dev.energy_reference()
    lays = dev.layers
    out: dict[str, Any] = {}
    out["eps"] = np.array([lay.eps_r for lay in lays])
    out["thn"] = np.array([math.log(lay.Nc / sc.N0) + (lay.chi - e0) / vt for lay in lays])
    out["thp"] = np.array([math.log(lay.Nv / sc.N0) - (lay.chi + lay.Eg - e0) / vt for lay in lays])
    out["mun"] = np.array([lay.mu_n / sc.mu0 for lay in lays])
    out["mup"] = np.array([lay.mu_p / sc.mu0 for lay in lays])
    out["C"] = np.array([(lay.N_D - lay.N_A + lay.N_fix) / sc.N0 for lay in lays])
    srh = np.array([math.isfinite(lay.tau_n) and math.isfinite(lay.tau_p) for lay in lays])
    out["ksrh"] = srh.astype(float)
    pairs = list(zip(lays, srh, strict=True))
    out["taun"] = np.array([lay.tau_n / sc.t0 if s else 1.0 for lay, s in pairs])
    out["taup"] = np.array([lay.tau_p / sc.t0 if s else 1.0 for lay, s in pairs])
    gam = [lay.langevin_factor * Q * (lay.mu_n + lay.mu_p) / (EPS0 * lay.eps_r)
           if lay.langevin else 0.0 for lay in lays]
    out["gam"] = np.array(gam) * sc.N0 * sc.t0
    out["brad"] = np.array([lay.B_rad for lay in lays]) * sc.N0 * sc.t0
    out["alpha"] = np.array([lay.alpha_uv for lay in lays])  # 1/m (SI)
    out["eta"] = np.array([lay.outcoupling for lay in lays])
    return out


def trap_arrays(dev: DDDevice, sc: Scaling) -> list[dict[str, Any]]:
    """Scaled per-layer arrays of each trap (zero outside the trap's layer)."""
    vt = sc.Vt
    e0 = dev.energy_reference()
    nl = len(dev.layers)
    res = []
    for li, tr in dev.trap_list:
        lay = dev.layers[li]
        nt = np.zeros(nl)
        nt[li] = tr.density / sc.N0
        et_from_ec = tr.depth_eV if tr.kind == "electron" else lay.Eg - tr.depth_eV
        # n1, p1: band densities when the Fermi level sits at the trap level (scaled)
        thn = math.log(lay.Nc / sc.N0) + (lay.chi - e0) / vt
        thp = math.log(lay.Nv / sc.N0) - (lay.chi + lay.Eg - e0) / vt
        ln_n1 = math.log(lay.Nc / sc.N0) - et_from_ec / vt
        ln_p1 = math.log(lay.Nv / sc.N0) - (lay.Eg - et_from_ec) / vt
        del thn, thp
        cn = np.zeros(nl)
        cp = np.zeros(nl)
        cn[li] = tr.c_n * sc.N0 * sc.t0
        cp[li] = tr.c_p * sc.N0 * sc.t0
        n1 = np.zeros(nl)
        p1 = np.zeros(nl)
        n1[li] = math.exp(ln_n1)
        p1[li] = math.exp(ln_p1)
        so = np.zeros(nl)
        so[li] = tr.sigma_opt * sc.t0  # times the photon flux (SI) gives the scaled rate
        res.append({"layer": li, "kind": tr.kind, "Nt": nt, "cn": cn, "cp": cp, "n1": n1,
                    "p1": p1, "so": so, "optical": tr.sigma_opt > 0, "ln_n1": ln_n1,
                    "donor": 1.0 if tr.kind == "hole" else 0.0})
    return res


def sg_ratio(x):
    """UFL S(x) = sinh(x)/x, guarded at x = 0 (both branches safe)."""
    import ufl

    small = 1e-4
    xs = ufl.conditional(ufl.gt(abs(x), small), x, small)
    return ufl.conditional(ufl.gt(abs(x), small), ufl.sinh(xs) / xs, 1.0 + x * x / 6.0)


def build_forms(ctx: Any) -> dict[str, Any]:
    """UFL residual and observable forms of the scaled equations.

    ``ctx`` provides: ``u, u1, u2`` (Functions, components psi, phi_n, phi_p, f_k),
    DG0 coefficient Functions in ``ctx.coef`` (eps, thn, thp, mun, mup, C, ksrh, taun, taup,
    gam, brad, g_uv, eta_brad and per trap Nt_k, cn_k, cp_k, n1_k, p1_k, so_k), the P1 attenuation
    ``ctx.atten``, Constants ``a0, a1, a2`` (BDF weights divided by dt; zero in steady
    state), ``uvflux`` (photon flux, photons/(m² s)) and ``lam2``; ``ctx.traps`` the trap dicts.
    """
    import ufl

    c = ctx.coef
    msh = ctx.mesh
    dxm = ufl.Measure("dx", domain=msh, metadata={"quadrature_degree": 1})
    dxv = ufl.Measure("dx", domain=msh,
                      metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
    h = ufl.CellDiameter(msh)
    ntr = len(ctx.traps)
    u, u1, u2 = ctx.u, ctx.u1, ctx.u2
    v = ufl.TestFunction(ctx.V)

    def dens(w):
        return ufl.exp(c["thn"] + w[0] - w[1]), ufl.exp(c["thp"] - w[0] + w[2])

    psi, phn, php = u[0], u[1], u[2]
    n, p = dens(u)
    n1_, p1_ = dens(u1)
    n2_, p2_ = dens(u2)
    a0, a1, a2 = ctx.a0, ctx.a1, ctx.a2
    ni2 = ufl.exp(c["thn"] + c["thp"])
    ni = ufl.exp(0.5 * (c["thn"] + c["thp"]))
    np_ = n * p - ni2

    # recombination (scaled)
    r_srh = c["ksrh"] * np_ / (c["taup"] * (n + ni) + c["taun"] * (p + ni))
    r_lang = c["gam"] * np_
    r_rad = c["brad"] * np_
    gen = c["g_uv"] * ctx.atten * ctx.uvflux
    rn = r_srh + r_lang + r_rad - gen
    rp = r_srh + r_lang + r_rad - gen

    rho = p - n + c["C"]
    f_eqs = []
    for k, tr in enumerate(ctx.traps):
        f, f1, f2 = u[3 + k], u1[3 + k], u2[3 + k]
        Nt, cn, cp = c[f"Nt{k}"], c[f"cn{k}"], c[f"cp{k}"]
        n1t, p1t = c[f"n1{k}"], c[f"p1{k}"]
        cap_n = cn * (n * (1 - f) - n1t * f)
        cap_p = cp * (p * f - p1t * (1 - f))
        if tr.get("optical", False):
            # photo-emission of the trapped carrier: electron (f) to the conduction band, or
            # hole (1 - f) to the valence band, at sigma_opt * local photon flux
            e_opt = c[f"so{k}"] * ctx.atten * ctx.uvflux
            if tr["kind"] == "electron":
                cap_n = cap_n - e_opt * f
            else:
                cap_p = cap_p - e_opt * (1 - f)
        rn = rn + Nt * cap_n
        rp = rp + Nt * cap_p
        rho = rho + Nt * (tr["donor"] - f)
        dfdt = a0 * f + a1 * f1 + a2 * f2
        f_eqs.append((Nt * (dfdt - cap_n + cap_p) + c[f"treg{k}"] * f) * v[3 + k] * dxv)

    dndt = a0 * n + a1 * n1_ + a2 * n2_
    dpdt = a0 * p + a1 * p1_ + a2 * p2_

    dpsi = psi.dx(0)
    sb = sg_ratio(0.5 * h * dpsi)
    psim, phnm, phpm = psi, phn, php  # at the one midpoint quadrature point of dxm
    dn, dp = 0.5 * h * phn.dx(0), 0.5 * h * php.dx(0)
    # 2 exp(a) sinh(d) = exp(a + d) - exp(a - d), without cancellation at small d
    jn = -(2 * c["mun"] / h) * ufl.exp(c["thn"] + psim - phnm) * ufl.sinh(dn) / sb
    jp = -(2 * c["mup"] / h) * ufl.exp(c["thp"] - psim + phpm) * ufl.sinh(dp) / sb

    lam2 = ctx.lam2
    F_flux = (lam2 * c["eps"] * dpsi * v[0].dx(0) * dxm + jn * v[1].dx(0) * dxm
              - jp * v[2].dx(0) * dxm)
    # solver hook (2D cross-section): the flux terms of another dimension, same local terms
    flux_terms = getattr(ctx, "flux_terms", None)
    if flux_terms is not None:
        F_flux, jn, jp = flux_terms(ctx, v, dxm)
    # a vanishing regularisation keeps the continuity rows of an absent carrier (density
    # underflowing to 0) non-singular; it changes currents by < 1e-50 J0
    reg = 1e-50
    F = (F_flux - rho * v[0] * dxv
         + (dndt + rn + reg * (phn - u1[1])) * v[1] * dxv
         + (dpdt + rp + reg * (php - u1[2])) * v[2] * dxv)
    for fe in f_eqs:
        F = F + fe
    del ntr

    # observables (scaled integrals)
    light = c["eta_brad"] * np_ * dxv
    qt = {}
    for k, tr in enumerate(ctx.traps):
        qt[k] = c[f"Nt{k}"] * (tr["donor"] - u[3 + k]) * dxv
    return {"F": F, "light": light, "qtrap": qt, "n": n, "p": p, "jn": jn, "jp": jp}
