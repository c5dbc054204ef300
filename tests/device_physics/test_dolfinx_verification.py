"""Verification of the dolfinx drift-diffusion solver against analytic results.

Each test states its tolerance and why. Meshes are kept small (2-core CI box) but each
tolerance is met on the mesh used here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from mpi4py import MPI  # noqa: F401  (before dolfinx)

from device_physics.equations import DDContact, DDDevice, DDLayer, DDTrap  # noqa: E402
from device_physics.scaling import EPS0, KB, Q  # noqa: E402
from device_physics.solver import DDSolver  # noqa: E402
from device_physics.timestepping import StepOptions, run_protocol  # noqa: E402

pytestmark = pytest.mark.dolfinx

SI = dict(eps_r=11.7, chi=4.05, Eg=1.12, Nc=2.8e25, Nv=1.04e25, mu_n=0.14, mu_p=0.045)


class Step:
    """Voltage step 0 -> V at t = 0, held for ``duration`` (a minimal protocol)."""

    def __init__(self, V: float, duration: float) -> None:
        self.V, self.duration = V, duration

    def waveform(self, t: float) -> tuple[float, float]:
        return (self.V if t > 0 else 0.0), 0.0

    def edges(self) -> np.ndarray:
        return np.array([0.0, self.duration])

    def jumps(self) -> np.ndarray:
        return np.array([0.0])


def test_layered_dielectric_poisson_matches_analytic():
    # two carrier-free dielectrics (wide gap, contacts at mid-gap), fixed charge in layer 2
    d1, d2, e1, e2, rho_n = 30e-9, 50e-9, 3.0, 9.0, 2e23  # m, m, -, -, charges/m^3
    common = dict(chi=2.0, Eg=6.0, Nc=1e25, Nv=1e25, mu_n=1e-8, mu_p=1e-8)
    dev = DDDevice([DDLayer("a", d1, eps_r=e1, **common),
                    DDLayer("b", d2, eps_r=e2, N_fix=rho_n, **common)],
                   left=DDContact(5.0), right=DDContact(5.0))
    s = DDSolver(dev, cells_per_layer=20, grading=1.0)
    s.equilibrium()
    V = 1.0
    s.steady(V)
    prof = s.profiles()
    x = s.x
    # analytic: psi(0) = V + c, psi(L) = c; -(eps psi')' = q rho in b; D continuous
    L = d1 + d2
    # unknown D0 = eps1 E in layer a (constant); in b: D(x) = D0 + q rho (x - d1)
    # sum of drops: V = D0 d1/(eps0 e1) + [D0 d2 + q rho d2^2/2]/(eps0 e2)
    D0 = (V - Q * rho_n * d2**2 / (2 * EPS0 * e2)) / (d1 / (EPS0 * e1) + d2 / (EPS0 * e2))

    def psi_exact(xx):
        xa = np.minimum(xx, d1)
        xb = np.maximum(xx - d1, 0.0)
        return V - D0 * xa / (EPS0 * e1) - (D0 * xb + Q * rho_n * xb**2 / 2) / (EPS0 * e2)

    num = prof["psi"] - prof["psi"][-1]
    err = np.max(np.abs(num - psi_exact(x)))
    # P1 with lumped piecewise-constant charge is nodally exact in 1D: only Newton/rounding
    # error remains (the carrier charge of a 6 eV gap is < 1e-30 of the fixed charge)
    assert err < 1e-9, err
    assert abs(psi_exact(L)) < 1e-12


def _short_diode_current(V: float, N: float, W: float) -> float:
    vt = KB * 300 / Q
    ni2 = SI["Nc"] * SI["Nv"] * math.exp(-SI["Eg"] / vt)
    eps = SI["eps_r"] * EPS0
    vbi = vt * math.log(N * N / ni2)
    xd = math.sqrt(2 * eps * (vbi - V) / (Q * 2 * N))  # per side, symmetric junction
    return Q * ni2 * vt * (SI["mu_n"] + SI["mu_p"]) / (N * (W - xd)) * math.expm1(V / vt)


def test_pn_diode_follows_ideal_short_diode_law_at_low_injection():
    # no bulk recombination: the ideal (short-base, ohmic contacts) diode law is exact at
    # low injection up to the depletion approximation for the quasi-neutral widths (< 1 %)
    N, W = 1e23, 5e-6
    dev = DDDevice([DDLayer("p", W, N_A=N, **SI), DDLayer("n", W, N_D=N, **SI)])
    s = DDSolver(dev, cells_per_layer=100, grading=3.0)
    s.equilibrium()
    for V in (0.3, 0.4, 0.5):
        s.steady(V, dV_max=0.1)
        J = s.steady_current()
        Jth = _short_diode_current(V, N, W)
        assert abs(J / Jth - 1) < 0.05, (V, J, Jth)  # issue tolerance: 5 %


def test_current_conservation_steady_pn_diode():
    dev = DDDevice([DDLayer("p", 5e-6, N_A=1e24, tau_n=1e-8, tau_p=1e-8, **SI),
                    DDLayer("n", 5e-6, N_D=1e24, tau_n=1e-8, tau_p=1e-8, **SI)])
    s = DDSolver(dev, cells_per_layer=100, grading=3.0)
    s.equilibrium()
    s.steady(0.7, dV_max=0.1)
    cc = s.contact_currents()
    jl, jr = cc["jn"][0] + cc["jp"][0], cc["jn"][1] + cc["jp"][1]
    # 1e-6 relative (issue); 0.7 V is well above the rounding floor eps*|phi|/h
    assert abs(jl - jr) <= 1e-6 * abs(jl), (jl, jr)


def _hole_only(L=100e-9, Nv=3e25, mu=1e-8, wf_right=5.0, traps=()):
    lay = DDLayer("org", L, eps_r=3.0, chi=2.5, Eg=2.5, Nc=Nv, Nv=Nv, mu_n=mu, mu_p=mu,
                  traps=list(traps))
    return DDDevice([lay], left=DDContact(5.0), right=DDContact(wf_right))


def test_mott_gurney_sclc():
    # ohmic (barrier-free) hole injection, no built-in voltage; diffusion corrections
    # decay like Vt/V, so the check is made at V/Vt ~ 6000 (measured: +0.5 % at 200 cells)
    L, mu, eps = 100e-9, 1e-8, 3.0
    s = DDSolver(_hole_only(L=L, mu=mu), cells_per_layer=200, grading=3.0)
    s.equilibrium()
    V = 150.0
    s.steady(V, dV_max=20.0)
    J = s.steady_current()
    Jmg = 9 / 8 * eps * EPS0 * mu * V**2 / L**3
    assert abs(J / Jmg - 1) < 0.02, J / Jmg  # issue tolerance: 2 %


def test_trap_limited_sclc_trend():
    # deep hole traps lower the SCLC current; filling them brings it back towards the
    # trap-free law as V grows (the trap-filled-limit trend)
    trap = DDTrap(density=5e23, depth_eV=0.5, kind="hole", c_n=0.0, c_p=1e-16)
    free = DDSolver(_hole_only(), cells_per_layer=60, grading=3.0)
    trapped = DDSolver(_hole_only(traps=[trap]), cells_per_layer=60, grading=3.0)
    free.equilibrium()
    trapped.equilibrium()
    ratios = []
    for V in (2.0, 10.0, 40.0):
        free.steady(V, dV_max=2.0)
        trapped.steady(V, dV_max=2.0)
        ratios.append(trapped.steady_current() / free.steady_current())
    assert ratios[0] < 0.5, ratios
    assert ratios[0] < ratios[1] < ratios[2] <= 1.0 + 1e-6, ratios


def test_many_rakavy_transient_peak_and_conservation():
    # step 0 -> V on an initially almost empty hole-only layer (1 V built-in from the work
    # functions): current peak at 0.786 L^2/(mu (V - Vbi)) (Many & Rakavy 1962)
    L, mu, V, vbi = 100e-9, 1e-8, 20.0, 1.0
    s = DDSolver(_hole_only(L=L, mu=mu, wf_right=4.0), cells_per_layer=100, grading=2.0)
    ttr = L**2 / (mu * (V - vbi))
    tr = run_protocol(s, Step(V, 1.5 * ttr),
                      StepOptions(rtol=1e-3, dt_first=1e-4 * ttr, dt_max=0.01 * ttr))
    a = tr.arrays()
    late = a["t"] > 0.3 * ttr
    k = int(np.argmax(np.where(late, a["J"], -np.inf)))
    assert abs(a["t"][k] / ttr / 0.786 - 1) < 0.03, a["t"][k] / ttr  # issue: 3 %
    # conduction + displacement current equal at both contacts (transient, 1e-6 relative)
    rel = np.abs(a["J"][1:] - a["J_right"][1:]) / np.abs(a["J"][1:])
    assert rel.max() < 1e-6, rel.max()


def test_mesh_convergence_order_smooth_problem():
    # n-type photoconductor, Beer-Lambert generation and SRH: smooth solution; the SG box
    # scheme is second order, the issue asks for an observed order >= 1.8
    si = dict(SI, tau_n=1e-7, tau_p=1e-7)
    dev = DDDevice([DDLayer("n", 2e-6, N_D=1e21, alpha_uv=2e6, **si)])
    J = {}
    for n in (10, 20, 40, 320):
        s = DDSolver(dev, cells_per_layer=n, grading=0.0)
        s.equilibrium()
        s.set_uv(100.0)
        s.steady(0.05)
        J[n] = s.steady_current()
    e = [abs(J[n] - J[320]) for n in (10, 20, 40)]
    orders = [math.log2(e[i] / e[i + 1]) for i in range(2)]
    assert min(orders) >= 1.8, orders
