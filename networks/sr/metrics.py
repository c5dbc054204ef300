"""Y-channel PSNR and SSIM as used by the super-resolution literature.

The luma is ITU-R BT.601 for studio swing (the Y of MATLAB's and scikit-image's
``rgb2ycbcr``): ``Y = 16 + (65.481 R + 128.553 G + 24.966 B)`` with R, G, B in [0, 1],
so Y lies in [16, 235] and the data range is 255. Both metrics crop ``border`` pixels
(the scale factor, by convention) from every side before comparing.

SSIM is Wang et al. (2004) with an 11-tap Gaussian window (sigma 1.5), K1 = 0.01,
K2 = 0.03, population covariances, and the mean taken over the interior where the window
fits, exactly like ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=255)``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

_Y_COEF = np.array([65.481, 128.553, 24.966])


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 luma in [16, 235] (float64) of an RGB image.

    Args:
        img: ``H x W x 3`` array, uint8 (0..255) or float (0..1).
    """
    arr = np.asarray(img)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"img shape = {arr.shape}: expected H x W x 3 RGB")
    x = arr.astype(np.float64) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float64)
    return 16.0 + x @ _Y_COEF


def _as_y(img: np.ndarray) -> np.ndarray:
    arr = np.asarray(img)
    if arr.ndim == 2:
        return arr.astype(np.float64)
    return rgb_to_y(arr)


def _crop(a: np.ndarray, border: int) -> np.ndarray:
    if border < 0:
        raise ValueError(f"border = {border}: must be >= 0")
    if border == 0:
        return a
    if 2 * border >= min(a.shape[:2]):
        raise ValueError(f"border = {border} leaves nothing of an image of shape {a.shape}")
    return a[border:-border, border:-border]


def _pair(ref: np.ndarray, test: np.ndarray, border: int) -> tuple[np.ndarray, np.ndarray]:
    if np.shape(ref)[:2] != np.shape(test)[:2]:
        raise ValueError(f"image shapes differ: {np.shape(ref)} vs {np.shape(test)}")
    return _crop(_as_y(ref), border), _crop(_as_y(test), border)


def psnr(ref: np.ndarray, test: np.ndarray, data_range: float = 255.0) -> float:
    """PSNR in dB of two same-shape arrays (no colour conversion, no crop)."""
    a = np.asarray(ref, dtype=np.float64)
    b = np.asarray(test, dtype=np.float64)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return float("inf")
    return 10.0 * float(np.log10(data_range**2 / mse))


def ssim(ref: np.ndarray, test: np.ndarray, data_range: float = 255.0, sigma: float = 1.5) -> float:
    """Mean SSIM of two same-shape 2-D arrays (Gaussian window, see the module docstring)."""
    a = np.asarray(ref, dtype=np.float64)
    b = np.asarray(test, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"ssim needs two equal 2-D arrays, got {a.shape} and {b.shape}")
    truncate = 3.5
    win = 2 * int(truncate * sigma + 0.5) + 1
    if min(a.shape) < win:
        raise ValueError(f"image shape {a.shape} smaller than the SSIM window {win}")

    def filt(x: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(x, sigma=sigma, truncate=truncate, mode="nearest")

    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    ux, uy = filt(a), filt(b)
    vx = filt(a * a) - ux * ux
    vy = filt(b * b) - uy * uy
    vxy = filt(a * b) - ux * uy
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    pad = (win - 1) // 2
    return float(s[pad:-pad, pad:-pad].mean())


def psnr_y(ref: np.ndarray, test: np.ndarray, border: int = 0) -> float:
    """Y-channel PSNR in dB (data range 255) after cropping ``border`` pixels per side.

    Args:
        ref: Ground-truth RGB image (uint8 or float in [0, 1]) or a 2-D Y array.
        test: Reconstruction, same shape.
        border: Pixels removed from every side (the SR scale factor by convention).
    """
    a, b = _pair(ref, test, border)
    return psnr(a, b)


def ssim_y(ref: np.ndarray, test: np.ndarray, border: int = 0) -> float:
    """Y-channel SSIM after cropping ``border`` pixels per side (see :func:`psnr_y`)."""
    a, b = _pair(ref, test, border)
    return ssim(a, b)
