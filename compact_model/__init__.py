"""compact_model: the fast Numba N-LEM model, the one face of the device later stages see.

Owns the state model (trapped charge populations under voltage pulses, UV and rest) with two
outputs, current and light; its presets and the fit to the physics traces; the metric functions
shared with the physics stage (NL, gains, PPF, decay and reset times); variability; and the
torch bridge (level tables and noise as tensors). Writes ``results/compact/nlem.json``.
"""
