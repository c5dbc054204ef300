"""MATLAB-compatible bicubic ``imresize`` (numpy and torch).

The super-resolution literature makes its LR images and its "bicubic" baseline with MATLAB's
``imresize(img, 1/s, 'bicubic')`` / ``imresize(lr, s, 'bicubic')``: Keys cubic kernel with
a = -0.5, antialiasing when shrinking (the kernel stretched by 1/scale), symmetric boundary
handling, weights normalised to sum 1. This module reproduces it exactly as a pair of dense
resampling matrices per image size (rows and columns), so the same operator degrades HR
images, forms the bicubic baseline and feeds SRCNN/VDSR inside torch.

Check (``tests/networks/test_sr_metrics.py``): bicubic ×2 on Set5 gives 33.68 dB / 0.9305
Y-PSNR/SSIM (published: 33.66 / 0.9299), ×4 28.43 dB / 0.8113 (published: 28.42 / 0.8104).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (
        -0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0
    ) * ((ax > 1) & (ax <= 2))


@lru_cache(maxsize=256)
def resize_matrix(in_len: int, out_len: int, scale: float) -> np.ndarray:
    """``out_len x in_len`` matrix of MATLAB's bicubic resampling along one axis.

    Args:
        in_len: Input length in pixels.
        out_len: Output length in pixels.
        scale: Output/input magnification (``< 1`` shrinks, with antialiasing).
    """
    if in_len < 1 or out_len < 1:
        raise ValueError(f"in_len = {in_len}, out_len = {out_len}: both must be >= 1")
    if scale <= 0:
        raise ValueError(f"scale = {scale}: must be > 0")
    width = 4.0
    if scale < 1:
        def kernel(x: np.ndarray) -> np.ndarray:
            return scale * _cubic(scale * x)

        width = width / scale
    else:
        kernel = _cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(np.ceil(width)) + 2
    ind = left[:, None] + np.arange(taps)[None, :]
    w = kernel(u[:, None] - ind)
    w = w / w.sum(axis=1, keepdims=True)
    aux = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    idx = aux[((ind - 1) % aux.size).astype(np.int64)]
    mat = np.zeros((out_len, in_len))
    rows = np.repeat(np.arange(out_len), taps)
    np.add.at(mat, (rows, idx.ravel()), w.ravel())
    mat.setflags(write=False)
    return mat


def _out_len(n: int, scale: float) -> int:
    return int(np.ceil(n * scale - 1e-9))


def imresize(img: np.ndarray, scale: float) -> np.ndarray:
    """Bicubic resize of an ``H x W [x C]`` image like MATLAB's ``imresize(img, scale)``.

    uint8 input gives uint8 output (rounded and clipped at the end); float stays float.
    """
    arr = np.asarray(img)
    if arr.ndim not in (2, 3):
        raise ValueError(f"img shape = {arr.shape}: expected H x W or H x W x C")
    h, w = arr.shape[:2]
    mh = resize_matrix(h, _out_len(h, scale), float(scale))
    mw = resize_matrix(w, _out_len(w, scale), float(scale))
    x = arr.astype(np.float64).reshape(h, w, -1)
    out = np.stack([mh @ x[:, :, c] @ mw.T for c in range(x.shape[2])], axis=-1)
    out = out.reshape(out.shape[:2] + arr.shape[2:])
    if arr.dtype == np.uint8:
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    return out


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom/right so both sides are multiples of ``scale``."""
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def degrade(hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(modcropped HR, bicubic-downscaled LR), both uint8, the standard SR test pair."""
    hr = modcrop(np.asarray(hr), scale)
    return hr, imresize(hr, 1.0 / scale)


@lru_cache(maxsize=64)
def _torch_matrix(in_len: int, out_len: int, scale: float, device: str, dtype: torch.dtype
                  ) -> torch.Tensor:
    return torch.tensor(np.array(resize_matrix(in_len, out_len, scale)), dtype=dtype, device=device)


def torch_upscale(x: torch.Tensor, scale: int) -> torch.Tensor:
    """MATLAB bicubic ×``scale`` magnification of a ``B x C x H x W`` tensor (differentiable)."""
    if x.dim() != 4:
        raise ValueError(f"x shape = {tuple(x.shape)}: expected B x C x H x W")
    h, w = x.shape[-2:]
    mh = _torch_matrix(h, h * scale, float(scale), str(x.device), x.dtype)
    mw = _torch_matrix(w, w * scale, float(scale), str(x.device), x.dtype)
    return torch.einsum("oh,bchw,pw->bcop", mh, x, mw)
