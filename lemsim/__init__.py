"""lemsim: physics-first multiscale simulation of light-emitting memristor neural hardware.

Shared infrastructure of the pipeline (configuration, provenance-stamped atomic I/O, logging).
The science lives in the stage packages ``device_physics``, ``compact_model``, ``circuits`` and
``networks``.
"""

__version__ = "0.1.0"
