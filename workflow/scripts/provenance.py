"""Snakemake script of rule ``provenance``: git SHA, resolved config and package versions."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from lemsim.provenance import write_provenance  # noqa: E402

write_provenance(snakemake.output[0], snakemake.params.config,  # noqa: F821
                 snakemake.params.config_files)  # noqa: F821
