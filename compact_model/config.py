"""Configuration section ``compact`` (compact N-LEM model). Light module: no Numba import."""

from __future__ import annotations

from dataclasses import dataclass

from lemsim.configtools import ConfigError, param


@dataclass
class CompactConfig:
    """Compact N-LEM model: which preset or fit, levels and variability."""

    source: str = param("physics", choices=("physics", "paper", "measured"))
    """Where parameters come from: ``physics`` (default, every scale) fits the drift-diffusion
    traces of the device and study stages and needs ``device.enabled`` (else the config is
    refused at load time); ``paper`` uses the preset fitted to the paper's numbers (the named
    comparison); ``measured`` fits the measurement files of ``measured``."""
    measured: list[str] = param(default_factory=list)
    """Measurement CSV files of one device fitted when ``source`` is ``measured`` (paths
    relative to the repository root; each with its ``<stem>.meta.yaml`` beside it, formats in
    :mod:`compact_model.measured`); e.g. ``[examples/data/nlem_measured_synthetic.csv]``."""
    levels_per_sign: int = param(15, lo=2, hi=1024)
    """Programmable conductance levels per sign of a differential pair (paper: 15)."""
    d2d_sigma: float = param(0.02, lo=0.0, hi=1.0)
    """Device-to-device spread of the update parameters (relative standard deviation)."""
    c2c_sigma: float = param(0.01, lo=0.0, hi=1.0)
    """Cycle-to-cycle noise of one state update (relative standard deviation)."""
    read_noise: float = param(0.005, lo=0.0, hi=1.0)
    """Read noise of current and light (relative standard deviation)."""
    preset: str = param("paper", choices=("paper",))
    """Preset used when no physics traces are fitted, and as the physics fit's start point."""
    physics_study: str = "nlem"
    """Study folder of the device-stage traces: ``results/device/<physics_study>/<protocol>.h5``
    (also the stack named by ``synapse_source``, ``physics:<physics_study>``)."""
    physics_protocols: list[str] = param(default_factory=lambda: [
        "pulses_10", "pulses_30", "pulses_50", "ppf_10ms", "ppf_100ms", "ppf_1s",
        "decay", "uv_reset", "full"])
    """Physics protocols fitted at once by ``fit_compact`` (names of config/protocols/*.yaml).
    Each is read where the DAG already computes it (``physics_trace`` in
    ``workflow/rules/common.smk``): the device stage's run when ``device.protocols`` lists it,
    else the studies' trace when ``studies.figure_protocols`` lists it, else a device run of
    its own. ``uv_reset`` carries the UV erase (its trapped charge under UV gives the compact
    UV rate), ``decay`` and ``full`` the natural decay (trapped charge in the dark rest)."""
    fit_max_nfev: int = param(200, lo=1, hi=100000)
    """Function-evaluation cap of the least-squares fit to the physics traces."""
    v_read: float = param(4.0, lo=0.1, hi=8.0)
    """Read voltage of the level table and the conductances [V] (paper Fig. 2h: 4 V)."""

    def __post_init__(self) -> None:
        if self.source == "measured" and not self.measured:
            raise ConfigError(["compact.measured: empty, but compact.source is 'measured': "
                               "list the measurement files to fit, e.g. compact.measured: "
                               "[examples/data/nlem_measured_synthetic.csv]"])
