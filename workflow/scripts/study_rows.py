"""Snakemake script of rule ``study_rows``: D1, D8-D12, D14 measured on the physics studies."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from pipeline.study_rows import write_study_rows  # noqa: E402

write_study_rows(snakemake.input.traces, snakemake.input.mechanism,  # noqa: F821
                 snakemake.input.profiles, snakemake.input.nlem,  # noqa: F821
                 snakemake.output[0], solver=snakemake.params.solver)  # noqa: F821
