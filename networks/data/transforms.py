"""Array helpers shared by the loaders: layout, resizing, seeded subsets and splits.

The raw loaders return ``uint8`` arrays shaped N×C×H×W; these helpers cut, resize and convert
them without changing that layout.
"""

from __future__ import annotations

import numpy as np


def to_nchw(x: np.ndarray) -> np.ndarray:
    """N×H×W (grey) or N×H×W×C images as a contiguous N×C×H×W array."""
    if x.ndim == 3:
        return np.ascontiguousarray(x[:, None])
    if x.ndim == 4:
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    raise ValueError(f"images of shape {x.shape}: expected N×H×W or N×H×W×C")


def float_to_uint8(x: np.ndarray) -> np.ndarray:
    """Values in [0, 1] to ``uint8`` 0..255 (rounded, clipped)."""
    return np.clip(np.rint(np.asarray(x, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def resize_uint8(x: np.ndarray, size: int) -> np.ndarray:
    """Resize N×C×H×W ``uint8`` images to N×C×size×size (bilinear, antialiased when shrinking).

    Args:
        x: Images, ``uint8`` N×C×H×W.
        size: Output side in pixels (>= 1).
    """
    if size < 1:
        raise ValueError(f"image_size = {size}: must be >= 1")
    if x.shape[-2:] == (size, size):
        return x
    import torch
    import torch.nn.functional as F

    out = np.empty((x.shape[0], x.shape[1], size, size), dtype=np.uint8)
    shrink = size < max(x.shape[-2:])
    for start in range(0, x.shape[0], 4096):  # chunks keep the float copy small
        t = torch.from_numpy(x[start:start + 4096].astype(np.float32))
        r = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=shrink)
        out[start:start + 4096] = r.round().clamp(0, 255).to(torch.uint8).numpy()
    return out


def seeded_subset(n: int, max_samples: int | None, seed: int) -> np.ndarray:
    """Indices of at most ``max_samples`` of ``n`` items, drawn without replacement by ``seed``.

    ``None`` or 0 (or a cap >= n) keeps all items in their stored order.
    """
    if max_samples is not None and max_samples < 0:
        raise ValueError(f"max_samples = {max_samples}: must be >= 0 (0 or None = all)")
    if not max_samples or max_samples >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_samples, replace=False))


def stratified_split(
    y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed stratified train/test indices: ``test_fraction`` of every class goes to test.

    Args:
        y: Integer labels.
        test_fraction: Share of each class in the test split, in (0, 1).
        seed: Seed of the split (constant per dataset so the test set never moves).

    Returns:
        Sorted train indices and sorted test indices (disjoint, covering all items).
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction = {test_fraction}: must be in (0, 1)")
    rng = np.random.default_rng(seed)
    test: list[np.ndarray] = []
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        k = int(round(test_fraction * idx.size))
        test.append(rng.choice(idx, size=k, replace=False))
    test_idx = np.sort(np.concatenate(test))
    mask = np.ones(y.size, dtype=bool)
    mask[test_idx] = False
    return np.flatnonzero(mask), test_idx
