"""Snakemake script of rule ``device_run``: one protocol on one stack -> HDF5 (+ XDMF)."""

import logging

from lemsim.runtime import setup

setup(snakemake)  # noqa: F821 (injected by Snakemake)

from device_physics.fv1d import SolverError as FVSolverError  # noqa: E402
from device_physics.simulate import run_configured  # noqa: E402
from device_physics.solver import SolverError  # noqa: E402
from device_physics.timestepping import StepFailure  # noqa: E402

params = snakemake.params.device  # noqa: F821
out = snakemake.output[0]  # noqa: F821
try:
    run_configured(snakemake.input.stack, snakemake.input.protocol, out, params,  # noqa: F821
                   max_wall_s=float(snakemake.params.max_wall_s))  # noqa: F821
except (StepFailure, SolverError, FVSolverError) as err:  # solver failures only: the partial
    # trace was written by run_configured; any other error (bad input, a bug) propagates
    from pathlib import Path

    if not (params["fail_soft"] and Path(out).exists()):
        raise
    import h5py

    with h5py.File(out, "a") as fh:
        fh.attrs["status"] = f"failed: {err}"
    logging.getLogger("device_run").error("kept the partial trace (device.fail_soft): %s", err)
else:
    import h5py

    with h5py.File(out, "a") as fh:
        fh.attrs["status"] = "complete"
