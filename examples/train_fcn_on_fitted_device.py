"""Train the paper's FCN (784-5-5-20-C) on a fitted device and run it on the N-LEM circuit.

The FCN's second layer (5 x 5) is held in N-LEM differential pairs: during training its
weights are restricted to the device's programmable levels; after every epoch they are
written into a simulated N-LEM array (write-verify on the compact model with its
variability) and the network is evaluated through the circuit twice, reading the layer's
output as a current (FCN-1) and as light received by photodiodes (FCN-2, the optical path).
This is the paper's Fig. 4 co-design, here on the device fitted to a measurement rather than
on the drift-diffusion stack or the paper preset.

Run: ``python examples/train_fcn_on_fitted_device.py`` (4 MNIST classes, 10 epochs);
``LEMSIM_EXAMPLE_SMALL=1``: 2 classes, 200 samples, 2 epochs.
Outputs in ``results/examples/train_fcn_on_fitted_device/``: ``nlem.json``, ``metrics.json``,
``f_rows.csv`` and the Fig. 4 panels.
"""

# %% Set-up.
from _common import ROOT, SMALL, start

out = start("train_fcn_on_fitted_device")

# %% The device: the compact model fitted to the example measurement (see
# fit_measured_device.py for what the fit reports). Any nlem.json works here: the DAG's
# results/compact/nlem.json, or one fitted to your own measurement.
from compact_model.measured import fit_measured  # noqa: E402

nlem = out / "nlem.json"
fit_measured([ROOT / "examples" / "data" / "nlem_measured_synthetic.csv"], out=nlem,
             max_nfev=30 if SMALL else 200)

# %% The training: the ``networks.fcn`` config section (validated like the DAG's), small.
from networks.experiments.fcn_codesign import run_fcn_codesign  # noqa: E402

fcn = ({"train_samples": 200, "test_samples": 100, "epochs": 2, "classes": 2,
        "class_counts": [2], "lr": 0.02} if SMALL else
       {"train_samples": 2000, "test_samples": 500, "epochs": 10, "classes": 4,
        "class_counts": [2, 4]})
metrics = run_fcn_codesign(out / "fcn", out / "figures", fcn, {}, seed=1,
                           scale="smoke" if SMALL else "default", compact_source=str(nlem))

# %% What came out: the test accuracy per epoch, in software (ideal), through the current
# readout (FCN-1, "current") and through the optical readout (FCN-2, "light"), in %.
for row in metrics["per_epoch"]:
    print({k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()
           if k in ("epoch", "ideal", "current", "light")})
print("outputs in", out)
