"""Make the example measurement ``examples/data/nlem_measured_synthetic.csv`` (and its
``.meta.yaml``): what a source-measure unit and a photodiode would record on an N-LEM, made
synthetically so the parameters behind it are known.

The "device" is the compact model (:mod:`compact_model`) with the parameters of
:data:`TRUTH`: the ``paper`` preset with its capture, fast emission, conductance gain and
current scale moved (so a fit that starts at the preset has something to find). The protocol
is the paper's decay experiment at a smaller size: 50 pulses of 5 V, 30 ms, 30 ms apart, a 30 s
dark rest, one probe pulse. Sampling: 2 ms during the train and the probe, 100 ms in the rest.
Instrument noise: 0.5 % (relative, Gaussian) on the current plus a 1 nA floor, 1 % on the
light. Current is written in mA, light as optical power in nW (630 nm EL), as an instrument
would; the reader converts both.

Run ``python examples/make_synthetic_measurement.py`` to regenerate the files (seeded: the
same bytes every time); ``tests/compact_model/test_measured.py`` fits them and checks that
the fit recovers :data:`TRUTH`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import compact_model
from compact_model import protocols
from compact_model.params import HC
from compact_model.presets import PAPER

#: The parameters the measurement is made with (the paper preset, four of them moved).
TRUTH = PAPER.replace(k_slow=PAPER.k_slow * 1.3, tau_fast=PAPER.tau_fast * 0.7,
                      g_max=PAPER.g_max * 0.85, i_ref=PAPER.i_ref * 2.0)
#: Instrument noise: relative current noise, current floor [A], relative light noise.
CURRENT_NOISE, CURRENT_FLOOR, LIGHT_NOISE = 0.005, 1e-9, 0.01
HERE = Path(__file__).resolve().parent


def waveform() -> list[tuple[float, float, float]]:
    """Constant-input segments ``(V, uv, dt)`` at the sampling steps of the instrument."""
    segs: list[tuple[float, float, float]] = []

    def hold(v: float, duration: float, step: float) -> None:
        n = max(1, int(round(duration / step)))
        segs.extend([(v, 0.0, duration / n)] * n)

    for _ in range(50):
        hold(5.0, 0.030, 0.002)
        hold(0.0, 0.030, 0.002)
    hold(0.0, 30.0, 0.1)
    hold(5.0, 0.030, 0.002)
    hold(0.0, 0.030, 0.002)
    return segs


def make(out_dir: Path = HERE / "data", seed: int = 7) -> Path:
    """Write the CSV and its metadata file into ``out_dir``; returns the CSV path."""
    model = compact_model.NLEM(TRUTH)
    tr, _ = protocols.simulate(model, waveform(), substeps=1)
    rng = np.random.default_rng(seed)
    i = tr.I * (1 + CURRENT_NOISE * rng.standard_normal(tr.I.shape)) \
        + CURRENT_FLOOR * rng.standard_normal(tr.I.shape)
    power = tr.L * (HC / TRUTH.wavelength) * (1 + LIGHT_NOISE * rng.standard_normal(tr.L.shape))
    out_dir.mkdir(parents=True, exist_ok=True)
    csv = out_dir / "nlem_measured_synthetic.csv"
    moved = ", ".join(f"{k} {getattr(TRUTH, k):.6g} (preset {getattr(PAPER, k):.6g})"
                      for k in ("k_slow", "tau_fast", "g_max", "i_ref"))
    lines = [
        "# SYNTHETIC measurement, not a real device: made by "
        "examples/make_synthetic_measurement.py",
        "# from the compact model with the paper preset's parameters except " + moved + ";",
        "# protocol: 50 pulses 5 V / 30 ms / 30 ms apart, 30 s dark rest, one probe pulse;",
        f"# noise: {CURRENT_NOISE:.1%} current + {CURRENT_FLOOR * 1e9:g} nA floor, "
        f"{LIGHT_NOISE:.0%} light (Gaussian, seed {seed}).",
        "time (s),voltage (V),current (mA),light (nW)",
    ]
    lines += [f"{t:.6f},{v:.4f},{a * 1e3:.6e},{p * 1e9:.6e}"
              for t, v, a, p in zip(tr.t, tr.V, i, power, strict=True)]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    meta = out_dir / "nlem_measured_synthetic.meta.yaml"
    meta.write_text(
        "# Metadata of nlem_measured_synthetic.csv (SYNTHETIC, see its header).\n"
        "description: synthetic N-LEM measurement (compact model plus instrument noise)\n"
        "# Parameters the measurement does not constrain and that are known for this device;\n"
        "# every other one the data do not constrain comes from the preset named below.\n"
        "parameters:\n"
        f"  area: {{value: {TRUTH.area * 1e6:g}, unit: mm2, source: pixel area of the "
        "synthetic device}\n"
        f"  wavelength: {{value: {TRUTH.wavelength * 1e9:g}, unit: nm, source: EL peak of "
        "the CdSe/ZnS QDs}\n"
        "preset: paper\n", encoding="utf-8")
    return csv


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", type=Path, default=HERE / "data")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    print(make(a.out_dir, a.seed))
