"""Finite-volume discretisation of the drift-diffusion model for :mod:`device_physics.fv1d`.

Owns the discretised device (:class:`FVDevice`: mesh, per-cell material arrays in scaled
units, trap unknowns, UV generation profile, contact values) and the residual/Jacobian
assembly of the coupled system in the unknowns ``u = psi / Vt``, ``a = phi_n / Vt``,
``b = phi_p / Vt`` at the nodes (interleaved ``[u_i, a_i, b_i]``) followed by the trap
occupancies ``f`` (fraction filled) of every trap level at every node holding it.

Physics (box method, nodes on every interface, material constant per cell):

* densities evaluated at the two ends of a cell with that cell's band parameters:
  ``n = Nc exp(u + chi - a)``, ``p = Nv exp(b - u - chi - Eg)`` (chi, Eg in Vt units), so
  quasi-Fermi potentials are continuous across interfaces and band offsets enter the fluxes;
* Scharfetter-Gummel fluxes ``Fn = mu_n Vt / h [n_R B(d) - n_L B(-d)]``,
  ``Fp = mu_p Vt / h [p_L B(d) - p_R B(-d)]``, ``d = u_R - u_L`` (``J = q (Fn + Fp)``);
* Poisson ``-(D_i - D_{i-1}) = Q_i`` with free, doping, fixed and trapped charge;
* recombination ``(k_L + B) (np - ni^2)`` (Langevin ``k_L = q (mu_n + mu_p) / eps``) plus SRH;
* traps (SRH-type, detailed balance): a hole trap level captures holes
  ``c (p (1 - f) - p1 f)``, ``p1 = Nv exp(-E_t / Vt)``, and its trapped holes recombine with
  free electrons ``c_r (n f - n1r (1 - f))``, ``n1r = Nc exp(-(Eg - E_t) / Vt)``; electron
  traps mirror this; under UV a trapped carrier is also emitted optically into its band at
  ``sigma_opt Phi_i`` (``Phi_i`` the Beer-Lambert photon flux at the trap's node), so the
  trap rate is ``c (own (1 - f) - x1 f) - sigma_opt Phi_i f``;
* UV generation by Beer-Lambert from the illuminated contact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from device_physics.grid import graded_mesh
from device_physics.stack import Stack
from device_physics.units import EPS0, Q, photon_energy_j, thermal_voltage


def bern(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bernoulli function B(x) = x / (exp(x) - 1) and its derivative, stable for all x."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-4
    xs = np.where(small, 1.0, np.clip(x, -700.0, 700.0))
    em1 = np.expm1(xs)
    b = np.where(small, 1.0 - x / 2.0 + x * x / 12.0, xs / em1)
    db = np.where(small, -0.5 + x / 6.0, (em1 - xs * (em1 + 1.0)) / (em1 * em1))
    big = x > 700.0
    b = np.where(big, 0.0, b)
    db = np.where(big, 0.0, db)
    return b, db


@dataclass
class TrapUnknowns:
    """Flattened trap levels x nodes (one unknown each)."""

    node: np.ndarray
    cell: np.ndarray
    end: np.ndarray  # 0: the node is the cell's left end, 1: right end
    T: np.ndarray  # trap sites in the node's box, m^-2
    hole: np.ndarray  # bool
    c: np.ndarray  # capture coefficient, m^3/s
    cr: np.ndarray  # recombination coefficient with the opposite carrier, m^3/s
    x1: np.ndarray  # emission density of own carrier, m^-3
    x1r: np.ndarray  # emission density of the opposite carrier, m^-3
    so: np.ndarray  # optical emission cross-section times the node's photon flux per W/m^2
    species: np.ndarray  # index into names
    names: list[str]

    @property
    def size(self) -> int:
        return len(self.node)


class FVDevice:
    """The discretised device: mesh, per-cell parameters, traps, generation and contacts."""

    def __init__(self, stack: Stack, nodes_per_layer: int | list[int] = 40,
                 ratio: float = 1.15, wavelength: float = 365e-9,
                 x: np.ndarray | None = None, layer: np.ndarray | None = None):
        self.stack = stack
        self.vt = thermal_voltage(stack.temperature)
        if x is None:
            x, layer = graded_mesh(stack, nodes_per_layer, ratio)
        assert layer is not None
        self.x = np.asarray(x, dtype=float)
        self.layer = np.asarray(layer, dtype=np.int64)
        self.N = len(self.x)
        self.h = np.diff(self.x)
        L = stack.layers
        g = lambda k: np.array([getattr(L[i], k) for i in self.layer], dtype=float)  # noqa: E731
        vt = self.vt
        self.eps = g("eps_r")
        self.chi = g("chi") / vt
        self.Eg = g("Eg") / vt
        self.Nc, self.Nv = g("Nc"), g("Nv")
        self.mun, self.mup = g("mu_n"), g("mu_p")
        self.dop = g("N_D") - g("N_A") + g("N_fix")
        self.ni2 = self.Nc * self.Nv * np.exp(-self.Eg)
        self.brad = g("B_rad")
        self.eta = g("eta_out")
        lang = np.array([L[i].langevin for i in self.layer])
        self.klang = np.where(lang, Q * (self.mun + self.mup) / (EPS0 * self.eps), 0.0)
        self.krec = self.klang + self.brad
        self.taun, self.taup = g("tau_n"), g("tau_p")
        self.srh = np.isfinite(self.taun) & np.isfinite(self.taup)
        self.kappa = EPS0 * vt / Q  # m^-1 per unit scaled potential
        self.n_reg = 1e-150
        """Density (m^-3) whose conductance regularises the quasi-Fermi potentials, see
        assemble(): keeps the Newton matrix regular where a density underflows."""
        self.kn = self.mun * vt / self.h
        self.kp = self.mup * vt / self.h
        self.delta_n = np.full(self.N - 1, self.n_reg)  # m^-2 s^-1 per Vt
        self.delta_p = np.full(self.N - 1, self.n_reg)
        elastance = np.concatenate([[0.0], np.cumsum(self.h / self.eps)])
        self.divider = 1.0 - elastance / elastance[-1]
        """Fraction of an anode bias step seen at each node right after the step."""
        self.set_wavelength(wavelength)
        self._build_traps()

    # ------------------------------------------------------------------ setup
    def set_wavelength(self, wavelength: float) -> None:
        """Beer-Lambert generation per unit irradiance at ``wavelength`` (m)."""
        self.wavelength = wavelength
        alpha = np.array([self.stack.layers[i].absorption(wavelength) for i in self.layer])
        order = np.arange(self.N - 1)
        if self.stack.uv_side == "cathode":
            order = order[::-1]
        absorbed = np.zeros(self.N - 1)
        flux = 1.0
        for c in order:
            frac = -np.expm1(-alpha[c] * self.h[c])
            absorbed[c] = flux * frac
            flux *= 1.0 - frac
        self.uv_transmitted = flux
        photons_per_w = 1.0 / photon_energy_j(wavelength)
        # photon flux at every node per unit irradiance (exp(-int alpha dx) from the lit side)
        od = np.concatenate([[0.0], np.cumsum(alpha * self.h)])
        if self.stack.uv_side == "cathode":
            od = od[-1] - od
        self.flux_node = np.exp(-od) * photons_per_w
        if hasattr(self, "traps"):
            self._set_trap_optics()
        gcell = absorbed * photons_per_w  # photons/(s m^2) per W/m^2 absorbed in cell
        self.gnode = np.zeros(self.N)
        self.gnode[:-1] += gcell / 2
        self.gnode[1:] += gcell / 2

    def _set_trap_optics(self) -> None:
        tr = self.traps
        tr.so = self._sigma * self.flux_node[tr.node]

    def _build_traps(self) -> None:
        node, cell, end, T, hole, c, cr, x1, x1r, spc, sig = ([] for _ in range(11))
        names: list[str] = []
        xs = self.x
        for li, la in enumerate(self.stack.layers):
            x_lo, x_hi = self.stack.interfaces[li], self.stack.interfaces[li + 1]
            for tr in la.traps:
                names.append(f"{la.name}:{tr.name}")
                sid = len(names) - 1
                if tr.location == "bulk":
                    s0, s1 = x_lo, x_hi
                elif tr.location == "lower_interface":
                    s0, s1 = x_lo, x_lo + tr.width
                else:
                    s0, s1 = x_hi - tr.width, x_hi
                nvol = tr.volume_density
                for i in range(self.N):
                    tot = 0.0
                    best: tuple[int, int] | None = None
                    for cc, e in ((i - 1, 1), (i, 0)):
                        if cc < 0 or cc >= self.N - 1 or self.layer[cc] != li:
                            continue
                        lo, hi = ((xs[i] - self.h[cc] / 2, xs[i]) if e == 1
                                  else (xs[i], xs[i] + self.h[cc] / 2))
                        ov = max(0.0, min(hi, s1) - max(lo, s0))
                        tot += nvol * ov
                        if best is None:
                            best = (cc, e)
                    if tot <= 0 or best is None:
                        continue
                    for dep, w in zip(tr.depths, tr.weights, strict=True):
                        d = dep / self.vt
                        egc = la.Eg / self.vt
                        node.append(i)
                        cell.append(best[0])
                        end.append(best[1])
                        T.append(tot * w)
                        hole.append(tr.carrier == "hole")
                        c.append(tr.capture)
                        cr.append(tr.recombination)
                        sig.append(tr.photoemission)
                        if tr.carrier == "hole":
                            x1.append(la.Nv * np.exp(-d))
                            x1r.append(la.Nc * np.exp(-(egc - d)))
                        else:
                            x1.append(la.Nc * np.exp(-d))
                            x1r.append(la.Nv * np.exp(-(egc - d)))
                        spc.append(sid)
        self.traps = TrapUnknowns(
            node=np.array(node, dtype=np.int64), cell=np.array(cell, dtype=np.int64),
            end=np.array(end, dtype=np.int64), T=np.array(T, dtype=float),
            hole=np.array(hole, dtype=bool), c=np.array(c, dtype=float),
            cr=np.array(cr, dtype=float), x1=np.array(x1, dtype=float),
            x1r=np.array(x1r, dtype=float), so=np.zeros(len(node)),
            species=np.array(spc, dtype=np.int64), names=names)
        self._sigma = np.array(sig, dtype=float)
        self._set_trap_optics()
        self.nvar = 3 * self.N + self.traps.size
        N = self.N
        self._not_dirichlet = np.ones(self.nvar, dtype=bool)
        self._not_dirichlet[[0, 1, 2, 3 * N - 3, 3 * N - 2, 3 * N - 1]] = False
        # banded ordering: per node [u, a, b, its trap levels]
        node_of = np.concatenate([np.repeat(np.arange(N), 3), self.traps.node])
        slot = np.concatenate([np.tile([0, 1, 2], N), 3 + np.arange(self.traps.size)])
        order = np.lexsort((slot, node_of))
        self.perm = np.empty(self.nvar, dtype=np.int64)
        self.perm[order] = np.arange(self.nvar)
        """New (banded) position of every unknown."""

    # ------------------------------------------------------------------ contacts
    def contact_values(self, v_anode: float) -> tuple[np.ndarray, np.ndarray]:
        """Dirichlet values (u, a, b) at the anode (node 0) and cathode (last node)."""
        out = []
        for contact, cidx, v in ((self.stack.anode, 0, v_anode),
                                 (self.stack.cathode, self.N - 2, 0.0)):
            phi = v / self.vt
            if contact.kind == "fermi_pinned":
                u = phi - contact.work_function / self.vt
            else:
                net = self.dop[cidx]
                ni = np.sqrt(self.ni2[cidx])
                if net >= 0:
                    n = net / 2 + np.sqrt(net * net / 4 + ni * ni)
                    u = phi + np.log(n / self.Nc[cidx]) - self.chi[cidx]
                else:
                    p = -net / 2 + np.sqrt(net * net / 4 + ni * ni)
                    u = phi - np.log(p / self.Nv[cidx]) - self.chi[cidx] - self.Eg[cidx]
            out.append(np.array([u, phi, phi]))
        return out[0], out[1]

    # ------------------------------------------------------------------ helpers
    def split(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(u, a, b, f) views of a state vector."""
        nn = 3 * self.N
        return z[0:nn:3], z[1:nn:3], z[2:nn:3], z[nn:]

    def cell_densities(self, u: np.ndarray, a: np.ndarray, b: np.ndarray):
        """n and p at the left and right end of every cell (cell material), m^-3."""
        uL, uR, aL, aR, bL, bR = u[:-1], u[1:], a[:-1], a[1:], b[:-1], b[1:]
        lim = 650.0  # exponent clip: keeps a wild Newton iterate finite
        nL = self.Nc * np.exp(np.minimum(uL + self.chi - aL, lim))
        nR = self.Nc * np.exp(np.minimum(uR + self.chi - aR, lim))
        pL = self.Nv * np.exp(np.minimum(bL - uL - self.chi - self.Eg, lim))
        pR = self.Nv * np.exp(np.minimum(bR - uR - self.chi - self.Eg, lim))
        return nL, nR, pL, pR

    def node_densities(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """n, p per node (right cell's material; left cell for the last node), m^-3."""
        u, a, b, _ = self.split(z)
        nL, nR, pL, pR = self.cell_densities(u, a, b)
        return np.append(nL, nR[-1]), np.append(pL, pR[-1])

    def box(self) -> np.ndarray:
        """Box (control-volume) widths of the nodes, m."""
        w = np.zeros(self.N)
        w[:-1] += self.h / 2
        w[1:] += self.h / 2
        return w

    def storage(self, z: np.ndarray) -> np.ndarray:
        """Time-differentiated quantities: [N_i, P_i] (m^-2) per node, f per trap, D per cell.

        Returns one vector ``[N (N), P (N), f (ntrap), D (N-1)]``; ``D = kappa eps du/dx``
        (the scaled displacement field, m^-2) gives the displacement current.
        """
        u, a, b, f = self.split(z)
        nL, nR, pL, pR = self.cell_densities(u, a, b)
        hh = self.h / 2
        Nn = np.zeros(self.N)
        Pp = np.zeros(self.N)
        Nn[:-1] += hh * nL
        Nn[1:] += hh * nR
        Pp[:-1] += hh * pL
        Pp[1:] += hh * pR
        D = self.kappa * self.eps * np.diff(u) / self.h
        return np.concatenate([Nn, Pp, f, D])

    # ------------------------------------------------------------------ assembly
    def assemble(self, z: np.ndarray, v_anode: float, uv: float, c0: float,
                 hist: np.ndarray | None, jac: bool = True, coo: bool = False):
        """Residual and Jacobian of the discrete system.

        Args:
            z: State vector.
            v_anode: Anode voltage, V.
            uv: UV irradiance, W/m^2.
            c0: ``alpha_0 / dt`` of the BDF formula (0 for steady state), 1/s.
            hist: ``sum_k alpha_k S(z_{n-k}) / dt`` of the history (storage layout), or None.
            jac: Also build the Jacobian.
            coo: Return the Jacobian as ``(rows, cols, values)`` (duplicates to be summed).

        Returns:
            ``(F, J)`` with J a CSR matrix (None if ``jac`` is False).
        """
        N = self.N
        u, a, b, f = self.split(z)
        nL, nR, pL, pR = self.cell_densities(u, a, b)
        d = np.diff(u)
        Bp, dBp = bern(d)
        Bm, dBm = bern(-d)
        kn, kp = self.kn, self.kp
        Fn = kn * (nR * Bp - nL * Bm)
        Fp = kp * (pL * Bp - pR * Bm)
        D = self.kappa * self.eps * d / self.h
        hh = self.h / 2
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []

        def add(r: np.ndarray, c: np.ndarray, v: np.ndarray) -> None:
            rows.append(np.asarray(r))
            cols.append(np.asarray(c))
            vals.append(np.asarray(v, dtype=float))

        iu = lambda i: 3 * i  # noqa: E731
        ia = lambda i: 3 * i + 1  # noqa: E731
        ib = lambda i: 3 * i + 2  # noqa: E731
        cl = np.arange(N - 1)
        cr_ = cl + 1

        F = np.zeros(self.nvar)
        # ---- Poisson: F0_i = -(D_i - D_{i-1}) - Q_i
        F0 = np.zeros(N)
        F0[:-1] -= D
        F0[1:] += D
        kd = self.kappa * self.eps / self.h
        # d(-D_c)/du at row c (left node): -(kd)(u_R - u_L)' ; row c+1 gets +D_c
        if jac:
            add(iu(cl), iu(cl), kd)
            add(iu(cl), iu(cr_), -kd)
            add(iu(cr_), iu(cl), -kd)
            add(iu(cr_), iu(cr_), kd)
        # charge from half cells: Q += hh (p - n + dop)
        qL = hh * (pL - nL + self.dop)
        qR = hh * (pR - nR + self.dop)
        F0[:-1] -= qL
        F0[1:] -= qR
        if jac:
            # dQ/du = hh (-p - n); dQ/da = hh n; dQ/db = hh p ; F0 = -Q
            add(iu(cl), iu(cl), hh * (pL + nL))
            add(iu(cl), ia(cl), -hh * nL)
            add(iu(cl), ib(cl), -hh * pL)
            add(iu(cr_), iu(cr_), hh * (pR + nR))
            add(iu(cr_), ia(cr_), -hh * nR)
            add(iu(cr_), ib(cr_), -hh * pR)

        # ---- continuity: fluxes
        F1 = np.zeros(N)  # electrons: ... - (Fn_i - Fn_{i-1})
        F2 = np.zeros(N)  # holes: ... + (Fp_i - Fp_{i-1})
        F1[:-1] -= Fn
        F1[1:] += Fn
        F2[:-1] += Fp
        F2[1:] -= Fp
        if jac:
            dFn_duL = kn * (-nR * dBp - nL * Bm - nL * dBm)
            dFn_duR = kn * (nR * Bp + nR * dBp + nL * dBm)
            dFn_daL = kn * nL * Bm
            dFn_daR = -kn * nR * Bp
            dFp_duL = kp * (-pL * (Bp + dBp) - pR * dBm)
            dFp_duR = kp * (pL * dBp + pR * Bm + pR * dBm)
            dFp_dbL = kp * pL * Bp
            dFp_dbR = -kp * pR * Bm
            for sgn, r in ((-1.0, cl), (1.0, cr_)):
                add(ia(r), iu(cl), sgn * dFn_duL)
                add(ia(r), iu(cr_), sgn * dFn_duR)
                add(ia(r), ia(cl), sgn * dFn_daL)
                add(ia(r), ia(cr_), sgn * dFn_daR)
                add(ib(r), iu(cl), -sgn * dFp_duL)
                add(ib(r), iu(cr_), -sgn * dFp_duR)
                add(ib(r), ib(cl), -sgn * dFp_dbL)
                add(ib(r), ib(cr_), -sgn * dFp_dbR)

        # ---- regularisation: the conductance of a negligible density n_reg for each
        # quasi-Fermi potential keeps it defined where n or p are vanishingly small
        F1[:-1] -= self.delta_n * (a[1:] - a[:-1])
        F1[1:] += self.delta_n * (a[1:] - a[:-1])
        F2[:-1] -= self.delta_p * (b[1:] - b[:-1])
        F2[1:] += self.delta_p * (b[1:] - b[:-1])
        if jac:
            for rowf, dl in ((ia, self.delta_n), (ib, self.delta_p)):
                add(rowf(cl), rowf(cl), dl)
                add(rowf(cl), rowf(cr_), -dl)
                add(rowf(cr_), rowf(cr_), dl)
                add(rowf(cr_), rowf(cl), -dl)

        # ---- recombination (per half cell) and generation
        for nodes, n_, p_ in ((cl, nL, pL), (cr_, nR, pR)):
            ex = np.exp(np.minimum(b[nodes] - a[nodes], 650.0))
            R = self.krec * self.ni2 * (ex - 1.0)
            dRa = -self.krec * self.ni2 * ex
            dRb = self.krec * self.ni2 * ex
            dRu = np.zeros_like(R)
            if self.srh.any():
                m = self.srh
                ni = np.sqrt(self.ni2)
                tn = np.where(m, self.taun, 1.0)
                tp = np.where(m, self.taup, 1.0)
                num = self.ni2 * (ex - 1.0)
                den = tp * (n_ + ni) + tn * (p_ + ni)
                rs = np.where(m, num / den, 0.0)
                dden_u = tp * n_ - tn * p_
                dden_a = -tp * n_
                dden_b = tn * p_
                R = R + rs
                dRu = dRu + np.where(m, -rs * dden_u / den, 0.0)
                dRa = dRa + np.where(m, (-self.ni2 * ex - rs * dden_a) / den, 0.0)
                dRb = dRb + np.where(m, (self.ni2 * ex - rs * dden_b) / den, 0.0)
            np.add.at(F1, nodes, hh * R)
            np.add.at(F2, nodes, hh * R)
            if jac:
                for rowf in (ia, ib):
                    add(rowf(nodes), iu(nodes), hh * dRu)
                    add(rowf(nodes), ia(nodes), hh * dRa)
                    add(rowf(nodes), ib(nodes), hh * dRb)
        if uv > 0:
            F1 -= self.gnode * uv
            F2 -= self.gnode * uv

        # ---- traps
        tr = self.traps
        Ff = np.zeros(tr.size)
        if tr.size:
            i = tr.node
            cc = tr.cell
            nloc = np.where(tr.end == 0, nL[cc], nR[cc])
            ploc = np.where(tr.end == 0, pL[cc], pR[cc])
            own = np.where(tr.hole, ploc, nloc)
            oth = np.where(tr.hole, nloc, ploc)
            e_opt = tr.so * uv  # optical emission rate of the trapped carrier, 1/s
            r_cap = tr.c * (own * (1 - f) - tr.x1 * f) - e_opt * f
            r_rec = tr.cr * (oth * f - tr.x1r * (1 - f))
            Ff = -(r_cap - r_rec)
            sgn = np.where(tr.hole, 1.0, -1.0)
            np.add.at(F0, i, -sgn * tr.T * f)
            # own continuity loses captured carriers; other loses recombined ones
            cap_e = np.where(tr.hole, 0.0, tr.T * r_cap) + np.where(tr.hole, tr.T * r_rec, 0.0)
            cap_h = np.where(tr.hole, tr.T * r_cap, 0.0) + np.where(tr.hole, 0.0, tr.T * r_rec)
            np.add.at(F1, i, cap_e)
            np.add.at(F2, i, cap_h)
            if jac:
                it = 3 * N + np.arange(tr.size)
                # derivatives of own/oth wrt u, a, b at node i
                dn_du, dn_da = nloc, -nloc
                dp_du, dp_db = -ploc, ploc
                down_du = np.where(tr.hole, dp_du, dn_du)
                doth_du = np.where(tr.hole, dn_du, dp_du)
                dcap_du = tr.c * (1 - f) * down_du
                drec_du = tr.cr * f * doth_du
                # own carrier var (b for holes, a for electrons), oth var
                own_var = np.where(tr.hole, ib(i), ia(i))
                oth_var = np.where(tr.hole, ia(i), ib(i))
                down_dv = np.where(tr.hole, dp_db, dn_da)
                doth_dv = np.where(tr.hole, dn_da, dp_db)
                dcap_dvo = tr.c * (1 - f) * down_dv
                drec_dvr = tr.cr * f * doth_dv
                dcap_df = -tr.c * (own + tr.x1) - e_opt
                drec_df = tr.cr * (oth + tr.x1r)
                # trap rows
                add(it, iu(i), -(dcap_du - drec_du))
                add(it, own_var, -dcap_dvo)
                add(it, oth_var, drec_dvr)
                add(it, it, -(dcap_df - drec_df))
                # Poisson
                add(iu(i), it, -sgn * tr.T)
                # continuity rows: own gets T r_cap, other gets T r_rec
                own_row = np.where(tr.hole, ib(i), ia(i))
                oth_row = np.where(tr.hole, ia(i), ib(i))
                add(own_row, iu(i), tr.T * dcap_du)
                add(own_row, own_var, tr.T * dcap_dvo)
                add(own_row, it, tr.T * dcap_df)
                add(oth_row, iu(i), tr.T * drec_du)
                add(oth_row, oth_var, tr.T * drec_dvr)
                add(oth_row, it, tr.T * drec_df)

        # ---- time derivatives
        if c0 > 0 and hist is not None:
            ns = 2 * N + tr.size
            St = c0 * self.storage(z)[:ns] + hist[:ns]
            F1 += St[:N]
            F2 += St[N:2 * N]
            Ff += St[2 * N:2 * N + tr.size]
            if jac:
                add(ia(cl), iu(cl), c0 * hh * nL)
                add(ia(cl), ia(cl), -c0 * hh * nL)
                add(ia(cr_), iu(cr_), c0 * hh * nR)
                add(ia(cr_), ia(cr_), -c0 * hh * nR)
                add(ib(cl), iu(cl), -c0 * hh * pL)
                add(ib(cl), ib(cl), c0 * hh * pL)
                add(ib(cr_), iu(cr_), -c0 * hh * pR)
                add(ib(cr_), ib(cr_), c0 * hh * pR)
                if tr.size:
                    it = 3 * N + np.arange(tr.size)
                    add(it, it, np.full(tr.size, c0))

        F[0:3 * N:3] = F0
        F[1:3 * N:3] = F1
        F[2:3 * N:3] = F2
        F[3 * N:] = Ff
        # ---- Dirichlet contacts
        ca, cc_ = self.contact_values(v_anode)
        dirichlet = np.array([0, 1, 2, 3 * (N - 1), 3 * (N - 1) + 1, 3 * (N - 1) + 2])
        F[dirichlet] = z[dirichlet] - np.concatenate([ca, cc_])
        Jm = None
        if jac:
            r = np.concatenate(rows)
            c = np.concatenate(cols)
            v = np.concatenate(vals)
            keep = self._not_dirichlet[r]
            r = np.concatenate([r[keep], dirichlet])
            c = np.concatenate([c[keep], dirichlet])
            v = np.concatenate([v[keep], np.ones(6)])
            if coo:
                return F, (r, c, v)
            Jm = sp.csr_matrix((v, (r, c)), shape=(self.nvar, self.nvar))
        return F, Jm

    def trap_equilibrium(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Occupancy of every trap unknown in equilibrium with the local densities of ``z``
        (a = b = 0) and its derivative with respect to the node's u."""
        tr = self.traps
        u, a, b, _ = self.split(z)
        nL, nR, pL, pR = self.cell_densities(u, a, b)
        cc = tr.cell
        nloc = np.where(tr.end == 0, nL[cc], nR[cc])
        ploc = np.where(tr.end == 0, pL[cc], pR[cc])
        own = np.where(tr.hole, ploc, nloc)
        down = np.where(tr.hole, -ploc, nloc)
        f = own / (own + tr.x1)
        df = down * tr.x1 / (own + tr.x1) ** 2
        return f, df

    # ------------------------------------------------------------------ observables
    def currents(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Electron and hole conduction current densities per cell, A/m^2 (+x = anode->cathode)."""
        u, a, b, _ = self.split(z)
        nL, nR, pL, pR = self.cell_densities(u, a, b)
        d = np.diff(u)
        Bp, _ = bern(d)
        Bm, _ = bern(-d)
        return Q * self.kn * (nR * Bp - nL * Bm), Q * self.kp * (pL * Bp - pR * Bm)

    def current_floor(self, z: np.ndarray) -> np.ndarray:
        """Rounding floor of the conduction current of every cell, A/m^2.

        The SG flux is a difference of two terms of size q k n; with potentials of size |z|
        carried to machine precision the difference is uncertain by ~ eps |z| q k (n + p).
        """
        u, a, b, _ = self.split(z)
        nL, nR, pL, pR = self.cell_densities(u, a, b)
        zmax = 1.0 + np.max(np.abs(np.concatenate([u, a, b])))
        g = Q * (self.kn * (nL + nR) + self.kp * (pL + pR))
        return 4 * np.finfo(float).eps * zmax * g

    def current_weights(self, z: np.ndarray) -> np.ndarray:
        """Weights of the cells for the terminal current: 1 / (rounding floor)^2, normalised.

        The conduction current of a cell is a difference of quasi-Fermi potentials times its
        conductance, so its rounding floor grows with the conductance; poorly conducting cells
        give the most precise terminal current.
        """
        u, a, b, _ = self.split(z)
        nL, nR, pL, pR = self.cell_densities(u, a, b)
        g = Q * (self.kn * (nL + nR) + self.kp * (pL + pR)) + 1e-300
        g = g + self.kappa * Q * self.eps / self.h * 1e-30  # displacement-only cells
        w = 1.0 / (g / g.min()) ** 2
        return w / w.sum()

    def light(self, z: np.ndarray) -> float:
        """Out-coupled EL photon flux eta_out * integral B (np - ni^2) dx, photons/(s m^2)."""
        _, a, b, _ = self.split(z)
        ex_l = np.exp(b[:-1] - a[:-1]) - 1.0
        ex_r = np.exp(b[1:] - a[1:]) - 1.0
        w = self.eta * self.brad * self.ni2 * self.h / 2
        return float(np.sum(w * (ex_l + ex_r)))

    def trapped_charge(self, z: np.ndarray) -> tuple[float, float]:
        """Trapped hole and electron charge per area, C/m^2 (both positive numbers)."""
        f = self.split(z)[3]
        tr = self.traps
        qt = Q * tr.T * f
        return float(qt[tr.hole].sum()), float(qt[~tr.hole].sum())

    def trapped_profiles(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Trapped hole and electron densities per node (box average), m^-3."""
        f = self.split(z)[3]
        tr = self.traps
        pt = np.zeros(self.N)
        nt = np.zeros(self.N)
        np.add.at(pt, tr.node[tr.hole], (tr.T * f)[tr.hole])
        np.add.at(nt, tr.node[~tr.hole], (tr.T * f)[~tr.hole])
        w = self.box()
        return pt / w, nt / w

    def where(self, var_index: int) -> str:
        """Human-readable location of an unknown (for error messages)."""
        if var_index >= 3 * self.N:
            m = var_index - 3 * self.N
            i = int(self.traps.node[m])
            what = f"trap {self.traps.names[self.traps.species[m]]}"
        else:
            i = var_index // 3
            what = ("psi", "phi_n", "phi_p")[var_index % 3]
        li = int(self.layer[min(i, self.N - 2)])
        return (f"{what} at node {i}, x = {self.x[i] * 1e9:.3f} nm "
                f"(layer {self.stack.layers[li].name!r})")
