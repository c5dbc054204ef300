"""Snakemake script of rule ``upenn_variant``: one Fig. 5 network end to end."""

from pathlib import Path

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from networks.experiments.upenn_run import run_variant  # noqa: E402

# The synapses are the compact stage's model (results/compact/nlem.json), not a preset name.
upenn = {**snakemake.params.upenn, "compact_model": snakemake.input.nlem}  # noqa: F821

run_variant(
    snakemake.wildcards.variant,  # noqa: F821
    upenn,
    out_dir=Path(snakemake.output.metrics).parent,  # noqa: F821
    ckpt_dir=snakemake.params.checkpoints,  # noqa: F821
    seed=snakemake.params.seed,  # noqa: F821
    device=snakemake.params.device,  # noqa: F821
    config=upenn,
)
