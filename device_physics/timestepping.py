"""Adaptive implicit time integration of a protocol with :class:`DDSolver`.

BDF1 on the first steps after every jump of the waveform (restart from a small step), variable
step BDF2 in between; a local error estimate (difference to the linear predictor, measured on
the log-densities of carriers that are present and on the trap occupancies) accepts or rejects
steps, and the Newton count limits the growth. Steps land exactly on every knot of the waveform.
A failure raises :class:`StepFailure`, which carries the trace computed so far.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any
from typing import Protocol as TProtocol

import numpy as np

from device_physics.solver import DDSolver, SolverError

log = logging.getLogger(__name__)


class Waveform(TProtocol):
    """What the time loop needs of a protocol."""

    @property
    def duration(self) -> float: ...  # noqa: D102

    def waveform(self, t: float) -> tuple[float, float]: ...  # noqa: D102

    def edges(self) -> np.ndarray: ...  # noqa: D102

    def jumps(self) -> np.ndarray: ...  # noqa: D102


@dataclass
class StepOptions:
    """Controls of the adaptive stepper.

    Attributes:
        rtol: Local error tolerance on log-densities and occupancies (dimensionless).
        dt_first: First step after a jump (s).
        dt_min: Smallest step before giving up (s).
        dt_max: Largest step (s).
        max_growth: Largest step growth factor per step.
        n_abs: Densities below n_abs·N0 are not error-controlled (dimensionless).
        newton_target: Newton iterations above which the step is shrunk.
        snapshot_times: Extra times (s) at which profiles are stored.
        max_steps: Hard limit of accepted steps.
        max_wall_s: Wall-time limit of the run (s; 0: none). Past it the run stops with a
            :class:`StepFailure` that keeps the trace computed so far.
        stall_steps: Accepted steps within one segment of the waveform (between two knots)
            after which the stepper counts the segment as stalled and runs its rest with the
            solver's density floor on (``DDSolver.ln_floor_stall``; nothing if that is None),
            until the next knot or a Newton failure under the floor (then off again, the
            step retried without it, and the count restarts). A healthy segment takes 20-200
            steps; a stalled one thousands of steps of 1e-14..1e-9 s
            (``device_physics.simulate.DENSITY_FLOOR`` says why).
        floor_dt: A step that fails without the floor at a step size below this (s) is retried
            once with the floor on (until the next knot), before dt is cut further.
    """

    rtol: float = 1e-3
    dt_first: float = 1e-9
    dt_min: float = 1e-16
    dt_max: float = 10.0
    max_growth: float = 2.0
    n_abs: float = 1e-6
    newton_target: int = 8
    snapshot_times: tuple[float, ...] = ()
    max_steps: int = 10_000_000
    max_wall_s: float = 0.0
    stall_steps: int = 1500
    floor_dt: float = 1e-12

    def __post_init__(self) -> None:
        if not 0 < self.rtol < 1:
            raise ValueError(f"rtol = {self.rtol!r}: must be in (0, 1)")
        if not 0 < self.dt_min <= self.dt_first <= self.dt_max:
            raise ValueError(f"need 0 < dt_min ({self.dt_min}) <= dt_first ({self.dt_first}) "
                             f"<= dt_max ({self.dt_max})")
        if self.stall_steps < 1:
            raise ValueError(f"stall_steps = {self.stall_steps!r}: must be >= 1")
        if not self.max_wall_s >= 0:
            raise ValueError(f"max_wall_s = {self.max_wall_s!r}: must be >= 0 s (0: no limit)")


@dataclass
class Trace:
    """Time trace of a run (SI)."""

    t: list[float] = field(default_factory=list)
    V: list[float] = field(default_factory=list)
    uv: list[float] = field(default_factory=list)
    J: list[float] = field(default_factory=list)
    J_right: list[float] = field(default_factory=list)
    L: list[float] = field(default_factory=list)
    Qt_p: list[float] = field(default_factory=list)
    Qt_n: list[float] = field(default_factory=list)
    snapshots: list[tuple[float, dict[str, np.ndarray]]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def arrays(self) -> dict[str, np.ndarray]:
        """The trace as numpy arrays."""
        return {k: np.asarray(getattr(self, k)) for k in
                ("t", "V", "uv", "J", "J_right", "L", "Qt_p", "Qt_n")}


class StepFailure(RuntimeError):
    """The time loop could not continue; ``trace`` holds everything computed so far."""

    def __init__(self, msg: str, trace: Trace) -> None:
        super().__init__(msg)
        self.trace = trace


def record(s: DDSolver, tr: Trace, t: float, uv: float, D_prev: list[np.ndarray],
           weights: tuple[float, float, float] | None) -> None:
    """Append the observables of the present state at time ``t`` to the trace."""
    cc = s.contact_currents()
    if weights is None or len(D_prev) < 1:
        dD = np.zeros(2)
    else:
        a0, a1, a2 = weights
        dD = a0 * cc["D"] + a1 * D_prev[-1]
        if a2 != 0.0 and len(D_prev) >= 2:
            dD = dD + a2 * D_prev[-2]
    # + the shunt (stack.shunt_conductance: non-emitting leakage in parallel, G_sh V)
    J = (cc["jn"] + cc["jp"] + dD) * s.sc.J0 + s.shunt_current()
    D_prev.append(cc["D"])
    if len(D_prev) > 2:
        del D_prev[0]
    qp, qn = s.trapped_charge()
    tr.t.append(t)
    tr.V.append(s.V_applied)
    tr.uv.append(uv)
    tr.J.append(float(J[0]))
    tr.J_right.append(float(J[1]))
    tr.L.append(s.light())
    # data contract (device_physics.output): Qt_n is the magnitude of the electron-trap
    # charge (>= 0; the solver's signed value is <= 0), as fv1d writes it; net = Qt_p - Qt_n
    tr.Qt_p.append(qp)
    tr.Qt_n.append(-qn)


def _error_norm(s: DDSolver, u: np.ndarray, pred: np.ndarray, n_abs: float) -> float:
    """Weighted RMS norm of u - pred: log-densities of present carriers and occupancies."""
    nc = s.ncomp
    a = u.reshape(-1, nc)
    b = pred.reshape(-1, nc)
    if not hasattr(s, "_dof_thn"):
        s._weighted_update(np.zeros_like(u), u)
    ln_abs = math.log(n_abs)
    ln_n = s._dof_thn + a[:, 0] - a[:, 1]
    ln_p = s._dof_thp - a[:, 0] + a[:, 2]
    wn = 1.0 / (1.0 + np.exp(np.minimum(ln_abs - ln_n, 700)))
    wp = 1.0 / (1.0 + np.exp(np.minimum(ln_abs - ln_p, 700)))
    en = np.abs((a[:, 0] - a[:, 1]) - (b[:, 0] - b[:, 1])) * wn
    ep = np.abs((a[:, 2] - a[:, 0]) - (b[:, 2] - b[:, 0])) * wp
    parts = [en, ep]
    if nc > 3:
        parts.append(np.abs(a[:, 3:] - b[:, 3:]).ravel())
    allv = np.concatenate(parts)
    # RMS over the controlled entries (entries of absent carriers have weight ~0)
    return float(np.sqrt(np.mean(allv**2)))


def run_protocol(s: DDSolver, protocol: Waveform, opts: StepOptions | None = None,
                 start_from_equilibrium: bool = True, progress: bool = True) -> Trace:
    """Integrate ``protocol`` from its start; returns the :class:`Trace`.

    ``progress``: report the simulated time reached (:class:`lemsim.progress.Progress`: a
    tqdm bar on a terminal, an INFO log line every 10 s of wall time elsewhere, e.g. in a
    Snakemake rule's log); False: silent.

    Raises:
        StepFailure: when a step fails at ``dt_min`` (message: time, bias, location); its
            ``trace`` attribute holds the trace up to the last accepted step.
    """
    opts = opts or StepOptions()
    tr = Trace()
    wall0 = time.perf_counter()
    if start_from_equilibrium:
        s.equilibrium()
    # the state just before t = 0 (a jump at t = 0 is integrated like any other)
    V0, uv0 = protocol.waveform(-1e-12)
    if V0 != 0.0:
        s.steady(V0)
    s.set_uv(uv0)
    D_hist: list[np.ndarray] = []
    record(s, tr, 0.0, uv0, D_hist, None)
    tr.snapshots.append((0.0, s.profiles()))
    t_end = float(protocol.duration)
    knots = np.unique(np.concatenate([np.asarray(protocol.edges(), float), [t_end]]))
    knots = knots[(knots > 0) & (knots <= t_end)]
    jumps = set(np.round(np.asarray(protocol.jumps(), float), 15).tolist())
    snaps = set(np.round(np.asarray(opts.snapshot_times, float), 15).tolist())
    t = 0.0
    dt = opts.dt_first
    dt_prev: float | None = None
    since_restart = 0 if 0.0 in jumps else 2
    steps = rejected = 0
    newton0 = s.stats.iterations
    from lemsim.progress import Progress

    bar = Progress(t_end, f"device {getattr(protocol, 'name', 'protocol')}", "s simulated",
                   log=log, enabled=progress)
    u_prev2 = s.u2.x.array.copy()
    seg_steps = 0
    flipped = False  # the failed step was retried with the density floor flipped
    for tk in knots:
        while t < tk * (1 - 1e-13) - 1e-300:
            remaining = tk - t
            dt = min(dt, opts.dt_max)
            if dt >= remaining * 0.999:
                dt = remaining
            elif dt > 0.5 * remaining:
                dt = 0.5 * remaining
            t_new = t + dt
            at_knot = dt == remaining
            t_eval = t_new if not at_knot else tk - 1e-12 * max(tk, 1e-9)
            V, uv = protocol.waveform(t_eval)
            order = 1 if since_restart < 2 else 2
            try:
                its = s.transient_step(dt, float(V), float(uv), order,
                                       None if order == 1 else dt_prev)
            except SolverError as err:
                log.debug("t=%.9g dt=%.3g Newton failed: %s", t_new, dt, err)
                rejected += 1
                floor_on = s.ln_floor > -1e299
                if s.ln_floor_stall is not None and not flipped and \
                        (floor_on or dt < opts.floor_dt):
                    # the same step once more with the density floor in the other state:
                    # off, when the floor blocks the step (the solution holds a carrier below
                    # it: no_qd, ZnO holes at the floor, t = 0.51 s; the segment may stall and
                    # floor again later); on, when the step keeps failing without it (PEDOT
                    # electrons at ln(c/N0) = -55 swinging by an amount proportional to dt:
                    # sweep point trap x0.3, t = 0.27 s)
                    flipped = True
                    if floor_on:
                        s.ln_floor = -1e300
                        seg_steps = 0
                    else:
                        s.ln_floor = float(s.ln_floor_stall)
                        s.stats.floor_segments += 1
                    log.info("step failed at t = %.9g s, dt = %.3g s: density floor %s",
                             t_new, dt, "off" if floor_on else "on until the knot")
                    continue
                flipped = False
                dt *= 0.25
                if dt < opts.dt_min:
                    tr.stats = _stats(s, steps, rejected, newton0, wall0, failed=True)
                    where = s.where()
                    raise StepFailure(
                        f"time step failed at t = {t_new:.6g} s (dt < {opts.dt_min:g} s), "
                        f"bias V = {V:.6g} V, UV = {uv:.4g} W/m^2, at {err.where or where}: "
                        f"{err}", tr) from err
                continue
            # local error estimate
            u_new = s.u.x.array
            if since_restart == 0:
                err_est = 0.0
            elif since_restart == 1 or dt_prev is None:
                err_est = 0.5 * _error_norm(s, u_new, s.u1.x.array, opts.n_abs) / opts.rtol
            else:
                pred = s.u1.x.array + (s.u1.x.array - u_prev2) * (dt / dt_prev)
                err_est = (dt / (dt + dt_prev)) * _error_norm(s, u_new, pred, opts.n_abs) \
                    / opts.rtol
            log.debug("t=%.9g dt=%.3g its=%d err=%.3g order=%d V=%g", t_new, dt, its, err_est,
                      order, V)
            if err_est > 1.0 and dt > opts.dt_min * 4:
                rejected += 1
                s.u.x.array[:] = s.u1.x.array
                s._set_bias(tr.V[-1])
                dt *= max(0.2, 0.9 * err_est ** (-1.0 / (order + 1)))
                continue
            # accept
            steps += 1
            flipped = False
            weights = (float(s.a0.value), float(s.a1.value), float(s.a2.value))
            record(s, tr, t_new, float(uv), D_hist, weights)
            u_prev2 = s.u1.x.array.copy()
            s.u2.x.array[:] = s.u1.x.array
            s.u1.x.array[:] = s.u.x.array
            t = tk if at_knot else t_new
            if at_knot:
                tr.t[-1] = tk
            dt_prev = dt
            since_restart += 1
            fac = opts.max_growth if err_est == 0 else min(
                opts.max_growth, max(0.2, 0.9 * err_est ** (-1.0 / (order + 1))))
            if its > opts.newton_target:
                fac = min(fac, 0.7)
            dt = dt * fac
            bar.set(t, steps=steps, dt=dt_prev)
            seg_steps += 1
            if seg_steps == opts.stall_steps and s.ln_floor_stall is not None \
                    and s.ln_floor < -1e299:
                s.ln_floor = float(s.ln_floor_stall)
                s.stats.floor_segments += 1
                log.info("stalled segment (%d steps, t = %.9g s, dt = %.3g s, next knot %.9g s):"
                         " density floor on until the knot", seg_steps, t, dt_prev, tk)
            if steps >= opts.max_steps:
                tr.stats = _stats(s, steps, rejected, newton0, wall0, failed=True)
                raise StepFailure(f"max_steps = {opts.max_steps} reached at t = {t:.6g} s", tr)
            if opts.max_wall_s > 0 and time.perf_counter() - wall0 > opts.max_wall_s:
                tr.stats = _stats(s, steps, rejected, newton0, wall0, failed=True)
                raise StepFailure(f"wall-time limit max_wall_s = {opts.max_wall_s:g} s reached "
                                  f"at t = {t:.6g} s of {t_end:g} s (bias V = {V:.6g} V, "
                                  f"dt = {dt_prev:.3g} s)", tr)
        # at knot tk
        seg_steps = 0
        if s.ln_floor_stall is not None and s.ln_floor > -1e299:
            s.ln_floor = -1e300  # the floor was on for a stalled segment only
        tkr = round(float(tk), 15)
        if tkr in jumps or tkr in snaps or tk == knots[-1]:
            tr.snapshots.append((float(tk), s.profiles()))
        if tkr in jumps:
            since_restart = 0
            dt = opts.dt_first
            D_hist.clear()
            D_hist.append(s.contact_currents()["D"])
    bar.close()
    tr.stats = _stats(s, steps, rejected, newton0, wall0, failed=False)
    return tr


def _stats(s: DDSolver, steps: int, rejected: int, newton0: int, wall0: float,
           failed: bool) -> dict[str, Any]:
    return {"steps": steps, "rejected_steps": rejected,
            "newton_iterations": s.stats.iterations - newton0,
            "newton_failures": s.stats.failures,
            "stagnation_accepts": s.stats.stagnation_accepts,
            "floor_segments": s.stats.floor_segments,
            "wall_s": time.perf_counter() - wall0,
            "failed": failed}
