"""Hardware description shared by the analog layers: :class:`HardwareConfig`.

One :class:`HardwareConfig` describes the N-LEM synapse array a network runs on: the reachable
conductance levels (from the compact model), converter resolutions, noise and whether the
cell's I-V nonlinearity acts on the input. ``hw=None`` in a layer means the digital layer.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any


def _circuits_default(name: str, fallback: float) -> float:
    """Default of a field of ``circuits.config.CircuitsConfig`` (the circuits-stage calibration)."""
    try:
        from circuits.config import CircuitsConfig

        return float(getattr(CircuitsConfig(), name))
    except (ImportError, AttributeError):  # pragma: no cover - circuits stage absent
        return fallback


@dataclass
class HardwareConfig:
    """N-LEM array parameters of the analog layers (all values dimensionless unless stated)."""

    levels_per_sign: int = 15
    """Reachable conductance levels per device of a differential pair (zero included), 2-256."""
    dac_bits: int = 8
    """Input DAC resolution in bits (signed codes); 0 = ideal (infinite resolution)."""
    adc_bits: int = 8
    """Output ADC resolution in bits (signed codes); 0 = ideal (infinite resolution)."""
    prog_noise: float = 0.006
    """Programming noise: std of a written conductance, fraction of the level range (0-1);
    0.006 ≈ 0.01/√3, the residual of write-verify programming to a ±1 % tolerance."""
    read_noise: float = 0.005
    """Read noise: std of an output per read, fraction of the ADC full scale (0-1)."""
    nonlinearity: bool = True
    """Apply the cell's normalised I-V curve to the input voltage (rectifying N-LEM)."""
    predistort: bool = True
    """DAC codes chosen through the inverse I-V / L-V curve (co-design), so the curve shows up
    as non-uniform input steps instead of a bent transfer function."""
    quantize_weights: bool = True
    """Weights take only the reachable differential-pair levels (False = continuous)."""
    compact_model: str = "paper"
    """Compact-model preset name, path to ``nlem.json`` or ``sha256:<hex>`` key of a model
    embedded by value (``compact_model.embed``; what a loaded model file uses), given to
    ``compact_model.load``."""
    v_read: float = 4.0
    """Full-scale read voltage of a row, in V."""
    skip_noise: float = 0.005
    """Photocurrent noise of the optical skip: std as a fraction of its full scale (0-1)."""
    coupling_efficiency: float | None = None
    """N-LEM → photodiode optical efficiency; None = ``CircuitsConfig.optical_efficiency``."""
    pd_responsivity: float | None = None
    """Photodiode responsivity in A/W; None = ``CircuitsConfig.pd_responsivity_a_w``."""
    retention_s: float = 0.0
    """Time since programming at which the programmed pairs are read, s (0: right after
    programming; no refresh in between). The conductances relax as the compact model's natural
    decay says (thermal emission of both trap populations, ``NLEM.rest``; see
    :func:`networks.layers.device.retention_levels`)."""
    retention: bool = True
    """Apply that decay (False: the device is taken to hold its conductance forever)."""
    seed: int = 0
    """Seed of the per-layer noise generators (layer k gets a seed derived from it and k)."""
    _count: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 2 <= int(self.levels_per_sign) <= 256:
            raise ValueError(f"levels_per_sign = {self.levels_per_sign}: allowed 2..256")
        for name in ("dac_bits", "adc_bits"):
            v = getattr(self, name)
            if not 0 <= int(v) <= 24 or int(v) == 1:
                raise ValueError(f"{name} = {v}: allowed 0 (ideal) or 2..24")
        for name in ("prog_noise", "read_noise", "skip_noise"):
            v = getattr(self, name)
            if not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"{name} = {v}: allowed 0..1")
        if not (math.isfinite(float(self.retention_s)) and float(self.retention_s) >= 0.0):
            raise ValueError(f"retention_s = {self.retention_s}: must be a finite time >= 0 s")
        if not 0.0 < float(self.v_read) <= 20.0:
            raise ValueError(f"v_read = {self.v_read}: allowed (0, 20] V")
        if self.coupling_efficiency is None:
            self.coupling_efficiency = _circuits_default("optical_efficiency", 0.5)
        if self.pd_responsivity is None:
            self.pd_responsivity = _circuits_default("pd_responsivity_a_w", 0.3)
        if not 0.0 < float(self.coupling_efficiency) <= 1.0:
            raise ValueError(f"coupling_efficiency = {self.coupling_efficiency}: allowed (0, 1]")
        if not float(self.pd_responsivity) > 0.0:
            raise ValueError(f"pd_responsivity = {self.pd_responsivity}: must be > 0 A/W")

    @classmethod
    def ideal(cls, **kw: Any) -> HardwareConfig:
        """Noise off, infinite resolution, linear cells, continuous weights, no retention loss
        (equals digital)."""
        base = dict(dac_bits=0, adc_bits=0, prog_noise=0.0, read_noise=0.0, skip_noise=0.0,
                    nonlinearity=False, quantize_weights=False, retention=False)
        base.update(kw)
        return cls(**base)

    def next_seed(self) -> int:
        """A new deterministic seed for the next layer built with this config."""
        s = (int(self.seed) * 1_000_003 + 7919 * self._count) % (2**63 - 1)
        self._count += 1
        return s

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for checkpoints and metrics files)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HardwareConfig:
        """Inverse of :meth:`to_dict` (unknown keys rejected with their names)."""
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        bad = sorted(set(d) - names)
        if bad:
            raise ValueError(f"HardwareConfig: unknown keys {bad}; allowed {sorted(names)}")
        return cls(**d)
