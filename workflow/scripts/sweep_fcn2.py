"""Snakemake script of rule ``sweep_fcn2``: FCN-2 accuracy and reset time of one sweep point."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from pipeline.material_sweep import fcn2_point  # noqa: E402

p = snakemake.params  # noqa: F821
fcn2_point(snakemake.input[0], snakemake.output[0], float(snakemake.wildcards.uv),  # noqa: F821
           p.sweep, p.fcn, p.circuits, p.seed,
           config={"sweep": p.sweep, "networks.fcn": p.fcn, "circuits": p.circuits,
                   "seed": p.seed})
