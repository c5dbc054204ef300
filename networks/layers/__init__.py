"""Hardware-aware torch layers on simulated N-LEM synapses.

Owns :class:`HardwareConfig` (the array description), the crossbar layers
:class:`AnalogLinear` / :class:`AnalogConv2d` (differential pairs at the compact model's
levels, noise, DAC/ADC, I-V nonlinearity, straight-through gradients), the optical cross-layer
path :class:`OpticalSkip` and :class:`CIBlock`. ``hw=None`` everywhere means the digital layer.
"""

from networks.layers.analog import AnalogConv2d, AnalogLinear, NoiseSource
from networks.layers.device import DeviceCurves, device_curves
from networks.layers.hardware import HardwareConfig
from networks.layers.optical import CIBlock, OpticalSkip

__all__ = [
    "AnalogConv2d",
    "AnalogLinear",
    "CIBlock",
    "DeviceCurves",
    "HardwareConfig",
    "NoiseSource",
    "OpticalSkip",
    "device_curves",
]
