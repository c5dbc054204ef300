"""``prepare_dataset``: one dataset to ``results/data/<name>.npz`` (rule ``prepare_data``).

Layout of the written ``.npz`` (no object arrays; provenance keys ``__*__`` added by
:func:`lemsim.io.save_npz`):

- classification sets: ``x_<split>`` uint8 N×C×H×W, ``y_<split>`` int64 (N,) for every split
  of the set (``train``, ``test``, plus ``val`` for MedMNIST), ``classes`` (str array),
  ``name``.
- SR sets (``set5``, ``set14``, ``sr_train``): ``image_000``, ``image_001``, ... each
  uint8 H×W×3, ``names`` (str array, same order), ``shapes`` int64 (K, 3), ``name``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lemsim.io import save_npz
from networks.data.datasets import load_dataset_uint8
from networks.data.offline import CLASSIFICATION_SETS
from networks.data.sr import SR_SETS, load_sr_images, sr_image_names

log = logging.getLogger(__name__)

DATASETS = (*CLASSIFICATION_SETS, *SR_SETS)
"""Every name ``prepare_dataset`` (and ``DataConfig.datasets``) accepts."""


def prepare_dataset(
    name: str, out_path: str | Path, data_cfg: Mapping[str, Any], seed: int = 0
) -> Path:
    """Write one dataset as a provenance-stamped ``.npz``.

    Args:
        name: A name of :data:`DATASETS`.
        out_path: The ``.npz`` to write (atomically).
        data_cfg: The ``networks.data`` config section (``max_per_split``: cap per split,
            0 = none; ``image_size``: side of classification images in pixels).
        seed: Seed of the per-split subsets.

    Returns:
        ``out_path``.
    """
    if name not in DATASETS:
        raise ValueError(f"name = {name!r}: unknown dataset (allowed: {', '.join(DATASETS)})")
    cap = int(data_cfg.get("max_per_split", 0) or 0)
    size = data_cfg.get("image_size")
    if cap < 0:
        raise ValueError(f"networks.data.max_per_split = {cap}: must be >= 0")
    arrays: dict[str, np.ndarray] = {"name": np.asarray(name)}
    if name in CLASSIFICATION_SETS:
        spec = CLASSIFICATION_SETS[name]
        for split in spec.splits:
            x, y = load_dataset_uint8(name, split, max_samples=cap or None,
                                      image_size=int(size) if size else None, seed=seed)
            arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
            log.info("%s/%s: x %s, classes %s", name, split, x.shape,
                     np.bincount(y, minlength=len(spec.classes)).tolist())
        arrays["classes"] = np.asarray(spec.classes)
    else:
        images = load_sr_images(name)
        if cap:
            images = images[:cap]
        for i, img in enumerate(images):
            arrays[f"image_{i:03d}"] = img
        arrays["names"] = np.asarray(sr_image_names(name)[: len(images)])
        arrays["shapes"] = np.asarray([img.shape for img in images], dtype=np.int64)
        log.info("%s: %d images, %s", name, len(images), arrays["shapes"].tolist())
    cfg = {"name": name, "seed": seed, **dict(data_cfg)}
    return save_npz(out_path, cfg, **arrays)
