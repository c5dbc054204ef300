"""Thread and logging set-up of Snakemake scripts (lemsim.runtime)."""

from __future__ import annotations

import logging
import os
import types
from pathlib import Path

import numpy as np  # noqa: F401  (BLAS loaded before set-up, as in a Snakemake script)
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from lemsim.runtime import set_threads, setup


@pytest.fixture
def restore_env():
    saved = {k: os.environ.get(k) for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS",
                                            "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    with threadpool_limits(limits=None):
        yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_set_threads_caps_env_torch_and_loaded_blas(restore_env):
    import torch

    before = torch.get_num_threads()
    try:
        set_threads(1)
        assert os.environ["OMP_NUM_THREADS"] == "1"
        assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
        assert torch.get_num_threads() == 1
        # Pools loaded before the call (numpy's BLAS) are capped too, not only future ones.
        pools = threadpool_info()
        assert pools, "no BLAS/OpenMP pool found in this process"
        assert all(p["num_threads"] == 1 for p in pools)
    finally:
        torch.set_num_threads(before)


def test_set_threads_rejects_zero():
    with pytest.raises(ValueError, match="threads = 0"):
        set_threads(0)


def test_setup_writes_the_rule_log(tmp_path: Path, restore_env):
    import torch

    before = torch.get_num_threads()
    log = tmp_path / "logs" / "rule.log"
    smk = types.SimpleNamespace(threads=1, log=[str(log)])
    try:
        setup(smk)
        logging.getLogger("lemsim.test").info("hello from the rule")
        for h in logging.getLogger().handlers:
            h.flush()
        assert "hello from the rule" in log.read_text()
    finally:
        torch.set_num_threads(before)
        logging.basicConfig(force=True)


def test_set_threads_after_numba_launched_its_pool_keeps_it_compiling(restore_env):
    """Once Numba's threads are launched, a changed NUMBA_NUM_THREADS makes every later
    compilation fail; set_threads leaves the variable alone and caps the pool instead."""
    import numba

    @numba.njit(parallel=True)
    def total(x):
        s = 0.0
        for i in numba.prange(x.size):
            s += x[i]
        return s

    total(np.ones(8))  # launches the pool
    before = os.environ.get("NUMBA_NUM_THREADS")
    set_threads(numba.config.NUMBA_NUM_THREADS + 1)
    assert os.environ.get("NUMBA_NUM_THREADS") == before

    @numba.njit(parallel=True)
    def total2(x):
        s = 0.0
        for i in numba.prange(x.size):
            s += 2 * x[i]
        return s

    assert total2(np.ones(8)) == 16.0
