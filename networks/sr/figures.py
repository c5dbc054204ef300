"""Fig. 6 panels: b-e (the same crop from every method, USRNN ×2/×4, per-image metrics) and
f (Set5 PSNR of the USRNN per training epoch at ×2 and ×4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lemsim.io import save_figure  # noqa: E402
from networks.sr.metrics import rgb_to_y  # noqa: E402

LABELS = {"bicubic": "Bicubic", "srcnn": "SRCNN", "vdsr": "VDSR", "srresnet": "SRResNet",
          "usrnn": "USRNN (digital twin)", "usrnn_hw": "USRNN (hardware)"}


def detail_crop(hr: np.ndarray, frac: float = 0.4) -> tuple[int, int, int]:
    """(row, col, side) of the square crop with the most Y-gradient energy (the busiest
    region, where methods differ most)."""
    y = rgb_to_y(hr)
    side = max(16, int(min(y.shape) * frac))
    g = np.abs(np.diff(y, axis=0))[:, :-1] + np.abs(np.diff(y, axis=1))[:-1]
    cs = g.cumsum(0).cumsum(1)
    best, pos = -1.0, (0, 0)
    step = max(1, side // 8)
    for i in range(0, g.shape[0] - side, step):
        for j in range(0, g.shape[1] - side, step):
            e = cs[i + side, j + side] - cs[i, j + side] - cs[i + side, j] + cs[i, j]
            if e > best:
                best, pos = e, (i, j)
    return pos[0], pos[1], side


def _save(fig: Any, path: str | Path) -> Path:
    return save_figure(fig, path, dpi=110)


def fig6_bcde(hr2: np.ndarray, outs2: dict[str, np.ndarray], scores: dict[str, tuple[float, float]],
              hr4: np.ndarray, lr4: np.ndarray, usrnn4: np.ndarray, usrnn2: np.ndarray,
              title: str, path: str | Path) -> Path:
    """Panels b (×2 crops of every method), c/d (USRNN ×2 and ×4), e (PSNR/SSIM bars).

    Args:
        hr2: HR image (modcropped for ×2).
        outs2: Method → ×2 output, same shape as ``hr2``.
        scores: Method → (Y-PSNR dB, Y-SSIM) on this image at ×2.
        hr4: HR image (modcropped for ×4).
        lr4: Its ×4 LR input.
        usrnn4: USRNN ×4 output.
        usrnn2: USRNN ×2 output.
        title: Image name for the titles.
        path: Output PNG.
    """
    r, c, s = detail_crop(hr2)
    methods = list(outs2)
    fig = plt.figure(figsize=(2.2 * (len(methods) + 1), 7.6))
    gs = fig.add_gridspec(2, len(methods) + 1, height_ratios=[1, 1.1])
    ax = fig.add_subplot(gs[0, 0])
    ax.imshow(hr2[r:r + s, c:c + s])
    ax.set_title("HR", fontsize=9)
    ax.axis("off")
    for k, m in enumerate(methods, start=1):
        ax = fig.add_subplot(gs[0, k])
        ax.imshow(outs2[m][r:r + s, c:c + s])
        p, q = scores[m]
        ax.set_title(f"{LABELS.get(m, m)}\n{p:.2f} dB / {q:.4f}", fontsize=8)
        ax.axis("off")
    r4, c4, s4 = detail_crop(hr4)
    n = len(methods) + 1
    third = max(1, n // 3)
    lr_up = np.kron(lr4, np.ones((4, 4, 1), dtype=np.uint8))
    panels = [("c: USRNN ×2", usrnn2[r4:r4 + s4, c4:c4 + s4] if usrnn2.shape == hr4.shape
               else usrnn2[r:r + s, c:c + s]),
              ("d: LR input (×4 nearest)", lr_up[r4:r4 + s4, c4:c4 + s4]),
              ("d: USRNN ×4", usrnn4[r4:r4 + s4, c4:c4 + s4])]
    sub = gs[1, : n - third].subgridspec(1, 3)
    for k, (t, im) in enumerate(panels):
        ax = fig.add_subplot(sub[0, k])
        ax.imshow(im)
        ax.set_title(t, fontsize=9)
        ax.axis("off")
    ax = fig.add_subplot(gs[1, n - third:])
    x = np.arange(len(methods))
    ax.bar(x, [scores[m][0] for m in methods], color="tab:blue")
    ax.set_xticks(x, [LABELS.get(m, m).split(" ")[0] + ("-HW" if m == "usrnn_hw" else "")
                      for m in methods], rotation=60, fontsize=7)
    ax.set_ylabel("Y-PSNR (dB)")
    lo = min(scores[m][0] for m in methods)
    ax.set_ylim(lo - 1.0, max(scores[m][0] for m in methods) + 0.5)
    ax2 = ax.twinx()
    ax2.plot(x, [scores[m][1] for m in methods], "o-", color="tab:red")
    ax2.set_ylabel("Y-SSIM", color="tab:red")
    ax.set_title("e: ×2 on this image", fontsize=9)
    fig.suptitle(f"Fig. 6b-e: {title}, ×2 crops (Y-PSNR / SSIM) and USRNN ×4", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def fig6f(histories: dict[str, dict[str, dict[str, list[float]]]], bicubic: dict[int, float],
          path: str | Path) -> Path:
    """PSNR on Set5 per training epoch of the USRNN(s), ×2 and ×4 side by side.

    Args:
        histories: Method → ``{"x2": history, "x4": history}`` (``iteration``, ``eval``).
        bicubic: Scale → bicubic Set5 PSNR (reference line).
        path: Output PNG.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, scale in zip(axes, (2, 4), strict=True):
        for m, h in histories.items():
            hist = h.get(f"x{scale}", {})
            it, ev = hist.get("iteration", []), hist.get("eval", [])
            if not it:
                continue
            every = it[1] - it[0] if len(it) > 1 else max(it[0], 1)
            epochs = [i / every for i in it]
            ax.plot(epochs, ev, "o-" if m == "usrnn_hw" else "s--", label=LABELS.get(m, m))
        ax.axhline(bicubic[scale], color="grey", ls=":", label="Bicubic")
        ax.set_xlabel("Epoch (evaluation period)")
        ax.set_ylabel("Set5 Y-PSNR (dB)")
        ax.set_title(f"×{scale}" + (" (fine-tuning upsampler + tail)" if scale == 4 else ""))
        ev_all = [v for h in histories.values() for v in h.get(f"x{scale}", {}).get("eval", [])]
        if ev_all:
            ax.set_ylim(max(min(ev_all), bicubic[scale] - 3.0) - 0.5, max(ev_all) + 0.5)
        ax.legend(fontsize=8)
    fig.suptitle("Fig. 6f: USRNN PSNR during ×2 training and ×4 fine-tuning")
    fig.tight_layout()
    return _save(fig, path)
