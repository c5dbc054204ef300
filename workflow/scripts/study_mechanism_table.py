"""Snakemake script of rule ``study_mechanism_table``: mechanism table CSV + bar figure."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from device_physics.study_stage import write_mechanism_table  # noqa: E402

write_mechanism_table(list(snakemake.input), snakemake.output.csv,  # noqa: F821
                      snakemake.output.png)  # noqa: F821
