"""Benchmark: 1D Si p-n diode, lemsim (dolfinx) against DEVSIM, interleaved in one run.

Same device and mesh in both: 10 µm, abrupt 1e18/1e18 cm^-3, SRH tau = 1e-8 s (n1 = p1 = n_i),
1001 uniform nodes (1000 cells, the junction on a node), DEVSIM's ``simple_physics`` silicon
constants (q = 1.6e-19 C, k = 1.3806503e-23 J/K, eps = 11.1·8.85e-14 F/cm, n_i = 1e10 cm^-3,
mu_n = 400, mu_p = 200 cm²/(V s)) so that both solve the same discrete equations. DC sweep
0 -> 0.8 V in 0.02 V steps, then a 0 -> 0.7 V step with 100 backward-Euler steps.
Reports J(0.7 V), J(0.8 V), relative differences, Newton iterations, and the time per bias
point / per time step ratio lemsim/DEVSIM (medians over repetitions). Last line: JSON.

Solver settings: both stop on a relative update of 1e-7 (lemsim: 1e-7 V_t on psi, phi_n,
phi_p, i.e. 1e-7 relative on n and p). lemsim keeps its factorised Jacobian once the update
is below 1e-3 V_t (chord steps) and, in the transient, starts Newton from the linear
extrapolation of the last two steps (from the third step on); DEVSIM uses full Newton from the
previous solution (its defaults).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mpi4py import MPI  # noqa: E402,F401

L_CM = 1e-3
N_CELLS = 1000
DOP = 1e18  # cm^-3
TAU = 1e-8
Q_DS, K_DS, EPS0_DS, NI_DS = 1.6e-19, 1.3806503e-23, 8.85e-14, 1e10
EPS_SI, MU_N, MU_P, T = 11.1, 400.0, 200.0, 300.0
V_STEPS = np.round(np.arange(0.0, 0.8 + 1e-9, 0.02), 10)
DT = 1e-10
N_T = 100


# ----------------------------------------------------------------------------- lemsim
def lemsim_setup():
    from device_physics.equations import DDDevice, DDLayer
    from device_physics.scaling import EPS0, KB, Q
    from device_physics.solver import DDSolver

    vt = K_DS * T / Q_DS
    t_eff = vt * Q / KB  # same thermal voltage as DEVSIM
    eps_r = EPS_SI * EPS0_DS * 1e2 / Q_DS * Q / EPS0  # same eps/q as DEVSIM
    eg = 1.12
    nc = NI_DS * 1e6 * math.exp(eg / (2 * vt))
    common = dict(eps_r=eps_r, chi=4.05, Eg=eg, Nc=nc, Nv=nc, mu_n=MU_N * 1e-4,
                  mu_p=MU_P * 1e-4, tau_n=TAU, tau_p=TAU)
    half = L_CM * 1e-2 / 2
    dev = DDDevice([DDLayer("p", half, N_A=DOP * 1e6, **common),
                    DDLayer("n", half, N_D=DOP * 1e6, **common)], T=t_eff)
    x = np.linspace(0.0, 2 * half, N_CELLS + 1)
    # update tolerance 1e-7 V_t on psi, phi_n, phi_p = relative change 1e-7 of n and p: the
    # relative_error=1e-7 that DEVSIM is given below
    s = DDSolver(dev, x=x, linear_solver="petsc", dx_tol=1e-7)
    # chord steps once the update is below 1e-3 V_t (the factorised Jacobian is kept; the
    # convergence test is unchanged)
    s.jacobian_reuse_dx = 1e-3
    qscale = Q_DS / Q  # DEVSIM's charge in the current
    return s, qscale


def lemsim_sweep(state):
    s, qscale = state
    s.equilibrium()
    its, times, J = [], [], {}
    for v in V_STEPS[1:]:
        t0 = time.perf_counter()
        n_it = s.steady(float(v), dV_max=0.02 + 1e-12)
        times.append(time.perf_counter() - t0)
        its.append(n_it)
        J[round(float(v), 2)] = s.steady_current() * qscale * 1e-4  # A/cm^2
    return J, its, times


def lemsim_transient(state):
    s, qscale = state
    s.equilibrium()
    s.u1.x.array[:] = s.u.x.array
    # Newton's first guess: the linear extrapolation of the last two steps from the third step
    # on (after the bias jump of the first step the previous change is not a trend); DEVSIM
    # starts from the previous step. Same backward-Euler steps, same tolerance.
    s.predictor = True
    times, its = [], []
    for k in range(N_T):
        t0 = time.perf_counter()
        its.append(s.transient_step(DT, 0.7, 0.0, 1, DT if k >= 2 else None))
        s.u2.x.array[:] = s.u1.x.array
        s.u1.x.array[:] = s.u.x.array
        times.append(time.perf_counter() - t0)
    cc = s.contact_currents()
    J = float(cc["jn"][0] + cc["jp"][0]) * s.sc.J0 * qscale * 1e-4
    return J, its, times


# ----------------------------------------------------------------------------- DEVSIM
_DS_COUNTER = [0]


def devsim_setup():
    import devsim as ds
    from devsim.python_packages import simple_physics as sp

    _DS_COUNTER[0] += 1
    mesh, device, region = f"m{_DS_COUNTER[0]}", f"d{_DS_COUNTER[0]}", "Si"
    ds.create_1d_mesh(mesh=mesh)
    ds.add_1d_mesh_line(mesh=mesh, pos=0.0, ps=L_CM / N_CELLS, tag="top")
    ds.add_1d_mesh_line(mesh=mesh, pos=L_CM, ps=L_CM / N_CELLS, tag="bot")
    ds.add_1d_contact(mesh=mesh, name="top", tag="top", material="metal")
    ds.add_1d_contact(mesh=mesh, name="bot", tag="bot", material="metal")
    ds.add_1d_region(mesh=mesh, material="Si", region=region, tag1="top", tag2="bot")
    ds.finalize_mesh(mesh=mesh)
    ds.create_device(mesh=mesh, device=device)
    sp.SetSiliconParameters(device, region, T)
    for nm, val in (("taun", TAU), ("taup", TAU), ("mu_n", MU_N), ("mu_p", MU_P)):
        ds.set_parameter(device=device, region=region, name=nm, value=val)
    x = np.array(ds.get_node_model_values(device=device, region=region, name="x"))
    xj = L_CM / 2
    net = np.where(np.isclose(x, xj, rtol=0, atol=1e-12), 0.0, np.where(x < xj, -DOP, DOP))
    sp.CreateSolution(device, region, "NetDoping")
    ds.set_node_values(device=device, region=region, name="NetDoping", values=list(net))
    sp.CreateSolution(device, region, "Potential")
    sp.CreateSiliconPotentialOnly(device, region)
    for c in ("top", "bot"):
        ds.set_parameter(device=device, name=sp.GetContactBiasName(c), value=0.0)
        sp.CreateSiliconPotentialOnlyContact(device, region, c)
    ds.solve(type="dc", absolute_error=1.0, relative_error=1e-7, maximum_iterations=100)
    sp.CreateSolution(device, region, "Electrons")
    sp.CreateSolution(device, region, "Holes")
    ds.set_node_values(device=device, region=region, name="Electrons",
                       init_from="IntrinsicElectrons")
    ds.set_node_values(device=device, region=region, name="Holes", init_from="IntrinsicHoles")
    sp.CreateSiliconDriftDiffusion(device, region)
    for c in ("top", "bot"):
        sp.CreateSiliconDriftDiffusionAtContact(device, region, c)
    return ds, sp, device


def _devsim_delete(state) -> None:
    """Remove a DEVSIM device (``solve`` acts on every existing device)."""
    ds, _, device = state
    ds.delete_device(device=device)


def _ds_solve(ds, **kw):
    info = ds.solve(absolute_error=1e10, relative_error=1e-7, maximum_iterations=50,
                    info=True, **kw)
    return len(info.get("iterations", [])) if isinstance(info, dict) else 0


def devsim_current(ds, sp, device):
    je = ds.get_contact_current(device=device, contact="top", equation=sp.ece_name)
    jh = ds.get_contact_current(device=device, contact="top", equation=sp.hce_name)
    return je + jh


def devsim_sweep(state):
    ds, sp, device = state
    _ds_solve(ds, type="dc")
    its, times, J = [], [], {}
    for v in V_STEPS[1:]:
        t0 = time.perf_counter()
        ds.set_parameter(device=device, name=sp.GetContactBiasName("top"), value=float(v))
        its.append(_ds_solve(ds, type="dc"))
        times.append(time.perf_counter() - t0)
        J[round(float(v), 2)] = devsim_current(ds, sp, device)
    return J, its, times


def devsim_transient(state):
    ds, sp, device = state
    _ds_solve(ds, type="dc")
    ds.set_parameter(device=device, name=sp.GetContactBiasName("top"), value=0.0)
    _ds_solve(ds, type="transient_dc")
    ds.set_parameter(device=device, name=sp.GetContactBiasName("top"), value=0.7)
    times, its = [], []
    for _ in range(N_T):
        t0 = time.perf_counter()
        its.append(_ds_solve(ds, type="transient_bdf1", tdelta=DT, charge_error=1e30))
        times.append(time.perf_counter() - t0)
    return devsim_current(ds, sp, device), its, times


def main(reps: int = 3) -> dict:
    """Run the interleaved comparison and return the result dictionary."""
    rows = {"lem_dc": [], "ds_dc": [], "lem_tr": [], "ds_tr": []}
    res = {}
    for rep in range(reps):
        lem = lemsim_setup()
        dss = devsim_setup()
        jl, il, tl = lemsim_sweep(lem)
        jd, idd, td = devsim_sweep(dss)
        rows["lem_dc"].append(statistics.median(tl))
        rows["ds_dc"].append(statistics.median(td))
        _devsim_delete(dss)
        lem2 = lemsim_setup()
        dss2 = devsim_setup()
        jlt, ilt, tlt = lemsim_transient(lem2)
        jdt, idt, tdt = devsim_transient(dss2)
        rows["lem_tr"].append(statistics.median(tlt))
        rows["ds_tr"].append(statistics.median(tdt))
        _devsim_delete(dss2)
        if rep == 0:
            res = dict(jl=jl, jd=jd, il=il, idd=idd, jlt=jlt, jdt=jdt, ilt=ilt, idt=idt)
    jl, jd = res["jl"], res["jd"]
    rel = {v: abs(jl[v] - jd[v]) / abs(jd[v]) for v in (0.7, 0.8)}
    rel_tr = abs(res["jlt"] - res["jdt"]) / abs(res["jdt"])
    t = {k: statistics.median(v) for k, v in rows.items()}
    ratio_dc = t["lem_dc"] / t["ds_dc"]
    ratio_tr = t["lem_tr"] / t["ds_tr"]
    print(f"{'quantity':34s} {'lemsim':>14s} {'DEVSIM':>14s} {'rel.diff / ratio':>18s}")
    for v in (0.7, 0.8):
        print(f"J({v} V) [A/cm^2]{'':19s} {jl[v]:14.7g} {jd[v]:14.7g} {rel[v]:18.3g}")
    print(f"J(t_end) transient 0->0.7 V [A/cm^2] {res['jlt']:12.7g} {res['jdt']:14.7g} "
          f"{rel_tr:18.3g}")
    print(f"Newton its per bias point (mean){'':3s} {np.mean(res['il']):14.2f} "
          f"{np.mean(res['idd']):14.2f}")
    print(f"Newton its per time step (mean){'':4s} {np.mean(res['ilt']):14.2f} "
          f"{np.mean(res['idt']):14.2f}")
    print(f"time per bias point [ms]{'':11s} {t['lem_dc'] * 1e3:14.3f} {t['ds_dc'] * 1e3:14.3f} "
          f"{ratio_dc:18.3f}")
    print(f"time per time step [ms]{'':12s} {t['lem_tr'] * 1e3:14.3f} {t['ds_tr'] * 1e3:14.3f} "
          f"{ratio_tr:18.3f}")
    out = {"name": "pn_diode_vs_devsim", "ratio": max(ratio_dc, ratio_tr),
           "ratio_dc": ratio_dc, "ratio_transient": ratio_tr,
           "rel_diff_J_0p7": rel[0.7], "rel_diff_J_0p8": rel[0.8],
           "rel_diff_transient": rel_tr, "J_0p7_lemsim_A_cm2": jl[0.7],
           "J_0p8_lemsim_A_cm2": jl[0.8], "J_0p7_devsim_A_cm2": jd[0.7],
           "J_0p8_devsim_A_cm2": jd[0.8], "newton_its_lemsim": float(np.mean(res["il"])),
           "newton_its_devsim": float(np.mean(res["idd"])), "reps": reps,
           "nodes": N_CELLS + 1}
    path = ROOT / "results" / "bench" / "pn_diode_vs_devsim.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
