"""One network of Fig. 5 end to end: pre-learning, gradients, transfer, re-learning, features.

:func:`run_variant` trains one variant (``upenn``, ``contrast_net``, ``*_nobn``) on the
pre-learning set, records the per-layer gradient profile at initialisation and after
pre-learning, measures "without training" accuracy on the unseen sets (frozen features, nearest
class mean from ``k_shot`` labelled examples per class), re-learns each set (UPENN: the last
CIBlock and a new FC; Contrast Net: every layer and a new FC), and extracts stage 1-4 feature
maps of a normal and a pneumonia chest X-ray with their SSIM. Every training step is
checkpointed under ``ckpt_dir`` (outside the Snakemake outputs), so a killed run resumes.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lemsim.io import save_npz, write_json
from lemsim.progress import Progress
from networks.analysis import feature_ssim, layer_gradients, ncm_accuracy
from networks.archs import build_model
from networks.archs.upenn_arch import (
    ResNet50Layout,
    block_first_convs,
    count_cross_layer_modules,
    count_weighted_layers,
    zero_residual_gammas,
)
from networks.checkpoint import save_model
from networks.config import UPENN_VARIANTS, UPENNConfig
from networks.experiments.upenn_data import load_task
from networks.layers import HardwareConfig, device_curves
from networks.train import TrainSpec, accuracy, fit, predict, recalibrate_bn

log = logging.getLogger(__name__)
VARIANTS = UPENN_VARIANTS
GRAD_BATCH = 64


def parse_variant(variant: str) -> tuple[str, bool]:
    """``(arch, batchnorm)`` of a variant name."""
    if variant not in VARIANTS:
        raise ValueError(f"variant = {variant!r}: allowed {VARIANTS}")
    nobn = variant.endswith("_nobn")
    return variant.removesuffix("_nobn"), not nobn


def as_config(cfg: UPENNConfig | dict[str, Any]) -> UPENNConfig:
    """The section as a dataclass (plain dicts from Snakemake are validated)."""
    if isinstance(cfg, UPENNConfig):
        return cfg
    from lemsim.configtools import from_dict

    return from_dict(UPENNConfig, dict(cfg), prefix="networks.upenn")


def hardware(cfg: UPENNConfig, seed: int) -> HardwareConfig | None:
    """The N-LEM hardware of the experiment (None when ``analog`` is off)."""
    if not cfg.analog:
        return None
    return HardwareConfig(levels_per_sign=cfg.levels_per_sign, dac_bits=cfg.dac_bits,
                          adc_bits=cfg.adc_bits, prog_noise=cfg.prog_noise,
                          read_noise=cfg.read_noise, nonlinearity=cfg.nonlinearity,
                          compact_model=cfg.compact_model, seed=seed)


def pick_device(name: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _grad_summary(grads: list[dict[str, object]], keep: set[str]) -> tuple[list[dict], dict]:
    table = [{k: v for k, v in g.items() if k != "sample"} for g in grads]
    samples = {g["name"]: np.asarray(g["sample"], dtype=np.float32) for g in grads
               if g["name"] in keep}
    return table, samples


class _Tail(nn.Module):
    """Last CIBlock + pooling + FC of UPENN, trained on cached block inputs.

    BatchNorm layers keep their pre-learned statistics (affine parameters still train).
    """

    def __init__(self, model: ResNet50Layout):
        super().__init__()
        self.block = model.stages[-1][-1]
        self.pool = model.pool
        self.fc = model.fc

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.fc(torch.flatten(self.pool(self.block(h)), 1))

    def train(self, mode: bool = True) -> _Tail:  # noqa: D102
        super().train(mode)
        for m in self.modules():  # frozen BN statistics: a few hundred samples cannot re-estimate
            if isinstance(m, nn.BatchNorm2d):  # them, and train/eval would disagree
                m.eval()
        return self


def _before_last_block(model: ResNet50Layout, x: torch.Tensor) -> torch.Tensor:
    h = model.stem(x)
    for st in model.stages[:-1]:
        h = st(h)
    for blk in model.stages[-1][:-1]:
        h = blk(h)
    return h


class Centre(nn.Module):
    """Subtracts a fixed feature mean before the FC (a DAC reference offset in hardware)."""

    def __init__(self, mean: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean.detach().clone().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return x - self.mean


def imprint_head(fc: nn.Linear, feats: torch.Tensor, y: torch.Tensor) -> nn.Sequential:
    """A centred FC initialised as the Euclidean nearest-class-mean classifier of ``feats``.

    With class means μ_c and their average μ̄ the head is ``Centre(μ̄)`` then ``fc`` with
    ``W_c = s·(μ_c - μ̄)``, ``b_c = -s·|μ_c - μ̄|²/2`` (argmax = nearest class mean). Centring
    removes the large common mode of pooled post-ReLU features, which the 8-bit DAC/ADC and
    the 15 weight levels could not resolve otherwise. ``s`` gives the weights the rms of
    PyTorch's default init; classes without examples get the lowest bias.
    Re-learning then starts from the "without training" solution instead of a random head.
    """
    n = fc.weight.shape[0]
    f = feats.float()
    mu = torch.zeros(n, f.shape[1])
    have = torch.zeros(n, dtype=torch.bool)
    for c in range(n):
        sel = f[y == c]
        if len(sel):
            mu[c], have[c] = sel.mean(0), True
    bar = mu[have].mean(0)
    d = mu - bar
    d[~have] = 0.0
    rms = 1.0 / (3.0 * f.shape[1]) ** 0.5
    s = rms / float(d[have].pow(2).mean().sqrt().clamp_min(1e-12))
    bias = -0.5 * s * (d**2).sum(1)
    bias[~have] = float(bias[have].min()) - 1.0
    with torch.no_grad():
        fc.weight.copy_((s * d).to(fc.weight))
        if fc.bias is not None:
            fc.bias.copy_(bias.to(fc.bias))
    return nn.Sequential(Centre(bar).to(fc.weight.device), fc)


def relearn(model: ResNet50Layout, variant: str, x: torch.Tensor, y: torch.Tensor,
            xt: torch.Tensor, yt: torch.Tensor, spec: TrainSpec, ckpt: Path,
            bn_recalibration: int = 0) -> float:
    """Re-learn one set from the pre-learned ``model`` (a copy); returns test accuracy.

    The new FC starts as the nearest-class-mean classifier of the training features
    (:func:`imprint_head`), for both networks alike. ``bn_recalibration`` > 0 re-estimates the
    BatchNorm statistics of a network trained end to end (Contrast Net) on that many training
    samples before testing (UPENN's re-learning keeps its BatchNorm statistics frozen).
    """
    m = copy.deepcopy(model)
    m.replace_head(int(max(int(y.max()), int(yt.max()))) + 1)
    if m.cross_layer:  # UPENN: freeze all but the last CIBlock and the new FC
        for p in m.parameters():
            p.requires_grad_(False)
        tail = _Tail(m)
        for p in tail.parameters():
            p.requires_grad_(True)
        h = predict(m, x, fn=lambda b: _before_last_block(m, b))
        ht = predict(m, xt, fn=lambda b: _before_last_block(m, b))
        tail.fc = imprint_head(tail.fc, predict(tail, h, fn=lambda b: torch.flatten(
            tail.pool(tail.block(b)), 1)), y)
        fit(tail, h, y, spec, ckpt_path=ckpt)
        return accuracy(tail, ht, yt)
    m.fc = imprint_head(m.fc, predict(m, x, fn=m.embed), y)
    fit(m, x, y, spec, ckpt_path=ckpt)  # Contrast Net: the whole network
    if bn_recalibration > 0:
        recalibrate_bn(m, x, bn_recalibration, spec.batch_size)
    return accuracy(m, xt, yt)


def run_variant(variant: str, cfg: UPENNConfig | dict[str, Any], out_dir: str | Path,
                ckpt_dir: str | Path, seed: int = 0, device: str = "auto",
                config: Any = None) -> dict[str, Any]:
    """Run every Fig. 5 measurement of one network; writes ``out_dir/{metrics.json,...}``.

    Args:
        variant: ``upenn``, ``contrast_net``, ``upenn_nobn`` or ``contrast_net_nobn``.
        cfg: The ``networks.upenn`` section.
        out_dir: Output folder (``model.pt``, ``metrics.json``, ``arrays.npz``).
        ckpt_dir: Checkpoint folder (kept outside the declared outputs).
        seed: Root seed.
        device: ``auto``, ``cpu`` or ``cuda``.
        config: Configuration recorded as provenance.

    Returns:
        The metrics written to ``metrics.json``.
    """
    arch, bn = parse_variant(variant)
    cfg = as_config(cfg)
    bad = [d for d in cfg.datasets if d == cfg.pretrain_dataset]
    if bad:
        raise ValueError(f"datasets = {cfg.datasets}: must not contain the pre-learning set "
                         f"{cfg.pretrain_dataset!r}")
    out_dir, ckpt_dir = Path(out_dir), Path(ckpt_dir)
    dev = pick_device(device)
    t0 = time.time()
    torch.manual_seed(seed)
    hw = hardware(cfg, seed)
    size = cfg.image_size
    x, y = load_task(cfg.pretrain_dataset, "train", size, cfg.train_samples, seed)
    xt, yt = load_task(cfg.pretrain_dataset, "test", size, cfg.eval_samples, seed)
    n_cls = int(y.max()) + 1
    kwargs = dict(num_classes=n_cls, in_channels=1, base_width=cfg.base_width,
                  input_size=size, batchnorm=bn, hw=hw)
    model = build_model(arch, **kwargs).to(dev)
    log.info("%s: %d weighted layers, %d CIBlocks, device %s, synapses: %s", variant,
             count_weighted_layers(model), count_cross_layer_modules(model), dev,
             device_curves(cfg.compact_model, cfg.levels_per_sign).source if hw else "digital")
    violin = set()
    firsts = block_first_convs(model)
    names = {id(m): n for n, m in model.named_modules()}
    for key, conv in firsts.items():
        if key.startswith(("s1", "s4")):
            violin.add(names[id(conv)])
    gb = slice(0, GRAD_BATCH)
    g_init, s_init = _grad_summary(layer_gradients(model, x[gb], y[gb], seed=seed), violin)
    if cfg.zero_init_residual:  # after the init profile (U2 compares the standard init)
        zero_residual_gammas(model)
    spec = TrainSpec(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                     optimizer=cfg.optimizer, seed=seed, ckpt_every=20)
    hist = fit(model, x, y, spec, ckpt_path=ckpt_dir / "pretrain.pt",
               desc=f"{variant} pre-learning")
    t_pre = time.time() - t0
    g_post, s_post = _grad_summary(layer_gradients(model, x[gb], y[gb], seed=seed), violin)
    if cfg.bn_recalibration > 0:
        recalibrate_bn(model, x, cfg.bn_recalibration, cfg.batch_size)
    pre_acc = accuracy(model, xt, yt)
    log.info("%s: pre-learning test accuracy %.4f (%.0f s)", variant, pre_acc, t_pre)
    save_model(out_dir / "model.pt", model, arch, kwargs, variant=variant,
               dataset=cfg.pretrain_dataset, classes=n_cls)

    ncm, rel = {}, {}
    rspec = TrainSpec(epochs=cfg.relearn_epochs, batch_size=cfg.batch_size, lr=cfg.relearn_lr,
                      optimizer=cfg.optimizer, seed=seed, ckpt_every=20)
    bar = Progress(len(cfg.datasets), f"{variant} transfer", "datasets", log=log)
    for name in cfg.datasets:
        xa, ya = load_task(name, "train", size, cfg.relearn_samples, seed)
        xb, yb = load_task(name, "test", size, cfg.eval_samples, seed)
        ncm[name] = ncm_accuracy(model.embed, model, xa, ya, xb, yb, cfg.k_shot, seed)
        rel[name] = relearn(model, variant, xa, ya, xb, yb, rspec,
                            ckpt_dir / f"relearn_{name}.pt", cfg.bn_recalibration)
        log.info("%s %s: without training %.4f, re-learned %.4f", variant, name, ncm[name],
                 rel[name])
        bar.update(1)
    bar.close()

    xp, yp = load_task("pneumoniamnist", "test", size, None, seed)
    pair = torch.stack([xp[int(torch.nonzero(yp == c)[0])] for c in (0, 1)])
    model.eval()
    with torch.no_grad():
        stages = [s.float().cpu().numpy() for s in model.stage_outputs(pair.to(dev))]
    ssim = [feature_ssim(s[0], s[1]) for s in stages]
    arrays: dict[str, np.ndarray] = {"xray": pair.numpy()}
    for i, s in enumerate(stages):
        arrays[f"stage{i + 1}"] = s[:, :16]
    for tag, smp in (("init", s_init), ("post", s_post)):
        for n, v in smp.items():
            arrays[f"grad_{tag}__{n}"] = v
    metrics = {
        "variant": variant, "arch": arch, "batchnorm": bn,
        "weighted_layers": count_weighted_layers(model),
        "cross_layer_modules": count_cross_layer_modules(model),
        "hardware": hw.to_dict() if hw else None,
        "synapse_model": device_curves(cfg.compact_model, cfg.levels_per_sign).source
        if hw else "digital",
        "config": asdict(cfg) if is_dataclass(cfg) else dict(cfg),
        "k_shot": cfg.k_shot,
        "pretrain": {"dataset": cfg.pretrain_dataset, "history": hist, "test_acc": pre_acc,
                     "seconds": t_pre},
        "gradients": {"init": g_init, "post": g_post, "violin_layers": sorted(violin)},
        "without_training": {**ncm, "mean": float(np.mean(list(ncm.values())))},
        "relearning": {**rel, "mean": float(np.mean(list(rel.values())))},
        "ssim": {"stages": ssim, "mean": float(np.mean(ssim))},
        "seconds": time.time() - t0,
    }
    write_json(out_dir / "metrics.json", metrics, config=config)
    save_npz(out_dir / "arrays.npz", config=config, **arrays)
    log.info("%s done in %.0f s", variant, metrics["seconds"])
    return metrics
