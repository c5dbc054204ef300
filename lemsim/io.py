"""Provenance-stamped, atomic file output.

Every file the pipeline writes goes to a temporary name in the same folder and is renamed into
place (``os.replace``) only when complete, so a killed writer leaves the previous file intact
and never a truncated one. HDF5 files carry the attributes of the data contract
(docs/architecture.md): ``lemsim_version``, ``git_sha``, ``config`` (JSON of the resolved config
section) and ``created`` (UTC, ISO 8601). JSON files carry the same under a ``provenance`` key.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from lemsim import __version__

ROOT = Path(__file__).resolve().parents[1]


@cache
def git_sha() -> str:
    """Commit of the working tree (``LEMSIM_GIT_SHA`` wins; ``unknown`` outside git).

    A ``-dirty`` suffix marks uncommitted changes to tracked files.
    """
    env = os.environ.get("LEMSIM_GIT_SHA")
    if env:
        return env
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def to_json(obj: Any, **kw: Any) -> str:
    """JSON text of ``obj`` (dataclasses, numpy arrays and paths allowed)."""
    return json.dumps(obj, default=_jsonable, **kw)


def provenance(config: Any = None) -> dict[str, str]:
    """The four provenance attributes of the data contract."""
    return {
        "lemsim_version": __version__,
        "git_sha": git_sha(),
        "config": to_json(config if config is not None else {}, sort_keys=True),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


class OutputPathError(ValueError):
    """An output path that cannot be written (checked before the work starts)."""


def _writable_ancestor(path: Path, name: str) -> None:
    """The nearest existing ancestor of ``path`` must be a writable folder."""
    anc = path.parent
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir():
        raise OutputPathError(f"{name} = {str(path)!r}: {str(anc)!r} is a file, not a folder")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise OutputPathError(f"{name} = {str(path)!r}: folder {str(anc)!r} is not writable")


def check_output_file(path: str | os.PathLike[str], name: str = "output") -> Path:
    """Refuse an output file path that cannot be written, before any work.

    Args:
        path: The file a command will write (its missing folders are created later).
        name: How the option is called in messages (``-o``, ``OUT_DIR``...).

    Raises:
        OutputPathError: ``path`` is an existing folder, or a folder on its way is a file or
            not writable.
    """
    p = Path(path)
    if p.is_dir():
        raise OutputPathError(f"{name} = {str(p)!r} is an existing folder: give a file path")
    if p.exists() and not os.access(p, os.W_OK):
        raise OutputPathError(f"{name} = {str(p)!r} exists and is not writable")
    _writable_ancestor(p, name)
    return p


def check_output_dir(path: str | os.PathLike[str], name: str = "output folder") -> Path:
    """Refuse an output folder that cannot be created or written, before any work.

    Raises:
        OutputPathError: ``path`` is an existing file, a non-writable folder, or a folder on
            its way is a file or not writable.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputPathError(f"{name} = {str(p)!r} is an existing file, not a folder")
    if p.is_dir():
        if not os.access(p, os.W_OK | os.X_OK):
            raise OutputPathError(f"{name} = {str(p)!r} is not writable")
    else:
        _writable_ancestor(p, name)
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_h5(path: str | os.PathLike[str], config: Any = None) -> Iterator[Any]:
    """Open a new HDF5 file for writing, stamped with provenance, renamed into place on exit.

    Args:
        path: Final file name.
        config: Resolved config section stored (as JSON) in the ``config`` attribute.
    """
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as fh:
        for key, value in provenance(config).items():
            fh.attrs[key] = value
        yield fh


def write_json(path: str | os.PathLike[str], data: Mapping[str, Any], config: Any = None) -> Path:
    """Write ``data`` as pretty JSON, atomically, with a ``provenance`` entry added."""
    payload = dict(data)
    payload.setdefault("provenance", provenance(config))
    with atomic_path(path) as tmp:
        tmp.write_text(to_json(payload, indent=1) + "\n", encoding="utf-8")
    return Path(path)


def save_npz(path: str | os.PathLike[str], config: Any = None, **arrays: Any) -> Path:
    """``np.savez_compressed`` atomically, adding the provenance fields as 0-d string arrays."""
    prov = {f"__{k}__": np.asarray(v) for k, v in provenance(config).items()}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays, **prov)
    return Path(path)


def save_figure(fig: Any, path: str | os.PathLike[str], dpi: int = 120, **savefig_kw: Any) -> Path:
    """Write a matplotlib figure as PNG atomically (folder created) and close it."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png", **savefig_kw)
    finally:
        plt.close(fig)
    return Path(path)


def read_provenance(path: str | os.PathLike[str]) -> dict[str, str]:
    """Provenance of a file written by this module (HDF5, JSON or NPZ)."""
    p = Path(path)
    if p.suffix in (".h5", ".hdf5"):
        import h5py

        with h5py.File(p, "r") as fh:
            return {k: str(fh.attrs[k]) for k in ("lemsim_version", "git_sha", "config", "created")}
    if p.suffix == ".json":
        return json.loads(p.read_text(encoding="utf-8"))["provenance"]
    if p.suffix == ".npz":
        with np.load(p) as z:
            return {k.strip("_"): str(z[k]) for k in z.files if k.startswith("__")}
    raise ValueError(f"path = {str(p)!r}: unknown provenance format {p.suffix!r} "
                     "(allowed: .h5, .hdf5, .json, .npz)")
