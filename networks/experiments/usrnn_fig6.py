"""USRNN experiment of Fig. 6: train every method ×2, transfer to ×4, evaluate, report.

:func:`run_method` trains one method (hardware-aware USRNN, its digital twin, SRCNN, VDSR,
SRResNet) for ``iterations`` ×2 steps, transfers it to ×4 (USRNN/SRResNet: fresh ×4
upsampler, only upsampler and tail conv trained; SRCNN/VDSR: whole net on ×4 patches) for
``finetune_iterations`` steps, and evaluates both on Set5 and Set14 (Y-PSNR/SSIM, border =
scale). Every network gets the same budget: iterations, batch, patch, learning-rate
schedule and data. :func:`report` gathers the methods' metrics with bicubic into the table,
the S rows and the Fig. 6 panels.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import torch

from lemsim.io import write_json
from networks.config import USRNNConfig
from networks.sr.data import PatchSampler, load_images
from networks.sr.evaluate import evaluate_images
from networks.sr.models import METHODS, build, method_spec, save_model
from networks.sr.train import prepare_x4, train_sr

log = logging.getLogger(__name__)

EVAL_SETS = ("set5", "set14")
USRNN_METHODS = ("usrnn_hw", "usrnn")


def _check(cfg: USRNNConfig) -> None:
    bad = [m for m in cfg.methods if m not in METHODS or m == "bicubic"]
    if bad:
        raise ValueError(f"networks.usrnn.methods = {cfg.methods}: unknown {bad}; allowed "
                         f"{[m for m in METHODS if m != 'bicubic']}")


def run_method(method: str, cfg: USRNNConfig, out_dir: str | Path, *, seed: int = 0,
               checkpoint_dir: str | Path | None = None, hw: dict | None = None,
               device: str = "cpu") -> dict[str, Any]:
    """Train, transfer and evaluate one method; write its models and ``metrics.json``.

    Args:
        method: One of ``usrnn_hw``, ``usrnn``, ``srcnn``, ``vdsr``, ``srresnet``.
        cfg: The ``networks.usrnn`` config section.
        out_dir: Folder of ``model_x2.pt``, ``model_x4.pt``, ``metrics.json``.
        seed: Seed of weights, patches and device noise.
        checkpoint_dir: Folder of the resumable training checkpoints (None: ``out_dir/../
            checkpoints``); kept outside the declared outputs.
        hw: ``HardwareConfig`` fields for ``usrnn_hw`` (None: its defaults).
        device: Torch device.

    Returns:
        The metrics written.
    """
    if method not in METHODS or method == "bicubic":
        raise ValueError(f"method = {method!r}: allowed {[m for m in METHODS if m != 'bicubic']}")
    out = Path(out_dir)
    ck_dir = Path(checkpoint_dir) if checkpoint_dir else out.parent / "checkpoints" / method
    hw_fields = dict(hw or {})
    if method == "usrnn_hw":
        hw_fields.setdefault("seed", seed)
    arch, kwargs = method_spec(method, cfg.channels, cfg.n_blocks, cfg.baseline_channels,
                               hw_fields if method == "usrnn_hw" else None)
    torch.manual_seed(seed)
    _, train_imgs = load_images(cfg.train_data)
    evals = eval_images(cfg.eval_images)
    curve = method in USRNN_METHODS
    model = build(arch, kwargs, 2).to(device)
    extra = {"arch": arch, "kwargs": kwargs, "method": method}

    def set5_psnr(m: torch.nn.Module) -> float:
        return evaluate_images(m, evals["set5"], m.scale, ssim=False)["psnr_mean"]

    metrics: dict[str, Any] = {"method": method, "arch": arch, "kwargs": kwargs,
                               "budget": {"iterations": cfg.iterations, "batch": cfg.batch,
                                          "patch": cfg.patch,
                                          "finetune_patch": cfg.finetune_patch,
                                          "finetune_iterations": cfg.finetune_iterations,
                                          "patch_min_detail": cfg.patch_min_detail,
                                          "lr": cfg.lr,
                                          # the rate actually used (VDSR/SRResNet scale it)
                                          "lr_used": cfg.lr * getattr(model, "lr_scale", 1.0)},
                               "n_params": sum(p.numel() for p in model.parameters())}
    if hasattr(model, "body"):
        from networks.archs.usrnn_arch import count_layers

        metrics["layers_x2"] = count_layers(model)
    for scale, iters, patch in ((2, cfg.iterations, cfg.patch),
                                (4, cfg.finetune_iterations, cfg.finetune_patch)):
        sampler = PatchSampler(train_imgs, scale, patch, cfg.batch, seed=seed + scale,
                               min_detail=cfg.patch_min_detail)
        params = None
        if scale == 4:
            params = prepare_x4(model)
            model.to(device)
        every = max(1, iters // cfg.eval_points) if curve else 0
        hist = train_sr(model, sampler, iters, params=params, lr=cfg.lr,
                        checkpoint=ck_dir / f"x{scale}.pt",
                        eval_fn=set5_psnr if curve else None, eval_every=every,
                        extra_state=extra, desc=f"{method} x{scale}")
        save_model(out / f"model_x{scale}.pt", model, arch, kwargs)
        res = {name: evaluate_images(model, imgs, scale) for name, imgs in evals.items()}
        metrics[f"x{scale}"] = {"history": hist, **res}
        log.info("%s x%d: Set5 %.3f dB / %.4f, Set14 %.3f dB / %.4f", method, scale,
                 res["set5"]["psnr_mean"], res["set5"]["ssim_mean"],
                 res["set14"]["psnr_mean"], res["set14"]["ssim_mean"])
    if hasattr(model, "body"):
        from networks.archs.usrnn_arch import count_layers

        metrics["layers_x4"] = count_layers(model)
    write_json(out / "metrics.json", metrics, config=dataclasses.asdict(cfg))
    return metrics


def eval_images(limit: int = 0) -> dict[str, list[Any]]:
    """Set5 and Set14 HR images (the first ``limit`` of each when ``limit > 0``)."""
    return {name: load_images(name)[1][: limit or None] for name in EVAL_SETS}


def bicubic_metrics(limit: int = 0) -> dict[str, Any]:
    """Bicubic (MATLAB kernel) results on Set5/Set14 at ×2 and ×4, like :func:`run_method`."""
    res: dict[str, Any] = {"method": "bicubic"}
    evals = eval_images(limit)
    for scale in (2, 4):
        res[f"x{scale}"] = {name: evaluate_images(None, imgs, scale)
                            for name, imgs in evals.items()}
    return res


PUBLISHED: dict[tuple[str, int, str], tuple[float, float]] = {
    ("bicubic", 2, "set5"): (33.66, 0.9299), ("srcnn", 2, "set5"): (36.66, 0.9542),
    ("vdsr", 2, "set5"): (37.53, 0.9587), ("bicubic", 2, "set14"): (30.24, 0.8688),
    ("srcnn", 2, "set14"): (32.45, 0.9067), ("vdsr", 2, "set14"): (33.03, 0.9124),
}
"""Published ×2 Y-channel PSNR/SSIM of the baselines trained on full data (PAPER_TARGETS)."""
PAPER_USRNN_X2 = 35.15
"""S5: the paper's overall ×2 PSNR of the USRNN, in dB."""
PAPER_SHOWN = (28.94, 0.8975)
"""S4: the paper's USRNN PSNR (dB) / SSIM on the image of Fig. 6b."""


