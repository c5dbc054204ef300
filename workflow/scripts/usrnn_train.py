"""Snakemake script of rule ``usrnn_train``: one SR method, x2 training, x4 transfer, metrics."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from networks.experiments.usrnn_fig6 import run_from_params  # noqa: E402

run_from_params(
    snakemake.wildcards.method,  # noqa: F821
    snakemake.params.usrnn,  # noqa: F821
    snakemake.output.metrics,  # noqa: F821
    seed=snakemake.params.seed,  # noqa: F821
    device=snakemake.params.device,  # noqa: F821
    checkpoint_dir=snakemake.params.checkpoints,  # noqa: F821
    compact_model=snakemake.input.nlem,  # noqa: F821
)
