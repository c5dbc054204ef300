"""Loaders for data a user brings: DIV2K-style HR folders, ImageNet-style class folders and
official MedMNIST ``.npz`` files (any of the MedMNIST v2 sets, any size).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from networks.data.transforms import to_nchw

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm")
"""File name endings read as images (case-insensitive)."""


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def read_rgb(path: str | Path) -> np.ndarray:
    """One image file as H×W×3 ``uint8`` (grey is repeated, alpha dropped, 16 bit scaled)."""
    from PIL import Image

    with Image.open(path) as im:
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(im, dtype=np.float64)
            arr = np.clip(arr / max(arr.max(), 1.0) * 255.0, 0, 255).astype(np.uint8)
            return np.repeat(arr[..., None], 3, axis=2)
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def load_image_folder(path: str | Path, max_images: int | None = None) -> list[np.ndarray]:
    """All images of a folder (DIV2K-style HR set), sorted by file name.

    Args:
        path: Folder with image files (sub-folders are ignored).
        max_images: Keep only the first ``max_images`` files (None = all).

    Returns:
        List of H×W×3 ``uint8`` arrays.

    Raises:
        FileNotFoundError: ``path`` is not a folder or holds no image file.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"path = {str(folder)!r}: not a folder of images")
    files = _image_files(folder)
    if not files:
        raise FileNotFoundError(
            f"path = {str(folder)!r}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
    if max_images is not None:
        files = files[:max_images]
    return [read_rgb(f) for f in files]


class ImageFolderDataset(torch.utils.data.Dataset):
    """ImageNet-style ``root/<class>/<image>`` folders as a torch dataset.

    Classes are the sub-folder names in sorted order (label = index). Each item is
    ``(x, y)``: x float32 3×S×S in [0, 1] (centre square crop, resized to ``image_size``),
    y an int64 scalar tensor. Images are read lazily.

    Args:
        root: Folder holding one sub-folder per class.
        image_size: Output side ``S`` in pixels.
    """

    def __init__(self, root: str | Path, image_size: int) -> None:
        if image_size < 1:
            raise ValueError(f"image_size = {image_size}: must be >= 1")
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"root = {str(self.root)!r}: not a folder")
        self.image_size = int(image_size)
        self.classes = sorted(p.name for p in self.root.iterdir() if p.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"root = {str(self.root)!r}: no class sub-folders")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = [(f, i) for i, c in enumerate(self.classes)
                        for f in _image_files(self.root / c)]
        if not self.samples:
            raise FileNotFoundError(f"root = {str(self.root)!r}: class folders hold no images")
        log.info("ImageFolderDataset %s: %d images, %d classes", self.root, len(self.samples),
                 len(self.classes))

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        path, label = self.samples[index]
        return square_resize(read_rgb(path), self.image_size), torch.tensor(label)

    def tensors(self, max_samples: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``max_samples`` items (all when None) stacked as (N×3×S×S, N)."""
        n = len(self) if not max_samples else min(max_samples, len(self))
        items = [self[i] for i in range(n)]
        return torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])


def square_resize(img: np.ndarray, size: int) -> torch.Tensor:
    """H×W×C ``uint8`` image -> C×size×size float32 in [0, 1] (centre crop, then resize)."""
    import torch.nn.functional as F

    h, w = img.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = img[top:top + s, left:left + s]
    t = torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))).float()[None] / 255.0
    if s != size:
        t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=size < s)
    return t[0].clamp(0.0, 1.0)


def read_medmnist_npz(path: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """One split of an official MedMNIST ``.npz`` as numpy (uint8 N×C×H×W, int64 labels).

    Labels of shape (N, 1) become (N,); multi-label sets (ChestMNIST: (N, 14)) stay (N, K).

    Args:
        path: The ``.npz`` (keys ``<split>_images`` and ``<split>_labels``).
        split: ``train``, ``val`` or ``test``.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path = {str(p)!r}: no such MedMNIST .npz file")
    with np.load(p, allow_pickle=False) as z:
        splits = sorted({k.rsplit("_", 1)[0] for k in z.files if k.endswith("_images")})
        if split not in splits:
            raise ValueError(f"split = {split!r}: {p.name} has splits {splits}")
        x = np.asarray(z[f"{split}_images"])
        y = np.asarray(z[f"{split}_labels"]).astype(np.int64)
    if x.dtype != np.uint8:
        raise ValueError(f"{p.name}: {split}_images has dtype {x.dtype}, expected uint8")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"{p.name}: {x.shape[0]} images but {y.shape[0]} labels in {split!r}")
    return to_nchw(x), y


def load_medmnist_npz(path: str | Path, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """One split of an official MedMNIST ``.npz`` as tensors.

    Returns:
        x float32 N×C×H×W in [0, 1] (C = 1 grey, 3 colour) and y int64 (N,) or (N, K).
    """
    x, y = read_medmnist_npz(path, split)
    return torch.from_numpy(x).float().div_(255.0), torch.from_numpy(y)
