"""Snakemake script of rule ``device_rows``: D rows measured on the physics traces."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from pipeline.device_rows import write_device_rows  # noqa: E402

write_device_rows(snakemake.input.traces, snakemake.input.nlem, snakemake.output[0])  # noqa: F821
