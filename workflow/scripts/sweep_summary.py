"""Snakemake script of rule ``sweep_summary``: sweep table and two-panel heat map."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from pipeline.material_sweep import summarise  # noqa: E402

summarise(list(snakemake.input), snakemake.params.traps, snakemake.params.uvs,  # noqa: F821
          snakemake.output.table, snakemake.output.heatmap)  # noqa: F821
