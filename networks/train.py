"""Resumable, seeded training of classifiers on in-memory tensors.

:func:`fit` runs mini-batch training with a checkpoint every ``ckpt_every`` steps (and at the
end) through :mod:`networks.checkpoint`; started again after the process was killed, it resumes
from the last checkpoint and reaches the same weights as an uninterrupted run: batch order
depends only on ``(seed, epoch)``, and every RNG (global and per-layer) is restored.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from networks.checkpoint import load_checkpoint, restore_checkpoint, save_checkpoint

log = logging.getLogger(__name__)


@dataclass
class TrainSpec:
    """Optimisation settings of :func:`fit`."""

    epochs: int = 5
    """Passes over the training set (>= 1)."""
    batch_size: int = 64
    """Samples per step (>= 1)."""
    lr: float = 0.05
    """Peak learning rate (cosine decay to 0 over the run)."""
    optimizer: str = "sgd"
    """``sgd`` (momentum 0.9, the plain-gradient setting of the paper's comparison) or ``adam``."""
    weight_decay: float = 1e-4
    """L2 weight decay."""
    seed: int = 0
    """Seed of the batch order and of the global RNGs."""
    ckpt_every: int = 50
    """Steps between checkpoints (>= 1)."""

    def __post_init__(self) -> None:
        for name, lo in (("epochs", 1), ("batch_size", 1), ("ckpt_every", 1)):
            if int(getattr(self, name)) < lo:
                raise ValueError(f"{name} = {getattr(self, name)}: must be >= {lo}")
        if not self.lr > 0:
            raise ValueError(f"lr = {self.lr}: must be > 0")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer = {self.optimizer!r}: allowed 'sgd', 'adam'")


def make_optimizer(params: Iterable[nn.Parameter], spec: TrainSpec) -> torch.optim.Optimizer:
    """The optimiser named by ``spec.optimizer``."""
    params = [p for p in params if p.requires_grad]
    if spec.optimizer == "adam":
        return torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay)
    return torch.optim.SGD(params, lr=spec.lr, momentum=0.9, weight_decay=spec.weight_decay)


