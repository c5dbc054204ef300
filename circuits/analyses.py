"""Analyses of a parsed netlist: ``.op`` and ``.tran`` cards and running them.

``.tran tstep tstop [tstart [tmax]] [uic]`` runs :meth:`circuits.mna.Circuit.transient` on a
fixed step (``tmax`` when given, else min(tstep, (tstop − tstart)/50), ngspice's largest step)
with every waveform corner added to the grid, with the integration method of the netlist's
``.options`` (ngspice's default trapezoidal rule; ``maxord=1`` is backward Euler).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from circuits.mna import compile_netlist
from circuits.netlist import Netlist


@dataclass
class Op:
    """A ``.op`` card."""

    line: int | None = field(default=None, kw_only=True)


@dataclass
class Tran:
    """A ``.tran`` card.

    Attributes:
        tstep: Printing step, in s (also ngspice's default for waveform timings).
        tstop: End time, in s.
        tstart: Time from which results are kept, in s.
        tmax: Largest step, in s (None: min(tstep, (tstop − tstart)/50)).
        uic: Start from zero unknowns instead of the operating point.
    """

    tstep: float
    tstop: float
    tstart: float = 0.0
    tmax: float | None = None
    uic: bool = False
    line: int | None = field(default=None, kw_only=True)

    @property
    def step(self) -> float:
        """The fixed step lemsim takes, in s."""
        if self.tmax is not None:
            return self.tmax
        return min(self.tstep, (self.tstop - self.tstart) / 50.0)


@dataclass
class TranResult:
    """Node voltages and source branch currents at each time point."""

    times: np.ndarray
    voltages: dict[str, np.ndarray]
    branch_currents: dict[str, np.ndarray]


def tran_method(net: Netlist) -> str:
    """``"be"`` or ``"trap"`` from the netlist's ``.options method`` and ``maxord``."""
    return "be" if float(net.options.get("maxord", 2.0)) == 1.0 else "trap"


def run_tran(net: Netlist, tran: Tran, times: np.ndarray | None = None) -> TranResult:
    """Solve ``tran`` for ``net`` (validated) on lemsim's fixed grid or on ``times``.

    Args:
        net: The netlist.
        tran: The analysis.
        times: Explicit time points (e.g. the ones ngspice accepted) instead of the grid;
            t = 0 is added in front when missing (ngspice omits it with ``uic``).
    """
    circ = compile_netlist(net, validate=False)
    added = times is not None and times[0] > 0
    grid = np.concatenate([[0.0], times]) if added else times
    t, x = circ.transient(tran.tstop, tran.step, uic=tran.uic, method=tran_method(net),
                          times=grid, tstep=tran.tstep)
    keep = t >= tran.tstart * (1 - 1e-12)
    if added:
        keep[0] = False
    return TranResult(
        times=t[keep],
        voltages={n: x[keep, i] for n, i in circ.node_index.items() if "#" not in n},
        branch_currents={n: x[keep, i] for n, i in circ.branch_index.items()},
    )


def format_tran(res: TranResult) -> str:
    """A table: time, every node voltage, every source branch current (17 digits)."""
    cols = ["time"] + [f"v({n})" for n in res.voltages] + [
        f"{n}#branch" for n in res.branch_currents]
    rows = ["\t".join(cols)]
    data = [res.times, *res.voltages.values(), *res.branch_currents.values()]
    for k in range(len(res.times)):
        rows.append("\t".join(f"{d[k]:.17g}" for d in data))
    return "\n".join(rows) + "\n"
