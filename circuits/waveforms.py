"""Time-dependent source waveforms with ngspice's definitions: PULSE, SIN, PWL, EXP.

Each waveform gives its value at a time (``value(t, tstep, tstop)``; ngspice fills omitted or
zero timing parameters from the ``.tran`` step and stop time, so they are arguments here), its
value at the operating point (t = 0, as ngspice uses when the source has no ``DC`` value), the
corner times a transient grid must hit (``breakpoints``) and its SPICE text. The formulas follow
ngspice's ``vsrcload.c`` (ngspice-39): PULSE with rise/fall edges and period, SIN with delay,
damping and phase (degrees), PWL held constant outside its table, EXP with two time constants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def _fmt(x: float) -> str:
    return f"{x:.17g}"


@dataclass(frozen=True)
class Pulse:
    """``PULSE(V1 V2 TD TR TF PW PER)``; 0 for TR, TF, PW or PER means ngspice's default."""

    v1: float
    v2: float
    td: float = 0.0
    tr: float = 0.0
    tf: float = 0.0
    pw: float = 0.0
    per: float = 0.0

    def _timing(self, tstep: float, tstop: float) -> tuple[float, float, float, float]:
        return (self.tr or tstep, self.tf or tstep, self.pw or tstop, self.per or tstop)

    def value(self, t: float, tstep: float = 0.0, tstop: float = 0.0) -> float:
        """Value at time ``t`` (s)."""
        tr, tf, pw, per = self._timing(tstep, tstop)
        time = t - self.td
        if per > 0 and time > per:
            time -= per * math.floor(time / per)
        if time <= 0 or time >= tr + pw + tf:
            return self.v1
        if tr <= time <= tr + pw:
            return self.v2
        if time < tr:
            return self.v1 + (self.v2 - self.v1) * time / tr
        return self.v2 + (self.v1 - self.v2) * (time - (tr + pw)) / tf

    def breakpoints(self, tstep: float, tstop: float) -> list[float]:
        """Corner times in [0, tstop]."""
        tr, tf, pw, per = self._timing(tstep, tstop)
        out: list[float] = []
        k = 0
        while per > 0:
            base = self.td + k * per
            if base > tstop:
                break
            out += [base + c for c in (0.0, tr, tr + pw, tr + pw + tf)]
            k += 1
        return [t for t in out if 0.0 <= t <= tstop]

    def spice(self) -> str:
        """SPICE text."""
        vals = (self.v1, self.v2, self.td, self.tr, self.tf, self.pw, self.per)
        return "PULSE(" + " ".join(_fmt(v) for v in vals) + ")"


@dataclass(frozen=True)
class Sin:
    """``SIN(VO VA FREQ TD THETA PHASE)``; FREQ = 0 means 1/TSTOP, PHASE in degrees."""

    vo: float
    va: float
    freq: float = 0.0
    td: float = 0.0
    theta: float = 0.0
    phase: float = 0.0

    def value(self, t: float, tstep: float = 0.0, tstop: float = 0.0) -> float:
        """Value at time ``t`` (s)."""
        freq = self.freq or (1.0 / tstop if tstop > 0 else 0.0)
        ph = self.phase * math.pi / 180.0
        time = t - self.td
        if time <= 0:
            return self.vo + self.va * math.sin(ph)
        return self.vo + self.va * math.sin(freq * time * 2.0 * math.pi + ph) * math.exp(
            -time * self.theta)

    def breakpoints(self, tstep: float, tstop: float) -> list[float]:
        """The delay, where the sine starts."""
        return [self.td] if 0.0 < self.td <= tstop else []

    def spice(self) -> str:
        """SPICE text."""
        vals = (self.vo, self.va, self.freq, self.td, self.theta, self.phase)
        return "SIN(" + " ".join(_fmt(v) for v in vals) + ")"


