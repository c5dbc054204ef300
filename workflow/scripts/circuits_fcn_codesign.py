"""Snakemake script of rule ``circuits_fcn_codesign``: Fig. 4 FCN-1/FCN-2 co-design."""

from pathlib import Path

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from networks.experiments.fcn_codesign import run_fcn_codesign, write_target_rows  # noqa: E402

run_fcn_codesign(
    Path(snakemake.output.metrics).parent,  # noqa: F821
    Path(snakemake.output.fig_d).parent,  # noqa: F821
    snakemake.params.fcn,  # noqa: F821
    snakemake.params.circuits,  # noqa: F821
    seed=snakemake.params.seed,  # noqa: F821
    scale=snakemake.params.scale,  # noqa: F821
    compact_source=snakemake.input.nlem,  # noqa: F821
)
write_target_rows(snakemake.output.metrics, snakemake.output.rows)  # noqa: F821
