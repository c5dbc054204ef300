"""2D cross-section of a pixel: the drift-diffusion equations on a layered rectangle.

The stack runs along y (the anode, biased, at y = 0 over the whole width; the cathode,
grounded, on the top boundary only where ``|x - W/2| <= electrode_width/2``); the rest of the
boundary is insulating (no particle flux, no normal displacement). The local terms (Poisson
charge, storage, recombination, traps, UV generation) are the 1D forms of
:func:`device_physics.equations.build_forms` unchanged (vertex-lumped, dimension-independent);
only the fluxes are 2D (:func:`sg_flux_terms_2d`): per P1 triangle, the Scharfetter-Gummel
flux in quasi-Fermi form with the cell's extent along the field in place of the 1D cell length
and the density prefactor taken at mid-extent along the field, so that on the structured
triangulation a laterally uniform solution is the 1D scheme exactly (the centre of a wide
electrode reproduces the 1D solver).

:class:`CrossSection` reuses the Newton machinery of :class:`~device_physics.solver.DDSolver`
(SNES, log damping, floor-aware convergence, BDF steps, bias continuation) and works with
:func:`device_physics.timestepping.run_protocol`; its traces are pixel averages per unit area.
:func:`run_cross_section` runs one protocol and writes the trace (HDF5) and the 2D profiles
(XDMF, for ParaView).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import h5py  # noqa: F401  # load h5py's HDF5 before dolfinx's
import numpy as np

from device_physics.equations import DDDevice, build_forms, layer_arrays, sg_ratio, trap_arrays
from device_physics.scaling import C_LIGHT, H_PLANCK, Scaling
from device_physics.solver import DDSolver, NewtonStats, attenuation, param_table

log = logging.getLogger(__name__)


def sg_flux_terms_2d(ctx: Any, v: Any, dxm: Any) -> tuple[Any, Any, Any]:
    """2D flux part of the residual: (Poisson + continuity flux terms, Jn, Jp), scaled.

    Per triangle (gradients constant): Jn = -mu_n exp(ln n_mid) grad phi_n S(D_n/2) / S(D_psi/2),
    S(x) = sinh(x)/x, where D_f is the spread (max - min) of f over the cell's vertices (in 1D:
    h |f'|) and ln n_mid the log-density halfway between its extreme vertex values (in 1D: at
    the midpoint); the same for holes. In 1D this is the flux of
    :func:`~device_physics.equations.build_forms`; on a structured triangulation a laterally
    uniform solution gives the 1D scheme.
    """
    import ufl

    c = ctx.coef
    u = ctx.u
    psi, phn, php = u[0], u[1], u[2]
    gpsi, gn, gp = ufl.grad(psi), ufl.grad(phn), ufl.grad(php)
    jac = ufl.Jacobian(ctx.mesh)  # columns: the two edge vectors from vertex 0
    delta = 1e-12  # smooths |.| below 1e-12 thermal voltages (rounding noise, Newton)

    def sabs(z):
        return ufl.sqrt(z * z + delta * delta) - delta

    def span(g):
        """(max - min, (max + min)/2 - mean) of the vertex values of a P1 function with
        gradient g, relative to vertex 0 (smooth in g, no division by |g|)."""
        p1 = jac[0, 0] * g[0] + jac[1, 0] * g[1]
        p2 = jac[0, 1] * g[0] + jac[1, 1] * g[1]
        hi12, lo12 = 0.5 * (p1 + p2 + sabs(p1 - p2)), 0.5 * (p1 + p2 - sabs(p1 - p2))
        hi, lo = 0.5 * (hi12 + sabs(hi12)), 0.5 * (lo12 - sabs(lo12))
        return hi - lo, 0.5 * (hi + lo) - (p1 + p2) / 3.0

    db, _ = span(gpsi)
    sb = sg_ratio(0.5 * db)
    dn, mid_n = span(gpsi - gn)
    dp, mid_p = span(gp - gpsi)
    dfn, _ = span(gn)
    dfp, _ = span(gp)
    # log-densities at mid-extent along their own gradient (the 1D midpoint)
    ln_n = c["thn"] + psi - phn + mid_n
    ln_p = c["thp"] - psi + php + mid_p
    jn = -c["mun"] * ufl.exp(ln_n) * gn * sg_ratio(0.5 * dfn) / sb
    jp = -c["mup"] * ufl.exp(ln_p) * gp * sg_ratio(0.5 * dfp) / sb
    F = (ctx.lam2 * c["eps"] * ufl.inner(gpsi, ufl.grad(v[0])) * dxm
         + ufl.inner(jn, ufl.grad(v[1])) * dxm - ufl.inner(jp, ufl.grad(v[2])) * dxm)
    return F, jn, jp


class CrossSection(DDSolver):
    """Drift-diffusion on a 2D pixel cross-section (x lateral, y through the stack).

    Args:
        device: The 1D device (layers bottom to top; ``left`` contact = anode at y = 0,
            ``right`` contact = top electrode).
        y: Node positions through the stack (m), with nodes on every interface (e.g. the
            nodes of the 1D solver, so that the two can be compared node by node).
        width: Pixel width W (m).
        electrode_width: Width of the top electrode, centred (m), 0 < it <= W.
        nx: Cells across the width (even, so that a column of nodes lies on the centre).
        scaling: Scaling (default: the device's).
        dx_tol: Newton tolerance on the scaled update.
        max_it: Newton iterations per solve.
    """

    def __init__(self, device: DDDevice, y: np.ndarray, width: float, electrode_width: float,
                 nx: int = 16, scaling: Scaling | None = None, dx_tol: float = 1e-9,
                 max_it: int = 30) -> None:
        import dolfinx.fem as fem
        import dolfinx.mesh as dmesh
        from mpi4py import MPI

        y = np.asarray(y, dtype=float)
        if not width > 0:
            raise ValueError(f"width = {width!r} m: must be > 0")
        if not 0 < electrode_width <= width:
            raise ValueError(f"electrode_width = {electrode_width!r} m: must be in (0, width = "
                             f"{width}]")
        if nx < 2 or nx % 2:
            raise ValueError(f"nx = {nx!r}: must be an even number >= 2")
        if y.ndim != 1 or y.size < 2 or np.any(np.diff(y) <= 0):
            raise ValueError("y: node positions must be strictly increasing")
        self.dev = device
        self.sc = scaling or device.default_scaling()
        # no shunt in the pixel model: DDSolver.shunt_current() is a lumped element of the
        # 1D stack (stack.shunt_conductance), so the 2D current is the drift-diffusion one
        self.shunt_conductance = 0.0
        sc = self.sc
        th = [lay.thickness for lay in device.layers]
        bounds = np.concatenate([[0.0], np.cumsum(th)])
        if abs(y[0]) > 1e-12 * bounds[-1] or abs(y[-1] - bounds[-1]) > 1e-9 * bounds[-1]:
            raise ValueError(f"y spans [{y[0]}, {y[-1]}] m, device spans [0, {bounds[-1]}] m")
        for b in bounds[1:-1]:
            if np.min(np.abs(y - b)) > 1e-9 * bounds[-1]:
                raise ValueError(f"y has no node on the interface at {b} m")
        self.y = y
        self.x = y  # the stack coordinate (1D-solver naming, used by where()/profiles())
        self.width, self.electrode_width, self.nx = width, electrode_width, nx
        ny = y.size - 1
        self.layer = (np.searchsorted(bounds, 0.5 * (y[1:] + y[:-1])) - 1).astype(np.int32)
        xs_nodes = np.linspace(0.0, width, nx + 1)
        msh = dmesh.create_rectangle(MPI.COMM_SELF, [[0.0, 0.0], [float(nx), float(ny)]],
                                     [nx, ny], dmesh.CellType.triangle,
                                     diagonal=dmesh.DiagonalType.right)
        geo = msh.geometry.x
        ix = np.rint(geo[:, 0]).astype(int)
        iy = np.rint(geo[:, 1]).astype(int)
        geo[:, 0] = xs_nodes[ix] / sc.L0
        geo[:, 1] = y[iy] / sc.L0
        self.mesh = msh
        self.xs = y / sc.L0
        self.traps = trap_arrays(device, sc)
        ncomp = 3 + len(self.traps)
        self.ncomp = ncomp
        self.V = fem.functionspace(msh, ("Lagrange", 1, (ncomp,)))
        self.u = fem.Function(self.V, name="u")
        self.u1 = fem.Function(self.V)
        self.u2 = fem.Function(self.V)
        coords = self.V.tabulate_dof_coordinates()[:, :2] * sc.L0
        self.dof_x, self.dof_y = coords[:, 0], coords[:, 1]
        self.dof_iy = np.searchsorted(y, self.dof_y - 1e-6 * (y[1] - y[0]))
        # centre column, bottom to top
        xc = 0.5 * width
        col = np.nonzero(np.isclose(self.dof_x, xc, rtol=0, atol=1e-6 * width))[0]
        self.order = col[np.argsort(self.dof_y[col])]
        if self.order.size != y.size:
            raise RuntimeError("no column of nodes on the centre line")
        la = layer_arrays(device, sc)
        self.la = la
        # layer of each cell from its centroid height
        tdim = msh.topology.dim
        msh.topology.create_connectivity(tdim, 0)
        cells = msh.geometry.dofmaps[0]
        cy = geo[cells, 1].mean(axis=1) * sc.L0
        cell_layer = (np.searchsorted(bounds, cy) - 1).clip(0, len(th) - 1)
        names, table = param_table(la, self.traps, sc)
        self.Pspace = fem.functionspace(msh, ("DG", 0, (len(names),)))
        self.params = fem.Function(self.Pspace, name="params")
        cell_dofs = self.Pspace.dofmap.list[:, 0]
        pa = self.params.x.array.reshape(-1, len(names))
        pa[cell_dofs] = table[cell_layer[np.arange(len(cell_layer))]]
        self.param_names = names
        self.coef = {nm: self.params[i] for i, nm in enumerate(names)}
        self.atten = fem.Function(fem.functionspace(msh, ("Lagrange", 1)), name="atten")
        ya = self.atten.function_space.tabulate_dof_coordinates()[:, 1] * sc.L0
        self.atten.x.array[:] = np.interp(ya, y, attenuation(y, self.layer, la, device.uv_from))
        self.uv_photon_energy = H_PLANCK * C_LIGHT / (device.uv_wavelength_nm * 1e-9)
        self.a0 = fem.Constant(msh, 0.0)
        self.a1 = fem.Constant(msh, 0.0)
        self.a2 = fem.Constant(msh, 0.0)
        self.uvflux = fem.Constant(msh, 0.0)
        self.lam2 = fem.Constant(msh, sc.lam2)
        self.flux_terms = sg_flux_terms_2d
        forms = build_forms(self)
        self.F = forms["F"]
        self.forms = forms
        # band parameters of each node: the layer below it (as the 1D solver's left cell)
        node_layer = self.layer[np.clip(self.dof_iy - 1, 0, ny - 1)]
        node_layer[self.dof_iy == 0] = self.layer[0]
        self._dof_thn = la["thn"][node_layer]
        self._dof_thp = la["thp"][node_layer]
        # contacts
        self.psi_eq = (self._contact_psi(0, device.left.workfunction),
                       self._contact_psi(-1, device.right.workfunction))
        self.bc_vals = [fem.Constant(msh, 0.0) for _ in range(6)]
        Ls = y[-1] / sc.L0
        half = 0.5 * electrode_width / sc.L0
        xcs = xc / sc.L0
        bottom = dmesh.locate_entities_boundary(msh, 0, lambda p: np.isclose(p[1], 0.0))
        top = dmesh.locate_entities_boundary(
            msh, 0, lambda p: np.isclose(p[1], Ls) & (np.abs(p[0] - xcs) <= half * (1 + 1e-9)))
        if top.size < 2:
            raise ValueError(f"electrode_width = {electrode_width!r} m covers fewer than 2 nodes "
                             f"of the top boundary (nx = {nx})")
        self.bcs = []
        self.contact_rows = []
        for side, ents in enumerate((bottom, top)):
            rows = []
            for comp in range(3):
                sub = self.V.sub(comp)
                dofs = fem.locate_dofs_topological(sub, 0, ents)
                self.bcs.append(fem.dirichletbc(self.bc_vals[3 * side + comp], dofs, sub))
                rows.append(np.asarray(dofs, dtype=np.int64))
            self.contact_rows.append(rows)
        self.V_applied = 0.0
        self._set_bias(0.0)
        self.lu_ordering = "nd"
        self._setup_newton(max_it, "mumps", dx_tol)
        self.stats = NewtonStats()
        # carriers below 1e-20 N0 (~10 cm^-3) are absent: their quasi-Fermi potentials are
        # not converged on (in 2D their updates are rounding noise amplified by ~1e40)
        self.n_abs = 1e-20
        # rows of the 2D scheme sum the fluxes of six triangles with lateral cancellations; its
        # rounding floor sits up to ~15x above the 1D estimate (measured near the electrode edge)
        self.floor_k = 1024.0

    # ------------------------------------------------------------------ state
    def where(self, arr: np.ndarray | None = None) -> str:
        """Text naming the node of largest residual: position and equation."""
        try:
            r = np.abs(self._assemble_residual().reshape(-1, self.ncomp))
            for rows in self.contact_rows:
                for comp, d in enumerate(rows):
                    r[d // self.ncomp, comp] = 0.0
            k, comp = np.unravel_index(int(np.nanargmax(np.nan_to_num(r, nan=np.inf))), r.shape)
        except Exception:  # noqa: BLE001
            return "unknown location"
        names = ["Poisson", "electron continuity", "hole continuity"]
        eq = names[comp] if comp < 3 else f"trap {comp - 3}"
        return (f"x = {self.dof_x[k] * 1e9:.2f} nm, y = {self.dof_y[k] * 1e9:.3f} nm "
                f"({eq} equation)")

    def set_from_1d(self, arr: np.ndarray) -> None:
        """Set every column to the 1D nodal state ``arr`` (n_y, ncomp) (laterally uniform)."""
        self.u.x.array.reshape(-1, self.ncomp)[:] = arr[self.dof_iy]

    def equilibrium(self) -> None:
        """Thermal equilibrium: the 1D equilibrium on the same nodes, extended laterally, then
        the coupled 2D system (the uncovered top boundary is insulating)."""
        s1 = DDSolver(self.dev, x=self.y, scaling=self.sc)
        s1.equilibrium()
        self._set_bias(0.0)
        self.set_uv(0.0)
        self.set_steady()
        self.set_from_1d(s1.nodal())
        self.newton()
        self.u1.x.array[:] = self.u.x.array
        self.u2.x.array[:] = self.u.x.array

    # ------------------------------------------------------------------ observables
    def contact_currents(self) -> dict[str, np.ndarray]:
        """Scaled conduction currents and D (+y) at (bottom, top) contact, averaged over the
        pixel width (current per unit pixel area)."""
        r = self._assemble_residual()
        ws = self.width / self.sc.L0
        out = {}
        for key, comp, sign in (("D", 0, 1.0), ("jn", 1, -1.0), ("jp", 2, 1.0)):
            bot = r[self.contact_rows[0][comp]].sum()
            top = r[self.contact_rows[1][comp]].sum()
            out[key] = np.array([sign * bot, -sign * top]) / ws
        return out

    def centre_current(self) -> float:
        """Local conduction current density (A/m², +y) at the bottom contact on the centre
        line (residual of the centre node over its share of the contact width)."""
        r = self._assemble_residual().reshape(-1, self.ncomp)
        k = int(self.order[0])
        dual = (self.width / self.nx) / self.sc.L0
        return float(-r[k, 1] + r[k, 2]) / dual * self.sc.J0

    def light(self) -> float:
        """Out-coupled photon flux averaged over the pixel (photons/(s m²))."""
        return DDSolver.light(self) / (self.width / self.sc.L0)

    def trapped_charge(self) -> tuple[float, float]:
        """(Qt_p, Qt_n) averaged over the pixel (C/m²)."""
        qp, qn = DDSolver.trapped_charge(self)
        ws = self.width / self.sc.L0
        return qp / ws, qn / ws

    def profiles(self) -> dict[str, np.ndarray]:
        """Centre-line profiles (SI), as :meth:`DDSolver.profiles` of the 1D solver."""
        return DDSolver.profiles(self)

    def fields(self) -> dict[str, np.ndarray]:
        """2D nodal fields in dof order: psi (V), log10 n, log10 p (m^-3)."""
        a = self.u.x.array.reshape(-1, self.ncomp)
        ln_n = self._dof_thn + a[:, 0] - a[:, 1]
        ln_p = self._dof_thp - a[:, 0] + a[:, 2]
        l10 = math.log(10.0)
        return {"psi": a[:, 0] * self.sc.Vt - self.dev.energy_reference(),
                "log10_n": (ln_n + math.log(self.sc.N0)) / l10,
                "log10_p": (ln_p + math.log(self.sc.N0)) / l10}


def run_cross_section(stack_path: str | Path, protocol_path: str | Path, out: str | Path, *,
                      width: float = 2e-6, electrode_width: float = 1e-6, nx: int = 16,
                      cells_per_layer: int = 6, grading: float = 3.5, rtol: float = 1e-3,
                      snapshot_times: tuple[float, ...] = ()) -> Path:
    """Run ``protocol_path`` on the 2D cross-section of ``stack_path``; write the trace
    (``out``, data-contract HDF5, pixel averages, centre-line snapshots) and the 2D profiles
    (``<stem>_2d.xdmf``, one time per snapshot). A failure of the time loop writes the trace
    computed so far and raises :class:`~device_physics.timestepping.StepFailure`."""
    from dolfinx import fem
    from dolfinx.io import XDMFFile

    from device_physics.output import write_device_h5
    from device_physics.protocols import load_protocol
    from device_physics.simulate import build_solver
    from device_physics.stack import load_stack
    from device_physics.timestepping import StepFailure, StepOptions, run_protocol
    from lemsim.io import atomic_path

    stack = load_stack(stack_path)
    protocol = load_protocol(protocol_path)
    s1, ad = build_solver(stack, protocol.wavelength, cells_per_layer, grading)
    cs = CrossSection(ad.device, s1.x, width, electrode_width, nx)
    fields: list[tuple[float, dict[str, np.ndarray]]] = []
    prof = cs.profiles

    def profiles_with_fields() -> dict[str, np.ndarray]:
        fields.append((float("nan"), cs.fields()))
        return prof()

    cs.profiles = profiles_with_fields  # type: ignore[method-assign]
    opts = StepOptions(rtol=rtol, dt_max=max(protocol.duration / 20, 1e-6),
                       snapshot_times=snapshot_times)
    parent = np.asarray(ad.parent)[cs.layer]
    kw = dict(x=cs.y, cell_layer=parent, layer_names=ad.names,
              layer_thicknesses=ad.thicknesses, protocol_json=protocol.to_json(),
              stack_json=stack.to_json(),
              extra_stats={"geometry": "2d", "width_m": width,
                           "electrode_width_m": electrode_width, "nx": nx,
                           "nodes": int(cs.u.x.array.size // cs.ncomp)})
    try:
        trace = run_protocol(cs, protocol, opts)
    except StepFailure as err:
        write_device_h5(out, trace=err.trace, **kw)
        log.error("cross-section run failed; partial trace written to %s: %s", out, err)
        raise
    write_device_h5(out, trace=trace, **kw)
    xdmf = Path(out).with_name(Path(out).stem + "_2d.xdmf")
    P1 = fem.functionspace(cs.mesh, ("Lagrange", 1))
    funcs = {nm: fem.Function(P1, name=nm) for nm in ("psi", "log10_n", "log10_p")}
    # P1 scalar dofs and the blocked space's nodes coincide (same dof layout, block size 1)
    with atomic_path(xdmf) as tmp:
        xt = tmp.with_suffix(".xdmf")
        with XDMFFile(cs.mesh.comm, str(xt), "w") as xf:
            xf.write_mesh(cs.mesh)
            for (t, _), (_, fl) in zip(trace.snapshots, fields, strict=False):
                for nm, f in funcs.items():
                    f.x.array[:] = fl[nm]
                    xf.write_function(f, float(t))
        h5_tmp = xt.with_suffix(".h5")
        h5_final = xdmf.with_suffix(".h5")
        tmp.write_text(xt.read_text(encoding="utf-8").replace(h5_tmp.name, h5_final.name),
                       encoding="utf-8")
        h5_tmp.replace(h5_final)
        xt.unlink()
    log.info("cross-section run done: %s", trace.stats)
    return Path(out)
