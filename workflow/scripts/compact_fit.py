"""Snakemake script of rule ``fit_compact``: physics traces (or preset) -> ``nlem.json``."""

import logging

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from compact_model.rows import write_target_rows  # noqa: E402
from compact_model.stage import run_fit_compact  # noqa: E402

try:
    run_fit_compact(
        snakemake.output.json,  # noqa: F821
        snakemake.output.report,  # noqa: F821
        list(snakemake.input.traces),  # noqa: F821
        snakemake.params.compact,  # noqa: F821
        table_csv=snakemake.output.table,  # noqa: F821
    )
except ValueError as err:  # e.g. a depressing physics trace: say why in the rule's log
    logging.getLogger("fit_compact").error("%s", err)
    raise
write_target_rows(snakemake.output.json, snakemake.output.rows)  # noqa: F821
