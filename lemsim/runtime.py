"""Run-time set-up shared by the Snakemake scripts and the command-line entry points.

:func:`setup` must run before Numba or torch is imported by the process: it fixes the thread
count of Numba, torch, OpenMP and BLAS to the rule's ``threads`` and routes logging to the
rule's log file (and stderr).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

_THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def set_threads(n: int) -> None:
    """Use exactly ``n`` threads in Numba, torch, OpenMP and BLAS (call before importing them)."""
    if n < 1:
        raise ValueError(f"threads = {n}: must be >= 1")
    for var in _THREAD_VARS:
        if var == "NUMBA_NUM_THREADS" and "numba" in sys.modules:
            # Numba's pool is sized once; a changed variable makes its next compilation fail
            # ("Cannot set NUMBA_NUM_THREADS to a different value once the threads have been
            # launched"), so the count is set with numba.set_num_threads below instead
            continue
        os.environ[var] = str(n)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(n)
    if "numba" in sys.modules:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    _limit_loaded_pools(n)


def _limit_loaded_pools(n: int) -> None:
    """Cap BLAS/OpenMP pools that are already loaded (numpy imported before :func:`setup`),
    where the environment variables come too late; threadpoolctl is a scikit-learn dependency
    and optional here."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return
    threadpool_limits(limits=n)


def setup_logging(
    log_file: str | os.PathLike[str] | None = None, level: int = logging.INFO
) -> None:
    """Log to ``log_file`` (created with its folder) and to stderr."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=level, handlers=handlers, force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def setup(smk: Any) -> None:
    """Thread and logging set-up for a Snakemake ``script:`` (pass the ``snakemake`` object)."""
    set_threads(int(getattr(smk, "threads", 1) or 1))
    log = list(getattr(smk, "log", []) or [])
    setup_logging(log[0] if log else None)
    if "torch" not in sys.modules:
        try:
            import torch

            torch.set_num_threads(int(smk.threads))
        except ImportError:  # pragma: no cover
            pass
