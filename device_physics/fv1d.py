"""Independent 1D finite-volume Scharfetter-Gummel drift-diffusion solver (no dolfinx).

Cross-checks the dolfinx solver and runs the fast mechanism studies. The discretisation lives
in :mod:`device_physics.fv1d_model`; this module owns the nonlinear and time integration:

* damped Newton (log-damped updates of the scaled potentials larger than one thermal voltage,
  trap occupancies clipped to [0, 1]) with a banded LU per iteration; its iterates keep every
  carrier density at or above :data:`DENSITY_FLOOR` (so a negligible carrier's quasi-Fermi
  potential cannot run away to an underflowed density that no later step can raise), and an
  iterate is accepted only when, besides a small update, its contact currents agree
  (:attr:`FV1D.current_rtol`) or it is at its rounding level;
* steady states with bias continuation and step halving (:meth:`FV1D.steady`);
* transients (:meth:`FV1D.run`) with BDF1 after every waveform jump and variable-step BDF2
  in between, local error control on the scaled potentials, log-densities (weighted by
  density) and trap occupancies, steps landing exactly on every protocol edge; the first step
  after the UV is switched on starts Newton from the carriers it generates
  (:meth:`FV1D.photo_predictor`: holes in ZnO and the QDs underflow to 0 in the dark);
* terminal current = conduction + displacement, evaluated at both contacts, plus the stack's
  shunt ``shunt_conductance * V`` (a charge-independent, non-emitting parallel leakage path,
  added to ``J``, ``J_anode``, ``J_cathode`` and ``J_conduction``; it does not enter the
  drift-diffusion equations, so the state and the light do not depend on it);
* a failure raises :class:`SolverError` naming the time, bias and where Newton failed; the
  trace computed so far is kept on the exception (``exc.trace``) and written by
  :func:`run_to_h5`.

Output follows the data contract of ``docs/architecture.md`` through the shared writer
``device_physics.output.write_device_h5`` (:func:`write_h5`).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg import solve_banded

from device_physics.fv1d_model import FVDevice
from device_physics.protocols import Protocol
from device_physics.stack import Stack
from device_physics.units import EPS0, Q

log = logging.getLogger(__name__)


class SolverError(RuntimeError):
    """Newton or time stepping failed; says when, at which bias and where."""

    def __init__(self, msg: str, trace: Trace | None = None):
        super().__init__(msg)
        self.trace = trace


def _density_step_linear(dln: np.ndarray) -> np.ndarray:
    """Applied change of ln(density), linear in the density: n <- n (1 + dln), at most 1000x
    down and 1e8x up per iteration."""
    return np.log(np.clip(1.0 + dln, 1e-3, 1e8))


def _damp(y: np.ndarray) -> np.ndarray:
    """Logarithmic damping of updates larger than 1 (thermal voltages): 1 + ln|y|."""
    out = y.copy()
    big = np.abs(y) > 1.0
    out[big] = np.sign(y[big]) * (1.0 + np.log(np.abs(y[big])))
    return out


def _density_step(dln: np.ndarray) -> np.ndarray:
    """Applied change of ln(density) for Newton's linearised change ``dln`` (as the dolfinx
    solver's, :func:`device_physics.solver._density_step`).

    A decrease below half is applied linearly in the density (n <- n (1 + dln), the exact
    step of one exponential; at most 1e12x down), an increase beyond one thermal voltage is
    log-damped (1 + ln dln) and capped at :data:`MAX_DENSITY_RISE`, small changes are
    Newton's own.
    """
    out = np.minimum(_damp(dln), MAX_DENSITY_RISE)
    dec = dln < -0.5
    out[dec] = np.log(np.maximum(1.0 + dln[dec], 1e-12))
    return out


#: Largest rise of ln(density) per Newton iteration (1e8x). Rows of an absent carrier (holes
#: in the QDs at 0 V, density ~1e-77 m^-3) carry a thermal generation term their tiny
#: Jacobian cannot balance: Newton asks for rises of e^100 and more, which, log-damped only,
#: turn a negligible density into an enormous one within two iterations.
MAX_DENSITY_RISE = float(np.log(1e8))


#: Default :attr:`FV1D.density_floor`, m^-3: physically zero (one carrier in 1e30 m^3; a
#: carrier at this density carries ~1e-60 A/m^2), yet within 125 thermal voltages of every
#: density that matters, so Newton can always bring a carrier back when the bias needs it.
DENSITY_FLOOR = 1e-30


class NewtonFailure(Exception):
    """Internal: Newton did not converge (carries the worst unknown)."""

    def __init__(self, worst: int, its: int, norm: float):
        super().__init__(f"worst {worst}")
        self.worst, self.its, self.norm = worst, its, norm


@dataclass
class Trace:
    """Time trace and profile snapshots of a run (SI units)."""

    t: list[float] = field(default_factory=list)
    V: list[float] = field(default_factory=list)
    uv: list[float] = field(default_factory=list)
    J: list[float] = field(default_factory=list)
    J_anode: list[float] = field(default_factory=list)
    J_cathode: list[float] = field(default_factory=list)
    J_conduction: list[float] = field(default_factory=list)
    L: list[float] = field(default_factory=list)
    Qt_p: list[float] = field(default_factory=list)
    Qt_n: list[float] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=lambda: {
        "steps": 0, "rejected": 0, "newton_its": 0, "newton_failures": 0})

    def arrays(self) -> dict[str, np.ndarray]:
        """The trace as numpy arrays."""
        keys = ("t", "V", "uv", "J", "J_anode", "J_cathode", "J_conduction", "L", "Qt_p", "Qt_n")
        return {k: np.asarray(getattr(self, k), dtype=float) for k in keys}


class FV1D:
    """Finite-volume drift-diffusion solver of one stack.

    Args:
        stack: The device.
        nodes_per_layer: Cells per layer of the graded mesh.
        ratio: Grading ratio of neighbouring cells.
        wavelength: UV wavelength, m.
        rtol: Local error tolerance of the time stepper (scaled units, see module doc).
        dt_edge: First step after a waveform jump, s.
        dt_max: Largest time step, s.
    """

    def __init__(self, stack: Stack, nodes_per_layer: int | list[int] = 40, ratio: float = 1.15,
                 wavelength: float = 365e-9, rtol: float = 1e-3, dt_edge: float = 1e-9,
                 dt_max: float = 1.0, x: np.ndarray | None = None,
                 layer: np.ndarray | None = None):
        if not 0 < rtol < 1:
            raise ValueError(f"rtol = {rtol}: must be in (0, 1)")
        if not 0 < dt_edge <= dt_max:
            raise ValueError(f"dt_edge = {dt_edge}, dt_max = {dt_max}: need 0 < dt_edge <= dt_max")
        self.dev = FVDevice(stack, nodes_per_layer, ratio, wavelength, x=x, layer=layer)
        self.shunt_conductance = float(getattr(stack, "shunt_conductance", 0.0))
        """A/(m^2 V): the stack's shunt, added as ``G v`` to the terminal currents only."""
        if not (math.isfinite(self.shunt_conductance) and self.shunt_conductance >= 0):
            raise ValueError(f"shunt_conductance = {self.shunt_conductance!r}: must be a "
                             "finite value >= 0 (A/(m2*V))")
        self.rtol, self.dt_edge, self.dt_max = rtol, dt_edge, dt_max
        self.max_wall_s = 0.0
        """Wall-time limit of :meth:`run` (s; 0: none): past it a :class:`SolverError` keeps
        the trace computed so far."""
        self.newton_tol = 1e-11
        self.newton_tol_transient = 1e-6
        self.n_floor = 1e12  # m^-3 (1e6 cm^-3)
        self.max_newton = 40
        self.debug_newton = False
        self.n_absent = 0.0
        self.lm_shift = 0.0
        """Density (m^-3) below which a carrier is absent: its quasi-Fermi potential is held
        by Newton where it is absent at the node and both neighbours (:meth:`_absent`); 0
        solves every row."""
        self.qf_margin = np.inf
        self.current_rtol = 1e-8
        """Newton accepts an iterate only when, besides a small update, its contact currents
        (conduction + displacement) agree to this fraction of the larger (at least 1 A/m^2),
        or its update has reached :attr:`rounding_dx` (:meth:`_current_residual_ok`); 0
        turns the test off."""
        self.rounding_dx = 1e-9
        """Weighted Newton update (thermal voltages) below which an update that no longer
        shrinks 3x per iteration marks the rounding level: accepted whatever its contact
        currents."""
        self.density_floor = DENSITY_FLOOR
        """m^-3: Newton iterates keep every carrier density at or above this at each node (in
        the node's denser adjacent material) by bounding its quasi-Fermi potential; 0 turns
        the bound off. See :data:`DENSITY_FLOOR`."""
        self.log_density_step = False
        self.res_accept_dx = 1e-3
        """Quasi-Fermi potentials stay within the contact levels +- qf_margin (thermal
        voltages; 200 Vt = 5.2 V at 300 K, as the dolfinx solver's ``phi_margin``)."""
        self.retry_sanitized = False
        """Retry a failed time step once from the sanitised guess (:meth:`sanitize`) before
        cutting the step. Off by default: it lets stiff stacks (electrons crossing the PVP)
        run through, but on the interface-trap N-LEM stack (PVP levels 2.0 / 5.5 eV) it
        changed the accepted trajectory and the contact currents then disagreed at pulse edges
        (measured: 31x at one edge), so runs that check current conservation keep it off."""
        self.robust_retry = False
        """Retry a failed time step with the edge safeguards (:meth:`_robust_newton`) before
        cutting the step. Needed by the calibrated stack at 20 cells/layer (its first falling
        pulse edge fails without); off by default because on the interface-trap stack at 6 cells
        its accepted states broke current conservation after pulse edges (measured 4.4
        relative), so runs that check conservation keep it off."""
        self.robust_after_cuts = 0
        """The robust retry is tried only once the step has been cut this many times in a row
        after Newton failures. 0 (default): at every failure. Plain step cuts would be cheaper
        where they suffice (5 pulses at 6 graded cells: 32 s plain, 74 s with the retry), but
        with 2 the run failed at the second rising edge (the retry's accepted states differ
        from the plain ones, and the run went another way), so the validated setting is 0."""
        self.robust_qf_margin = 200.0
        self.robust_n_absent = 1e-10
        self.absent_j_tol = 1e-12
        """Largest residual (A/m^2 through q) of a held row, see :meth:`_absent`."""
        self.stats = {"steps": 0, "rejected": 0, "newton_its": 0, "newton_failures": 0}
        self._band: tuple[int, int] | None = None
        self.z: np.ndarray = self.initial_guess(0.0)

    # ----------------------------------------------------------------- Newton
    def initial_guess(self, v: float) -> np.ndarray:
        """Local-neutrality (doped cells) / linear (undoped) potential, flat quasi-Fermi levels."""
        d = self.dev
        ca, cc = d.contact_values(v)
        x = d.x / d.x[-1]
        u = ca[0] + (cc[0] - ca[0]) * x
        phi = ca[1] + (cc[1] - ca[1]) * x
        for i in range(d.N):
            c = min(i, d.N - 2)
            net = d.dop[c]
            ni = np.sqrt(d.ni2[c])
            if abs(net) > 10 * ni:
                if net > 0:
                    u[i] = phi[i] + np.log(net / d.Nc[c]) - d.chi[c]
                else:
                    u[i] = phi[i] - np.log(-net / d.Nv[c]) - d.chi[c] - d.Eg[c]
        z = np.zeros(d.nvar)
        z[0:3 * d.N:3] = u
        z[1:3 * d.N:3] = phi
        z[2:3 * d.N:3] = phi
        return z

    def newton(self, z0: np.ndarray, v: float, uv: float, c0: float = 0.0,
               hist: np.ndarray | None = None, max_its: int | None = None,
               tol: float | None = None, floor: float = 1.0) -> np.ndarray:
        """Solve the discrete system from ``z0``; raises :class:`NewtonFailure`.

        ``tol`` bounds the last update (scaled units); quasi-Fermi updates are weighted by
        n / (n + floor) so that potentials of negligible densities do not block convergence.
        """
        tol = self.newton_tol if tol is None else tol
        d = self.dev
        z = z0.copy()
        nn = 3 * d.N
        ca, cc = d.contact_values(v)
        jump = ca[1] - z[1]
        if abs(jump) > 1e-3:
            # bias change: predictor = instantaneous dielectric response (carriers frozen, all
            # potentials shifted by the capacitive divider profile)
            z[:nn] += np.repeat(jump * d.divider, 3)
        z[0:3], z[nn - 3:nn] = ca, cc  # contacts take their new values at once
        # quasi-Fermi potentials stay within the contact levels +- qf_margin (as in the dolfinx
        # solver): the potential of a carrier that is absent (holes in the QDs at 0 V) is not
        # determined by its equation (its density underflows, the row is singular) and would
        # otherwise drift by thousands of thermal voltages from step to step until a step's
        # residual is out of reach (seen: the first falling pulse edge at 20 cells/layer)
        qf_lo = min(ca[1], cc[1]) - self.qf_margin
        qf_hi = max(ca[1], cc[1]) + self.qf_margin
        z[1:nn:3] = np.clip(z[1:nn:3], qf_lo, qf_hi)
        z[2:nn:3] = np.clip(z[2:nn:3], qf_lo, qf_hi)
        self._floor_densities(z)
        max_its = max_its or self.max_newton
        norm = prev_norm = np.inf
        worst = 0
        for it in range(1, max_its + 1):
            F, (r, c, vals) = d.assemble(z, v, uv, c0, hist, coo=True)
            if not np.all(np.isfinite(F)):
                raise NewtonFailure(int(np.argmax(~np.isfinite(F))), it, np.inf)
            # column scaling of the trap occupancies by their distance to 0 or 1 (occupancies
            # of 1e-30 are common), then row equilibration, then a banded LU
            cs = np.ones(d.nvar)
            if d.traps.size:
                f = z[nn:]
                cs[nn:] = np.maximum(np.minimum(f, 1.0 - f), 1e-200)
            vals = vals * cs[c]
            if self.lm_shift > 0:
                # residual-proportional diagonal shift of the continuity rows (Levenberg-
                # Marquardt-like; the fixed point F = 0 is unchanged and the shift vanishes
                # with F, so convergence stays quadratic): the row of an absent carrier (holes
                # in the QDs at 0 V, ~1e-77 m^-3) carries a thermal generation its ~1e-70
                # Jacobian cannot balance, and its raw Newton update of e^100 thermal voltages
                # poisons the whole solve; shifted, it moves by at most ~1 per iteration
                ia = np.arange(1, nn, 3)
                ib = np.arange(2, nn, 3)
                r = np.concatenate([r, ia, ib])
                c = np.concatenate([c, ia, ib])
                vals = np.concatenate([vals, -self.lm_shift * np.abs(F[ia]),
                                       self.lm_shift * np.abs(F[ib])])
            F = F.copy()
            if self.n_absent > 0:
                # held: absent, and its row's residual (a carrier flux, A/m^2 through q) is
                # negligible, so holding it cannot break current conservation
                frozen = self._absent(z) & (Q * np.abs(F) < self.absent_j_tol)
                if frozen.any():
                    # held quasi-Fermi potentials: identity rows, zero update
                    keep = ~frozen[r]
                    fi = np.nonzero(frozen)[0]
                    r = np.concatenate([r[keep], fi])
                    c = np.concatenate([c[keep], fi])
                    vals = np.concatenate([vals[keep], np.ones(fi.size)])
                    F[fi] = 0.0
            rmax = np.zeros(d.nvar)
            np.maximum.at(rmax, r, np.abs(vals))
            rmax[rmax == 0] = 1.0
            vals = vals / rmax[r]
            res_scaled = float(np.max(np.abs(F / rmax)))
            dy = self._solve_banded(r, c, vals, -F / rmax)
            if not np.all(np.isfinite(dy)):
                raise NewtonFailure(int(np.argmax(~np.isfinite(dy))), it, np.inf)
            dz = dy * cs
            # psi: log-damped update beyond one thermal voltage; densities: Newton's change
            # of ln n = u - a + const and ln p = b - u + const (see _density_step), then the
            # quasi-Fermi potentials follow from psi and the densities
            du_lin = dz[0:nn:3].copy()
            dln_n = du_lin - dz[1:nn:3]
            dln_p = dz[2:nn:3] - du_lin
            du = _damp(du_lin)
            ds = _density_step if self.log_density_step else _density_step_linear
            step_n = ds(dln_n)
            step_p = ds(dln_p)
            z[0:nn:3] += du
            z[1:nn:3] = np.clip(z[1:nn:3] + du - step_n, qf_lo, qf_hi)
            z[2:nn:3] = np.clip(z[2:nn:3] + du + step_p, qf_lo, qf_hi)
            self._floor_densities(z)
            if d.traps.size:
                f = z[nn:]
                fn = f + dz[nn:]
                fn = np.where(fn < 0.1 * f, 0.1 * f, fn)  # at most 10x down per iteration
                fn = np.where(1.0 - fn < 0.1 * (1.0 - f), 1.0 - 0.1 * (1.0 - f), fn)
                z[nn:] = fn
                dy[nn:] = (fn - f) / cs[nn:]
            # quasi-Fermi potentials of densities far below any that matter (n_floor) do not
            # count for convergence
            conv = np.abs(dy)
            n_, p_ = d.node_densities(z)
            conv[1:nn:3] *= n_ / (n_ + floor)
            conv[2:nn:3] *= p_ / (p_ + floor)
            worst = int(np.argmax(conv))
            norm = float(conv[worst])
            self.stats["newton_its"] += 1
            if self.debug_newton:
                log.debug("newton it %d: |upd| %.3g at %s, res %.3g", it, norm, d.where(worst),
                          res_scaled)
            # converged: small update, or (rounding-limited) tiny scaled residual, and a
            # conserved current
            if (norm < tol or (norm < self.res_accept_dx and res_scaled < 1e-12)) \
                    and self._current_residual_ok(z, c0, hist, norm, prev_norm):
                return z
            prev_norm = norm
        self.stats["newton_failures"] += 1
        raise NewtonFailure(worst, max_its, norm)

    def contact_current_gap(self, z: np.ndarray, c0: float = 0.0,
                            hist: np.ndarray | None = None) -> tuple[float, float]:
        """Difference of the total (conduction + displacement) currents at the anode and the
        cathode cell of state ``z`` and the larger of the two, A/m^2 (the step's BDF
        coefficient ``c0`` and history ``hist`` give the displacement current, as :meth:`run`
        records it; None: steady state)."""
        d = self.dev
        jn, jp = d.currents(z)
        jt = jn + jp
        if hist is not None:
            nD = d.N - 1
            jt = jt - Q * (c0 * d.storage(z)[-nD:] + hist[-nD:])
        return float(jt[0] - jt[-1]), float(max(abs(jt[0]), abs(jt[-1])))

    def _current_residual_ok(self, z: np.ndarray, c0: float, hist: np.ndarray | None,
                             norm: float, prev_norm: float) -> bool:
        """Whether the state ``z``, reached by a last update of (weighted) size ``norm``
        after one of ``prev_norm``, conserves the current: its contact currents agree to
        :attr:`current_rtol` of the larger (at least 1 A/m^2), or Newton is at its rounding
        level (an update below :attr:`rounding_dx` that no longer shrinks 3x per iteration),
        where no further iteration can improve them. (The anode cell in the PEDOT:PSS
        conducts ~6e6 A/m^2 per thermal voltage: its current is only as good as potentials
        converged to rounding.)

        A small Newton update alone does not make a conserved current: right after a bias
        edge (displacement currents of 1e3 A/m^2) iterates with updates below 1e-6 thermal
        voltages left the contact currents up to 5e-5 apart, depending on the path Newton
        took, i.e. on rounding.
        """
        if self.current_rtol <= 0 or (norm < self.rounding_dx and norm > prev_norm / 3):
            return True
        gap, jmax = self.contact_current_gap(z, c0, hist)
        return abs(gap) <= self.current_rtol * max(jmax, 1.0)

    def _floor_densities(self, z: np.ndarray) -> None:
        """Bound the quasi-Fermi potentials in place so that no carrier density falls below
        :attr:`density_floor` at any node (in the denser of the node's two adjacent materials).

        Where a density is negligible its quasi-Fermi potential is not determined by its
        equation, and Newton's updates can carry it arbitrarily far (measured on the 10-pulse
        run: electrons in the PVP 4e11 thermal voltages beyond the contact levels). The
        density then underflows to exactly 0, and since a density can rise by at most 1e8x
        per iteration, it can never come back when a later bias edge needs that carrier:
        Newton fails at every step size, and whether a run reaches that state depends on the
        last bits of rounding (the CPU's exp/log and BLAS kernels). The bound keeps every
        density within reach (1e-30 m^-3 to 1e25 m^-3 is 125 thermal voltages, 7 iterations)
        and changes no current that matters: a carrier at the floor carries ~1e-60 A/m^2.
        """
        if self.density_floor <= 0:
            return
        d = self.dev
        nn = 3 * d.N
        cached = getattr(self, "_floor_bounds", None)
        if cached is None or cached[2] != self.density_floor:
            ln_nc = d.chi + np.log(d.Nc)  # per cell, scaled
            ln_pv = d.chi + d.Eg - np.log(d.Nv)  # per cell, scaled
            hi_n = np.full(d.N, -np.inf)
            lo_p = np.full(d.N, np.inf)
            hi_n[:-1] = ln_nc
            hi_n[1:] = np.maximum(hi_n[1:], ln_nc)
            lo_p[:-1] = ln_pv
            lo_p[1:] = np.minimum(lo_p[1:], ln_pv)
            ln_f = math.log(self.density_floor)
            cached = self._floor_bounds = (hi_n - ln_f, lo_p + ln_f, self.density_floor)
        a_off, b_off, _ = cached
        u = z[0:nn:3]
        # n = Nc exp(u + chi - a) >= floor  <=>  a <= u + chi + ln Nc - ln floor
        # p = Nv exp(b - u - chi - Eg) >= floor  <=>  b >= u + chi + Eg - ln Nv + ln floor
        np.minimum(z[1:nn:3], u + a_off, out=z[1:nn:3])
        np.maximum(z[2:nn:3], u + b_off, out=z[2:nn:3])

    def _robust_newton(self, z0: np.ndarray, v: float, uv: float, c0: float,
                       hist: np.ndarray) -> np.ndarray:
        """Time-step Newton with the edge safeguards on (:attr:`robust_retry`): quasi-Fermi
        window :attr:`robust_qf_margin`, log-damped density steps, absent carriers held
        (:meth:`_absent`). Raises :class:`NewtonFailure`."""
        saved = (self.qf_margin, self.log_density_step, self.n_absent)
        self.qf_margin = self.robust_qf_margin
        self.log_density_step = True
        self.n_absent = self.robust_n_absent
        self.stats["robust_retries"] = self.stats.get("robust_retries", 0) + 1
        try:
            return self.newton(z0, v, uv, c0, hist, max_its=25, tol=self.newton_tol_transient,
                               floor=self.n_floor)
        finally:
            self.qf_margin, self.log_density_step, self.n_absent = saved

    def _absent(self, z: np.ndarray) -> np.ndarray:
        """Mask of the quasi-Fermi unknowns Newton holds in this iteration: those of a carrier
        absent (density below :attr:`n_absent` on both sides) at the node and at both of its
        neighbours.

        The continuity row of such a carrier only says that a density of, e.g., 1e-77 m^-3
        (holes in the QDs at 0 V) balances its thermal generation (~1e-1 m^-3 s^-1); its
        Jacobian entries are ~1e-70 of the residual, so Newton asks for rises of e^100 and
        more, and the iterates of the carriers that matter go wild with it (seen at the first
        falling pulse edge at 20 cells/layer). The density is physically zero either way;
        a node next to one where the carrier is present stays free, so carriers still spread
        into an empty region node by node, and the UV's first step starts from its generated
        carriers (:meth:`photo_predictor`).
        """
        d = self.dev
        nn = 3 * d.N
        u, a, b, _ = d.split(z)
        nL, nR, pL, pR = d.cell_densities(u, a, b)
        out = np.zeros(d.nvar, dtype=bool)
        for k, lo, hi in ((1, nL, nR), (2, pL, pR)):
            m = np.zeros(d.N)
            m[:-1] = lo
            m[1:] = np.maximum(m[1:], hi)
            ab = m < self.n_absent
            ab[1:-1] &= ab[:-2] & ab[2:]
            ab[[0, -1]] = False  # contacts are Dirichlet anyway
            out[k:nn:3] = ab
        return out

    def _solve_banded(self, r: np.ndarray, c: np.ndarray, v: np.ndarray,
                      rhs: np.ndarray) -> np.ndarray:
        """Solve the COO system in the device's banded ordering with LAPACK gbsv."""
        d = self.dev
        pr, pc = d.perm[r], d.perm[c]
        if self._band is None:
            self._band = (int(np.max(pr - pc)), int(np.max(pc - pr)))
        lo, up = self._band
        n = d.nvar
        idx = (up + pr - pc) * n + pc
        ab = np.bincount(idx, weights=v, minlength=(lo + up + 1) * n).reshape(lo + up + 1, n)
        b = np.empty(n)
        b[d.perm] = rhs
        try:
            x = solve_banded((lo, up), ab, b, overwrite_ab=True, overwrite_b=True,
                             check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            return np.full(n, np.nan)
        return x[d.perm]

    # ----------------------------------------------------------------- steady state
    def steady(self, v: float, uv: float = 0.0, z0: np.ndarray | None = None,
               dv_max: float = 0.25) -> np.ndarray:
        """Steady state at anode bias ``v`` (V) and UV ``uv`` (W/m^2), by bias continuation
        from ``z0`` (default: the current state, or equilibrium) with step halving.

        Sets and returns the state. Raises :class:`SolverError` naming bias and position.
        """
        if z0 is None:
            z = self.z if getattr(self, "_has_eq", False) else self.equilibrium()
        else:
            z = z0
        v_now = self._bias_of(z)
        dv = float(np.clip(v - v_now, -dv_max, dv_max))
        while True:
            target = v if abs(v - v_now) <= abs(dv) + 1e-12 else v_now + dv
            try:
                z = self.newton(z, target, uv)
                v_now = target
                if v_now == v:
                    break
                dv = float(np.sign(v - v_now) * min(abs(dv) * 1.5, dv_max))
            except NewtonFailure as nf:
                dv /= 2
                if abs(dv) < 1e-6:
                    raise SolverError(
                        f"steady state failed at bias {target:.6g} V (reached {v_now:.6g} V), "
                        f"UV {uv:g} W/m2: Newton did not converge after {nf.its} iterations, "
                        f"|update| {nf.norm:.3g} at {self.dev.where(nf.worst)}") from None
        self.z = z
        self._has_eq = True
        return z

    #: Quasi-Fermi potentials (scaled) beyond +-qf_window are unphysical (25.9 V at 300 K).
    qf_window = 1000.0
    #: Densities above this are unphysical in Boltzmann statistics (10x the largest DOS), m^-3.
    density_cap = 1e28

    def sanitize(self, z: np.ndarray) -> np.ndarray:
        """Initial guess of a step with undetermined quasi-Fermi potentials made harmless.

        Where a density is negligible the weighted convergence test (see :meth:`newton`)
        ignores its quasi-Fermi potential, which can then drift to astronomically large values
        (seen: 2e10 thermal voltages) and, extrapolated into the next step's initial guess,
        produce densities of 1e224 m^-3 that break the linear solve. This caps every
        quasi-Fermi potential to +-``qf_window`` and every density to ``density_cap`` by moving
        the quasi-Fermi potential only. Used only (with ``retry_sanitized``) to retry a time
        step whose Newton failed from the raw guess.
        """
        d = self.dev
        nn = 3 * d.N
        z = z.copy()
        a = np.clip(z[1:nn:3], -self.qf_window, self.qf_window)
        b = np.clip(z[2:nn:3], -self.qf_window, self.qf_window)
        u = z[0:nn:3]
        # node densities use the right cell's material (left cell for the last node)
        c = np.minimum(np.arange(d.N), d.N - 2)
        ln_cap = np.log(self.density_cap)
        a = np.maximum(a, u + d.chi[c] + np.log(d.Nc[c]) - ln_cap)
        b = np.minimum(b, u + d.chi[c] + d.Eg[c] - np.log(d.Nv[c]) + ln_cap)
        z[1:nn:3] = a
        z[2:nn:3] = b
        return z

    def photo_predictor(self, z: np.ndarray, duv: float, h: float) -> np.ndarray:
        """Initial guess of the first step after the UV irradiance rises by ``duv`` (W/m^2).

        Where the UV creates carriers at a node whose density is far below what one step of
        length ``h`` (s) generates (holes in ZnO or the QDs are ~0 in the dark), Newton would
        have to raise the density by tens of decades (at most 1e8x per iteration): the
        predictor raises n and p there to the generated density ``G h`` by moving the
        quasi-Fermi potentials only (potential and traps unchanged).
        """
        d = self.dev
        nn = 3 * d.N
        z = z.copy()
        gen = d.gnode * duv / d.box() * h  # carriers generated per volume in the step, m^-3
        ok = gen > 0
        if not ok.any():
            return z
        n, p = d.node_densities(z)
        u = z[0:nn:3]
        c = np.minimum(np.arange(d.N), d.N - 2)  # node densities use the right cell
        raise_n = ok & (n < gen)
        raise_p = ok & (p < gen)
        a = z[1:nn:3]
        b = z[2:nn:3]
        # n = Nc exp(u + chi - a), p = Nv exp(b - u - chi - Eg)
        safe = np.where(ok, gen, 1.0)
        a = np.where(raise_n, u + d.chi[c] - np.log(safe / d.Nc[c]), a)
        b = np.where(raise_p, u + d.chi[c] + d.Eg[c] + np.log(safe / d.Nv[c]), b)
        z[1:nn:3] = a
        z[2:nn:3] = b
        return z

    def _bias_of(self, z: np.ndarray) -> float:
        d = self.dev
        return float(z[1] - z[3 * (d.N - 1) + 1]) * d.vt

    def equilibrium(self) -> np.ndarray:
        """Thermal equilibrium at 0 V in the dark (sets the state).

        Nonlinear Poisson in u with flat quasi-Fermi levels (a = b = 0) and trap occupancies
        eliminated analytically, then one coupled Newton solve to polish.
        """
        d = self.dev
        z = self.initial_guess(0.0)
        nn = 3 * d.N
        iu = np.arange(0, nn, 3)
        tr = d.traps
        for _ in range(200):
            if tr.size:
                f, df = d.trap_equilibrium(z)
                z[nn:] = f
            F, J = d.assemble(z, 0.0, 0.0, 0.0, None)
            J = J.tocsr()
            Juu = J[iu][:, iu]
            if tr.size:
                Juf = J[iu][:, nn + np.arange(tr.size)]
                Juu = Juu + Juf @ sp.csr_matrix(
                    (df, (np.arange(tr.size), tr.node)), shape=(tr.size, d.N))
            du = spla.spsolve(Juu.tocsc(), -F[iu])
            big = np.abs(du) > 1.0
            du[big] = np.sign(du[big]) * (1.0 + np.log(np.abs(du[big])))
            z[iu] += du
            if np.max(np.abs(du)) < 1e-10:
                break
        else:
            raise SolverError("equilibrium (nonlinear Poisson) did not converge in 200 its")
        if tr.size:
            z[nn:] = d.trap_equilibrium(z)[0]
        try:
            self.z = self.newton(z, 0.0, 0.0)
        except NewtonFailure as nf:
            raise SolverError(f"equilibrium failed at 0 V: |update| {nf.norm:.3g} at "
                              f"{d.where(nf.worst)}") from None
        self._has_eq = True
        return self.z

    # ----------------------------------------------------------------- observables
    def terminal_current(self, z: np.ndarray, v: float | None = None
                         ) -> tuple[float, float, float]:
        """Steady conduction current at the anode and cathode cells and their mean, A/m^2.

        Includes the stack's shunt, ``shunt_conductance * v`` (``v``: the applied bias of the
        state ``z``, V; None: read from ``z``'s contact quasi-Fermi levels). The shunt is a
        non-emitting leakage path in parallel with the drift-diffusion device, independent of
        the trapped charge (:mod:`device_physics.stack`).
        """
        jn, jp = self.dev.currents(z)
        j = jn + jp
        jsh = self.shunt_conductance * (self._bias_of(z) if v is None else v)
        return (float(j[0]) + jsh, float(j[-1]) + jsh,
                float(np.sum(self.dev.current_weights(z) * j)) + jsh)

    # ----------------------------------------------------------------- transient
    def _record(self, tr: Trace, t: float, v: float, uv: float, z: np.ndarray,
                jdisp: np.ndarray) -> None:
        d = self.dev
        jn, jp = d.currents(z)
        jc = jn + jp
        jt = jc + jdisp
        tr.t.append(t)
        tr.V.append(v)
        tr.uv.append(uv)
        w = d.current_weights(z)
        # the shunt (stack.shunt_conductance, a parallel non-emitting leakage path) adds G v to
        # every terminal current and to the conduction part; the displacement part, the
        # drift-diffusion state and the light are unaffected
        jsh = self.shunt_conductance * v
        tr.J.append(float(np.sum(w * jt)) + jsh)
        tr.J_anode.append(float(jt[0]) + jsh)
        tr.J_cathode.append(float(jt[-1]) + jsh)
        tr.J_conduction.append(float(np.sum(w * jc)) + jsh)
        tr.L.append(d.light(z))
        qp, qn = d.trapped_charge(z)
        tr.Qt_p.append(qp)
        tr.Qt_n.append(qn)

    def snapshot(self, z: np.ndarray, t: float, label: str = "") -> dict[str, Any]:
        """Profiles psi (V), n, p, nt, pt (m^-3) per node and E (V/m) per cell."""
        d = self.dev
        u, _, _, _ = d.split(z)
        n, p = d.node_densities(z)
        pt, nt = d.trapped_profiles(z)
        return {"t": t, "label": label, "psi": u * d.vt, "n": n, "p": p, "nt": nt, "pt": pt,
                "E": -np.diff(u) * d.vt / d.h}

    def run(self, protocol: Protocol, z0: np.ndarray | None = None,
            snapshots: bool = True, progress: bool = True) -> Trace:
        """Integrate ``protocol`` from ``z0`` (default: equilibrium at 0 V, dark).

        ``progress``: report the simulated time reached (:class:`lemsim.progress.Progress`:
        a tqdm bar on a terminal, an INFO log line every 10 s of wall time elsewhere).

        Raises:
            SolverError: the step size fell below 1e-15 s; ``exc.trace`` holds the trace so far.
        """
        d = self.dev
        if abs(protocol.wavelength - d.wavelength) > 1e-12:
            d.set_wavelength(protocol.wavelength)
        z = self.equilibrium() if z0 is None else z0.copy()
        jumps = set(np.round(protocol.jumps(), 12).tolist())
        edges = protocol.edges()
        seg_ends = {round(s.t1, 12): s.label for s in protocol.segments}
        tr = Trace()
        nD = d.N - 1
        self._record(tr, 0.0, 0.0, 0.0, z, np.zeros(nD))
        hist: list[tuple[float, np.ndarray, np.ndarray]] = [(0.0, z, d.storage(z))]
        t = 0.0
        h = self.dt_edge
        k_edge = 1
        t_wall = time.perf_counter()
        self.stats = {"steps": 0, "rejected": 0, "newton_its": 0, "newton_failures": 0}
        n_edges = len(edges)
        cuts = 0  # consecutive step cuts after Newton failures
        from lemsim.progress import Progress

        bar = Progress(protocol.duration, f"fv1d {protocol.name}", "s simulated", log=log,
                       enabled=progress)
        while t < protocol.duration - 1e-13:
            while k_edge < n_edges and edges[k_edge] <= t + 1e-13:
                k_edge += 1
            t_edge = edges[k_edge] if k_edge < n_edges else protocol.duration
            h = min(h, self.dt_max)
            if t + h >= t_edge - 1e-13:
                h = t_edge - t
            elif t + 2 * h > t_edge:
                h = (t_edge - t) / 2
            t1 = t + h
            # V is linear on (t, t1] (no knot inside): take its left limit at t1
            v_mid, uv1 = protocol.waveform(t + h / 2)
            v1 = 2 * v_mid - protocol.waveform(t)[0]
            t_n, z_n, S_n = hist[-1]
            k = len(hist)
            if k == 1:
                c0 = 1.0 / h
                hterm = -S_n / h
            else:
                t_m, z_m, S_m = hist[-2]
                w = h / (t_n - t_m)
                c0 = (1 + 2 * w) / (1 + w) / h
                hterm = (-(1 + w) * S_n + w * w / (1 + w) * S_m) / h
            # initial guess: extrapolation of the last two states (no extrapolation across a
            # jump: the bias-step predictor in newton() handles that)
            z_guess = z_n
            if k >= 2:
                zg = z_n + (z_n - hist[-2][1]) * (h / (t_n - hist[-2][0]))
                if d.traps.size:
                    zg[3 * d.N:] = np.clip(zg[3 * d.N:], 0.5 * z_n[3 * d.N:],
                                           1.0 - 0.5 * (1.0 - z_n[3 * d.N:]))
                z_guess = zg
            if k == 1 and uv1 > tr.uv[-1]:
                # UV switched on (or up): carriers appear where there were none (holes in ZnO,
                # the QDs); start Newton from the densities generated within this step
                z_guess = self.photo_predictor(z_guess, uv1 - tr.uv[-1], h)
            try:
                try:
                    z1 = self.newton(z_guess, v1, uv1, c0, hterm, max_its=25,
                                     tol=self.newton_tol_transient, floor=self.n_floor)
                except NewtonFailure:
                    # retry once from the sanitised guess (see sanitize) before cutting the step
                    z1 = None
                    zs = self.sanitize(z_guess)
                    robust = self.robust_retry and cuts >= self.robust_after_cuts
                    if not self.retry_sanitized or np.array_equal(zs, z_guess):
                        if not robust:
                            raise
                        zs = z_guess
                    else:
                        self.stats["rejected"] += 1
                        try:
                            z1 = self.newton(zs, v1, uv1, c0, hterm, max_its=25,
                                             tol=self.newton_tol_transient, floor=self.n_floor)
                        except NewtonFailure:
                            if not robust:
                                raise
                    if z1 is None:
                        z1 = self._robust_newton(zs, v1, uv1, c0, hterm)
            except NewtonFailure as nf:
                self.stats["rejected"] += 1
                cuts += 1
                h /= 4
                if h < 1e-15:
                    raise SolverError(
                        f"time stepping failed at t = {t:.9g} s (step to {t1:.9g} s), bias "
                        f"{v1:.6g} V, UV {uv1:g} W/m2: Newton did not converge "
                        f"(|update| {nf.norm:.3g} after {nf.its} its) at {d.where(nf.worst)}",
                        trace=tr) from None
                continue
            cuts = 0
            # local error estimate from the difference to an extrapolated predictor
            if k == 1:
                err, expo = 0.0, 0.5
            elif k == 2:
                zp = z_n + (z_n - hist[-2][1]) * (h / (t_n - hist[-2][0]))
                err, expo = 0.5 * self._err_norm(z1, zp), 0.5
            else:
                (ta, za, _), (tb, zb, _) = hist[-3], hist[-2]
                lag_a = (t1 - tb) * (t1 - t_n) / ((ta - tb) * (ta - t_n))
                lag_b = (t1 - ta) * (t1 - t_n) / ((tb - ta) * (tb - t_n))
                lag_n = (t1 - ta) * (t1 - tb) / ((t_n - ta) * (t_n - tb))
                zp = lag_a * za + lag_b * zb + lag_n * z_n
                err, expo = 0.25 * self._err_norm(z1, zp), 1.0 / 3.0
            if err > 1.0 and h > 1e-14:
                self.stats["rejected"] += 1
                h *= max(0.2, 0.9 * err ** (-expo))
                continue
            # accept
            S1 = d.storage(z1)
            dDdt = c0 * S1[-nD:] + hterm[-nD:]  # d/dt of kappa*eps*du/dx, m^-2 s^-1
            jdisp = -Q * dDdt  # eps0*eps*dE/dt with E = -dpsi/dx
            t = t1
            self.stats["steps"] += 1
            self._record(tr, t, v1, uv1, z1, jdisp)
            hist = (hist + [(t, z1, S1)])[-3:]
            tk = round(t, 12)
            if snapshots and tk in seg_ends:
                tr.snapshots.append(self.snapshot(z1, t, seg_ends[tk]))
            if tk in jumps:
                hist = [(t, z1, S1)]  # BDF1 restart with a small step after a jump
                h = self.dt_edge
            else:
                h *= min(4.0, max(0.5, 0.9 * max(err, 1e-12) ** (-expo)))
            bar.set(t, steps=self.stats["steps"])
            if self.max_wall_s > 0 and time.perf_counter() - t_wall > self.max_wall_s:
                tr.stats = dict(self.stats)
                raise SolverError(f"wall-time limit max_wall_s = {self.max_wall_s:g} s reached "
                                  f"at t = {t:.6g} s of {protocol.duration:g} s (bias "
                                  f"{v1:.6g} V)", trace=tr)
        bar.close()
        self.z = hist[-1][1]
        tr.stats = dict(self.stats)
        return tr

    def _err_norm(self, z: np.ndarray, zp: np.ndarray) -> float:
        """Scaled local-error norm: psi and log-densities (weighted by density) against
        ``10 rtol`` (thermal voltages), trap occupancies against ``rtol``."""
        d = self.dev
        nn = 3 * d.N
        dz = z - zp
        n, p = d.node_densities(z)
        floor = 1e14  # m^-3: densities below this do not control the step
        e_u = np.max(np.abs(dz[0:nn:3]))
        e_n = np.max(n / (n + floor) * np.abs(dz[0:nn:3] - dz[1:nn:3]))
        e_p = np.max(p / (p + floor) * np.abs(dz[2:nn:3] - dz[0:nn:3]))
        e_f = np.max(np.abs(dz[nn:])) if d.traps.size else 0.0
        return max(max(e_u, e_n, e_p) / (10 * self.rtol), e_f / self.rtol)


# --------------------------------------------------------------------------- output

class _ContractTrace:
    """View of a :class:`Trace` in the shape :func:`device_physics.output.write_device_h5`
    expects (``J_right`` = cathode current, snapshots as ``(t, profiles)``)."""

    def __init__(self, trace: Trace):
        self.stats = dict(trace.stats)
        self._arrays = trace.arrays()
        self._arrays["J_right"] = self._arrays["J_cathode"]
        self.snapshots = [(s["t"], {k: s[k] for k in ("psi", "n", "p", "nt", "pt", "E")})
                          for s in trace.snapshots]

    def arrays(self) -> dict[str, np.ndarray]:
        return self._arrays


def write_h5(path: str | Path, solver: FV1D, trace: Trace, protocol: Protocol,
             config: Any = None) -> Path:
    """Write ``trace`` in the device data contract with the shared writer of
    :mod:`device_physics.output` (``solver_stats`` gains ``solver: fv1d``)."""
    from device_physics.output import write_device_h5

    d = solver.dev
    return write_device_h5(
        path, x=d.x, cell_layer=d.layer, layer_names=[la.name for la in d.stack.layers],
        layer_thicknesses=[la.thickness for la in d.stack.layers],
        trace=_ContractTrace(trace), protocol_json=protocol.to_json(),
        stack_json=d.stack.to_json(), config=config, extra_stats={"solver": "fv1d"})


def dolfinx_mesh(stack: Stack, cells_per_layer: int = 20,
                 grading: float = 3.5) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and cell layers (stack layer index) of the dolfinx solver's mesh
    (:func:`device_physics.simulate.build_solver`: tanh grading, every interface-trap slab a
    sublayer with a share of the cells, at least 4), built without dolfinx, so fv1d runs on
    the mesh the stack was calibrated on."""
    from device_physics.mesh import layered_nodes
    from device_physics.stack_adapter import device_from_stack

    ad = device_from_stack(stack)
    total = [la.thickness for la in ad.device.layers]
    counts = [max(4, int(round(cells_per_layer * th / ad.thicknesses[ad.parent[i]])))
              for i, th in enumerate(total)]
    x, sub = layered_nodes(total, counts, grading)
    return x, np.asarray(ad.parent)[sub]


def run_to_h5(stack: Stack, protocol: Protocol, path: str | Path, nodes_per_layer: int = 40,
              rtol: float = 1e-3, config: Any = None, max_wall_s: float = 0.0) -> Trace:
    """Run ``protocol`` on ``stack`` with fv1d and write the result; on failure (a failed step,
    or ``max_wall_s`` seconds of wall time reached; 0: no limit) the partial trace is written
    before the error propagates."""
    solver = FV1D(stack, nodes_per_layer, rtol=rtol, wavelength=protocol.wavelength)
    solver.max_wall_s = float(max_wall_s)
    try:
        tr = solver.run(protocol)
    except SolverError as exc:
        if exc.trace is not None:
            write_h5(path, solver, exc.trace, protocol, config)
        raise
    write_h5(path, solver, tr, protocol, config)
    return tr


__all__ = ["FV1D", "SolverError", "Trace", "run_to_h5", "write_h5", "EPS0"]
