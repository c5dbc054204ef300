"""Snakemake script of rule ``device_run``: one protocol on one stack -> HDF5 (+ XDMF)."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from device_physics.simulate import run_configured  # noqa: E402

run_configured(
    snakemake.input.stack,  # noqa: F821
    snakemake.input.protocol,  # noqa: F821
    snakemake.output[0],  # noqa: F821
    snakemake.params.device,  # noqa: F821
)
