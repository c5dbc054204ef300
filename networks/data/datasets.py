"""``load_dataset``: the offline classification sets (and user files) as torch tensors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from networks.data.offline import CLASSIFICATION_SETS
from networks.data.transforms import resize_uint8, seeded_subset

log = logging.getLogger(__name__)


def _check_split(name: str, split: str, splits: tuple[str, ...]) -> None:
    if split not in splits:
        raise ValueError(f"split = {split!r}: dataset {name!r} has splits {', '.join(splits)}")


def _check_args(max_samples: int | None, image_size: int | None) -> None:
    if max_samples is not None and max_samples < 0:
        raise ValueError(f"max_samples = {max_samples}: must be >= 0 (0 or None = all)")
    if image_size is not None and not 1 <= image_size <= 4096:
        raise ValueError(f"image_size = {image_size}: must be in [1, 4096] (None = native)")


def load_dataset_uint8(
    name: str,
    split: str = "train",
    *,
    max_samples: int | None = None,
    image_size: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`load_dataset` but returns numpy ``uint8`` N×C×H×W images and int64 labels."""
    _check_args(max_samples, image_size)
    if name not in CLASSIFICATION_SETS:
        path = Path(name)
        if path.suffix == ".npz" and path.is_file():
            from networks.data.user import read_medmnist_npz

            x, y = read_medmnist_npz(path, split)
        elif path.is_dir():
            x, y = _folder_uint8(path, split, image_size)
        else:
            raise ValueError(
                f"name = {name!r}: unknown dataset (allowed: {', '.join(CLASSIFICATION_SETS)}, "
                "a MedMNIST .npz file, or an ImageNet-style class folder)")
    else:
        spec = CLASSIFICATION_SETS[name]
        _check_split(name, split, spec.splits)
        x, y = spec.reader(split, image_size)
    idx = seeded_subset(x.shape[0], max_samples, seed)
    # fancy indexing copies; otherwise copy so callers never write into the cached arrays
    x, y = (x[idx], y[idx]) if idx.size != x.shape[0] else (x.copy(), y.copy())
    if image_size is not None:
        x = resize_uint8(x, image_size)
    log.debug("dataset %s/%s: x %s, y %s", name, split, x.shape, y.shape)
    return x, y


def _folder_uint8(root: Path, split: str, image_size: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``root/<split>/<class>/*`` when split folders exist, else ``root/<class>/*``."""
    from networks.data.user import ImageFolderDataset

    folder = root / split if (root / split).is_dir() else root
    ds = ImageFolderDataset(folder, image_size or 224)  # ImageNet's 224 px unless told
    x, y = ds.tensors()
    return (x * 255.0).round().to(torch.uint8).numpy(), y.numpy()


def load_dataset(
    name: str,
    split: str = "train",
    *,
    max_samples: int | None = None,
    image_size: int | None = None,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A classification set as tensors.

    Args:
        name: One of :data:`networks.data.CLASSIFICATION_SETS` (``mnist``, ``fashion_mnist``,
            ``animal_mnist``, ``digits``, ``lfw``, ``textures``, ``pneumoniamnist``), a
            MedMNIST ``.npz`` path, or an ImageNet-style folder (``root/[split/]class/img``).
        split: ``train`` or ``test`` (``val`` too for MedMNIST).
        max_samples: Keep a seeded random subset of this many samples (None or 0 = all).
        image_size: Resize to image_size × image_size pixels (None = the set's native size).
        seed: Seed of the subset draw. Train/test splits themselves are fixed per set.

    Returns:
        x float32 N×C×H×W in [0, 1] and y int64 (N,).

    Raises:
        DatasetUnavailableError: the set is not installed (the message names what provides it).
        ValueError: unknown name or split, or out-of-range arguments.
    """
    x, y = load_dataset_uint8(name, split, max_samples=max_samples, image_size=image_size,
                              seed=seed)
    return torch.from_numpy(x).float().div_(255.0), torch.from_numpy(np.array(y, dtype=np.int64))
