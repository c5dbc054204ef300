"""Configuration section ``networks`` (data sets and network experiments). Light module."""

from __future__ import annotations

from dataclasses import dataclass, field

from lemsim.configtools import param

CLASSIFICATION_NAMES = ("mnist", "fashion_mnist", "animal_mnist", "digits", "lfw", "textures",
                        "pneumoniamnist")
"""Classification sets of ``networks.data`` (kept equal to the keys of
``networks.data.CLASSIFICATION_SETS`` by a test; spelled out here so this config module stays
free of torch)."""
SR_NAMES = ("sr_train", "set5", "set14")
"""Super-resolution image sets of ``networks.data`` (kept equal to ``networks.data.SR_SETS``)."""
DATASET_NAMES = (*CLASSIFICATION_NAMES, *SR_NAMES)
"""Every dataset ``prepare_data`` can write (``networks.data.DATASETS``)."""
PATCH_SETS = {
    "photo_patches": ("skimage", ("astronaut", "camera", "coffee", "rocket", "coins", "moon")),
    "sample_patches": ("sklearn", ("china", "flower")),
}
"""The photo-crop classification sets of the Fig. 5 transfer tests: name -> (wheel, photos);
the registry ``networks.experiments.upenn_data.load_task`` reads."""
TASK_NAMES = (*CLASSIFICATION_NAMES, *PATCH_SETS)
"""Every classification task ``networks.experiments.upenn_data.load_task`` accepts by name."""
UPENN_VARIANTS = ("upenn", "contrast_net", "upenn_nobn", "contrast_net_nobn")
"""The networks of Fig. 5 (the registry of ``networks.experiments.upenn_run.parse_variant``)."""
SR_METHODS = ("usrnn_hw", "usrnn", "srcnn", "vdsr", "srresnet", "bicubic")
"""Methods of the Fig. 6 comparison (the registry of ``networks.sr.models.method_spec``;
``usrnn_hw``: hardware-aware USRNN; ``bicubic`` is the reference, not a trained method)."""
TRAINED_SR_METHODS = tuple(m for m in SR_METHODS if m != "bicubic")
"""The SR methods that are trained (``networks.usrnn.methods``)."""


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
    epochs: int = param(3, lo=1)
    """Pre-learning epochs."""
    train_samples: int = param(2000, lo=10)
    """Pre-learning samples (seeded subset of the pre-learning set)."""
    pretrain_dataset: str = param("fashion_mnist", choices=TASK_NAMES)
    """Pre-learning set (``networks.data`` name; the paper used ImageNet)."""
    batch_size: int = param(64, lo=1)
    """Mini-batch size of pre-learning and re-learning."""
    lr: float = param(0.05, lo=0.0, lo_open=True)
    """Peak learning rate (SGD, momentum 0.9, cosine decay)."""
    optimizer: str = param("sgd", choices=("sgd", "adam"))
    """Optimiser (plain SGD shows vanishing gradients; Adam rescales them)."""
    variants: list[str] = param(
        default_factory=lambda: ["upenn", "contrast_net", "contrast_net_nobn", "upenn_nobn"],
        choices=UPENN_VARIANTS, min_items=1)
    """Networks run: ``upenn``, ``contrast_net``, and their ``_nobn`` (no BatchNorm) variants."""
    datasets: list[str] = param(
        default_factory=lambda: ["mnist", "animal_mnist", "digits", "lfw", "textures",
                                 "pneumoniamnist", "photo_patches", "sample_patches"],
        choices=TASK_NAMES)
    """The 8 unseen sets of the transfer tests (``photo_patches``/``sample_patches``: crops of
    the photos inside the scikit-image / scikit-learn wheels, one class per photo)."""
    k_shot: int = param(10, lo=1)
    """Labelled examples per class of the nearest-class-mean classifier ("without training")."""
    eval_samples: int = param(500, lo=10)
    """Test samples per unseen set (seeded subset)."""
    relearn_samples: int = param(300, lo=10)
    """Training samples per unseen set for re-learning."""
    relearn_epochs: int = param(3, lo=1)
    """Re-learning epochs."""
    relearn_lr: float = param(0.005, lo=0.0, lo_open=True)
    """Re-learning peak learning rate (fine-tuning: a tenth of ``lr``)."""
    zero_init_residual: bool = True
    """Pre-learning starts UPENN (with BatchNorm) with the last BatchNorm scale of every CIBlock
    body at 0 (``upenn_arch.zero_residual_gammas``), applied after the init gradient profile
    was recorded. Default scale, analog with noise, 96 SGD steps: test accuracy 0.69 with it,
    0.11 without."""
    bn_recalibration: int = param(512, lo=0)
    """Training samples over which the BatchNorm statistics are re-estimated on the programmed
    (inference-mode) network after pre-learning and after Contrast Net's re-learning
    (``networks.train.recalibrate_bn``); 0 = keep the running averages of training."""
    analog: bool = True
    """Run the networks on the simulated N-LEM layers (False: digital layers)."""
    levels_per_sign: int = param(15, lo=2, hi=256)
    """Reachable conductance levels per device of a pair (paper: 15)."""
    dac_bits: int = param(8, lo=0, hi=24)
    """Input DAC bits (0 = ideal)."""
    adc_bits: int = param(8, lo=0, hi=24)
    """Output ADC bits (0 = ideal)."""
    prog_noise: float = param(0.006, lo=0.0, hi=1.0)
    """Programming noise, std as a fraction of the conductance range (write-verify to ±1 %)."""
    read_noise: float = param(0.005, lo=0.0, hi=1.0)
    """Read noise, std as a fraction of the ADC full scale."""
    nonlinearity: bool = True
    """Apply the N-LEM I-V curve to the input voltage (through a pre-distorting DAC)."""
    compact_model: str = "paper"
    """Compact-model preset name or path of ``nlem.json`` (the Snakemake rules always pass the
    compact stage's ``results/compact/nlem.json``; this value serves direct calls)."""


