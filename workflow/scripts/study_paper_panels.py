"""Snakemake script of rule ``study_paper_panels``: Fig. 2a/c/d/f/g/h and S15/S16 analogues
from the physics traces."""

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from device_physics.figures import paper_panels  # noqa: E402

smk = snakemake  # noqa: F821
traces = dict(zip(smk.params.names, smk.input.traces, strict=True))
traces[smk.params.mechanism] = smk.input.mechanism
paper_panels(traces, dict(smk.output.items()))
