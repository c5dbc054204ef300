"""networks: PyTorch networks on simulated N-LEM synapses.

Owns the hardware-aware layers (``layers/``: AnalogLinear, AnalogConv2d, OpticalSkip,
CIBlock), the architecture registry (``archs/``: FCN, UPENN, Contrast Net, USRNN and the SR
baselines, built with :func:`networks.archs.build_model`), the offline and user data loaders
(``data/``), training with resumable checkpoints, and evaluation. Sees the device only through
``compact_model``.
"""
