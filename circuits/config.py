"""Configuration section ``circuits`` (crossbar and photodiode solver, FCN co-design)."""

from __future__ import annotations

from dataclasses import dataclass

from lemsim.configtools import param


@dataclass
class CircuitsConfig:
    """Crossbar and photodiode circuits of the FCN-1/FCN-2 co-design."""

    wire_resistance_ohm: float = param(1.0, lo=0.0)
    """Resistance of one wire segment of the crossbar rows and columns, in Ω."""
    read_voltage_v: float = param(4.0, lo=0.0, hi=10.0)
    """Read voltage applied to an N-LEM row at full-scale input, in V."""
    dac_bits: int = param(8, lo=1, hi=32)
    """Resolution of the input DAC, in bits."""
    adc_bits: int = param(8, lo=1, hi=32)
    """Resolution of the output ADC, in bits."""
    pd_responsivity_a_w: float = param(0.3, lo=0.0, lo_open=True)
    """Photodiode responsivity, in A/W."""
    optical_efficiency: float = param(0.5, lo=0.0, hi=1.0, lo_open=True)
    """Fraction of the N-LEM light reaching the facing photodiode (dimensionless)."""
    crosstalk: float = param(0.02, lo=0.0, hi=0.25)
    """Fraction of an N-LEM's light reaching each nearest-neighbour photodiode."""