@dataclass(frozen=True)
class Exp:
    """``EXP(V1 V2 TD1 TAU1 TD2 TAU2)``; zeros take ngspice's defaults (TSTEP, TD1 + TSTEP)."""

    v1: float
    v2: float
    td1: float = 0.0
    tau1: float = 0.0
    td2: float = 0.0
    tau2: float = 0.0

    def _timing(self, tstep: float) -> tuple[float, float, float, float]:
        td1 = self.td1 or tstep
        return td1, self.tau1 or tstep, self.td2 or td1 + tstep, self.tau2 or tstep

    def value(self, t: float, tstep: float = 0.0, tstop: float = 0.0) -> float:
        """Value at time ``t`` (s)."""
        td1, tau1, td2, tau2 = self._timing(tstep)
        if t <= td1:
            return self.v1
        rise = (self.v2 - self.v1) * (1.0 - math.exp(-(t - td1) / tau1))
        if t <= td2:
            return self.v1 + rise
        return self.v1 + rise + (self.v1 - self.v2) * (1.0 - math.exp(-(t - td2) / tau2))

    def breakpoints(self, tstep: float, tstop: float) -> list[float]:
        """The two delays."""
        td1, _, td2, _ = self._timing(tstep)
        return [t for t in (td1, td2) if 0.0 < t <= tstop]

    def spice(self) -> str:
        """SPICE text."""
        vals = (self.v1, self.v2, self.td1, self.tau1, self.td2, self.tau2)
        return "EXP(" + " ".join(_fmt(v) for v in vals) + ")"


@dataclass(frozen=True)
class Pwl:
    """``PWL(T1 V1 T2 V2 ...)``: linear between points, the end values outside them."""

    times: tuple[float, ...]
    values: tuple[float, ...]

    def value(self, t: float, tstep: float = 0.0, tstop: float = 0.0) -> float:
        """Value at time ``t`` (s)."""
        ts, vs = self.times, self.values
        if t <= ts[0]:
            return vs[0]
        for k in range(len(ts) - 1):
            if ts[k] <= t <= ts[k + 1]:
                if t == ts[k + 1]:
                    return vs[k + 1]
                return vs[k] + (t - ts[k]) / (ts[k + 1] - ts[k]) * (vs[k + 1] - vs[k])
        return vs[-1]

    def breakpoints(self, tstep: float, tstop: float) -> list[float]:
        """The table's times inside [0, tstop]."""
        return [t for t in self.times if 0.0 <= t <= tstop]

    def spice(self) -> str:
        """SPICE text."""
        pts = " ".join(f"{_fmt(t)} {_fmt(v)}" for t, v in zip(self.times, self.values,
                                                                strict=True))
        return f"PWL({pts})"


Waveform = Pulse | Sin | Exp | Pwl

#: SPICE keyword → (class, fewest numbers, most numbers).
FORMS: dict[str, tuple[type, int, int]] = {
    "pulse": (Pulse, 2, 7),
    "sin": (Sin, 2, 6),
    "exp": (Exp, 2, 6),
    "pwl": (Pwl, 2, 10**9),
}


def make_waveform(kind: str, numbers: list[float]) -> Waveform:
    """A waveform from its SPICE keyword and numbers (counts checked by the caller).

    Raises:
        ValueError: a negative time, delay or frequency, a PWL table with an odd count or
            times that decrease.
    """
    cls = FORMS[kind][0]
    timing = {Pulse: range(2, 7), Sin: (2, 3), Exp: range(2, 6), Pwl: range(0, len(numbers), 2)}
    bad = [numbers[k] for k in timing[cls] if k < len(numbers) and numbers[k] < 0]
    if bad:
        raise ValueError(f"{kind.upper()}: negative time or frequency {bad[0]!r}")
    if cls is Pwl:
        if len(numbers) % 2:
            raise ValueError(f"PWL needs time-value pairs, got {len(numbers)} numbers")
        ts, vs = tuple(numbers[0::2]), tuple(numbers[1::2])
        if any(b < a for a, b in zip(ts, ts[1:], strict=False)):
            raise ValueError(f"PWL times must not decrease: {list(ts)}")
        return Pwl(ts, vs)
    return cls(*numbers)
