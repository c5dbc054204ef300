"""Training loop of the SR networks, resumable, and the ×4 transfer by fine-tuning (S2).

:func:`train_sr` minimises the L1 loss between the network's output and the HR patch with
Adam and a cosine learning-rate decay, evaluating a callback every ``eval_every`` iterations
(the "epochs" of Fig. 6f). Its state (model, optimiser, scheduler, sampler and torch RNG
states, history) is checkpointed atomically every ``checkpoint_every`` iterations and at the
end; a rerun with the same checkpoint path resumes where the last one stopped.

:func:`prepare_x4` is the transfer of the paper: swap the ×2 upsampler for a ×4 one and
freeze every parameter except the upsampler and the tail conv.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lemsim.progress import Progress
from networks.sr.data import PatchSampler

log = logging.getLogger(__name__)


def save_state(path: str | Path, **state: Any) -> None:
    """Atomic torch checkpoint (:func:`networks.checkpoint.save_checkpoint`)."""
    from networks.checkpoint import save_checkpoint

    save_checkpoint(path, **state)


def load_state(path: str | Path) -> dict | None:
    """Checkpoint written by :func:`save_state`, or None when there is none (read safely)."""
    from networks.checkpoint import load_checkpoint

    return load_checkpoint(path)


def prepare_x4(model: nn.Module) -> list[nn.Parameter]:
    """Turn a ×2 model into a ×4 one for fine-tuning; return the trainable parameters.

    Models with ``finetune_parameters`` (USRNN, SRResNet) get a fresh ×4 upsampler and only
    it and the tail conv stay trainable; the rest is frozen (``requires_grad = False``).
    Scale-agnostic models (SRCNN, VDSR: bicubic input) switch to ×4 and keep every parameter
    trainable.
    """
    model.set_scale(4)
    if not hasattr(model, "finetune_parameters"):
        return list(model.parameters())
    keep = {id(p) for p in model.finetune_parameters()}
    for p in model.parameters():
        p.requires_grad_(id(p) in keep)
    return [p for p in model.parameters() if p.requires_grad]


def train_sr(model: nn.Module, sampler: PatchSampler, iterations: int, *,
             params: list[nn.Parameter] | None = None, lr: float = 1e-3,
             checkpoint: str | Path | None = None, eval_fn: Callable[[nn.Module], float] | None
             = None, eval_every: int = 0, checkpoint_every: int = 100,
             extra_state: dict | None = None, desc: str = "train",
             stop_at: int | None = None, grad_clip: float | None = None) -> dict:
    """Train ``model`` on patches of ``sampler`` for ``iterations`` steps (resumable).

    Args:
        model: The network (LR in, HR out, both in [0, 1]).
        sampler: Patch source.
        iterations: Optimiser steps in total (a resumed run does the remaining ones).
        params: Trainable parameters (default: all with ``requires_grad``).
        lr: Initial Adam learning rate, decayed by a cosine to lr/100; multiplied by the
            model's ``lr_scale`` attribute when it has one (VDSR: its 20-layer plain ReLU stack
            needs a smaller Adam step than the residual networks, see ``vdsr_arch``).
        checkpoint: Path of the resumable checkpoint (None: no checkpointing).
        eval_fn: Called on the model (in eval mode, no grad) every ``eval_every`` iterations
            and at the end; its value is recorded in the history (e.g. Set5 PSNR).
        eval_every: Evaluation period in iterations (0: only at the end).
        checkpoint_every: Checkpoint period in iterations.
        extra_state: Stored in the checkpoint (e.g. the model's build arguments).
        desc: Progress-bar label.
        stop_at: Stop after this iteration (checkpointed), as if the run were killed there;
            a later call resumes from it.
        grad_clip: Clip the global gradient norm of ``params`` to this value before each step
            (None: the model's ``grad_clip_norm`` attribute if it has one, e.g. VDSR, else
            no clipping).

    Returns:
        History: ``{"iteration": [...], "eval": [...], "loss": [...], "patches_per_s": float}``.
    """
    if iterations < 1:
        raise ValueError(f"iterations = {iterations}: must be >= 1")
    if params is None:
        params = [p for p in model.parameters() if p.requires_grad]
    if grad_clip is None:
        grad_clip = getattr(model, "grad_clip_norm", None)
    if grad_clip is not None and not grad_clip > 0:
        raise ValueError(f"grad_clip = {grad_clip}: must be > 0 (or None)")
    lr_scale = float(getattr(model, "lr_scale", 1.0))
    if not lr_scale > 0:
        raise ValueError(f"model.lr_scale = {lr_scale}: must be > 0")
    opt = torch.optim.Adam(params, lr=lr * lr_scale)

    def cosine(i: int) -> float:
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(i, iterations) / iterations))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine)
    hist: dict[str, Any] = {"iteration": [], "eval": [], "loss": [], "train_seconds": 0.0}
    start = 0
    state = load_state(checkpoint) if checkpoint else None
    if state is not None and state.get("kind") == "train_sr" and state.get("desc") == desc:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        sampler.set_state(state["sampler"])
        torch.set_rng_state(state["torch_rng"])
        hist, start = state["history"], int(state["iteration"])
        log.info("%s: resumed from %s at iteration %d", desc, checkpoint, start)

    def save(it: int) -> None:
        if checkpoint:
            save_state(checkpoint, kind="train_sr", desc=desc, model=model.state_dict(),
                       optimizer=opt.state_dict(), scheduler=sched.state_dict(),
                       sampler=sampler.state(), torch_rng=torch.get_rng_state(),
                       history=hist, iteration=it, **(extra_state or {}))

    def evaluate(it: int) -> None:
        if eval_fn is None:
            return
        model.eval()
        with torch.no_grad():
            val = float(eval_fn(model))
        model.train()
        hist["iteration"].append(it)
        hist["eval"].append(val)
        log.info("%s: iteration %d eval %.4f", desc, it, val)

    if start == 0 and eval_fn is not None and eval_every > 0:
        evaluate(0)
    model.train()
    run_loss = 0.0
    bar = Progress(iterations, desc, "iterations", log=log)
    bar.set(start)
    for it in range(start + 1, iterations + 1):
        lr_b, hr_b = sampler.sample()
        t0 = time.perf_counter()
        loss = (model(lr_b) - hr_b).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(params, grad_clip)
        opt.step()
        sched.step()
        hist["train_seconds"] += time.perf_counter() - t0
        run_loss += float(loss.detach())
        bar.set(it, loss=float(loss.detach()))
        if eval_every > 0 and it % eval_every == 0 and it != iterations:
            hist["loss"].append(run_loss / eval_every)
            run_loss = 0.0
            evaluate(it)
        if it % checkpoint_every == 0 or it == iterations:
            if it == iterations:
                evaluate(it)
            save(it)
        if stop_at is not None and it >= stop_at:
            save(it)
            break
    bar.close()
    hist["patches_per_s"] = iterations * sampler.batch / max(hist["train_seconds"], 1e-9)
    return hist