def _table_rows(all_metrics: dict[str, dict[str, Any]], full: bool = True
                ) -> list[dict[str, Any]]:
    rows = []
    for method, met in all_metrics.items():
        for scale in (2, 4):
            for ds in EVAL_SETS:
                r = met[f"x{scale}"][ds]
                pub = PUBLISHED.get((method, scale, ds), (float("nan"), float("nan")))
                if not full:
                    pub = (float("nan"), float("nan"))
                rows.append({"method": method, "scale": scale, "dataset": ds,
                             "psnr_db": round(r["psnr_mean"], 4), "ssim": round(r["ssim_mean"], 5),
                             "published_psnr_db": pub[0], "published_ssim": pub[1]})
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    import csv

    from lemsim.io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def report(metric_files: list[str | Path], cfg: USRNNConfig, out_dir: str | Path, *,
           scale_name: str = "default", rows_path: str | Path | None = None) -> dict[str, Any]:
    """Table, S rows and Fig. 6 panels from the methods' ``metrics.json`` files.

    Writes ``table.csv`` (every method ×2/×4 on Set5/Set14 next to the published values),
    ``s_rows.json`` (rows S1-S5 of ``paper_vs_sim.csv``, also written to ``rows_path`` when
    given), ``summary.json``, ``fig6_bcde.png`` and ``fig6f.png`` into ``out_dir``. The model
    files are expected next to each metrics file.
    """
    import json

    from networks.sr.figures import fig6_bcde, fig6f
    from networks.sr.metrics import psnr_y, ssim_y
    from networks.sr.models import load_model
    from networks.sr.resize import degrade

    out = Path(out_dir)
    all_m: dict[str, dict[str, Any]] = {"bicubic": bicubic_metrics(cfg.eval_images)}
    dirs: dict[str, Path] = {}
    for f in metric_files:
        met = json.loads(Path(f).read_text(encoding="utf-8"))
        all_m[met["method"]] = met
        dirs[met["method"]] = Path(f).parent
    rows = _table_rows(all_m, full=cfg.eval_images == 0)
    _write_csv(out / "table.csv", rows)

    # Fig. 6b-e on the shown image.
    set_name, img_name = cfg.show_image.split("/", 1)
    names, imgs = load_images(set_name)
    if img_name not in names:
        raise ValueError(f"networks.usrnn.show_image = {cfg.show_image!r}: {img_name!r} not in "
                         f"{set_name} ({names})")
    img = imgs[names.index(img_name)]
    from networks.sr.evaluate import super_resolve

    hr2, lr2 = degrade(img, 2)
    outs2: dict[str, Any] = {"bicubic": super_resolve(None, lr2, 2)}
    order = [m for m in ("srcnn", "vdsr", "srresnet", "usrnn", "usrnn_hw") if m in dirs]
    for m in order:
        outs2[m] = super_resolve(load_model(dirs[m] / "model_x2.pt"), lr2, 2)
    scores = {m: (psnr_y(hr2, o, 2), ssim_y(hr2, o, 2)) for m, o in outs2.items()}
    main = "usrnn_hw" if "usrnn_hw" in dirs else ("usrnn" if "usrnn" in dirs else None)
    hr4, lr4 = degrade(img, 4)
    if main is not None:
        u4 = super_resolve(load_model(dirs[main] / "model_x4.pt"), lr4, 4)
        fig6_bcde(hr2, outs2, scores, hr4, lr4, u4, outs2[main], cfg.show_image,
                  out / "fig6_bcde.png")
        fig6f({m: {k: all_m[m][k]["history"] for k in ("x2", "x4")}
               for m in ("usrnn_hw", "usrnn") if m in all_m},
              {s: all_m["bicubic"][f"x{s}"]["set5"]["psnr_mean"] for s in (2, 4)},
              out / "fig6f.png")

    def p5(m: str, s: int = 2, ds: str = "set5") -> float:
        return float(all_m[m][f"x{s}"][ds]["psnr_mean"]) if m in all_m else float("nan")

    summary: dict[str, Any] = {
        "scale": scale_name,
        "set5_x2_psnr": {m: p5(m) for m in all_m},
        "shown_image": {"name": cfg.show_image, "x2": {m: list(v) for m, v in scores.items()}},
    }
    if main is not None:
        summary["goals"] = {
            "usrnn_minus_bicubic_set5_x2_db": p5(main) - p5("bicubic"),
            "goal_usrnn_minus_bicubic_db": 2.5,
            "usrnn_minus_srcnn_set5_x2_db": p5(main) - p5("srcnn"),
            "hw_minus_digital_set5_x2_db": p5("usrnn_hw") - p5("usrnn"),
            "goal_abs_hw_minus_digital_db": 0.5,
        }
    lay = all_m.get(main or "", {})
    best = max(scores, key=lambda m: scores[m][0])
    um = main or "usrnn"
    others = ", ".join(f"{m} {p5(m):.2f}" for m in ("bicubic", "srcnn", "vdsr", "srresnet",
                                                    "usrnn", "usrnn_hw") if m in all_m)
    s_rows = [
        {"id": "S1", "simulated": f"{lay.get('layers_x2', 'n/a')} (x2), "
                                  f"{lay.get('layers_x4', 'n/a')} (x4)", "unit": "layers",
         "definition": "conv, ReLU and PixelShuffle modules counted in the built USRNN"},
        {"id": "S2", "simulated": f"x2 on {cfg.patch}x{cfg.patch} RGB LR patches of "
                                  f"{cfg.train_data}, {cfg.iterations} it x {cfg.batch}; x4: "
                                  f"upsampler + tail only, {cfg.finetune_iterations} it x "
                                  f"{cfg.batch} on "
                                  f"{cfg.finetune_patch}x{cfg.finetune_patch} LR patches",
         "definition": "training protocol as run (same budget for every network)"},
        {"id": "S3", "simulated": p5(um), "unit": "dB",
         "definition": f"Set5 x2 Y-PSNR of {um} (BT.601 Y, border 2); all methods: {others}"},
        {"id": "S4", "simulated": scores[um][0] if um in scores else float("nan"), "unit": "dB",
         "definition": f"{um} x2 on {cfg.show_image}: Y-PSNR, SSIM "
                       f"{scores[um][1] if um in scores else float('nan'):.4f}; best method "
                       f"on it: {best}"},
        {"id": "S5", "simulated": 0.5 * (p5(um) + p5(um, 2, "set14")), "unit": "dB",
         "definition": f"mean of the Set5 ({p5(um):.2f}) and Set14 "
                       f"({p5(um, 2, 'set14'):.2f}) x2 Y-PSNR of {um}"},
    ]
    for r in s_rows:
        r["source_stage"] = f"networks.usrnn ({scale_name} scale)"
    from lemsim.targets import write_rows

    write_rows(out / "s_rows.json", s_rows, config=dataclasses.asdict(cfg))
    if rows_path is not None:
        write_rows(rows_path, s_rows, config=dataclasses.asdict(cfg))
    summary["table"] = rows
    write_json(out / "summary.json", summary, config=dataclasses.asdict(cfg))
    return summary


