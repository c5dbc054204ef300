"""Fit the compact model to a measured device, and use the fitted device.

A measurement comes in as a CSV file whose header names every column with its unit
(``time (s), voltage (V), current (mA), light (nW)``; also a Keithley-style two-column sweep
or a pulse-number/conductance table, see :mod:`compact_model.measured`), with a metadata
file beside it (``<stem>.meta.yaml``) that declares what the measurement cannot tell: the
device area, the EL wavelength, and a preset for everything else it does not constrain.

This example fits ``examples/data/nlem_measured_synthetic.csv`` (a SYNTHETIC measurement:
made by ``examples/make_synthetic_measurement.py`` from the compact model with known
parameters and instrument noise, so the fit can be checked against them), prints which
parameters the data constrain and how well, writes ``nlem.json`` (the file every later stage
reads: circuits and networks run on it unchanged) and the fit report, then programs the fitted
device: its conductance levels for a differential-pair weight.

The same from the command line::

    python -m compact_model fit --measured examples/data/nlem_measured_synthetic.csv \\
        -o nlem.json --report fit_report.png

and in the DAG: ``compact: {source: measured, measured: [examples/data/...csv]}``.
"""

# %% Set-up.
import math

from _common import ROOT, SMALL, start

out = start("fit_measured_device")
measurement = ROOT / "examples" / "data" / "nlem_measured_synthetic.csv"

# %% Read and look at the measurement: the reader converts every column to SI once, and the
# protocol is detected from the waveform (here: a train of 50 pulses, a 30 s rest, a probe).
from compact_model import measured  # noqa: E402

meta = measured.read_meta(measured.meta_path_for(measurement))
data = measured.read_measurement(measurement, meta.protocol)
proto = measured.detect_protocol(data.t, data.V, data.uv)
print(f"{measurement.name}: {len(data.t)} samples over {data.t[-1]:.3g} s, detected "
      f"protocol {proto['name']!r}")
for seg in proto["segments"]:
    print("   ", {k: (round(v, 6) if isinstance(v, float) else v) for k, v in seg.items()})

# %% Fit. The fit frees only the parameters this protocol constrains; every other one comes
# from the metadata (area, wavelength) or from the preset it names (``paper``), and
# ``nlem.json`` records the source of each. A measurement that leaves a parameter undeclared
# stops here with an error naming it, before any downstream stage.
doc = measured.fit_measured([measurement], out=out / "nlem.json",
                            report=out / "fit_report.png", max_nfev=30 if SMALL else 200)
for name, c in doc["measured"]["constrained"].items():
    value = doc["parameters"][name]
    s = c["ln_sigma"]
    how = ("held at its start" if not c["fitted"] else
           f"1-sigma x{math.exp(s):.3g}" if s < 5 else "weakly constrained")
    print(f"fitted {name:9s} = {value['value']:.5g} {value['unit']:10s} ({how}; {c['why']})")
print("rms ln residual per protocol:", doc["residuals"]["rms_ln_residual"])
print("metrics within 10 % of the measurement:", doc["physics_agreement"]["all_within"])

# %% Compare with the parameters the synthetic measurement was made with.
from make_synthetic_measurement import TRUTH  # noqa: E402

for name in ("i_ref", "g_max", "k_slow", "tau_slow", "gamma_l"):
    fit_v, true_v = doc["parameters"][name]["value"], getattr(TRUTH, name)
    print(f"{name:9s} fitted {fit_v:.4g}, made with {true_v:.4g} ({fit_v / true_v - 1:+.1%})")

# %% Use the fitted device: ``compact_model.load`` takes the nlem.json like a preset name.
# Its level table is what a crossbar or a network programs into a differential pair.
import compact_model  # noqa: E402

device = compact_model.load(str(out / "nlem.json"))
levels = device.levels(n_per_sign=8, v_read=4.0)
print("8 levels at 4 V: pulses", levels.pulses.tolist(), "conductance (uS)",
      [round(float(g) * 1e6, 3) for g in levels.g])
print("wrote", out / "nlem.json", "and", out / "fit_report.png")
