"""Progress of long steps: a tqdm bar on a terminal, periodic log lines otherwise.

Every step that runs longer than a few seconds (device runs: simulated time; trainings: epoch
and loss; sweeps: points done) reports through :class:`Progress`. On an interactive terminal
(stderr is a TTY) it draws a tqdm bar; elsewhere (a Snakemake rule, whose log file receives
the ``logging`` records, or a batch job) it writes an INFO line every ``every`` updates or
every ``interval_s`` seconds of wall time, whichever comes first, plus one when done::

    with Progress(total=1.6, desc="device pulses_10", unit="s simulated", log=log) as bar:
        while t < t_end:
            ...
            bar.set(t, steps=steps)
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

#: Seconds of wall time between two log lines (non-terminal mode).
LOG_INTERVAL_S = 10.0


def _interactive() -> bool:
    """Whether a tqdm bar makes sense: stderr is a terminal (``LEMSIM_PROGRESS=log`` forces
    log lines, ``=bar`` the bar)."""
    force = os.environ.get("LEMSIM_PROGRESS", "")
    if force in ("log", "bar"):
        return force == "bar"
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """Progress of one long step.

    Args:
        total: Amount at completion (simulated seconds, epochs, points), or None if unknown.
        desc: What is progressing (first word of every line).
        unit: Unit of ``total`` for the lines.
        log: Logger of the lines (default: this module's).
        every: Also log every ``every`` updates (0: by wall time only).
        interval_s: Wall time between two log lines [s] (default :data:`LOG_INTERVAL_S`).
        enabled: False: silent (no bar, no lines).
        bar: True/False forces the tqdm bar on/off (default: on a terminal only).
    """

    def __init__(self, total: float | None, desc: str, unit: str = "", log: Any = None,
                 every: int = 0, interval_s: float | None = None, enabled: bool = True,
                 bar: bool | None = None) -> None:
        self.total = total
        self.desc = desc
        self.unit = unit
        self.log = log or logging.getLogger(__name__)
        self.every = int(every)
        self.interval_s = float(LOG_INTERVAL_S if interval_s is None else interval_s)
        self.enabled = enabled
        self.value = 0.0
        self.updates = 0
        self.info: dict[str, Any] = {}
        self.t0 = time.perf_counter()
        self._last_log = self.t0
        self._bar = None
        if enabled and (_interactive() if bar is None else bar):
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, desc=desc, unit=unit.split()[0] if unit else "it",
                                 leave=False, mininterval=1.0, file=sys.stderr)
            except ImportError:  # pragma: no cover
                self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close(failed=exc[0] is not None)

    def _line(self, final: bool = False) -> str:
        done = f"{self.value:.4g}"
        frac = ""
        if self.total:
            done += f" / {self.total:.4g}"
            frac = f" ({100.0 * self.value / self.total:.0f} %)"
        extra = "".join(f", {k} {v:.4g}" if isinstance(v, float) else f", {k} {v}"
                        for k, v in self.info.items())
        wall = time.perf_counter() - self.t0
        unit = f" {self.unit}" if self.unit else ""
        return (f"{self.desc}: {'done, ' if final else ''}{done}{unit}{frac}{extra}, "
                f"{wall:.1f} s wall")

    def set(self, value: float, **info: Any) -> None:
        """Progress reached ``value`` (absolute: simulated time, epoch); ``info`` (loss,
        steps, ...) goes into the line or the bar's postfix."""
        if not self.enabled:
            return
        step = value - self.value
        self.value = float(value)
        self.updates += 1
        self.info.update(info)
        if self._bar is not None:
            self._bar.update(step)
            if info:
                self._bar.set_postfix(info, refresh=False)
            return
        now = time.perf_counter()
        if now - self._last_log >= self.interval_s or (
                self.every and self.updates % self.every == 0):
            self._last_log = now
            self.log.info("%s", self._line())

    def update(self, n: float = 1, **info: Any) -> None:
        """Progress advanced by ``n`` (points done, batches)."""
        self.set(self.value + n, **info)

    def close(self, failed: bool = False) -> None:
        """End: closes the bar, or logs a last line when the step took more than one
        ``interval_s`` or logged before (so short steps stay quiet)."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            return
        if failed:
            self.log.info("%s", self._line().replace(": ", ": stopped at ", 1))
        elif self.updates and (self._last_log > self.t0
                               or time.perf_counter() - self.t0 >= self.interval_s):
            self.log.info("%s", self._line(final=True))
        self.enabled = False


__all__ = ["Progress", "LOG_INTERVAL_S"]
