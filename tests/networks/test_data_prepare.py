"""``prepare_dataset``: the ``results/data/<name>.npz`` layout and the config caps."""

from __future__ import annotations

import numpy as np
import pytest

from lemsim.io import read_provenance
from networks.config import DATASET_NAMES, DataConfig
from networks.data import DATASETS, prepare_dataset


def test_default_dataset_list_is_known() -> None:
    assert set(DataConfig().datasets) <= set(DATASETS)
    assert set(DATASET_NAMES) == set(DATASETS)  # config choices == loader registry


def test_prepare_classification_capped_and_resized(tmp_path) -> None:
    out = prepare_dataset("digits", tmp_path / "digits.npz",
                          {"max_per_split": 50, "image_size": 16}, seed=7)
    with np.load(out, allow_pickle=False) as z:
        assert z["x_train"].shape == (50, 1, 16, 16) and z["x_train"].dtype == np.uint8
        assert z["x_test"].shape == (50, 1, 16, 16)
        assert z["y_train"].dtype == np.int64 and z["y_train"].max() <= 9
        assert list(z["classes"]) == [str(i) for i in range(10)]
        assert z["x_train"].max() > 200  # scaled to 0..255, not left at 0..16
    prov = read_provenance(out)
    assert '"max_per_split": 50' in prov["config"] and prov["git_sha"]


def test_prepare_pneumonia_keeps_val_split(tmp_path) -> None:
    out = prepare_dataset("pneumoniamnist", tmp_path / "p.npz",
                          {"max_per_split": 0, "image_size": 28}, seed=0)
    with np.load(out, allow_pickle=False) as z:
        assert [z[f"y_{s}"].size for s in ("train", "val", "test")] == [3882, 524, 624]
        assert set(np.unique(z["y_test"])) == {0, 1}


def test_prepare_sr_set_object_free(tmp_path) -> None:
    out = prepare_dataset("set5", tmp_path / "set5.npz", {"max_per_split": 0}, seed=0)
    with np.load(out, allow_pickle=False) as z:  # would raise on object arrays
        assert list(z["names"]) == ["baby", "bird", "butterfly", "head", "woman"]
        assert z["shapes"].tolist()[4] == [344, 228, 3]
        assert z["image_000"].shape == (512, 512, 3) and z["image_000"].dtype == np.uint8


def test_prepare_unknown_name(tmp_path) -> None:
    with pytest.raises(ValueError, match="name = 'cifar10'"):
        prepare_dataset("cifar10", tmp_path / "x.npz", {}, seed=0)
    assert not (tmp_path / "x.npz").exists()


def test_classification_and_sr_names_match_the_registries():
    from networks.config import CLASSIFICATION_NAMES, SR_NAMES
    from networks.data import CLASSIFICATION_SETS, SR_SETS

    assert set(CLASSIFICATION_NAMES) == set(CLASSIFICATION_SETS)
    assert set(SR_NAMES) == set(SR_SETS)
