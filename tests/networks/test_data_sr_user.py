"""SR image sets and the loaders for user-supplied folders and MedMNIST files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from networks.data import (
    ImageFolderDataset,
    load_dataset,
    load_image_folder,
    load_medmnist_npz,
    load_sr_images,
    sr_image_names,
)


def test_set5_sizes() -> None:
    images = load_sr_images("set5")
    names = sr_image_names("set5")
    assert names == ["baby", "bird", "butterfly", "head", "woman"]
    # (height, width) as stated in networks/data/files/sr/README.md (there: width × height)
    sizes = {"baby": (512, 512), "bird": (288, 288), "butterfly": (256, 256),
             "head": (280, 280), "woman": (344, 228)}
    assert [im.shape for im in images] == [(*sizes[n], 3) for n in names]
    assert all(im.dtype == np.uint8 and im.std() > 20 for im in images)


def test_set14_all_rgb() -> None:
    images = load_sr_images("set14")
    assert len(images) == 14
    assert all(im.ndim == 3 and im.shape[2] == 3 and im.dtype == np.uint8 for im in images)
    bridge = images[sr_image_names("set14").index("bridge")]  # stored grey, repeated to RGB
    assert np.array_equal(bridge[..., 0], bridge[..., 2])


def test_sr_train_photos_from_wheels() -> None:
    images = load_sr_images("sr_train")
    names = sr_image_names("sr_train")
    assert len(images) == len(names) >= 12
    assert all(im.ndim == 3 and im.shape[2] == 3 and min(im.shape[:2]) >= 256 for im in images)
    assert images[names.index("astronaut")].shape == (512, 512, 3)
    assert images[names.index("china")].shape == (427, 640, 3)
    assert images[names.index("grace_hopper")].shape == (600, 512, 3)  # matplotlib sample
    camera = images[names.index("camera")]  # grey photo repeated to RGB
    assert np.array_equal(camera[..., 0], camera[..., 1])


def test_unknown_sr_set() -> None:
    with pytest.raises(ValueError, match="name = 'set6'"):
        load_sr_images("set6")


def _write_png(path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def test_image_folder_div2k_style(tmp_path) -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (16, 12), dtype=np.uint8)
    _write_png(tmp_path / "0002.png", rgb)
    _write_png(tmp_path / "0001.png", grey)
    (tmp_path / "notes.txt").write_text("not an image")
    images = load_image_folder(tmp_path)
    assert [im.shape for im in images] == [(16, 12, 3), (20, 30, 3)]  # sorted by file name
    assert np.array_equal(images[1], rgb)  # PNG is lossless
    assert np.array_equal(images[0][..., 1], grey)
    assert load_sr_images(str(tmp_path))[1].shape == (20, 30, 3)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no image files"):
        load_image_folder(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        load_image_folder(tmp_path / "missing")


def test_imagenet_style_class_folders(tmp_path) -> None:
    rng = np.random.default_rng(1)
    for cls, level in (("cat", 30), ("dog", 220)):
        for i in range(3):
            img = np.clip(rng.normal(level, 5, (40, 50, 3)), 0, 255).astype(np.uint8)
            _write_png(tmp_path / cls / f"{i}.png", img)
    ds = ImageFolderDataset(tmp_path, image_size=16)
    assert ds.classes == ["cat", "dog"] and len(ds) == 6
    x, y = ds[4]
    assert tuple(x.shape) == (3, 16, 16) and x.dtype == torch.float32 and int(y) == 1
    assert abs(float(x.mean()) - 220 / 255) < 0.03  # mean grey kept through crop + resize
    xs, ys = ds.tensors()
    assert tuple(xs.shape) == (6, 3, 16, 16) and ys.tolist() == [0, 0, 0, 1, 1, 1]
    # the same folder through load_dataset (path instead of a registry name)
    xl, yl = load_dataset(str(tmp_path), "train", image_size=16)
    assert torch.allclose(xl, xs, atol=1 / 255 + 1e-6) and torch.equal(yl, ys)


def test_official_medmnist_npz(tmp_path) -> None:
    rng = np.random.default_rng(2)
    path = tmp_path / "bloodmnist.npz"  # colour, 8 classes, labels (N, 1) like the real files
    np.savez(path,
             train_images=rng.integers(0, 256, (7, 28, 28, 3), dtype=np.uint8),
             train_labels=rng.integers(0, 8, (7, 1), dtype=np.uint8),
             val_images=rng.integers(0, 256, (2, 28, 28, 3), dtype=np.uint8),
             val_labels=rng.integers(0, 8, (2, 1), dtype=np.uint8),
             test_images=rng.integers(0, 256, (3, 28, 28, 3), dtype=np.uint8),
             test_labels=np.array([[0], [7], [3]], dtype=np.uint8))
    x, y = load_medmnist_npz(path, "test")
    assert tuple(x.shape) == (3, 3, 28, 28) and y.tolist() == [0, 7, 3]
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    with np.load(path) as z:  # HWC -> CHW without mixing pixels
        assert float(x[1, 2, 5, 6]) == pytest.approx(z["test_images"][1, 5, 6, 2] / 255.0)
    xv, _ = load_dataset(str(path), "val", image_size=14)
    assert tuple(xv.shape) == (2, 3, 14, 14)
    with pytest.raises(ValueError, match="split = 'dev'"):
        load_medmnist_npz(path, "dev")
    multi = tmp_path / "chestmnist.npz"  # multi-label: (N, 14) stays 2-D
    np.savez(multi, train_images=np.zeros((4, 28, 28), np.uint8),
             train_labels=np.eye(4, 14, dtype=np.uint8))
    xm, ym = load_medmnist_npz(multi)
    assert tuple(xm.shape) == (4, 1, 28, 28) and tuple(ym.shape) == (4, 14)
