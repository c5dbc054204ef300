"""Provenance-stamped atomic I/O: attributes, and a writer killed mid-write loses nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from lemsim import __version__
from lemsim.io import atomic_h5, atomic_path, read_provenance, save_npz, write_json

KEYS = {"lemsim_version", "git_sha", "config", "created"}


def test_h5_has_provenance_attributes(tmp_path: Path) -> None:
    out = tmp_path / "a.h5"
    with atomic_h5(out, {"k": 1}) as fh:
        fh["x"] = np.arange(3)
    prov = read_provenance(out)
    assert set(prov) == KEYS
    assert prov["lemsim_version"] == __version__
    assert json.loads(prov["config"]) == {"k": 1}
    with h5py.File(out) as fh:
        np.testing.assert_array_equal(fh["x"][...], [0, 1, 2])


def test_json_and_npz_provenance(tmp_path: Path) -> None:
    write_json(tmp_path / "m.json", {"acc": 0.9}, config={"a": 2})
    assert json.loads(read_provenance(tmp_path / "m.json")["config"]) == {"a": 2}
    save_npz(tmp_path / "d.npz", {"b": 3}, x=np.ones(4))
    assert set(read_provenance(tmp_path / "d.npz")) == KEYS
    with np.load(tmp_path / "d.npz") as z:
        assert z["x"].sum() == 4


def test_exception_leaves_old_file(tmp_path: Path) -> None:
    out = tmp_path / "a.txt"
    out.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_written_files_get_normal_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        write_json(tmp_path / "p.json", {"a": 1})
    finally:
        os.umask(umask)
    assert (tmp_path / "p.json").stat().st_mode & 0o777 == 0o644


def test_unknown_provenance_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown provenance format '.txt'"):
        read_provenance(tmp_path / "x.txt")


def test_killed_writer_leaves_previous_file_intact(tmp_path: Path) -> None:
    """SIGKILL a process in the middle of a large HDF5 write: the old file stays readable."""
    out = tmp_path / "big.h5"
    with atomic_h5(out, {"version": "old"}) as fh:
        fh["x"] = np.zeros(10)
    flag = tmp_path / "writing"
    code = textwrap.dedent(f"""
        import numpy as np, pathlib, time
        from lemsim.io import atomic_h5
        with atomic_h5({str(out)!r}, {{"version": "new"}}) as fh:
            d = fh.create_dataset("x", shape=(10_000, 10_000), dtype="f8", chunks=(100, 10_000))
            pathlib.Path({str(flag)!r}).write_text("1")
            for i in range(100):
                d[i * 100:(i + 1) * 100] = 1.0
                time.sleep(0.05)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while not flag.exists():
        assert proc.poll() is None, "writer exited before it started writing"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert json.loads(read_provenance(out)["config"]) == {"version": "old"}
    with h5py.File(out) as fh:
        assert fh["x"].shape == (10,)
