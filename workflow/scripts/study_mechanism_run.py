"""Snakemake script of rule ``study_mechanism_run``: one control stack under the mechanism
protocol (fv1d) -> result JSON + trace HDF5."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from device_physics.study_stage import run_mechanism_point  # noqa: E402

run_mechanism_point(snakemake.input.stack, snakemake.wildcards.control,  # noqa: F821
                    snakemake.input.protocol, snakemake.output.json,  # noqa: F821
                    snakemake.output.h5, snakemake.params.studies)  # noqa: F821
