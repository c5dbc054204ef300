"""lemsim: physics-first multiscale simulation of light-emitting memristor neural hardware.

The core layer under every stage: configuration machinery, provenance-stamped atomic I/O,
run-time set-up, the paper's targets and the trace metrics shared by the physics and the
compact model (:mod:`lemsim.metrics`). It imports no stage. The science lives in the stage
packages ``device_physics``, ``compact_model``, ``circuits`` and ``networks``; the integration
layer on top of them is ``pipeline``.
"""

__version__ = "0.1.0"
