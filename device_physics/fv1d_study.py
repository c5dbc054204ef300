"""Quick mechanism studies with the fast fv1d solver (exploration, not calibration).

``pulse_end_values`` reads the per-pulse response of a trace; ``summarise`` runs a protocol
on a stack and returns the numbers the paper's D rows talk about (gain of current and light over
a pulse train, trapped charge, and the response after rests or UV).
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from device_physics.fv1d import FV1D, Trace
from device_physics.protocols import Protocol, load_protocol
from device_physics.stack import Stack, load_stack
from lemsim.metrics import window_end_values

log = logging.getLogger(__name__)


def pulse_end_values(trace: Trace, protocol: Protocol) -> dict[str, np.ndarray]:
    """Current (A/m^2), light (photons/(s m^2)) and trapped charges (C/m^2) at the end of
    every pulse of ``protocol`` (:func:`lemsim.metrics.window_end_values`)."""
    a = trace.arrays()
    return window_end_values(a["t"], protocol.pulse_windows(),
                             {k: a[k] for k in ("J", "L", "Qt_p", "Qt_n")})


def summarise(stack: Stack | str | Path, protocol: Protocol | str | Path,
              nodes_per_layer: int = 6, rtol: float = 0.05) -> dict[str, Any]:
    """Run ``protocol`` on ``stack`` with fv1d and summarise the pulse response."""
    st = load_stack(stack) if isinstance(stack, str | Path) else stack
    pr = load_protocol(protocol) if isinstance(protocol, str | Path) else protocol
    sol = FV1D(st, nodes_per_layer, ratio=1.2, rtol=rtol, wavelength=pr.wavelength,
               dt_edge=1e-6)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tr = sol.run(pr)
    pk = pulse_end_values(tr, pr)
    res: dict[str, Any] = {"stack": st.name, "protocol": pr.name,
                           "wall_s": time.perf_counter() - t0, "stats": tr.stats, "peaks": pk}
    if pk["J"].size >= 2:
        res["gain_J"] = float(pk["J"][-1] / pk["J"][0])
        res["gain_L"] = float(pk["L"][-1] / pk["L"][0]) if pk["L"][0] > 0 else float("nan")
    return res
