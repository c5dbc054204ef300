"""device_physics: drift-diffusion of the N-LEM stack (FEniCSx dolfinx; replaces COMSOL).

Owns materials and stack definitions, the scaled drift-diffusion equations with traps, UV
photogeneration and radiative recombination, the adaptive time-stepping solver, protocols,
observables (current, light, trapped charge) and the independent finite-volume solver
``fv1d`` used for cross-checks. Writes ``results/device/<study>/<protocol>.h5``.
"""
