"""Data of the Fig. 5 experiments: the ``networks.data`` sets plus two photo-crop sets.

``photo_patches`` (6 classes: astronaut, camera, coffee, rocket, coins, moon from the
scikit-image wheel) and ``sample_patches`` (2 classes: china, flower from the scikit-learn
wheel) are "which photo is this crop from" tasks: grey 64×64 crops, train crops from the top
70 % of each photo's rows and test crops from the bottom 30 % (no overlap), resized.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from networks.config import PATCH_SETS

_CROP = 64
_PER_CLASS = {"train": 300, "test": 100}


@functools.cache
def _photos(source: str) -> tuple[np.ndarray, ...]:
    if source == "skimage":
        import skimage.data

        imgs = [getattr(skimage.data, n)() for n in PATCH_SETS["photo_patches"][1]]
    else:
        from sklearn.datasets import load_sample_images

        imgs = list(load_sample_images().images)
    out = []
    for im in imgs:
        im = np.asarray(im, dtype=np.float64)
        if im.ndim == 3:
            im = im[..., :3] @ np.array([0.299, 0.587, 0.114])
        out.append(im / 255.0)
    return tuple(out)


def _patch_set(name: str, split: str, image_size: int, seed: int) -> tuple[torch.Tensor,
                                                                         torch.Tensor]:
    source, _ = PATCH_SETS[name]
    rng = np.random.default_rng(seed + (0 if split == "train" else 1))
    xs, ys = [], []
    for c, im in enumerate(_photos(source)):
        h, w = im.shape
        cut = int(0.7 * h)
        r0, r1 = (0, cut - _CROP) if split == "train" else (cut, h - _CROP)
        for _ in range(_PER_CLASS[split]):
            r = int(rng.integers(r0, r1 + 1))
            q = int(rng.integers(0, w - _CROP + 1))
            xs.append(im[r:r + _CROP, q:q + _CROP])
            ys.append(c)
    x = torch.as_tensor(np.stack(xs), dtype=torch.float32)[:, None]
    x = torch.nn.functional.interpolate(x, size=(image_size, image_size), mode="area")
    return x.clamp_(0.0, 1.0), torch.as_tensor(ys, dtype=torch.int64)


def load_task(name: str, split: str, image_size: int, max_samples: int | None = None,
              seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A classification set as grey (N, 1, S, S) float tensors in [0, 1] and labels.

    Args:
        name: A ``networks.data`` set or one of :data:`PATCH_SETS`.
        split: ``train`` or ``test``.
        image_size: Output side S in pixels.
        max_samples: Seeded random subset size (None = all).
        seed: Seed of the subset (and of the crops).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split = {split!r}: allowed 'train', 'test'")
    if name in PATCH_SETS:
        x, y = _patch_set(name, split, image_size, seed)
        if max_samples and max_samples < len(x):
            pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
            x, y = x[pick[:max_samples]], y[pick[:max_samples]]
    else:
        from networks.data import load_dataset

        x, y = load_dataset(name, split, max_samples=max_samples or None, image_size=image_size,
                            seed=seed)
    if x.shape[1] == 3:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    elif x.shape[1] != 1:
        x = x.mean(1, keepdim=True)
    return x.contiguous(), y
