"""Snakemake script of rule ``sweep_fit``: the compact model fitted to one sweep point."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from pipeline.material_sweep import fit_point  # noqa: E402

p = snakemake.params  # noqa: F821
fit_point(snakemake.input[0], snakemake.output[0], p.sweep, p.compact,  # noqa: F821
          config={"sweep": p.sweep, "compact": p.compact})
