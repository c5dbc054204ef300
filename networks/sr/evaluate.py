"""Evaluation of SR methods on whole test images: Y-channel PSNR/SSIM, border = scale.

Protocol (the one behind the published Set5/Set14 numbers): HR image modcropped to a multiple
of the scale, LR = MATLAB-bicubic downscale rounded to uint8, the method's output rounded to
uint8, PSNR/SSIM on the BT.601 Y channel with ``scale`` pixels cropped from every side.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from networks.sr.data import to_tensor, to_uint8
from networks.sr.metrics import psnr_y, ssim_y
from networks.sr.resize import degrade, imresize


def super_resolve(model: nn.Module | None, lr: np.ndarray, scale: int) -> np.ndarray:
    """SR output (uint8 RGB) of ``model`` for the uint8 RGB image ``lr``.

    ``model=None`` is MATLAB bicubic interpolation (computed in float64 with numpy).
    """
    if model is None:
        return imresize(lr, scale)
    if getattr(model, "scale", scale) != scale:
        raise ValueError(f"scale = {scale} but the model magnifies by {model.scale}")
    was_training = model.training
    model.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    with torch.no_grad():
        out = to_uint8(model(to_tensor(lr).to(device)))
    model.train(was_training)
    return out


def evaluate_images(model: nn.Module | None, images: list[np.ndarray], scale: int,
                    ssim: bool = True) -> dict[str, list[float] | float]:
    """Per-image and mean Y-PSNR (dB) and Y-SSIM of ``model`` on HR ``images``.

    Returns:
        ``{"psnr": [...], "ssim": [...], "psnr_mean": float, "ssim_mean": float}``
        (SSIM entries are NaN when ``ssim`` is False).
    """
    ps, ss = [], []
    for img in images:
        hr, lr = degrade(img, scale)
        sr = super_resolve(model, lr, scale)
        ps.append(psnr_y(hr, sr, border=scale))
        ss.append(ssim_y(hr, sr, border=scale) if ssim else float("nan"))
    return {"psnr": ps, "ssim": ss, "psnr_mean": float(np.mean(ps)),
            "ssim_mean": float(np.mean(ss))}
