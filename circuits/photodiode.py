"""Photodiode arrays facing an N-LEM array: optical coupling and photocurrent readout.

Each N-LEM cell ``(i, j)`` of an N × M array faces one photodiode. The optical power received
by photodiode ``p`` is ``Σ_q C[p, q] · P_q`` with the coupling matrix ``C`` of
:func:`coupling_matrix` (``efficiency`` on the facing diode, ``crosstalk`` to each of the four
nearest neighbours). A photodiode (see :class:`~circuits.netlist.Photodiode`) is read either
by a virtual-ground TIA at its anode with its cathode at ``v_bias`` (reverse bias for
``v_bias > 0``), or by a load resistor from anode to ground with the cathode grounded
(photovoltaic mode). :func:`photodiode_currents` solves those pixel circuits exactly (scalar
Newton, vectorised over all pixels); :func:`pixel_netlist` builds the same circuit for the
general MNA solver and ngspice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuits.mna import ConvergenceError, diode_iv
from circuits.netlist import TIA, Netlist, Photodiode, Resistor, VSource


def coupling_matrix(n: int, m: int, efficiency: float, crosstalk: float) -> np.ndarray:
    """Optical coupling of an N × M emitter array to the facing detector array.

    Args:
        n: Rows.
        m: Columns.
        efficiency: Fraction of a cell's optical power reaching its own photodiode.
        crosstalk: Fraction reaching each nearest-neighbour photodiode.

    Returns:
        (N·M, N·M) matrix, row-major cell order; ``received = C @ emitted``.
    """
    if not 0 < efficiency <= 1:
        raise ValueError(f"efficiency = {efficiency!r}: must be in (0, 1]")
    if not 0 <= crosstalk <= 0.25:
        raise ValueError(f"crosstalk = {crosstalk!r}: must be in [0, 0.25]")
    C = efficiency * np.eye(n * m)
    for i in range(n):
        for j in range(m):
            p = i * m + j
            for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                a, b = i + di, j + dj
                if 0 <= a < n and 0 <= b < m:
                    C[p, a * m + b] = crosstalk
    return C


@dataclass
class PhotodiodeParams:
    """Photodiode of the receiving array (same meaning as :class:`~circuits.netlist.Photodiode`).

    Attributes:
        responsivity: A/W.
        i_dark: Junction saturation (dark) current, in A.
        n: Emission coefficient.
        rs: Series resistance, in Ω.
        rsh: Shunt resistance, in Ω (0: none).
        gmin: Conductance across the junction, in S (ngspice: 1e-12).
        spice_reverse: ngspice reverse-bias form below −3·N·Vt.
    """

    responsivity: float = 0.3
    i_dark: float = 1e-12
    n: float = 1.0
    rs: float = 10.0
    rsh: float = 1e9
    gmin: float = 1e-12
    spice_reverse: bool = True

    def element(self, name: str, a: str, k: str, power_w: float) -> Photodiode:
        """A netlist :class:`Photodiode` with these parameters."""
        return Photodiode(name, a, k, power_w=power_w, responsivity=self.responsivity,
                          i_dark=self.i_dark, n=self.n, rs=self.rs, rsh=self.rsh,
                          gmin=self.gmin, spice_reverse=self.spice_reverse)


def photodiode_currents(power_w: np.ndarray, pd: PhotodiodeParams, readout: str = "tia",
                        v_bias: float = 0.0, r_load: float = 1e4, tol: float = 1e-15,
                        max_iter: int = 100) -> np.ndarray:
    """Readout current of each photodiode pixel, vectorised.

    ``tia``: anode at virtual ground, cathode at ``v_bias``; returns the current flowing out of
    the anode into the TIA. ``load``: cathode grounded, anode through ``r_load`` to ground;
    returns the current through the load (out of the anode).

    Args:
        power_w: Received optical power per pixel (any shape), in W.
        pd: Photodiode parameters.
        readout: ``tia`` or ``load``.
        v_bias: Cathode voltage for ``tia`` readout, in V.
        r_load: Load resistance for ``load`` readout, in Ω.
        tol: Absolute tolerance on the current, in A.
        max_iter: Newton iteration cap.
    """
    if readout not in ("tia", "load"):
        raise ValueError(f"readout = {readout!r}: must be 'tia' or 'load'")
    p = np.asarray(power_w, dtype=float)
    if np.any(p < 0):
        raise ValueError("power_w must be >= 0")
    iph = pd.responsivity * p.ravel()
    # Unknown: I (out of the anode). Junction voltage Vd = V(a_int) - V(k).
    #   tia : V(a)=0, V(a_int)= I*rs (current flows a_int -> a), V(k)=v_bias
    #   load: V(a)= I*r_load, V(a_int) = I*(rs + r_load), V(k)=0
    r_ser = pd.rs if readout == "tia" else pd.rs + r_load
    v0 = -v_bias if readout == "tia" else 0.0
    one = np.ones_like(iph)
    gsh = 1.0 / pd.rsh if pd.rsh > 0 else 0.0
    vte = _vte(pd.n)
    i_out = np.zeros_like(iph)
    if r_ser == 0:
        vd = v0 * one
        idd, _ = diode_iv(vd, pd.i_dark * one, vte * one, pd.gmin * one,
                          np.full(iph.shape, pd.spice_reverse))
        return (iph - idd - gsh * vd).reshape(p.shape)
    # Newton on the junction voltage: f(vd) = (vd - v0)/r_ser - (iph - Id(vd) - gsh*vd) = 0
    vd = v0 * one
    for _ in range(max_iter):
        idd, gd = diode_iv(vd, pd.i_dark * one, vte * one, pd.gmin * one,
                           np.full(iph.shape, pd.spice_reverse))
        f = (vd - v0) / r_ser - (iph - idd - gsh * vd)
        df = 1.0 / r_ser + gd + gsh
        dv = -f / df
        dv = np.clip(dv, -0.5, 0.5)
        vd = vd + dv
        if np.max(np.abs(dv)) < 1e-15 + 1e-14 * np.max(np.abs(vd)):
            break
    else:
        raise ConvergenceError("photodiode pixel Newton did not converge")
    i_out = (vd - v0) / r_ser
    return i_out.reshape(p.shape)


def _vte(n: float) -> float:
    from circuits.netlist import K_BOLTZMANN, Q_ELECTRON, T_DEFAULT_K

    return n * K_BOLTZMANN * T_DEFAULT_K / Q_ELECTRON


def pixel_netlist(power_w: np.ndarray, pd: PhotodiodeParams, readout: str = "tia",
                  v_bias: float = 0.0, r_load: float = 1e4) -> Netlist:
    """Independent pixels as one netlist (``pd<p>``; readout ``vt<p>`` or ``rl<p>``)."""
    net = Netlist(title="photodiode pixels")
    if readout == "tia":
        net.add(VSource("vb", "bias", "0", v_bias))
    for k, pw in enumerate(np.asarray(power_w, dtype=float).ravel()):
        if readout == "tia":
            net.add(pd.element(f"pd{k}", f"a{k}", "bias", float(pw)))
            net.add(TIA(f"vt{k}", f"a{k}"))
        else:
            net.add(pd.element(f"pd{k}", f"a{k}", "0", float(pw)))
            net.add(Resistor(f"rl{k}", f"a{k}", "0", r_load))
    return net
