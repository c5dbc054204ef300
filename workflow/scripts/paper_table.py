"""Snakemake script of rule ``paper_table``: merge the stages' rows into paper_vs_sim.csv."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

import json  # noqa: E402
from pathlib import Path  # noqa: E402

from compact_model.fit import synapse_source  # noqa: E402
from lemsim.targets import build_table, write_table  # noqa: E402

inp = snakemake.input  # noqa: F821
source = synapse_source(json.loads(Path(inp.nlem).read_text(encoding="utf-8")))
write_table(snakemake.output[0], build_table(  # noqa: F821
    inp.rows, snakemake.params.scale, synapse_source=source,  # noqa: F821
    preset_files=list(inp.preset)))
