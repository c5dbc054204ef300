"""Snakemake script of rule ``upenn_variant``: one Fig. 5 network end to end."""

from pathlib import Path

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from networks.experiments.upenn_run import run_variant  # noqa: E402

run_variant(
    snakemake.wildcards.variant,  # noqa: F821
    snakemake.params.upenn,  # noqa: F821
    out_dir=Path(snakemake.output.metrics).parent,  # noqa: F821
    ckpt_dir=snakemake.params.checkpoints,  # noqa: F821
    seed=snakemake.params.seed,  # noqa: F821
    device=snakemake.params.device,  # noqa: F821
    config=snakemake.params.upenn,  # noqa: F821
)
