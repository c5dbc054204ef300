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
    levels_per_sign: int = param(15, lo=2, hi=64)
    """Conductance levels per weight sign of the N-LEM synapses (paper: 15)."""
    write_amplitude_v: float = param(5.0, lo=0.0, hi=8.0, lo_open=True)
    """Amplitude of the programming pulses, in V (paper: 5 V)."""
    write_width_s: float = param(1e-3, lo=0.0, lo_open=True)
    """Width of the programming pulses, in s (paper: 1 ms)."""
    write_n_max: int = param(200, lo=2)
    """Pulses from the erased state to the top level of the level table."""
    write_tol: float = param(0.002, lo=0.0, lo_open=True)
    """Write-verify tolerance on the device occupancy w (dimensionless)."""
    input_encoding: str = param("pulse", choices=("pulse", "amplitude"))
    """Row input encoding: ``pulse`` (read voltage held for a time ∝ input, charge read out)
    or ``amplitude`` (DAC voltage ∝ input over the nonlinear I-V)."""
    read_time_s: float = param(1e-3, lo=0.0, lo_open=True)
    """Full-scale duration of a read pulse (pulse encoding), in s."""
    read_noise: bool = True
    """Apply the compact model's read noise and device-to-device spread to the reads."""
    pd_dark_current_a: float = param(1e-11, lo=0.0, lo_open=True)
    """Photodiode dark (saturation) current, in A."""
    pd_series_ohm: float = param(10.0, lo=0.0)
    """Photodiode series resistance, in Ω."""
    pd_shunt_ohm: float = param(1e9, lo=0.0)
    """Photodiode shunt resistance, in Ω (0: none)."""
    pd_bias_v: float = param(0.0, lo=0.0, hi=10.0)
    """Reverse bias of the photodiodes (cathode voltage, anode at the TIA's virtual ground), V."""

