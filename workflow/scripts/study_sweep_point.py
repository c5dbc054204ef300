"""Snakemake script of rules ``study_sweep_uv_point`` / ``study_sweep_trap_point``: one
Paramspace point (UV intensity or PVP trap-density factor) -> result JSON."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from device_physics.study_stage import run_sweep_point  # noqa: E402

kind = snakemake.params.kind  # noqa: F821
run_sweep_point(snakemake.input.stack, kind, float(snakemake.params.point[kind]),  # noqa: F821
                snakemake.output[0], snakemake.params.studies)  # noqa: F821
