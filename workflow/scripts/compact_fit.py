"""Snakemake script of rule ``fit_compact``: physics traces (or preset) -> ``nlem.json``."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from compact_model.fit import run_fit_compact  # noqa: E402
from compact_model.rows import write_target_rows  # noqa: E402

run_fit_compact(
    snakemake.output.json,  # noqa: F821
    snakemake.output.report,  # noqa: F821
    list(snakemake.input.traces),  # noqa: F821
    snakemake.params.compact,  # noqa: F821
)
write_target_rows(snakemake.output.json, snakemake.output.rows)  # noqa: F821
