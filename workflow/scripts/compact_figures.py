"""Snakemake script of rule ``compact_figures``: device panels of the fitted compact model."""

from pathlib import Path

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from compact_model.figures import figures_from_json  # noqa: E402

figures_from_json(snakemake.input.json, Path(snakemake.output[0]).parent)  # noqa: F821