def model_device(model: nn.Module) -> torch.device:
    """Device of the model's first parameter (CPU when it has none)."""
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, spec: TrainSpec,
        ckpt_path: str | os.PathLike[str] | None = None,
        params: Iterable[nn.Parameter] | None = None,
        on_step: Callable[[int, float], None] | None = None, desc: str = "train"
        ) -> dict[str, list[float]]:
    """Train ``model`` on ``(x, y)`` with cross-entropy, resuming from ``ckpt_path`` if present.

    Progress (:class:`lemsim.progress.Progress`): a tqdm bar on a terminal, else an INFO line
    with the step, epoch and loss every 10 s of wall time, besides the line per epoch.

    Args:
        model: Classifier returning logits.
        x: Inputs (N, ...), on any device (moved batch-wise).
        y: Integer labels (N,).
        spec: Optimisation settings.
        ckpt_path: Checkpoint file (outside Snakemake outputs); None = no checkpoints.
        params: Trainable subset (default: every parameter); others are left untouched.
        on_step: Called as ``on_step(step, loss)`` after every optimiser step.
        desc: Name of the training in the progress lines.

    Returns:
        History: ``loss`` per epoch (mean) and ``acc`` per epoch (training accuracy).
    """
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x has {len(x)} samples and y {len(y)}: need the same number > 0")
    dev = model_device(model)
    opt = make_optimizer(params if params is not None else model.parameters(), spec)
    steps_per_epoch = math.ceil(len(x) / spec.batch_size)
    total = steps_per_epoch * spec.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total) / total)))
    hist: dict[str, list[float]] = {"loss": [], "acc": []}
    step = 0
    torch.manual_seed(spec.seed)
    ck = load_checkpoint(ckpt_path) if ckpt_path is not None else None
    finger = {"spec": asdict(spec), "n": len(x), "x_sum": float(x[:64].double().sum()),
              "shapes": {k: list(v.shape) for k, v in model.state_dict().items()
                         if isinstance(v, torch.Tensor)}}
    if ck is not None and ck.get("fingerprint") != finger:
        log.warning("checkpoint %s belongs to another run (settings, data or model differ): "
                    "starting afresh", ckpt_path)
        ck = None
    if ck is not None:
        restore_checkpoint(ck, model=model, optimizer=opt, scheduler=sched)
        step, hist = int(ck["step"]), ck["history"]
        log.info("resumed %s at step %d/%d", ckpt_path, step, total)
    crit = nn.CrossEntropyLoss()
    ep_loss, ep_hits, ep_n = 0.0, 0, 0
    if ck is not None:
        ep_loss, ep_hits, ep_n = ck["epoch_acc"]

    def save() -> None:
        if ckpt_path is not None:
            save_checkpoint(ckpt_path, model=model, optimizer=opt, scheduler=sched, step=step,
                            history=hist, epoch_acc=(ep_loss, ep_hits, ep_n), fingerprint=finger)

    from lemsim.progress import Progress

    bar = Progress(total, desc, "steps", log=log)
    bar.set(step)
    model.train()
    while step < total:
        epoch, k = divmod(step, steps_per_epoch)
        g = torch.Generator().manual_seed(spec.seed * 100_003 + epoch)
        perm = torch.randperm(len(x), generator=g)
        idx = perm[k * spec.batch_size:(k + 1) * spec.batch_size]
        xb, yb = x[idx].to(dev), y[idx].to(dev)
        opt.zero_grad(set_to_none=True)
        out = model(xb)
        loss = crit(out, yb)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss = {float(loss)} at step {step}: training diverged")
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        ep_loss += float(loss.detach()) * len(idx)
        ep_hits += int((out.argmax(1) == yb).sum())
        ep_n += len(idx)
        if k == steps_per_epoch - 1:
            hist["loss"].append(ep_loss / ep_n)
            hist["acc"].append(ep_hits / ep_n)
            log.info("epoch %d: loss %.4f, train acc %.4f", epoch + 1, hist["loss"][-1],
                     hist["acc"][-1])
            ep_loss, ep_hits, ep_n = 0.0, 0, 0
        bar.set(step, epoch=f"{epoch + 1}/{spec.epochs}", loss=float(loss.detach()))
        if on_step is not None:
            on_step(step, float(loss.detach()))
        if step % spec.ckpt_every == 0 or step == total:
            save()
    bar.close()
    return hist


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 256,
            fn: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """``fn(batch)`` (default ``model(batch)``) over ``x`` in eval mode, concatenated on CPU."""
    dev = model_device(model)
    model.eval()
    f = fn if fn is not None else model
    outs = [f(x[i:i + batch_size].to(dev)).float().cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(outs)


@torch.no_grad()
def recalibrate_bn(model: nn.Module, x: torch.Tensor, samples: int = 512,
                   batch_size: int = 64) -> int:
    """Re-estimate every BatchNorm's running statistics on the network as deployed.

    The analog layers run in eval mode (weights programmed once into the device pairs, as
    inference hardware holds them) while the BatchNorm layers accumulate an exact average
    (``momentum=None``) of the batch statistics over the first ``samples`` inputs of ``x``.
    Without it the running statistics are an average over training steps with freshly noisy
    weights and a still-moving network, which on the N-LEM layers disagree with the programmed
    network (default scale: test accuracy 0.42 in eval mode vs 0.60 with batch statistics).

    Args:
        model: Network with BatchNorm layers (left in eval mode).
        x: Inputs (training data, no labels needed).
        samples: Inputs used (>= 1).
        batch_size: Inputs per forward pass (>= 1).

    Returns:
        Number of BatchNorm layers recalibrated (0: the model has none, nothing done).
    """
    if samples < 1 or batch_size < 1:
        raise ValueError(f"samples = {samples}, batch_size = {batch_size}: both must be >= 1")
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return 0
    dev = model_device(model)
    model.eval()
    saved = [b.momentum for b in bns]
    for b in bns:
        b.reset_running_stats()
        b.momentum = None
        b.train()
    n = min(samples, len(x))
    for i in range(0, n, batch_size):
        model(x[i:min(i + batch_size, n)].to(dev))
    for b, mom in zip(bns, saved, strict=True):
        b.momentum = mom
    model.eval()
    return len(bns)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> float:
    """Top-1 accuracy of ``model`` on ``(x, y)``."""
    return float((predict(model, x, batch_size).argmax(1) == y.cpu()).float().mean())


def _selftest(argv: list[str]) -> int:
    """Tiny resumable run used by the kill-and-resume test: ``OUT CKPT [DELAY_S]``."""
    import time

    from networks.layers import AnalogLinear, HardwareConfig

    out, ckpt = Path(argv[0]), argv[1]
    delay = float(argv[2]) if len(argv) > 2 else 0.0
    torch.set_num_threads(1)
    torch.manual_seed(0)
    hw = HardwareConfig(seed=3)
    model = nn.Sequential(AnalogLinear(8, 16, hw=hw), nn.ReLU(), AnalogLinear(16, 3, hw=hw))
    g = torch.Generator().manual_seed(1)
    x = torch.randn(96, 8, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    spec = TrainSpec(epochs=4, batch_size=16, lr=0.05, ckpt_every=1, seed=5)
    fit(model, x, y, spec, ckpt_path=ckpt, on_step=lambda s, l: time.sleep(delay))
    torch.save(model.state_dict(), out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    import sys

    raise SystemExit(_selftest(sys.argv[1:]))