@dataclass
class USRNNConfig:
    """USRNN super-resolution experiments (Fig. 6)."""

    channels: int = param(16, lo=1, hi=512)
    """Feature channels of the CIBlocks (paper: 64)."""
    n_blocks: int = param(43, lo=1, hi=200)
    """CIBlocks of the USRNN body (paper: 43, giving 133 layers at ×2 and 135 at ×4)."""
    baseline_channels: int = param(16, lo=1, hi=512)
    """Feature channels of VDSR and SRResNet (paper: 64; SRCNN keeps its 64-32)."""
    patch: int = param(24, lo=8, hi=512)
    """Side of the LR training patches, in pixels (paper: 48; 24 at default scale: with
    ``batch`` 32 the same pixels per step as 8 patches of 48, but 4x as many image regions per
    step, which learns faster under the short CPU budget)."""
    finetune_patch: int = param(12, lo=4, hi=512)
    """Side of the LR patches of the ×4 fine-tuning, in pixels (12: HR 48, as at ×2)."""
    batch: int = param(32, lo=1, hi=1024)
    """Patches per training batch (×2 and ×4)."""
    patch_min_detail: float = param(0.03, lo=0.0, hi=1.0, hi_open=True)
    """Flat-patch rejection: LR patches whose mean absolute neighbour difference (grey, [0, 1]
    units) is below this are redrawn (up to 8 draws; ``networks.sr.data.PatchSampler``);
    0 = off."""
    lr: float = param(1e-3, lo=1e-6, hi=1.0)
    """Initial Adam learning rate (cosine decay to 1/100 of it)."""
    iterations: int = param(600, lo=1)
    """×2 training iterations (the same for every network)."""
    finetune_iterations: int = param(300, lo=1)
    """×4 fine-tuning iterations of the upsampler and tail (every network alike)."""
    eval_points: int = param(6, lo=1, hi=100)
    """Set5 evaluations per training run of the USRNNs (the epochs of Fig. 6f)."""
    eval_images: int = param(0, lo=0)
    """Images used per evaluation set (Set5, Set14); 0 = all (smoke runs use fewer)."""
    train_data: str = param("sr_train", choices=SR_NAMES)
    """Training images: ``sr_train`` (offline photos) or a folder of HR images (DIV2K)."""
    methods: list[str] = param(
        default_factory=lambda: ["usrnn_hw", "usrnn", "srcnn", "vdsr", "srresnet"],
        choices=TRAINED_SR_METHODS, min_items=1)
    """Trained methods (``usrnn_hw`` = hardware-aware USRNN, ``usrnn`` = its digital twin)."""
    show_image: str = "set5/butterfly"
    """``set/name`` of the image of Fig. 6b-e (crops of every method)."""


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
