"""Configuration section ``networks`` (data sets and network experiments). Light module."""

from __future__ import annotations

from dataclasses import dataclass, field

from lemsim.configtools import param

DATASET_NAMES = ("mnist", "fashion_mnist", "animal_mnist", "digits", "lfw", "textures",
                 "pneumoniamnist", "sr_train", "set5", "set14")
"""Every dataset ``prepare_data`` can write (kept equal to ``networks.data.DATASETS`` by a test;
spelled out here so this config module stays free of torch)."""


@dataclass
class DataConfig:
    """Offline datasets prepared by the ``prepare_data`` rule."""

    datasets: list[str] = param(choices=DATASET_NAMES, default_factory=lambda: [
        "mnist", "fashion_mnist", "animal_mnist", "digits", "lfw", "textures", "pneumoniamnist",
        "sr_train", "set5", "set14"])
    """Datasets written to ``results/data/<name>.npz`` (see ``networks.data.DATASETS``;
    ``fashion_mnist`` needs the Debian package ``dataset-fashion-mnist``, ``animal_mnist`` the
    PyPI package ``animal-mnist``)."""
    max_per_split: int = param(0, lo=0)
    """Cap on samples per split written by ``prepare_data`` (0 = no cap); for the SR sets, a cap
    on the number of images."""
    image_size: int = param(28, lo=8, hi=1024)
    """Side of the square images of the classification sets, in pixels (textures: the patch
    side, up to 128 px cut from the photos, larger resized)."""


@dataclass
class FCNConfig:
    """FCN-1 / FCN-2 co-design experiment (Fig. 4)."""

    train_samples: int = param(5000, lo=10)
    """MNIST training samples (paper: 5000)."""
    test_samples: int = param(1000, lo=10)
    """MNIST test samples (paper: 1000)."""
    epochs: int = param(30, lo=1)
    """Training epochs."""
    classes: int = param(4, lo=2, hi=10)
    """Classes of the co-design task run on the circuit (paper: 4)."""
    class_counts: list[int] = param(default_factory=lambda: [2, 3, 4, 5, 6, 7, 8, 9, 10],
                                    lo=2, hi=10)
    """Class counts of the accuracy-vs-classes sweep (Fig. 4d), digits 0..C-1."""
    lr: float = param(0.01, lo=0.0, lo_open=True)
    """Adam learning rate."""
    batch_size: int = param(64, lo=1)
    """Training batch size."""
    w_scale: float = param(1.0, lo=0.0, lo_open=True)
    """Largest weight magnitude of the device layer (the top conductance level)."""


@dataclass
class UPENNConfig:
    """UPENN vs Contrast Net experiments (Fig. 5)."""

    base_width: int = param(16, lo=1)
    """Base width (channels of the stem) of the ResNet-50 layout (paper: 64)."""
    image_size: int = param(32, lo=8)
    """Input image side, in pixels (paper: 224)."""
    epochs: int = param(5, lo=1)
    """Pre-learning epochs."""
    train_samples: int = param(4000, lo=10)
    """Pre-learning samples."""


@dataclass
class USRNNConfig:
    """USRNN super-resolution experiments (Fig. 6)."""

    channels: int = param(16, lo=1)
    """Feature channels of the CIBlocks (paper: 64)."""
    patch: int = param(48, lo=8)
    """Side of the LR training patches, in pixels (paper: 48)."""
    iterations: int = param(2000, lo=1)
    """×2 training iterations."""
    finetune_iterations: int = param(500, lo=1)
    """×4 fine-tuning iterations of the upsampler and tail."""


@dataclass
class NetworksConfig:
    """Data and network experiments."""

    device: str = param("auto", choices=("auto", "cpu", "cuda"))
    """Torch device: ``auto`` uses CUDA when present."""
    data: DataConfig = field(default_factory=DataConfig)
    """Offline datasets."""
    fcn: FCNConfig = field(default_factory=FCNConfig)
    """FCN-1/FCN-2 co-design (Fig. 4)."""
    upenn: UPENNConfig = field(default_factory=UPENNConfig)
    """UPENN vs Contrast Net (Fig. 5)."""
    usrnn: USRNNConfig = field(default_factory=USRNNConfig)
    """USRNN (Fig. 6)."""
