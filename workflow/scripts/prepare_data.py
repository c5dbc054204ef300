"""Snakemake script of rule ``prepare_data``: one offline dataset to ``results/data/<name>.npz``."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from networks.data import prepare_dataset  # noqa: E402

prepare_dataset(
    snakemake.wildcards.name,  # noqa: F821
    snakemake.output[0],  # noqa: F821
    snakemake.params.data,  # noqa: F821
    seed=snakemake.params.seed,  # noqa: F821
)
