"""Super-resolution images: Set5 / Set14 evaluation sets (bundled under ``files/sr``, see the
README there) and the ``sr_train`` photos that ship inside the scikit-image, scikit-learn and
matplotlib wheels (read from the wheels, never fetched; checked with the network unshared).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from networks.data.errors import DatasetUnavailableError
from networks.data.offline import FILES
from networks.data.user import load_image_folder

SR_EVAL_SETS = {"set5": FILES / "sr" / "Set5", "set14": FILES / "sr" / "Set14"}
"""Bundled evaluation sets: name -> folder of PNGs."""

SKIMAGE_TRAIN = ("astronaut", "camera", "chelsea", "coffee", "coins", "hubble_deep_field",
                 "immunohistochemistry", "moon", "retina", "rocket", "brick", "grass", "gravel")
"""skimage.data photos in ``sr_train`` (all stored in the wheel; grey ones repeated to RGB)."""
SKLEARN_TRAIN = ("china.jpg", "flower.jpg")
"""sklearn ``load_sample_images`` photos in ``sr_train``."""
MATPLOTLIB_TRAIN = ("grace_hopper.jpg",)
"""matplotlib sample-data photos (``mpl-data/sample_data``) in ``sr_train``."""
SR_SETS = (*SR_EVAL_SETS, "sr_train")
"""Every name :func:`load_sr_images` accepts."""


def _rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise ValueError(f"expected uint8 image, got {img.dtype}")
    if img.ndim == 2:
        return np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., :3])


def _sklearn_sample(fname: str) -> np.ndarray:
    """A ``load_sample_images`` photo, read from the wheel without importing sklearn.datasets
    (slow); through ``load_sample_images`` when the file moved."""
    import importlib.util

    from networks.data.user import read_rgb

    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "datasets/images" / fname
        if path.is_file():
            return read_rgb(path)
    from sklearn.datasets import load_sample_images

    bunch = load_sample_images()
    by_name = {Path(f).name: img for f, img in zip(bunch.filenames, bunch.images, strict=True)}
    return _rgb(by_name[fname])


def _matplotlib_sample(fname: str) -> np.ndarray:
    import matplotlib

    from networks.data.user import read_rgb

    return read_rgb(Path(matplotlib.get_data_path()) / "sample_data" / fname)


def sr_image_names(name: str) -> list[str]:
    """Names of the images of an SR set, in the order :func:`load_sr_images` returns them."""
    if name in SR_EVAL_SETS:
        return sorted(p.stem for p in SR_EVAL_SETS[name].glob("*.png"))
    if name == "sr_train":
        return [*SKIMAGE_TRAIN,
                *(f.rsplit(".", 1)[0] for f in (*SKLEARN_TRAIN, *MATPLOTLIB_TRAIN))]
    raise ValueError(f"name = {name!r}: unknown SR set (allowed: {', '.join(SR_SETS)})")


def load_sr_images(name: str) -> list[np.ndarray]:
    """The images of an SR set as H×W×3 ``uint8`` arrays (names: :func:`sr_image_names`).

    Args:
        name: ``set5``, ``set14`` or ``sr_train``; or a folder path (DIV2K-style HR folder).
    """
    if name in SR_EVAL_SETS:
        folder = SR_EVAL_SETS[name]
        if not folder.is_dir():
            raise DatasetUnavailableError(
                f"SR set {name!r}: {folder} is missing (it ships with the project: restore it "
                "with `git checkout -- networks/data/files/sr`)")
        return load_image_folder(folder)
    if name == "sr_train":
        import skimage.data

        images = [_rgb(getattr(skimage.data, n)()) for n in SKIMAGE_TRAIN]
        images += [_sklearn_sample(n) for n in SKLEARN_TRAIN]
        images += [_matplotlib_sample(n) for n in MATPLOTLIB_TRAIN]
        return images
    if Path(name).is_dir():
        return load_image_folder(name)
    raise ValueError(f"name = {name!r}: unknown SR set (allowed: {', '.join(SR_SETS)} "
                     "or a folder of images)")
