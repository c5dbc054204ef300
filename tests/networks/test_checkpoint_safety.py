"""Checkpoints cannot run code; model files carry their compact model by value."""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import compact_model
from networks.checkpoint import (
    CheckpointError,
    UnsafeCheckpointError,
    load_checkpoint,
    load_model,
    save_checkpoint,
    save_model,
)
from networks.layers import HardwareConfig

ROOT = Path(__file__).resolve().parents[2]


class _Payload:
    """Unpickling this runs ``os.system`` (writes a marker file)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _evil_files(tmp_path: Path) -> list[tuple[Path, Path]]:
    """(file, marker) pairs: a torch.save zip and a bare pickle, each with a payload."""
    out = []
    for kind in ("torch", "pickle"):
        marker = tmp_path / f"pwned_{kind}"
        f = tmp_path / f"evil_{kind}.pt"
        blob = {"arch": "upenn", "kwargs": {}, "state_dict": {}, "x": _Payload(marker)}
        if kind == "torch":
            torch.save(blob, f)
        else:
            f.write_bytes(pickle.dumps(blob))
        out.append((f, marker))
    return out


def test_crafted_pickle_is_refused_and_nothing_runs(tmp_path):
    from networks.sr.models import load_model as load_sr_model

    for f, marker in _evil_files(tmp_path):
        for loader in (load_checkpoint, load_model, load_sr_model):
            with pytest.raises(UnsafeCheckpointError, match="refused"):
                loader(f)
            assert not marker.exists(), (loader.__name__, f.name)


def test_evaluate_cli_refuses_crafted_pickle(tmp_path):
    f, marker = _evil_files(tmp_path)[0]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "networks", "evaluate", "--checkpoint", str(f),
                        "--dataset", "mnist"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "refused" in r.stderr and str(f) in r.stderr
    assert "Traceback" not in r.stderr
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"not a torch file", b"PK\x03\x04truncated"])
def test_garbage_file_is_a_named_error(tmp_path, content):
    f = tmp_path / "bad.pt"
    f.write_bytes(content)
    with pytest.raises(CheckpointError, match="bad.pt"):
        load_checkpoint(f)
    with pytest.raises(CheckpointError, match="bad.pt"):
        load_model(f)


def test_not_a_model_file(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "w.pt")
    with pytest.raises(CheckpointError, match="not a model file"):
        load_model(tmp_path / "w.pt")
    torch.save({"arch": "no_such_arch", "kwargs": {}, "state_dict": {}}, tmp_path / "a.pt")
    with pytest.raises(CheckpointError, match="cannot rebuild the model"):
        load_model(tmp_path / "a.pt")
    torch.save({"arch": "upenn", "kwargs": {"num_classes": 3, "base_width": 2,
                                            "input_size": 16},
                "state_dict": {"w": torch.zeros(1)}}, tmp_path / "s.pt")
    with pytest.raises(CheckpointError, match="cannot rebuild the model"):
        load_model(tmp_path / "s.pt")
    torch.save([1, 2], tmp_path / "l.pt")
    with pytest.raises(CheckpointError, match="expected a dict"):
        load_checkpoint(tmp_path / "l.pt")


def test_numpy_and_python_rng_round_trip_under_weights_only(tmp_path):
    import random

    np.random.seed(5)  # noqa: NPY002 - the global state is what checkpoints restore
    random.seed(6)
    save_checkpoint(tmp_path / "c.pt", step=np.int64(3), arr=np.arange(4.0),
                    gen=np.random.default_rng(1).bit_generator.state)
    expect = (np.random.rand(3), random.random(), torch.rand(2))  # noqa: NPY002
    ck = load_checkpoint(tmp_path / "c.pt")
    from networks.checkpoint import restore_checkpoint

    restore_checkpoint(ck)
    got = (np.random.rand(3), random.random(), torch.rand(2))  # noqa: NPY002
    assert np.array_equal(expect[0], got[0]) and expect[1] == got[1]
    assert torch.equal(expect[2], got[2])
    assert ck["step"] == 3 and isinstance(ck["step"], int)
    assert torch.equal(ck["arr"], torch.arange(4.0, dtype=torch.float64))
    g = np.random.default_rng(0)
    g.bit_generator.state = ck["gen"]
    assert g.random() == np.random.default_rng(1).random()


def test_unstorable_value_named_at_save(tmp_path):
    with pytest.raises(TypeError, match=r"checkpoint\.history\[0\]: object"):
        save_checkpoint(tmp_path / "c.pt", history=[object()])


def _shifted_json(path: Path) -> Path:
    """An nlem.json of the paper preset with a 3x larger i_ref (a distinct device)."""
    doc = compact_model.load("paper").to_dict()
    doc["parameters"]["i_ref"]["value"] *= 3.0
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_model_embeds_its_compact_model_by_value(tmp_path, monkeypatch):
    src = tmp_path / "train"
    src.mkdir()
    _shifted_json(src / "nlem.json")
    monkeypatch.chdir(src)
    torch.manual_seed(0)
    hw = HardwareConfig(seed=1, compact_model="nlem.json")  # relative to the training dir
    kw = dict(num_classes=3, base_width=2, input_size=16, hw=hw)
    from networks.archs import build_model

    m = build_model("upenn", **kw).eval()
    save_model(tmp_path / "model.pt", m, "upenn", kw, dataset="toy")
    x = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    ref = m(x)
    blob = torch.load(tmp_path / "model.pt", weights_only=True)
    doc = blob["compact_model"]["document"]
    assert doc["parameters"]["i_ref"]["value"] == 3.0 * compact_model.load("paper").params.i_ref
    # elsewhere, with a different nlem.json at the same relative path: the embedded one wins
    other = tmp_path / "other"
    other.mkdir()
    (other / "nlem.json").write_text(json.dumps(compact_model.load("paper").to_dict()))
    monkeypatch.chdir(other)
    m2, meta = load_model(tmp_path / "model.pt")
    assert meta["compact_model_sha256"] == blob["compact_model"]["sha256"]
    assert torch.equal(m2.eval()(x), ref)
    (other / "nlem.json").unlink()  # and with no file at all
    m3, _ = load_model(tmp_path / "model.pt")
    assert torch.equal(m3.eval()(x), ref)
    # an edited embedded model fails its content hash
    doc["parameters"]["i_ref"]["value"] *= 2.0
    torch.save(blob, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match="sha256"):
        load_model(tmp_path / "edited.pt")
    del blob["compact_model"]
    torch.save(blob, tmp_path / "bare.pt")
    with pytest.raises(CheckpointError, match="without its embedded compact model"):
        load_model(tmp_path / "bare.pt")


# ----------------------------------------------------------------------------- properties
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_plain = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.text(max_size=8),
              st.floats(allow_nan=False),
              st.lists(st.floats(-1e3, 1e3), max_size=4).map(torch.tensor)),
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.tuples(kids, kids),
                           st.dictionaries(st.text(max_size=4), kids, max_size=3)),
    max_leaves=10)


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return a == b and type(a) is type(b)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(payload=st.dictionaries(st.text(min_size=1, max_size=4).filter(lambda k: k != "rng"),
                               _plain, max_size=4))
def test_plain_payloads_round_trip_under_weights_only(tmp_path, payload) -> None:
    save_checkpoint(tmp_path / "p.pt", **payload)
    ck = load_checkpoint(tmp_path / "p.pt")
    assert _same({k: ck[k] for k in payload}, payload)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=64),
                      st.binary(max_size=40).map(lambda b: b"PK\x03\x04" + b),
                      st.binary(max_size=40).map(lambda b: b"\x80\x02" + b)))
def test_random_bytes_give_the_named_error(tmp_path, data) -> None:
    f = tmp_path / "r.pt"
    f.write_bytes(data)
    with pytest.raises(CheckpointError, match="r.pt"):
        load_checkpoint(f)
