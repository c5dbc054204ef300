"""Snakemake script of rule ``usrnn_report``: table, S rows and Fig. 6 panels."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from networks.experiments.usrnn_fig6 import report_from_params  # noqa: E402

report_from_params(
    snakemake.params.metrics,  # noqa: F821
    snakemake.params.usrnn,  # noqa: F821
    snakemake.params.out_dir,  # noqa: F821
    scale_name=snakemake.params.scale,  # noqa: F821
    table=snakemake.output.table,  # noqa: F821
    rows=snakemake.output.rows,  # noqa: F821
    fig_bcde=snakemake.output.fig_bcde,  # noqa: F821
    fig_f=snakemake.output.fig_f,  # noqa: F821
)
