"""SR training: ×4 fine-tuning touches only upsampler + tail, resume is exact, patches align,
and the ``upscale`` command works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from networks.archs import build_model
from networks.sr.data import PatchSampler, detail
from networks.sr.models import load_model, save_model
from networks.sr.resize import imresize
from networks.sr.train import prepare_x4, train_sr


def _images() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (40, 44, 3)).astype(np.uint8)
    return [imresize(base, 1.5), base]  # smooth-ish image and a noisy one


def test_patch_sampler_pairs_align_and_repeat() -> None:
    s1 = PatchSampler(_images(), 2, 8, 3, seed=5)
    s2 = PatchSampler(_images(), 2, 8, 3, seed=5)
    lr, hr = s1.sample()
    assert lr.shape == (3, 3, 8, 8) and hr.shape == (3, 3, 16, 16)
    assert 0.0 <= float(lr.min()) and float(hr.max()) <= 1.0
    lr2, hr2 = s2.sample()
    assert torch.equal(lr, lr2) and torch.equal(hr, hr2)  # seeded
    # LR is the bicubic shrink of HR: shrinking the HR patch again matches away from the edges
    # (the kernel is 8 HR px wide, so the inner 4x4 LR pixels see only this patch)
    for k in range(3):
        hr_np = hr[k].permute(1, 2, 0).numpy()
        again = imresize(hr_np, 0.5)[2:-2, 2:-2]
        np.testing.assert_allclose(again, lr[k].permute(1, 2, 0).numpy()[2:-2, 2:-2], atol=3 / 255)


def test_patch_sampler_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="patch = 64"):
        PatchSampler(_images(), 2, 64, 2)
    with pytest.raises(ValueError, match="scale = 5"):
        PatchSampler(_images(), 5, 8, 2)


def test_flat_patch_rejection_prefers_detailed_patches() -> None:
    """With ``min_detail`` between the detail of a flat and a noisy image, (nearly) every patch
    comes from the noisy one; without it about half do."""
    flat = np.full((40, 44, 3), 120, np.uint8)
    noisy = np.random.default_rng(4).integers(0, 256, (40, 44, 3)).astype(np.uint8)
    imgs = [flat, noisy]
    thr = 0.05  # flat: detail 0; the noisy LR image: about 0.13
    lr, _ = PatchSampler(imgs, 2, 8, 64, seed=1, min_detail=thr).sample()
    got = [detail((x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)) for x in lr]
    # a patch stays flat only if all 8 draws picked the flat image: p = 2^-8 per patch
    assert sum(g < thr for g in got) <= 2
    lr0, _ = PatchSampler(imgs, 2, 8, 64, seed=1).sample()
    flat0 = sum(float(x.std()) < 1e-6 for x in lr0)
    assert 16 <= flat0 <= 48  # binomial(64, 1/2): far from both ends
    with pytest.raises(ValueError, match="min_detail = 1.5"):
        PatchSampler(imgs, 2, 8, 2, min_detail=1.5)


def test_x4_finetune_changes_only_upsampler_and_tail() -> None:
    torch.manual_seed(0)
    m = build_model("usrnn", scale=2, channels=2)
    params = prepare_x4(m)
    before = {k: v.detach().clone() for k, v in m.named_parameters()}
    train_sr(m, PatchSampler(_images(), 4, 6, 2, seed=1), 3, params=params, lr=1e-2)
    changed = {k for k, v in m.named_parameters() if not torch.equal(v, before[k])}
    allowed = {k for k in before if k.startswith(("upsampler.", "tail."))}
    frozen = set(before) - allowed
    assert frozen and all(torch.equal(dict(m.named_parameters())[k], before[k]) for k in frozen)
    assert changed and changed <= allowed  # something trained, only the allowed part
    assert all(not p.requires_grad for k, p in m.named_parameters() if k in frozen)


def test_training_resumes_exactly(tmp_path: Path) -> None:
    def run(ck: Path, stop_at: int | None = None) -> torch.nn.Module:
        torch.manual_seed(0)
        m = build_model("srcnn", scale=2, n1=4, n2=4)
        train_sr(m, PatchSampler(_images(), 2, 8, 2, seed=2), 4, checkpoint=ck,
                 checkpoint_every=2, stop_at=stop_at)
        return m

    full = run(tmp_path / "a.pt")
    run(tmp_path / "b.pt", stop_at=3)  # killed after iteration 3 (last checkpoint at 3) ...
    # ... a new process resumes from the checkpoint and finishes the 4 iterations
    torch.manual_seed(123)  # a different global seed must not matter after resuming
    m = build_model("srcnn", scale=2, n1=4, n2=4)
    hist = train_sr(m, PatchSampler(_images(), 2, 8, 2, seed=2), 4,
                    checkpoint=tmp_path / "b.pt", checkpoint_every=2)
    for a, b in zip(full.parameters(), m.parameters(), strict=True):
        assert torch.equal(a, b)
    assert hist["patches_per_s"] > 0


def test_upscale_command(tmp_path: Path) -> None:
    from PIL import Image

    from networks.sr.upscale import main

    m = build_model("srcnn", scale=2, n1=4, n2=4)
    save_model(tmp_path / "m.pt", m, "srcnn", {"n1": 4, "n2": 4})
    assert isinstance(load_model(tmp_path / "m.pt"), torch.nn.Module)
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(_images()[1]).save(src / "a.png")
    assert main(["--checkpoint", str(tmp_path / "m.pt"), "--scale", "2", str(src),
                 str(tmp_path / "out")]) == 0
    out = np.asarray(Image.open(tmp_path / "out" / "a.png"))
    assert out.shape == (80, 88, 3) and out.dtype == np.uint8
    # wrong scale and missing checkpoint are errors with status 2
    assert main(["--checkpoint", str(tmp_path / "m.pt"), "--scale", "4", str(src),
                 str(tmp_path / "o2")]) == 2
    assert main(["--checkpoint", str(tmp_path / "none.pt"), "--scale", "2", str(src),
                 str(tmp_path / "o3")]) == 2
