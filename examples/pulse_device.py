"""Pulse an N-LEM and plot its EPSC and EPSB (the paper's Fig. 2c), from the physics.

The device is the drift-diffusion model of the ITO/PEDOT:PSS/PVK:IDTBT/PVP/QD/ZnO/Ag stack
(``config/stacks/nlem.yaml``), solved with FEniCSx dolfinx. A protocol is data: a YAML list
of steps (pulse trains, rests, UV exposures, sweeps) with units; the solver integrates it
with adaptive implicit time steps and writes the trace in the project's HDF5 layout
(``/trace/t, V, uv, J, L, Qt_p, Qt_n``, SI units).

The EPSC is the conduction current of each pulse; the terminal current also holds a
displacement spike at every voltage edge (the stack's capacitance charging, orders of
magnitude larger and over within a millisecond). The figure therefore plots the current
without those edge samples, clips the spikes and says so, and marks the per-pulse reads.

Run it::

    python examples/pulse_device.py          # 10 pulses of 5 V, 30 ms (paper), 20 cells/layer
    LEMSIM_EXAMPLE_SMALL=1 python examples/pulse_device.py   # 2 short pulses, coarse mesh

Outputs in ``results/examples/pulse_device/``: ``trace.h5`` and ``fig2c.png``.
"""

# %% Set-up: the output folder, one thread, and the size of the run.
from _common import ROOT, SMALL, start

out = start("pulse_device")

# %% The protocol. At full size it is the paper's: 10 pulses of 5 V, 30 ms wide and 30 ms
# apart, then a 1 s rest (config/protocols/pulses_10.yaml). The small run writes its own
# protocol file to show the format: two 2 ms pulses, 2 ms apart.
if SMALL:
    protocol = out / "pulses_2_short.yaml"
    protocol.write_text(
        "name: pulses_2_short\n"
        "description: two short pulses (example at test size)\n"
        "steps:\n"
        "  - {kind: pulses, amplitude: 5 V, width: 2 ms, interval: 2 ms, count: 2}\n"
        "  - {kind: rest, duration: 2 ms}\n")
    cells = 4
else:
    protocol = ROOT / "config" / "protocols" / "pulses_10.yaml"
    cells = 20

# %% Solve. ``simulate`` loads the stack and the protocol (converting their practical units
# to SI once), builds the dolfinx solver on a mesh with ``cells`` cells per layer, runs the
# protocol and writes the trace. Progress: the simulated time reached, every 10 s.
from device_physics.simulate import simulate  # noqa: E402

h5 = simulate(ROOT / "config" / "stacks" / "nlem.yaml", protocol, out / "trace.h5",
              cells_per_layer=cells, rtol=0.1 if SMALL else 1e-3, xdmf=False)

# %% Per-pulse reads: the current and light at the end of every pulse (the conduction
# response; the displacement spike is over by then), and the paper's metrics on them.
from device_physics.studies import pulse_reads, read_h5_trace  # noqa: E402
from lemsim import metrics  # noqa: E402

arrays, pr, _ = read_h5_trace(h5)
reads = pulse_reads(arrays, pr)
j, lum = reads["J"], reads["L"]
print(f"{len(j)} pulses; read current density (mA/cm2):",
      ", ".join(f"{x * 0.1:.4g}" for x in j))
print(f"current gain A_N/A_1 = {metrics.gain(j):.4f}, light gain B_N/B_1 = "
      f"{metrics.gain(lum):.4f}, Pearson r = {metrics.pearson(j, lum):.5f}")
if len(j) >= 3:
    print(f"NL of the current = {metrics.nonlinearity(j):.3f}")

# %% The figure: EPSC on an axis set by the conduction current, EPSB on the right axis, the
# displacement spikes clipped (their size in a note, the first one in an inset).
from device_physics.figures import fig2c_epsc_epsb  # noqa: E402

print("wrote", fig2c_epsc_epsb(h5, out / "fig2c.png"))
