"""Snakemake script of rule ``sweep_train``: the pulse train of one PVP trap density (fv1d)."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from pipeline.material_sweep import run_train  # noqa: E402

run_train(snakemake.input.stack, float(snakemake.wildcards.trap),  # noqa: F821 (factor)
          snakemake.params.sweep, snakemake.output[0],  # noqa: F821
          config={"sweep": snakemake.params.sweep, "trap": snakemake.wildcards.trap})  # noqa: F821
