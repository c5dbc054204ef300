"""networks.data: offline datasets and loaders for user data. Nothing here downloads.

- :func:`load_dataset` (classification sets as float tensors in [0, 1], N×C×H×W):
  ``mnist``, ``fashion_mnist``, ``animal_mnist``, ``digits``, ``lfw``, ``textures``,
  ``pneumoniamnist`` (sources and splits in :mod:`networks.data.offline`), or a path to a
  MedMNIST ``.npz`` / ImageNet-style folder.
- :func:`load_sr_images`: ``set5``, ``set14`` (bundled), ``sr_train`` (photos in the
  scikit-image / scikit-learn wheels), as H×W×3 ``uint8`` arrays.
- User data: :func:`load_image_folder` (DIV2K-style HR folders), :class:`ImageFolderDataset`
  (ImageNet-style class folders), :func:`load_medmnist_npz` (official MedMNIST files).
- :func:`prepare_dataset`: one dataset to ``results/data/<name>.npz`` (Snakemake rule
  ``prepare_data``).
"""

from networks.data.datasets import load_dataset, load_dataset_uint8
from networks.data.errors import DatasetUnavailableError
from networks.data.offline import CLASSIFICATION_SETS
from networks.data.prepare import DATASETS, prepare_dataset
from networks.data.sr import SR_SETS, load_sr_images, sr_image_names
from networks.data.user import (
    ImageFolderDataset,
    load_image_folder,
    load_medmnist_npz,
    read_medmnist_npz,
)

__all__ = [
    "CLASSIFICATION_SETS",
    "DATASETS",
    "SR_SETS",
    "DatasetUnavailableError",
    "ImageFolderDataset",
    "load_dataset",
    "load_dataset_uint8",
    "load_image_folder",
    "load_medmnist_npz",
    "load_sr_images",
    "prepare_dataset",
    "read_medmnist_npz",
    "sr_image_names",
]
