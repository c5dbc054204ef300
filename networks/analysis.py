"""Analyses of trained classifiers: per-layer gradients, nearest-class-mean transfer, SSIM.

* :func:`layer_gradients`: mean, spread and samples of the weight gradient of every weighted
  layer for one batch (Fig. 5b, c).
* :func:`ncm_accuracy`: "without training" accuracy of frozen features with a nearest-class-
  mean classifier from ``k`` labelled examples per class (the paper gives no method).
* :func:`feature_ssim`: SSIM between the feature maps of two images at one stage, the
  channels tiled into one mosaic per image on a shared intensity scale (Fig. 5d-f, U3).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from networks.train import model_device, predict


def layer_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                    n_samples: int = 2000, seed: int = 0) -> list[dict[str, object]]:
    """Weight-gradient statistics of every conv/linear layer for the batch ``(x, y)``.

    The model runs in training mode (batch statistics, noise on) without an optimiser step.

    Returns:
        One entry per weighted layer in forward order: ``name``, ``mean`` (mean of g),
        ``std`` (std of g), ``mean_abs`` (mean |g|) and ``sample`` (up to ``n_samples``
        gradient values drawn with ``seed``).
    """
    dev = model_device(model)
    model.train()
    model.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(x.to(dev)), y.to(dev)).backward()
    g = torch.Generator().manual_seed(seed)
    out = []
    for name, mod in model.named_modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)) and mod.weight.grad is not None:
            gr = mod.weight.grad.detach().float().cpu().reshape(-1)
            pick = torch.randperm(gr.numel(), generator=g)[:n_samples]
            out.append({"name": name, "mean": float(gr.mean()), "std": float(gr.std()),
                        "mean_abs": float(gr.abs().mean()), "sample": gr[pick].tolist()})
    model.zero_grad(set_to_none=True)
    return out


def ncm_fit(feats: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Class means of L2-normalised features, shape (n_classes, D); NaN rows for classes
    without a labelled example (never predicted)."""
    f = nn.functional.normalize(feats.float(), dim=1)
    means = torch.full((n_classes, f.shape[1]), float("nan"))
    for c in range(n_classes):
        sel = f[y == c]
        if len(sel):
            means[c] = nn.functional.normalize(sel.mean(0), dim=0)
    if torch.isnan(means).all():
        raise ValueError("no class has a labelled example")
    return means


def ncm_predict(means: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
    """Index of the nearest class mean (cosine) for every feature row."""
    sims = nn.functional.normalize(feats.float(), dim=1) @ torch.nan_to_num(means).T
    sims[:, torch.isnan(means).any(1)] = -float("inf")
    return sims.argmax(1)


def k_shot_indices(y: torch.Tensor, k: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``k`` examples per class (fewer where a class has fewer), seeded."""
    if k < 1:
        raise ValueError(f"k = {k}: must be >= 1")
    g = torch.Generator().manual_seed(seed)
    idx = []
    for c in torch.unique(y):
        pos = torch.nonzero(y == c).ravel()
        idx.append(pos[torch.randperm(len(pos), generator=g)[:k]])
    return torch.cat(idx)


def ncm_accuracy(embed: Callable[[torch.Tensor], torch.Tensor], model: nn.Module,
                 x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
                 y_test: torch.Tensor, k: int, seed: int = 0) -> float:
    """Accuracy of a nearest-class-mean classifier on frozen features ``embed(x)``.

    Args:
        embed: Feature function (e.g. ``model.embed``), run in eval mode without gradients.
        model: The module owning ``embed`` (for device and mode).
        x_train: Pool of labelled examples; ``k`` per class are used.
        y_train: Their labels.
        x_test: Test inputs.
        y_test: Test labels.
        k: Labelled examples per class.
        seed: Seed of the choice of the ``k`` examples.
    """
    sel = k_shot_indices(y_train, k, seed)
    n_classes = int(max(int(y_train.max()), int(y_test.max()))) + 1
    f_tr = predict(model, x_train[sel], fn=embed)
    means = ncm_fit(f_tr, y_train[sel], n_classes)
    pred = ncm_predict(means, predict(model, x_test, fn=embed))
    return float((pred == y_test).float().mean())


def mosaic(fm: np.ndarray) -> np.ndarray:
    """Tile feature maps (C, H, W) into one near-square 2-D image (channels row-major)."""
    c, h, w = fm.shape
    cols = math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    out = np.zeros((rows * h, cols * w), dtype=np.float64)
    for i in range(c):
        r, q = divmod(i, cols)
        out[r * h:(r + 1) * h, q * w:(q + 1) * w] = fm[i]
    return out


def feature_ssim(fa: np.ndarray, fb: np.ndarray) -> float:
    """SSIM of the mosaics of two (C, H, W) feature maps on a shared intensity scale.

    Both maps are divided by the larger of their maxima (ReLU features are >= 0) so a
    network whose features hardly change between the images scores near 1.
    """
    from skimage.metrics import structural_similarity

    if fa.shape != fb.shape:
        raise ValueError(f"feature shapes differ: {fa.shape} vs {fb.shape}")
    a, b = mosaic(fa.astype(np.float64)), mosaic(fb.astype(np.float64))
    lo = min(a.min(), b.min())
    scale = max(a.max(), b.max()) - lo
    if scale <= 0:
        return 1.0  # both all-constant: identical
    a, b = (a - lo) / scale, (b - lo) / scale
    win = min(7, min(a.shape) - (1 - min(a.shape) % 2))
    return float(structural_similarity(a, b, data_range=1.0, win_size=max(3, win)))
