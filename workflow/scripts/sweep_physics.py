"""Snakemake script of rule ``sweep_physics``: UV reset and probe of one sweep point (fv1d)."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from pipeline.material_sweep import run_point  # noqa: E402

wc = snakemake.wildcards  # noqa: F821
run_point(snakemake.input.stack, float(wc.trap), float(wc.uv),  # noqa: F821
          snakemake.input.train, snakemake.params.sweep, snakemake.output[0],  # noqa: F821
          config={"sweep": snakemake.params.sweep, "trap": wc.trap, "uv": wc.uv})  # noqa: F821
