"""Snakemake script of rule ``paper_table``: merge the stages' rows into paper_vs_sim.csv."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from lemsim.targets import build_table, write_table  # noqa: E402

write_table(snakemake.output[0], build_table(snakemake.input, snakemake.params.scale))  # noqa: F821
