"""Snakemake script of rule ``device_figure``: traces of one device run as a PNG."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from device_physics.observables import plot_run  # noqa: E402

plot_run(snakemake.input[0], snakemake.output[0],  # noqa: F821
         title=f"{snakemake.wildcards.study}: {snakemake.wildcards.protocol}")  # noqa: F821
