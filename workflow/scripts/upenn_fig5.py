"""Snakemake script of rule ``upenn_fig5``: Fig. 5 panels, accuracy table, U1-U5 rows."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from networks.experiments.upenn_figures import make_fig5  # noqa: E402

make_fig5(
    snakemake.params.run_dirs,  # noqa: F821
    fig_dir=snakemake.params.fig_dir,  # noqa: F821
    table=snakemake.output[1],  # noqa: F821
    summary=snakemake.output[0],  # noqa: F821
    rows=snakemake.output[2],  # noqa: F821
    config=snakemake.params.upenn,  # noqa: F821
)
