"""Solve an N-LEM crossbar with wire resistance (IR drop) and compare with the ideal product.

A crossbar computes a vector-matrix product in one step: row voltages ``V`` drive the cells,
each cell passes ``G_ij V_i`` into its column, and a virtual-ground amplifier (TIA) at the
foot of each column reads the sum, ``I = G^T V``. Real wires have resistance: the voltage
drops along the rows and columns, far cells see less than ``V_i``, and the column currents
fall short of the ideal product (IR drop). :class:`circuits.crossbar.LinearCrossbar` solves
the full resistive network (every wire segment, every cell) with a line-preconditioned
conjugate-gradient solver.

The conductances are those of the N-LEM: a weight matrix is mapped onto the compact model's
programmable levels (the ``paper`` preset here; ``compact_model.load("nlem.json")`` takes a
fitted device, e.g. the one of ``fit_measured_device.py``), as ``G+ - G-`` differential
pairs. The cells here are linear, with the N-LEM's read conductance ``I(4 V)/4 V`` of each
level, and the inputs are read voltages up to 4 V; the rectifying N-LEM I-V itself in an
array is :func:`circuits.crossbar.solve_nonlinear_batch`.

Run: ``python examples/crossbar_ir_drop.py`` (64 x 64; ``LEMSIM_EXAMPLE_SMALL=1``: 16 x 16).
Output: ``results/examples/crossbar_ir_drop/ir_drop.png``.
"""

# %% Set-up.
import numpy as np
from _common import SMALL, start

out = start("crossbar_ir_drop")
n = 16 if SMALL else 64
rng = np.random.default_rng(0)

# %% The device and its levels: conductances read at 4 V after 0 .. 50 pulses.
import compact_model  # noqa: E402

device = compact_model.load("paper")
levels = device.levels(n_per_sign=15, v_read=4.0)
g_levels = np.asarray(levels.g)
print(f"{len(g_levels)} levels per sign, {g_levels[0] * 1e6:.3g} .. {g_levels[-1] * 1e6:.3g} uS")

# %% Weights in [-1, 1] onto differential pairs: a positive weight programs the G+ device to
# the nearest level above the erased state and leaves G- erased, and vice versa. The array
# holds the pairs side by side (2 n columns).
w = rng.uniform(-1, 1, (n, n))
idx = np.rint(np.abs(w) * (len(g_levels) - 1)).astype(int)
g_mag = g_levels[idx]
g_plus = np.where(w > 0, g_mag, g_levels[0])
g_minus = np.where(w > 0, g_levels[0], g_mag)
g = np.empty((n, 2 * n))
g[:, 0::2], g[:, 1::2] = g_plus, g_minus

# %% Solve for a batch of input vectors at several wire resistances per segment.
from circuits.crossbar import LinearCrossbar, differential  # noqa: E402

v_in = rng.uniform(0, 4.0, (n, 8))  # 8 input vectors, 0 .. 4 V
errors = {}
for r_wire in (0.0, 1.0, 10.0, 100.0):
    xb = LinearCrossbar(g, r_wire)
    sol = xb.solve(v_in)
    ideal = differential(xb.ideal(v_in))
    got = differential(sol.currents)
    rel = np.linalg.norm(got - ideal) / np.linalg.norm(ideal)
    errors[r_wire] = rel
    print(f"r_wire = {r_wire:6.1f} ohm/segment: {sol.method}, {sol.iterations} iterations, "
          f"relative error of G+ - G- vs the ideal product {rel:.3e}")

# %% The IR drop grows with the wire resistance (and with the array size: the far corner
# sees the sum of every segment's drop).
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lemsim.io import save_figure  # noqa: E402

rs = [r for r in errors if r > 0]
fig, ax = plt.subplots(figsize=(4.5, 3.4))
ax.loglog(rs, [100 * errors[r] for r in rs], "o-")
ax.set_xlabel("wire resistance per segment (ohm)")
ax.set_ylabel("error of the column currents (%)")
ax.set_title(f"{n} x {n} N-LEM pairs: IR drop vs the ideal G^T V", fontsize=8)
fig.tight_layout()
print("wrote", save_figure(fig, out / "ir_drop.png"))
assert errors[0.0] < 1e-12 and errors[1.0] < errors[10.0] < errors[100.0]
