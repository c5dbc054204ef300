"""Snakemake script of rule ``study_trace``: fv1d trace of one protocol for the figures."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from device_physics.study_stage import run_trace  # noqa: E402

run_trace(snakemake.input.stack, snakemake.input.protocol, snakemake.output[0],  # noqa: F821
          snakemake.params.studies)  # noqa: F821
