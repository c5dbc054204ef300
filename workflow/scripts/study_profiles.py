"""Snakemake script of rule ``study_profiles``: profiles in the dark and under UV (Fig. 3)."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from device_physics.study_stage import run_profiles  # noqa: E402

run_profiles(snakemake.input.stack, snakemake.output.h5, snakemake.output.json,  # noqa: F821
             snakemake.output.png, snakemake.params.studies)  # noqa: F821
