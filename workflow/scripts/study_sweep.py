"""Snakemake script of rules ``study_sweep_uv`` / ``study_sweep_trap``: sweep CSV + plot."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from device_physics.study_stage import write_sweep  # noqa: E402

write_sweep(list(snakemake.input), snakemake.params.kind, snakemake.output.csv,  # noqa: F821
            snakemake.output.png)  # noqa: F821
