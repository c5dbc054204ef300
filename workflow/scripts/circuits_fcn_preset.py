"""Snakemake script of rule ``circuits_fcn_preset``: the Fig. 4 co-design on ``preset:paper``
(with the configured variability), for the table's ``preset_value`` column."""

from pathlib import Path

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from compact_model.fit import build_nlem  # noqa: E402
from compact_model.variability import Variability  # noqa: E402
from networks.experiments.fcn_codesign import run_fcn_codesign, write_target_rows  # noqa: E402

out, cfg = snakemake.output, snakemake.params.compact  # noqa: F821
var = Variability(d2d=cfg["d2d_sigma"], c2c=cfg["c2c_sigma"], read=cfg["read_noise"])
build_nlem(out.nlem, [], preset=cfg["preset"], config=dict(cfg), variability=var)
run_fcn_codesign(
    Path(out.metrics).parent,
    Path(out.metrics).parent / "figures",
    snakemake.params.fcn,  # noqa: F821
    snakemake.params.circuits,  # noqa: F821
    seed=snakemake.params.seed,  # noqa: F821
    scale=snakemake.params.scale,  # noqa: F821
    compact_source=out.nlem,
)
write_target_rows(out.metrics, out.rows)
