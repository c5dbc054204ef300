"""The dolfinx drift-diffusion solver of a 1D layered device (steady state and time steps).

:class:`DDSolver` owns the mesh, function spaces, coefficients, compiled forms and the PETSc
SNES Newton solver (log-damped update pre-check, custom convergence on the scaled update). It
solves thermal equilibrium, steady bias points (with bias continuation and step halving) and
single implicit BDF1/BDF2 time steps; terminal currents (conduction + displacement) are read
at both contacts from the unconstrained residual, so they are conservative by construction.
The stack's shunt (``shunt_conductance``, A/(m^2 V): a charge-independent, non-emitting leakage
path in parallel with the device) adds ``G_sh * V`` to the terminal current only
(:meth:`DDSolver.shunt_current`); it does not enter the equations, so the light is unchanged.
The adaptive time loop over a protocol is in :mod:`device_physics.timestepping`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import h5py  # noqa: F401  # load h5py's HDF5 before dolfinx's (else h5py writes fail)
import numpy as np

from device_physics.equations import DDDevice, build_forms, layer_arrays, trap_arrays
from device_physics.mesh import interval_mesh, layered_nodes
from device_physics.scaling import C_LIGHT, H_PLANCK, Scaling

log = logging.getLogger(__name__)


class SolverError(RuntimeError):
    """Newton failure, with the time, bias and location where it happened."""

    def __init__(self, msg: str, t: float | None = None, V: float | None = None,
                 where: str = "") -> None:
        super().__init__(msg)
        self.t, self.V, self.where = t, V, where


@dataclass
class NewtonStats:
    """Counters of the Newton solver."""

    solves: int = 0
    iterations: int = 0
    failures: int = 0
    floor_accepts: int = 0
    stagnation_accepts: int = 0
    floor_segments: int = 0


class DDSolver:
    """Scaled (psi, phi_n, phi_p, f_k) drift-diffusion of a 1D device in dolfinx.

    Args:
        device: The device description.
        x: Node positions (m), strictly increasing, with nodes on every interface. If None,
            a graded mesh with ``cells_per_layer`` cells per layer is made.
        cells_per_layer: Cells per layer of the default mesh.
        grading: tanh grading strength towards the interfaces of the default mesh.
        scaling: Scaling (default: :meth:`DDDevice.default_scaling`).
        dx_tol: Newton convergence: max |scaled update| (thermal voltages, occupancies).
        max_it: Maximum Newton iterations per solve.
        linear_solver: ``mumps`` (LU with pivoting; robust on badly scaled rows) or
            ``petsc`` (PETSc's LU without pivoting; faster on small well-scaled problems).

    Attributes:
        jacobian_reuse_dx: Within one Newton solve, once the scaled update is below this, the
            factorised Jacobian is kept (chord steps: no assembly, no factorisation). 0 (the
            default) assembles at every iteration.
        ln_floor: Newton iterates keep every carrier density above ``exp(ln_floor) N0``
            (their quasi-Fermi potentials are clipped; the equations are unchanged). Off
            (-1e300) by default.
        ln_floor_stall: ``ln_floor`` that the time stepper switches on for the rest of a
            waveform segment in which it stalls (``StepOptions.stall_steps``; None: never);
            ``device_physics.simulate.build_solver`` sets ``ln(DENSITY_FLOOR)`` for stack
            runs.
    """

    def __init__(self, device: DDDevice, x: np.ndarray | None = None,
                 cells_per_layer: int = 40, grading: float = 2.0,
                 scaling: Scaling | None = None, dx_tol: float = 1e-9, max_it: int = 30,
                 linear_solver: str = "petsc", shunt_conductance: float = 0.0) -> None:
        import dolfinx.fem as fem
        from mpi4py import MPI  # noqa: F401

        if not (math.isfinite(shunt_conductance) and shunt_conductance >= 0):
            raise ValueError(f"shunt_conductance = {shunt_conductance!r}: must be a finite "
                             "value >= 0 (A/(m2*V))")
        self.shunt_conductance = float(shunt_conductance)
        """A/(m^2 V): parallel leakage path added to the terminal current (module docstring)."""
        self.dev = device
        self.sc = scaling or device.default_scaling()
        sc = self.sc
        th = [lay.thickness for lay in device.layers]
        if x is None:
            x, layer = layered_nodes(th, cells_per_layer, grading)
        else:
            x = np.asarray(x, dtype=float)
            bounds = np.concatenate([[0.0], np.cumsum(th)])
            if abs(x[0]) > 1e-12 * bounds[-1] or abs(x[-1] - bounds[-1]) > 1e-9 * bounds[-1]:
                raise ValueError(f"x spans [{x[0]}, {x[-1]}] m, device spans [0, {bounds[-1]}] m")
            for b in bounds[1:-1]:
                if np.min(np.abs(x - b)) > 1e-9 * bounds[-1]:
                    raise ValueError(f"x has no node on the interface at {b} m")
            mids = 0.5 * (x[1:] + x[:-1])
            layer = np.searchsorted(bounds, mids) - 1
        self.x = x
        self.layer = layer.astype(np.int32)
        self.xs = x / sc.L0
        self.mesh = interval_mesh(self.xs)
        self.traps = trap_arrays(device, sc)
        ncomp = 3 + len(self.traps)
        self.ncomp = ncomp
        self.V = fem.functionspace(self.mesh, ("Lagrange", 1, (ncomp,)))
        self.Q = fem.functionspace(self.mesh, ("DG", 0))
        self.u = fem.Function(self.V, name="u")
        self.u1 = fem.Function(self.V)
        self.u2 = fem.Function(self.V)
        # vertex <-> dof map (blocked space: dof i holds components i*ncomp + c)
        vx = self.V.tabulate_dof_coordinates()[:, 0]
        self.order = np.argsort(vx)  # dof index of the k-th node from the left
        if not np.allclose(vx[self.order], self.xs, rtol=0, atol=1e-12):
            raise RuntimeError("dof coordinates do not match the mesh nodes")
        # cell ordering: cells are left to right (checked in interval_mesh)
        la = layer_arrays(device, sc)
        self.la = la
        names, table = param_table(la, self.traps, sc)
        self.Pspace = fem.functionspace(self.mesh, ("DG", 0, (len(names),)))
        self.params = fem.Function(self.Pspace, name="params")
        cell_dofs = self.Pspace.dofmap.list[:, 0]
        pa = self.params.x.array.reshape(-1, len(names))
        pa[cell_dofs] = table[self.layer[np.arange(len(self.layer))]]
        self.param_names = names
        coef: dict[str, Any] = {nm: self.params[i] for i, nm in enumerate(names)}
        self.coef = coef
        # Beer-Lambert attenuation exp(-int alpha dx) at the nodes (P1)
        self.atten = fem.Function(fem.functionspace(self.mesh, ("Lagrange", 1)), name="atten")
        vx1 = self.atten.function_space.tabulate_dof_coordinates()[:, 0]
        self.atten.x.array[:] = np.interp(vx1, self.xs, attenuation(x, self.layer, la,
                                                                    device.uv_from))
        self.uv_photon_energy = H_PLANCK * C_LIGHT / (device.uv_wavelength_nm * 1e-9)

        self.a0 = fem.Constant(self.mesh, 0.0)
        self.a1 = fem.Constant(self.mesh, 0.0)
        self.a2 = fem.Constant(self.mesh, 0.0)
        self.uvflux = fem.Constant(self.mesh, 0.0)
        self.lam2 = fem.Constant(self.mesh, sc.lam2)
        forms = build_forms(self)
        self.F = forms["F"]
        self.forms = forms

        # contacts: Dirichlet values for psi, phi_n, phi_p
        self.psi_eq = (self._contact_psi(0, device.left.workfunction),
                       self._contact_psi(-1, device.right.workfunction))
        self.bc_vals = [fem.Constant(self.mesh, 0.0) for _ in range(6)]
        fdim = 0
        import dolfinx.mesh as dmesh

        left = dmesh.locate_entities_boundary(self.mesh, fdim, lambda p: np.isclose(p[0], 0.0))
        right = dmesh.locate_entities_boundary(
            self.mesh, fdim, lambda p: np.isclose(p[0], self.xs[-1]))
        bcs = []
        self.contact_dofs = []
        for side, ents in enumerate((left, right)):
            dofs_side = []
            for comp in range(3):
                sub = self.V.sub(comp)
                dofs = fem.locate_dofs_topological(sub, fdim, ents)
                bcs.append(fem.dirichletbc(self.bc_vals[3 * side + comp], dofs, sub))
                dofs_side.append(int(dofs[0]))
            self.contact_dofs.append(dofs_side)
        self.bcs = bcs
        self.V_applied = 0.0
        self._set_bias(0.0)

        self._setup_newton(max_it, linear_solver, dx_tol)

    # ------------------------------------------------------------------ SNES
    def _setup_newton(self, max_it: int, linear_solver: str, dx_tol: float) -> None:
        """SNES Newton (see :meth:`_setup_snes`) with the log-damped update pre-check and the
        convergence test on the scaled update (plus the rounding-floor test). Needs ``u``,
        ``F``, ``bcs``, ``bc_vals``, ``ncomp``, ``sc`` and ``_dof_thn``/``_dof_thp``."""
        from petsc4py import PETSc

        ordering = getattr(self, "lu_ordering", "natural")
        opts = {
            "snes_type": "newtonls",
            "snes_linesearch_type": "basic",
            "snes_max_it": max_it,
            "snes_rtol": 0.0,
            "snes_atol": 0.0,
            "snes_stol": 0.0,
            "snes_divergence_tolerance": 1e300,
            "ksp_type": "preonly",
            "pc_type": "lu",
            "pc_factor_mat_solver_type": linear_solver,
        }
        if linear_solver == "petsc":
            opts["pc_factor_zeropivot"] = 1e-300
            opts["pc_factor_mat_ordering_type"] = ordering
        self._prefix = f"dd{id(self)}_"
        self._mat_kind = "baij" if linear_solver == "petsc" else None
        self._setup_snes(opts)
        self.dx_tol = dx_tol
        self.n_abs = 1e-30
        self.f_tol = 1e-10
        self.floor_k = 64.0
        self.floor_dx_tol = 1e-6
        self.stag_dx_tol = 1e-10
        self._stag = 0
        self._hist: list[tuple[float, float]] = []
        self._fixed = self._restore = None
        self.stall_ratio = 0.25
        self._fprev = np.inf
        self.phi_margin = 200.0
        self.ln_floor = -1e300
        self.ln_floor_stall: float | None = None
        self.preset_bc = False
        self.density_update = True
        self._fstart = self._f0 = 0.0
        self.predictor = False
        self.max_it = max_it
        self.jacobian_reuse_dx = 0.0
        self.stats = NewtonStats()
        self._last_dx = np.inf
        self._nan = False
        ncomp = self.ncomp
        pot_mask = np.zeros(self.u.x.array.size, dtype=bool)
        pot_mask.reshape(-1, ncomp)[:, :3] = True
        self._pot_mask = pot_mask

        def precheck(xv, yv, *args):  # noqa: ARG001
            y = yv.getArray()
            if not np.all(np.isfinite(y)):
                self._nan = True
                return True
            ya = y.reshape(-1, self.ncomp)
            # damping and log steps are the identity for |y| <= 0.25 (the clipping below is not)
            large = float(np.abs(y).max()) > 0.25
            if large and self.density_update:
                # Newton's change of ln n / ln p, then: log-Newton step for a large decrease
                # (Newton on exp crawls down by 1 per iteration), log damping for a large
                # increase; psi itself is log-damped
                du_n = ya[:, 1] - ya[:, 0]
                du_p = ya[:, 0] - ya[:, 2]
                ya[:, 0] = _damp(ya[:, 0])
                ya[:, 1] = ya[:, 0] + _density_step(du_n)
                ya[:, 2] = ya[:, 0] - _density_step(du_p)
            elif large:
                ym = y[self._pot_mask]
                big = np.abs(ym) > 1.0
                ym[big] = np.sign(ym[big]) * (1.0 + np.log(np.abs(ym[big])))
                y[self._pot_mask] = ym
            # quasi-Fermi potentials stay within the contact levels +- phi_margin (x - y is the
            # new iterate)
            xa = xv.getArray(readonly=True).reshape(-1, self.ncomp)
            vs = self.V_applied / self.sc.Vt
            lo, hi = min(vs, 0.0) - self.phi_margin, max(vs, 0.0) + self.phi_margin
            for comp in (1, 2):
                ya[:, comp] = np.clip(ya[:, comp], xa[:, comp] - hi, xa[:, comp] - lo)
            # densities stay above exp(ln_floor) (physically zero): an absent carrier's
            # quasi-Fermi potential cannot run away (that stalls Newton and makes rows singular)
            if self.ln_floor > -1e299:
                if not hasattr(self, "_dof_thn"):
                    self._weighted_update(np.zeros(xa.size), xa.ravel())
                psi_new = xa[:, 0] - ya[:, 0]
                phn_max = psi_new + self._dof_thn - self.ln_floor
                php_min = psi_new - self._dof_thp + self.ln_floor
                ya[:, 1] = np.maximum(ya[:, 1], xa[:, 1] - phn_max)
                ya[:, 2] = np.minimum(ya[:, 2], xa[:, 2] - php_min)
            return True

        self.snes.getLineSearch()
        self.snes.setLineSearchPreCheck(precheck)

        def converged(snes, it, norms):  # noqa: ARG001
            if it == 0:
                self._fstart = self._fprev = norms[2]
                self._stag = 0
                self._hist = []
                self._fixed = self._restore = None
                return 0
            dxv = snes.getSolutionUpdate().getArray()
            fn = norms[2]
            if not np.all(np.isfinite(dxv)) or not math.isfinite(fn) or self._nan:
                return PETSc.SNES.ConvergedReason.DIVERGED_FNORM_NAN
            m = self._weighted_update(dxv, snes.getSolution().getArray())
            self._last_dx = m
            self._last_dxv = dxv.copy()
            self._hist = (self._hist + [(m, fn)])[-5:]
            if m < self.stag_dx_tol:  # a fixed point (kept for a stalled cycle, below)
                self._fixed = snes.getSolution().getArray(readonly=True).copy()
            if it == 1:
                self._f0 = max(self._fstart, fn)
            if m < self.dx_tol and (fn <= self.f_tol or fn <= 1e-10 * self._f0):
                return PETSc.SNES.ConvergedReason.CONVERGED_SNORM_RELATIVE
            # the residual stalls (no longer falls by stall_ratio per iteration) at its rounding
            # floor (every row within k eps of the size of its terms, see residual_floor),
            # after a small update: Newton cannot improve further
            stalled = fn > self.stall_ratio * self._fprev
            self._fprev = fn
            if it >= 2 and m < self.floor_dx_tol and stalled:
                r = np.abs(snes.getFunction()[0].getArray(readonly=True))
                if np.all(self._relevant(r, snes.getSolution().getArray(readonly=True))
                          <= self.residual_floor()):
                    self.stats.floor_accepts += 1
                    return PETSc.SNES.ConvergedReason.CONVERGED_FNORM_ABS
            # an update at machine precision: nothing left to gain
            if it >= 5 and m < 1e-13:
                return PETSc.SNES.ConvergedReason.CONVERGED_SNORM_RELATIVE
            # stagnation, as a last resort at the iteration cap: if the last three iterations
            # all stalled with updates below stag_dx_tol (scaled: 1e-10 thermal voltages /
            # occupancies), Newton sits at a fixed point whose residual is at a rounding floor
            # the estimate above misses (seen at the probe edge of the full protocol); accepting
            # earlier would cut converging iterations short (current conservation suffers)
            self._stag = self._stag + 1 if (stalled and m < self.stag_dx_tol) else 0
            # at the cap also a stalled cycle: the iterates alternate between a fixed point
            # (updates below stag_dx_tol) and a clamped excursion, with the residual flat
            # whatever dt. Seen at falling edges after UV or a train, QD electrons: |du| 4e-11,
            # 8e-13, 9e-6, 9e-6, 4e-11 with |F| 3e-8..8e-8 (mechanism_10, t = 2.43 s); 6e-13,
            # 5e-13, 2e-13, 6e-7, 6e-7 with |F| 1.4e-6..3.4e-6 (sweep point, t = 0.57 s).
            # Or 1.2e-5, 1.2e-5, 7e-11, 1.2e-5, 1.2e-5 with |F| 6e-8..2e-7 (PVP electrons at
            # the slab, same sweep point). Accepted when the residual stayed within 10x over
            # the last five iterations and one of their updates was below stag_dx_tol; the
            # solution is then that fixed point of the cycle (newton() puts it back). Accepting
            # any cycle with updates below 1e-4 instead made a later step fail (2-pulse sweep
            # point at rtol 0.1, t = 0.09 s, PEDOT holes)
            if it >= self.max_it:
                small = sum(1 for dm, _ in self._hist if dm < self.stag_dx_tol)
                fs = [f for _, f in self._hist]
                flat = len(fs) >= 5 and max(fs) <= 10.0 * min(fs)
                cycle = flat and small >= 1 and self._fixed is not None
                if self._stag >= 3 or cycle:
                    if self._stag < 3 and m >= self.stag_dx_tol and self._fixed is not None:
                        self._restore = self._fixed
                    self.stats.stagnation_accepts += 1
                    return PETSc.SNES.ConvergedReason.CONVERGED_SNORM_RELATIVE
                return PETSc.SNES.ConvergedReason.DIVERGED_MAX_IT
            return 0

        self.snes.setConvergenceTest(converged)

    def _setup_snes(self, opts: dict[str, Any]) -> None:
        """Compiled residual/Jacobian forms, one PETSc matrix, two vectors and one SNES (with
        its KSP/LU), made once and reused by every solve. The callbacks assemble with the
        C++ assemblers directly (no per-iteration Python object creation); Dirichlet rows are
        ``u - g`` in the residual and identity rows in the Jacobian (the full Newton step of
        the lifted system, computed without lifting)."""
        import dolfinx.fem as fem
        import ufl
        from dolfinx import cpp as _cpp
        from dolfinx.fem import petsc as fpetsc
        from petsc4py import PETSc

        pack_coefficients = _cpp.fem.pack_coefficients
        pack_constants = _cpp.fem.pack_constants
        self._Fc = fem.form(self.F)
        self._Jc = fem.form(ufl.derivative(self.F, self.u))
        A = fpetsc.create_matrix(self._Jc, kind=self._mat_kind)
        A.setOption(PETSc.Mat.Option.KEEP_NONZERO_PATTERN, True)
        self._A = A
        n = self.u.x.array.size
        self._bvec = PETSc.Vec().createSeq(n, comm=PETSc.COMM_SELF)
        self._xvec = PETSc.Vec().createSeq(n, comm=PETSc.COMM_SELF)
        rows, which = [], []
        for k, bc in enumerate(self.bcs):
            d = np.asarray(bc.dof_indices()[0], dtype=np.int32)
            rows.append(d)
            which.append(np.full(d.size, k))
        self._bc_rows = np.concatenate(rows).astype(np.int32)
        self._bc_which = np.concatenate(which)
        self._set_bias(self.V_applied)
        assemble_vec = _cpp.fem.assemble_vector
        assemble_mat = _cpp.fem.petsc.assemble_matrix
        Fcpp, Jcpp = self._Fc._cpp_object, self._Jc._cpp_object
        Fc, Jc = Fcpp, Jcpp
        uarr = self.u.x.array
        bc_rows = self._bc_rows

        def residual(snes, x, b):  # noqa: ARG001
            xa = x.getArray(readonly=True)
            uarr[:] = xa
            with b.localForm() as bl:
                ba = bl.array_w
                ba[:] = 0.0
                assemble_vec(ba, Fcpp, pack_constants(Fc), pack_coefficients(Fc))
                ba[bc_rows] = xa[bc_rows] - self._g_bc

        def jacobian(snes, x, J, P):  # noqa: ARG001
            # chord step: keep the factorised Jacobian of this solve once the updates are small
            if snes.getIterationNumber() > 0 and self._last_dx < self.jacobian_reuse_dx:
                return
            uarr[:] = x.getArray(readonly=True)
            J.zeroEntries()
            assemble_mat(J, Jcpp, pack_constants(Jc), pack_coefficients(Jc), [])
            J.assemble()
            J.zeroRows(bc_rows, 1.0)

        snes = PETSc.SNES().create(PETSc.COMM_SELF)
        snes.setFunction(residual, self._bvec)
        snes.setJacobian(jacobian, A, A)
        snes.setOptionsPrefix(self._prefix)
        o = PETSc.Options()
        o.prefixPush(self._prefix)
        for k, v in opts.items():
            o[k] = v
        o.prefixPop()
        snes.setFromOptions()
        self.snes = snes

    def residual_floor(self) -> np.ndarray:
        """Rounding floor of every residual row, ``k eps sum_j |J_ij| max(|u_j|, 1)``.

        Each row of the residual is a sum of flux, storage and source terms whose size can be
        many orders above their sum (majority-carrier drift against diffusion, capture against
        emission); its rounding error is then eps times the size of the terms, not of the sum.
        Through the Jacobian, ``|J_ij| max(|u_j|, 1)`` is the size of the terms of row i that
        depend on unknown j (fluxes: their dependence on potential differences whose rounding
        is eps |phi|; exponentials: eps times themselves), so this is the floor Newton can
        reach, computed from the last assembled Jacobian. ``k`` = :attr:`floor_k`.
        """
        ai, aj, av = self._A.getValuesCSR()
        w = np.maximum(np.abs(self.u.x.array), 1.0)
        terms = np.add.reduceat(np.abs(av) * w[aj], ai[:-1])
        return self.floor_k * np.finfo(float).eps * terms

    # ------------------------------------------------------------------ helpers
    def _relevant(self, r: np.ndarray, xv: np.ndarray) -> np.ndarray:
        """|residual| with continuity rows weighted by n/(n + n_abs) (p/(p + n_abs)): the rows
        of a carrier that is absent (density below n_abs, physically zero) do not count, as
        in :meth:`_weighted_update`."""
        nc = self.ncomp
        xa = xv.reshape(-1, nc)
        out = np.abs(r).reshape(-1, nc).copy()
        ln_abs = math.log(self.n_abs)
        out[:, 1] /= 1.0 + np.exp(np.minimum(ln_abs - (self._dof_thn + xa[:, 0] - xa[:, 1]), 700))
        out[:, 2] /= 1.0 + np.exp(np.minimum(ln_abs - (self._dof_thp - xa[:, 0] + xa[:, 2]), 700))
        return out.ravel()

    def _update_where(self, xv: np.ndarray) -> str:
        """Text naming the unknown of the largest weighted last Newton update (node, layer,
        component and, for a quasi-Fermi potential, the carrier's ln(density/N0))."""
        dxv = getattr(self, "_last_dxv", None)
        if dxv is None or dxv.size != xv.size:
            return ""
        try:
            nc = self.ncomp
            d = np.abs(dxv.reshape(-1, nc)).copy()
            xa = xv.reshape(-1, nc)
            ln_c = {1: self._dof_thn + xa[:, 0] - xa[:, 1], 2: self._dof_thp - xa[:, 0] + xa[:, 2]}
            cut = math.log(self.n_abs)
            for comp, ln in ln_c.items():
                d[:, comp] /= 1.0 + np.exp(np.minimum(cut - ln, 700))
            dof, comp = np.unravel_index(int(np.argmax(d)), d.shape)
            inv = np.empty_like(self.order)
            inv[self.order] = np.arange(len(self.order))
            k = int(inv[dof])
            name = ["psi", "phi_n", "phi_p"][comp] if comp < 3 else f"trap {comp - 3}"
            extra = f", ln(c/N0) = {ln_c[comp][dof]:.1f}" if comp in ln_c else ""
            return (f" in {name} at node {k} ({self.x[k] * 1e9:.3f} nm, "
                    f"{self._node_layer(k)!r}{extra})")
        except Exception:  # noqa: BLE001
            return ""

    def _weighted_update(self, dx: np.ndarray, xv: np.ndarray) -> float:
        """Max Newton update, quasi-Fermi updates weighted by the carrier's relevance
        n/(n + n_abs) (they are meaningless where the carrier is absent)."""
        nc = self.ncomp
        d = np.abs(dx.reshape(-1, nc))
        xa = xv.reshape(-1, nc)
        if not hasattr(self, "_dof_thn"):
            cell = np.concatenate([[0], np.arange(len(self.layer))])
            thn = self.la["thn"][self.layer[cell]]
            thp = self.la["thp"][self.layer[cell]]
            inv = np.empty_like(self.order)
            inv[self.order] = np.arange(len(self.order))
            self._dof_thn, self._dof_thp = thn[inv], thp[inv]
        # weight n/(n + n_abs) from ln n; 1 to rounding where ln n > ln n_abs + 40
        cut = math.log(self.n_abs) + 40.0
        m = float(d[:, 0].max())
        for comp, ln_c in ((1, self._dof_thn + xa[:, 0] - xa[:, 1]),
                           (2, self._dof_thp - xa[:, 0] + xa[:, 2])):
            low = ln_c < cut
            if low.any():
                w = np.ones(len(ln_c))
                w[low] = 1.0 / (1.0 + np.exp(np.minimum(cut - 40.0 - ln_c[low], 700)))
                m = max(m, float((d[:, comp] * w).max()))
            else:
                m = max(m, float(d[:, comp].max()))
        if nc > 3:
            m = max(m, float(d[:, 3:].max()))
        return m

    def _contact_psi(self, end: int, wf: float | None) -> float:
        """Scaled contact potential psi at V = 0 (neutrality, or from the work function)."""
        li = int(self.layer[0] if end == 0 else self.layer[-1])
        la = self.la
        if wf is None:
            thn, thp, C = la["thn"][li], la["thp"][li], la["C"][li]
            ln_ni = 0.5 * (thn + thp)
            # 2 ni sinh(y) = C  ->  y = asinh(C / (2 ni)), computed in logs for tiny ni
            if C == 0:
                y = 0.0
            else:
                r = math.log(abs(C) / 2.0) - ln_ni
                y = math.copysign(r + math.log1p(math.sqrt(1 + math.exp(-2 * r))) if r < 300
                                  else r + math.log(2.0), C) if r > -300 else 0.0
                if r < 300:
                    y = math.copysign(math.asinh(math.exp(r)), C)
            return 0.5 * (thp - thn) + y
        e0 = self.dev.energy_reference()
        return (e0 - wf) / self.sc.Vt

    def _set_bias(self, V: float) -> None:
        vs = V / self.sc.Vt
        self.bc_vals[0].value = self.psi_eq[0] + vs
        self.bc_vals[1].value = vs
        self.bc_vals[2].value = vs
        self.bc_vals[3].value = self.psi_eq[1]
        self.bc_vals[4].value = 0.0
        self.bc_vals[5].value = 0.0
        self.V_applied = V
        if hasattr(self, "_bc_which"):
            g = np.array([float(c.value) for c in self.bc_vals])
            self._g_bc = g[self._bc_which]

    def set_uv(self, intensity_W_m2: float) -> None:
        """UV intensity (W/m²) as a photon flux constant."""
        if intensity_W_m2 < 0:
            raise ValueError(f"uv intensity = {intensity_W_m2!r} W/m^2: must be >= 0")
        self.uvflux.value = intensity_W_m2 / self.uv_photon_energy

    def nodal(self, w=None) -> np.ndarray:
        """Nodal values (n_nodes, ncomp), left to right, of ``w`` (default: u)."""
        w = self.u if w is None else w
        return w.x.array.reshape(-1, self.ncomp)[self.order]

    def set_nodal(self, arr: np.ndarray, w=None) -> None:
        """Set nodal values (n_nodes, ncomp) ordered left to right."""
        w = self.u if w is None else w
        a = w.x.array.reshape(-1, self.ncomp)
        a[self.order] = arr

    def densities(self, w=None) -> tuple[np.ndarray, np.ndarray]:
        """Scaled n, p at the nodes, using the band parameters of the cell on each node's left
        (the first node uses the first cell)."""
        arr = self.nodal(w)
        cell = np.concatenate([[0], np.arange(len(self.layer))])
        thn = self.la["thn"][self.layer[cell]]
        thp = self.la["thp"][self.layer[cell]]
        return np.exp(thn + arr[:, 0] - arr[:, 1]), np.exp(thp - arr[:, 0] + arr[:, 2])

    def where(self, arr: np.ndarray | None = None) -> str:
        """Text naming the node of largest residual: position and layer."""
        try:
            r = np.abs(self._assemble_residual().reshape(-1, self.ncomp)[self.order])
            r[[0, -1], :3] = 0.0
            k, comp = np.unravel_index(int(np.nanargmax(np.nan_to_num(r, nan=np.inf))), r.shape)
        except Exception:  # noqa: BLE001
            return "unknown location"
        names = ["Poisson", "electron continuity", "hole continuity"]
        eq = names[comp] if comp < 3 else f"trap {comp - 3}"
        return (f"x = {self.x[k] * 1e9:.3f} nm (node {k}, layer {self._node_layer(int(k))!r}, "
                f"{eq} equation)")

    def _node_layer(self, k: int) -> str:
        """Name of the layer of node ``k`` (that of the cell to its left; node 0: the first)."""
        cell = min(max(k - 1, 0), len(self.layer) - 1)
        return self.dev.layers[int(self.layer[cell])].name

    # ------------------------------------------------------------------ solves
    def newton(self) -> int:
        """One SNES solve from the current u. Returns iterations; raises SolverError."""
        self._nan = False
        backup = self.u.x.array.copy()
        # start with the Dirichlet values in place (else the jump of a contact value is a
        # Newton update and gets log-damped like any other)
        if self.preset_bc:
            for bc in self.bcs:
                bc.set(self.u.x.array)
        xv = self._xvec
        xv.setArray(self.u.x.array)
        self._restore = None
        self.snes.solve(None, xv)
        if self._restore is not None:  # a stalled cycle: its fixed point, not the excursion
            xv.setArray(self._restore)
            self._restore = None
        self.u.x.array[:] = xv.getArray(readonly=True)
        reason = self.snes.getConvergedReason()
        its = self.snes.getIterationNumber()
        self.stats.solves += 1
        self.stats.iterations += its
        if reason <= 0 or not np.all(np.isfinite(self.u.x.array)):
            self.stats.failures += 1
            where = self.where()
            self.u.x.array[:] = backup
            hist = ", ".join(f"{m:.2g}/{f:.2g}" for m, f in getattr(self, "_hist", []))
            raise SolverError(f"Newton did not converge (reason {reason}, {its} iterations, "
                              f"last |du| = {self._last_dx:.3g}{self._update_where(backup)}; "
                              f"last |du|/|F|: {hist}) at {where}", where=where)
        return its

    def set_steady(self) -> None:
        """Drop the time-derivative terms (steady state)."""
        self.a0.value = 0.0
        self.a1.value = 0.0
        self.a2.value = 0.0

    def equilibrium(self) -> None:
        """Thermal equilibrium at V = 0: Poisson with equilibrium trap occupancy, then the
        coupled system."""
        import dolfinx.fem as fem
        import ufl
        from dolfinx.fem import petsc as fpetsc

        self._set_bias(0.0)
        self.set_uv(0.0)
        self.set_steady()
        P1 = fem.functionspace(self.mesh, ("Lagrange", 1))
        w = fem.Function(P1)
        vx1 = P1.tabulate_dof_coordinates()[:, 0]
        w.x.array[:] = np.interp(vx1, [0.0, self.xs[-1]], self.psi_eq)
        c = self.coef
        vt = ufl.TestFunction(P1)
        dxm = ufl.Measure("dx", domain=self.mesh, metadata={"quadrature_degree": 1})
        dxv = ufl.Measure("dx", domain=self.mesh,
                          metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
        n = ufl.exp(c["thn"] + w)
        p = ufl.exp(c["thp"] - w)
        rho = p - n + c["C"]
        for k, tr in enumerate(self.traps):
            # f = n/(n + n1) in equilibrium
            f = 1.0 / (1.0 + ufl.exp(math.log(max(tr["n1"][tr["layer"]], 1e-300))
                                     - c["thn"] - w))
            rho = rho + c[f"Nt{k}"] * (tr["donor"] - f)
        Fp = self.lam2 * c["eps"] * w.dx(0) * vt.dx(0) * dxm - rho * vt * dxv
        dofs_l = fem.locate_dofs_geometrical(P1, lambda p: np.isclose(p[0], 0.0))
        dofs_r = fem.locate_dofs_geometrical(P1, lambda p: np.isclose(p[0], self.xs[-1]))
        bcs = [fem.dirichletbc(float(self.psi_eq[0]), dofs_l, P1),
               fem.dirichletbc(float(self.psi_eq[1]), dofs_r, P1)]
        opts = {"snes_type": "newtonls", "snes_linesearch_type": "basic", "snes_max_it": 200,
                "snes_rtol": 0.0, "snes_atol": 0.0, "snes_stol": 1e-14,
                "snes_divergence_tolerance": 1e300, "ksp_type": "preonly", "pc_type": "lu",
                "pc_factor_zeropivot": 1e-300}
        prob = fpetsc.NonlinearProblem(Fp, w, bcs=bcs, petsc_options=opts,
                                       petsc_options_prefix=f"eq{id(self)}_")
        snes = prob.solver

        def pre(xv, yv, *args):  # noqa: ARG001
            y = yv.getArray()
            big = np.abs(y) > 1.0
            y[big] = np.sign(y[big]) * (1.0 + np.log(np.abs(y[big])))
            return True

        snes.setLineSearchPreCheck(pre)

        def conv(s, it, norms):  # noqa: ARG001
            if it == 0:
                return 0
            d = s.getSolutionUpdate().getArray()
            if not np.all(np.isfinite(d)):
                return -4
            if np.max(np.abs(d)) < 1e-10:
                return 4
            return -5 if it >= 200 else 0

        snes.setConvergenceTest(conv)
        prob.solve()
        if snes.getConvergedReason() <= 0:
            raise SolverError(f"equilibrium Poisson did not converge "
                              f"(reason {snes.getConvergedReason()})", V=0.0)
        psi_nodes = w.x.array[np.argsort(vx1)]
        arr = np.zeros((len(self.xs), self.ncomp))
        arr[:, 0] = psi_nodes
        for k, tr in enumerate(self.traps):
            thn = self.la["thn"][tr["layer"]]
            arr[:, 3 + k] = 1.0 / (1.0 + np.exp(tr["ln_n1"] - thn - psi_nodes))
        self.set_nodal(arr)
        self.newton()
        self.u1.x.array[:] = self.u.x.array
        self.u2.x.array[:] = self.u.x.array

    def steady(self, V: float, dV_max: float = 0.1, min_step: float = 1e-5) -> int:
        """Steady state at bias ``V`` (V), by continuation from the present state with step
        halving. Returns the Newton iterations used."""
        self.set_steady()
        its_total = 0
        V0 = self.V_applied
        step = max(min(abs(V - V0), dV_max), 1e-300)
        while abs(V - self.V_applied) > 0:
            target = self.V_applied + math.copysign(min(step, abs(V - self.V_applied)),
                                                    V - self.V_applied)
            prev_u = self.u.x.array.copy()
            prev_V = self.V_applied
            self._set_bias(target)
            try:
                its_total += self.newton()
                step = min(step * 1.5, dV_max)
            except SolverError as err:
                self.u.x.array[:] = prev_u
                self._set_bias(prev_V)
                step *= 0.5
                if step < min_step:
                    raise SolverError(f"bias continuation failed at V = {target:.6g} V: {err}",
                                      V=target, where=err.where) from err
        self.u1.x.array[:] = self.u.x.array
        self.u2.x.array[:] = self.u.x.array
        return its_total

    # ------------------------------------------------------------------ observables
    def _assemble_residual(self) -> np.ndarray:
        """Unconstrained residual at the present u (dof order), as a new array."""
        from dolfinx import cpp as _cpp
        from dolfinx.fem import pack_coefficients, pack_constants

        b = np.zeros(self.u.x.array.size)
        _cpp.fem.assemble_vector(b, self._Fc._cpp_object, pack_constants(self._Fc),
                                 pack_coefficients(self._Fc))
        return b

    def _residual_nodal(self) -> np.ndarray:
        """Unconstrained residual at the nodes (n_nodes, ncomp), left to right."""
        return self._assemble_residual().reshape(-1, self.ncomp)[self.order]

    def contact_D(self) -> np.ndarray:
        """Scaled displacement field D (+x) at (left, right) contact, from the Poisson residual
        (computed with the storage terms of the present time weights)."""
        r = self._residual_nodal()
        return np.array([r[0, 0], -r[-1, 0]])

    def contact_currents(self) -> dict[str, np.ndarray]:
        """Scaled conduction currents (+x) at (left, right) contacts: Jn, Jp, and D."""
        r = self._residual_nodal()
        jn = np.array([-r[0, 1], r[-1, 1]])
        jp = np.array([r[0, 2], -r[-1, 2]])
        D = np.array([r[0, 0], -r[-1, 0]])
        return {"jn": jn, "jp": jp, "D": D}

    def light(self) -> float:
        """Out-coupled radiative photon flux (photons/(s m²))."""
        import dolfinx.fem as fem

        if not hasattr(self, "_light_form"):
            self._light_form = fem.form(self.forms["light"])
        return float(fem.assemble_scalar(self._light_form)) * self.sc.R0 * self.sc.L0

    def trapped_charge(self) -> tuple[float, float]:
        """(Qt_p, Qt_n): charge of hole traps (>= 0) and of electron traps (<= 0), C/m²."""
        import dolfinx.fem as fem


        if not hasattr(self, "_qt_forms"):
            self._qt_forms = {k: fem.form(f) for k, f in self.forms["qtrap"].items()}
        qp = qn = 0.0
        for k, tr in enumerate(self.traps):
            val = float(fem.assemble_scalar(self._qt_forms[k])) * self.sc.D0
            if tr["donor"] > 0:
                qp += val
            else:
                qn += val
        return qp, qn

    def shunt_current(self) -> float:
        """Current density (A/m², +x) of the shunt at the present bias: ``G_sh * V``.

        The shunt is a charge-independent, non-emitting leakage path in parallel with the
        drift-diffusion device (e.g. PVP pinholes, the film edge); it is added to the terminal
        current (:func:`device_physics.timestepping.record`, :meth:`steady_current`) only.
        """
        return self.shunt_conductance * self.V_applied

    def steady_current(self) -> float:
        """Terminal current density (A/m², +x) at the left contact in steady state (drift-
        diffusion conduction plus the shunt, :meth:`shunt_current`)."""
        cc = self.contact_currents()
        return float(cc["jn"][0] + cc["jp"][0]) * self.sc.J0 + self.shunt_current()

    def profiles(self) -> dict[str, np.ndarray]:
        """Profiles in SI: psi (V), n, p, nt, pt (m^-3) at nodes and E (V/m) per cell."""
        arr = self.nodal()
        n, p = self.densities()
        vt = self.sc.Vt
        psi = arr[:, 0] * vt - self.dev.energy_reference()
        E = -np.diff(psi) / np.diff(self.x)
        nt = np.zeros(len(self.x))
        pt = np.zeros(len(self.x))
        for k, tr in enumerate(self.traps):
            li = tr["layer"]
            inl = np.zeros(len(self.x), dtype=bool)
            cells = np.nonzero(self.layer == li)[0]
            inl[cells] = True
            inl[cells + 1] = True
            Nt = tr["Nt"][li] * self.sc.N0
            if tr["donor"] > 0:
                pt += np.where(inl, Nt * (1 - arr[:, 3 + k]), 0.0)
            else:
                nt += np.where(inl, Nt * arr[:, 3 + k], 0.0)
        return {"psi": psi, "n": n * self.sc.N0, "p": p * self.sc.N0, "nt": nt, "pt": pt,
                "E": E, "phin": arr[:, 1] * vt, "phip": arr[:, 2] * vt}


def param_table(la: dict[str, np.ndarray], traps: list[dict[str, Any]],
                sc: Scaling) -> tuple[list[str], np.ndarray]:
    """Names and per-layer table (layers, m) of the packed DG0 parameter coefficient."""
    cols: dict[str, np.ndarray] = {}
    for key in ("eps", "thn", "thp", "mun", "mup", "C", "ksrh", "taun", "taup", "gam", "brad"):
        cols[key] = np.asarray(la[key], dtype=float)
    cols["g_uv"] = la["alpha"] * sc.t0 / sc.N0
    cols["eta_brad"] = la["eta"] * la["brad"]
    for k, tr in enumerate(traps):
        for key in ("Nt", "cn", "cp", "n1", "p1", "so"):
            cols[f"{key}{k}"] = np.asarray(tr.get(key, np.zeros_like(tr["Nt"])), dtype=float)
        # keeps the occupancy row regular where the trap is absent (f stays 0 there)
        cols[f"treg{k}"] = np.where(tr["Nt"] > 0, 0.0, 1e-20)
    names = list(cols)
    return names, np.stack([cols[nm] for nm in names], axis=1)


def attenuation(x: np.ndarray, layer: np.ndarray, la: dict[str, np.ndarray],
                uv_from: str) -> np.ndarray:
    """Beer-Lambert attenuation exp(-int alpha dx) at the nodes ``x`` (m) of a 1D stack whose
    cells lie in layers ``layer``."""
    od = np.concatenate([[0.0], np.cumsum(la["alpha"][layer] * np.diff(x))])
    if uv_from == "right":
        od = od[-1] - od
    return np.exp(-od)


def _damp(y: np.ndarray) -> np.ndarray:
    """Logarithmic damping of updates larger than 1 (thermal voltages)."""
    out = y.copy()
    big = np.abs(y) > 1.0
    out[big] = np.sign(y[big]) * (1.0 + np.log(np.abs(y[big])))
    return out


def _density_step(du: np.ndarray) -> np.ndarray:
    """Change of a log-density from Newton's linearised change ``du``: ln(1 + du) for a
    decrease (the exact step for one exponential), log damping for an increase."""
    out = _damp(du)
    dec = du < -0.5
    out[dec] = np.log(np.maximum(1.0 + du[dec], 1e-12))
    return out


def bdf_weights(dt: float, dt_prev: float | None, order: int) -> tuple[float, float, float]:
    """Weights (a0, a1, a2) of d/dt y ≈ a0 y_n + a1 y_{n-1} + a2 y_{n-2} (variable-step BDF).

    Args:
        dt: Present step (scaled time, > 0).
        dt_prev: Previous step (needed for order 2).
        order: 1 (backward Euler) or 2 (variable-step BDF2).
    """
    if order == 1 or dt_prev is None:
        return 1.0 / dt, -1.0 / dt, 0.0
    w = dt / dt_prev
    return (1 + 2 * w) / (1 + w) / dt, -(1 + w) / dt, w * w / (1 + w) / dt


def _transient_step(self: DDSolver, dt: float, V: float, uv: float, order: int,
                    dt_prev: float | None) -> int:
    """One implicit BDF step of physical length ``dt`` (s) to bias ``V`` (V) and UV
    ``uv`` (W/m²). ``u1``/``u2`` must hold the two previous states. On a Newton failure the
    step is retried as a bias homotopy at the same dt (the answer is the same step); raises
    :class:`SolverError` when that fails too (u is then reset to u1)."""
    dts = dt / self.sc.t0
    dtp = None if dt_prev is None else dt_prev / self.sc.t0
    a = bdf_weights(dts, dtp, order)
    self.a0.value, self.a1.value, self.a2.value = a
    self.set_uv(uv)
    V_old = self.V_applied
    if dt_prev is not None and self.predictor:
        # linear predictor (history of the same smooth stretch)
        self.u.x.array[:] = self.u1.x.array + (self.u1.x.array - self.u2.x.array) * (dt / dt_prev)
    else:
        self.u.x.array[:] = self.u1.x.array
    self._set_bias(V)
    try:
        return self.newton()
    except SolverError:
        if V == V_old:
            self.u.x.array[:] = self.u1.x.array
            raise
    # homotopy in the boundary value, same time step
    its = 0
    s, ds = 0.0, 0.25
    self.u.x.array[:] = self.u1.x.array
    while s < 1.0:
        s_try = min(1.0, s + ds)
        keep = self.u.x.array.copy()
        self._set_bias(V_old + s_try * (V - V_old))
        try:
            its += self.newton()
            s = s_try
            ds = min(2 * ds, 1.0)
        except SolverError:
            self.u.x.array[:] = keep
            ds *= 0.5
            if ds < 1e-4:
                self.u.x.array[:] = self.u1.x.array
                self._set_bias(V_old)
                raise
    return its


DDSolver.transient_step = _transient_step  # type: ignore[attr-defined]
