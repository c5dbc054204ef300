"""Images and LR/HR training patches for super-resolution.

:func:`load_images` returns names and RGB uint8 images of the offline sets (``set5``,
``set14``, ``sr_train``, via ``networks.data``) or of a user folder (DIV2K HR at paper
scale). :class:`PatchSampler` cuts aligned LR/HR patch batches with flip/rotation
augmentation from images degraded once with MATLAB bicubic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from networks.sr.resize import degrade

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
_NAMES = ("set5", "set14", "sr_train")


def load_images(name: str) -> tuple[list[str], list[np.ndarray]]:
    """(names, RGB uint8 images) of an offline SR set or of an image folder.

    Args:
        name: ``set5``, ``set14``, ``sr_train`` (``networks.data.load_sr_images``), or a folder
            of image files (e.g. DIV2K HR at paper scale).
    """
    from networks.data import load_sr_images, sr_image_names

    if name in _NAMES:
        return sr_image_names(name), load_sr_images(name)
    folder = Path(name)
    if not folder.is_dir():
        raise FileNotFoundError(f"SR image set = {name!r}: neither one of {_NAMES} nor a folder")
    names = sorted(p.stem for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXT)
    return names, load_sr_images(str(folder))


def to_rgb(img: np.ndarray) -> np.ndarray:
    """RGB uint8 ``H x W x 3`` view of a grey, RGB or RGBA uint8 image."""
    a = np.asarray(img)
    if a.dtype != np.uint8:
        raise ValueError(f"image dtype = {a.dtype}: expected uint8")
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"image shape = {a.shape}: expected H x W, H x W x 3 or H x W x 4")
    return np.ascontiguousarray(a[..., :3])


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """uint8 H x W x 3 → float 1 x 3 x H x W in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float().div(255)[None]


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float 1 x 3 x H x W in [0, 1] → uint8 H x W x 3 (rounded, clipped)."""
    a = x.detach().clamp(0, 1).mul(255).round().to(torch.uint8)[0].cpu().numpy()
    return np.ascontiguousarray(a.transpose(1, 2, 0))


def detail(patch: np.ndarray) -> float:
    """Mean absolute difference of horizontal and vertical neighbours of a uint8 RGB patch's
    grey level, in [0, 1] units (0 for a flat patch)."""
    g = patch.astype(np.float32).mean(axis=2) / 255.0
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


class PatchSampler:
    """Random aligned LR/HR patch batches with flips and 90° rotations.

    Args:
        images: HR RGB uint8 training images.
        scale: Magnification (LR = MATLAB bicubic downscale of the HR image).
        patch: Side of the LR patch in pixels (HR side = ``patch * scale``).
        batch: Patches per batch.
        seed: Seed of the sampler's generator.
        augment: Random horizontal/vertical flips and transposition (8 dihedral symmetries).
        min_detail: Flat-patch rejection: an LR patch whose mean absolute neighbour difference
            (grey, in [0, 1] units) is below this value is redrawn (up to ``MAX_TRIES`` times;
            the last draw is kept). Flat patches (sky, the dark retina background, the smooth
            moon) carry no residual over bicubic for the network to learn. 0 = off.
    """

    MAX_TRIES = 8
    """Draws per patch of the flat-patch rejection."""

    def __init__(self, images: list[np.ndarray], scale: int, patch: int, batch: int,
                 seed: int = 0, augment: bool = True, min_detail: float = 0.0) -> None:
        if scale not in (2, 3, 4):
            raise ValueError(f"scale = {scale}: allowed 2, 3, 4")
        if patch < 4:
            raise ValueError(f"patch = {patch}: must be >= 4")
        if batch < 1:
            raise ValueError(f"batch = {batch}: must be >= 1")
        if not 0.0 <= min_detail < 1.0:
            raise ValueError(f"min_detail = {min_detail}: allowed 0 <= min_detail < 1")
        self.min_detail = float(min_detail)
        self.scale, self.patch, self.batch, self.augment = scale, patch, batch, augment
        self.pairs = []
        for img in images:
            hr, lr = degrade(img, scale)
            if min(lr.shape[:2]) >= patch:
                self.pairs.append((hr, lr))
        if not self.pairs:
            raise ValueError(f"patch = {patch}: larger than every LR training image")
        self.rng = np.random.default_rng(seed)

    def state(self) -> dict:
        """Generator state (for checkpoints)."""
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        """Restore the generator state saved by :meth:`state`."""
        self.rng.bit_generator.state = state

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(LR ``B x 3 x p x p``, HR ``B x 3 x sp x sp``) float tensors in [0, 1]."""
        p, s = self.patch, self.scale
        lrs = np.empty((self.batch, p, p, 3), np.uint8)
        hrs = np.empty((self.batch, p * s, p * s, 3), np.uint8)
        for k in range(self.batch):
            for _ in range(self.MAX_TRIES if self.min_detail > 0 else 1):
                hr, lr = self.pairs[int(self.rng.integers(len(self.pairs)))]
                i = int(self.rng.integers(lr.shape[0] - p + 1))
                j = int(self.rng.integers(lr.shape[1] - p + 1))
                a = lr[i:i + p, j:j + p]
                if self.min_detail <= 0 or detail(a) >= self.min_detail:
                    break
            b = hr[i * s:(i + p) * s, j * s:(j + p) * s]
            if self.augment:
                if self.rng.random() < 0.5:
                    a, b = a[:, ::-1], b[:, ::-1]
                if self.rng.random() < 0.5:
                    a, b = a[::-1], b[::-1]
                if self.rng.random() < 0.5:
                    a, b = a.transpose(1, 0, 2), b.transpose(1, 0, 2)
            lrs[k], hrs[k] = a, b
        lr_t = torch.from_numpy(lrs).permute(0, 3, 1, 2).float().div_(255)
        hr_t = torch.from_numpy(hrs).permute(0, 3, 1, 2).float().div_(255)
        return lr_t.contiguous(), hr_t.contiguous()