def _cfg(params: dict[str, Any] | USRNNConfig) -> USRNNConfig:
    if isinstance(params, USRNNConfig):
        return params
    from lemsim.configtools import from_dict

    return from_dict(USRNNConfig, dict(params))


def _device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def run_from_params(method: str, params: dict[str, Any], metrics_path: str | Path, *,
                    seed: int = 0, device: str = "auto",
                    checkpoint_dir: str | Path | None = None,
                    compact_model: str | None = None) -> dict[str, Any]:
    """:func:`run_method` from the plain config section (Snakemake ``params``); the outputs
    go to the folder of ``metrics_path``. ``compact_model`` (preset name or ``nlem.json``
    path) sets the synapses of the hardware-aware USRNN."""
    cfg = _cfg(params)
    _check(cfg)
    hw = {"compact_model": str(compact_model)} if compact_model else None
    return run_method(method, cfg, Path(metrics_path).parent, seed=seed,
                      checkpoint_dir=checkpoint_dir, device=_device(device), hw=hw)


def report_from_params(metric_files: list[str], params: dict[str, Any], out_dir: str | Path, *,
                       scale_name: str, table: str | Path, rows: str | Path,
                       fig_bcde: str | Path, fig_f: str | Path) -> dict[str, Any]:
    """:func:`report` from the plain config section, copying the panels to the figure paths."""
    import shutil

    from lemsim.io import atomic_path

    out = Path(out_dir)
    summary = report(metric_files, _cfg(params), out, scale_name=scale_name, rows_path=rows)
    for src, dst in ((out / "fig6_bcde.png", fig_bcde), (out / "fig6f.png", fig_f),
                     (out / "table.csv", table)):
        if Path(dst).resolve() != src.resolve():
            with atomic_path(dst) as tmp:
                shutil.copyfile(src, tmp)
    return summary
