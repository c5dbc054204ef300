"""Fig. 5 panels, the accuracy table and the U1-U5 summary from the per-network metrics.

Reads ``<variant>/metrics.json`` and ``<variant>/arrays.npz`` written by
:func:`networks.experiments.upenn_run.run_variant` and writes: violin plots of the gradients in
stages 4 and 1 (Fig. 5b, c), the full per-layer gradient profile, stage 1-4 feature maps of a
normal and a pneumonia X-ray with their SSIM (Fig. 5d-f), accuracy bars without training and
after re-learning (Fig. 5g, h), a CSV table and ``summary.json`` with rows U1-U5 next to the
paper's values.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lemsim.io import atomic_path, save_figure, write_json  # noqa: E402
from networks.analysis import mosaic  # noqa: E402

PAPER = {"U1": {"upenn": 54, "contrast_net": 50},
         "U2": "Contrast Net: mean/std fall ~10x in stage 4, ~1e-8 in stage 1; UPENN: no "
               "exponential decay",
         "U3": {"upenn": 0.052, "contrast_net": 0.925},
         "U4": {"upenn": 0.8671, "contrast_net": 0.2136},
         "U5": {"upenn": 0.9076, "contrast_net": 0.2131}}
LABEL = {"upenn": "UPENN", "contrast_net": "Contrast Net", "upenn_nobn": "UPENN (no BN)",
         "contrast_net_nobn": "Contrast Net (no BN)"}
COLOR = {"upenn": "tab:red", "contrast_net": "tab:blue", "upenn_nobn": "salmon",
         "contrast_net_nobn": "lightsteelblue"}


def _savefig(fig: Any, path: Path) -> None:
    save_figure(fig, path, dpi=130, bbox_inches="tight")


def _violin_layers(m: dict[str, Any]) -> list[str]:
    """Block-first convs of stage 4 then stage 1, deep to shallow (the paper's order)."""
    names = m["gradients"]["violin_layers"]
    s4 = sorted([n for n in names if n.startswith("stages.3.")], reverse=True)
    s1 = sorted([n for n in names if n.startswith("stages.0.")], reverse=True)
    return s4 + s1


def violin_panel(m: dict[str, Any], arr: Any, path: Path, when: str = "init") -> None:
    """Violin plot of log10|g| of the first conv of each block in stages 4 and 1."""
    layers = _violin_layers(m)
    stats = {g["name"]: g for g in m["gradients"][when]}
    data, labels = [], []
    for n in layers:
        g = np.abs(arr[f"grad_{when}__{n}"].astype(np.float64))
        data.append(np.log10(g[g > 0]) if np.any(g > 0) else np.array([-30.0]))
        st, bl = n.split(".")[1:3]
        labels.append(f"S{int(st) + 1}B{int(bl) + 1}\nμ={stats[n]['mean']:.1e}\n"
                      f"σ={stats[n]['std']:.1e}")
    fig, ax = plt.subplots(figsize=(1.3 * len(layers) + 1.5, 3.6))
    parts = ax.violinplot(data, showmeans=True)
    for b in parts["bodies"]:
        b.set_facecolor(COLOR.get(m["variant"], "grey"))
        b.set_alpha(0.6)
    ax.set_xticks(range(1, len(layers) + 1), labels, fontsize=7)
    ax.set_ylabel("log10 |gradient| (dimensionless)")
    ax.set_xlabel("layer (stage 4 → stage 1, deep → shallow)")
    ax.set_title(f"{LABEL[m['variant']]}: weight gradients ({when})")
    _savefig(fig, path)


def profile_panel(ms: dict[str, dict[str, Any]], path: Path) -> None:
    """Mean |g| and std of g of every weighted layer, input to output, per network."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, when in zip(axes, ("init", "post"), strict=True):
        for v, m in ms.items():
            g = m["gradients"][when]
            ax.semilogy([x["mean_abs"] + 1e-30 for x in g], color=COLOR[v], label=LABEL[v])
            ax.semilogy([x["std"] + 1e-30 for x in g], color=COLOR[v], ls=":")
        ax.set_xlabel("weighted layer index (input → output)")
        phase = "initialisation" if when == "init" else "after pre-learning"
        ax.set_title(f"gradient profile ({phase})")
    axes[0].set_ylabel("mean |g| (solid), std g (dotted)")
    axes[0].legend(fontsize=7)
    _savefig(fig, path)


def feature_panel(ms: dict[str, dict[str, Any]], arrs: dict[str, Any], path: Path) -> None:
    """Stage 1-4 feature mosaics (16 channels) of a normal and a pneumonia X-ray."""
    vs = list(ms)
    fig, axes = plt.subplots(2 * len(vs), 5, figsize=(11, 2.3 * 2 * len(vs)))
    axes = np.atleast_2d(axes)
    for i, v in enumerate(vs):
        a = arrs[v]
        for r, lab in enumerate(("normal", "pneumonia")):
            ax = axes[2 * i + r, 0]
            ax.imshow(a["xray"][r, 0], cmap="gray")
            ax.set_title(f"{LABEL[v]}: {lab}", fontsize=8)
            for s in range(4):
                fm = a[f"stage{s + 1}"]
                vmax = max(float(fm.max()), 1e-12)
                ax = axes[2 * i + r, s + 1]
                ax.imshow(mosaic(fm[r]), cmap="viridis", vmin=0, vmax=vmax)
                if r == 0:
                    ax.set_title(f"stage {s + 1}, SSIM {ms[v]['ssim']['stages'][s]:.3f}",
                                 fontsize=8)
        for ax in axes[2 * i:2 * i + 2].ravel():
            ax.set_xticks([])
            ax.set_yticks([])
    _savefig(fig, path)


def accuracy_panel(ms: dict[str, dict[str, Any]], key: str, path: Path, title: str) -> None:
    """Grouped bars of accuracy (%) per unseen set, one bar per network, mean last."""
    vs = list(ms)
    sets = [k for k in ms[vs[0]][key] if k != "mean"] + ["mean"]
    w = 0.8 / len(vs)
    fig, ax = plt.subplots(figsize=(1.0 * len(sets) + 2, 3.6))
    for i, v in enumerate(vs):
        vals = [100 * ms[v][key][s] for s in sets]
        ax.bar(np.arange(len(sets)) + (i - (len(vs) - 1) / 2) * w, vals, w, label=LABEL[v],
               color=COLOR[v])
    ax.set_xticks(range(len(sets)), sets, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize=7)
    _savefig(fig, path)


def _decay(m: dict[str, Any], when: str) -> dict[str, float]:
    """Ratios of mean |g| across stage 4 (last/first block-first conv) and stage 1 values."""
    g = {x["name"]: x for x in m["gradients"][when]}
    s4 = sorted([n for n in m["gradients"]["violin_layers"] if n.startswith("stages.3.")])
    s1 = sorted([n for n in m["gradients"]["violin_layers"] if n.startswith("stages.0.")])
    return {"stage4_deep_to_shallow_ratio": g[s4[0]]["mean_abs"] / max(g[s4[-1]]["mean_abs"],
                                                                     1e-30),
            "stage4_mean_abs": float(np.mean([g[n]["mean_abs"] for n in s4])),
            "stage1_mean_abs": float(np.mean([g[n]["mean_abs"] for n in s1])),
            "stage1_std": float(np.mean([g[n]["std"] for n in s1]))}


def _rows(meas: dict[str, Any], ms: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """U1-U5 rows for ``lemsim.targets`` (every variant in the text, UPENN first)."""

    def each(fn: Any, fmt: str) -> str:
        return "; ".join(f"{LABEL[v]} {fmt.format(fn(v))}" for v in ms)

    k = next(iter(ms.values()))["k_shot"]
    u2 = meas["U2"]
    return [
        {"id": "U1", "simulated": each(lambda v: ms[v]["weighted_layers"], "{}"),
         "definition": "conv + linear layers counted in the built networks; CIBlocks: "
                       + each(lambda v: ms[v]["cross_layer_modules"], "{}")},
        {"id": "U2", "simulated": each(lambda v: u2[v]["init"]["stage1_mean_abs"]
                                       / max(u2[v]["init"]["stage4_mean_abs"], 1e-300),
                                       "{:.2e}"),
         "definition": "mean |grad| of the block-first convs, stage 1 / stage 4, at "
                       "initialisation (SGD batch of 64); stage-4 deep/shallow ratio: "
                       + each(lambda v: u2[v]["init"]["stage4_deep_to_shallow_ratio"],
                              "{:.2g}")},
        {"id": "U3", "simulated": each(lambda v: meas["U3"][v], "{:.3f}"),
         "definition": "SSIM of channel-mosaic feature maps (shared scale) of a normal vs a "
                       "pneumonia PneumoniaMNIST X-ray, mean over stages 1-4 (per stage in "
                       "summary.json)"},
        {"id": "U4", "simulated": each(lambda v: 100 * meas["U4"][v], "{:.2f}"),
         "definition": f"mean accuracy on 8 unseen sets, frozen features + nearest class mean "
                       f"from k={k} labelled examples per class"},
        {"id": "U5", "simulated": each(lambda v: 100 * meas["U5"][v], "{:.2f}"),
         "definition": "mean test accuracy after re-learning (UPENN: last CIBlock + new FC; "
                       "Contrast Net: all layers + new FC)"},
    ]


def make_fig5(run_dirs: list[str | Path], fig_dir: str | Path, table: str | Path,
              summary: str | Path, rows: str | Path | None = None,
              config: Any = None) -> dict[str, Any]:
    """Write every Fig. 5 panel, the accuracy table and the U1-U5 summary.

    Args:
        run_dirs: Folders of :func:`run_variant` (one per network variant).
        fig_dir: Folder of the PNG panels.
        table: CSV of accuracies per network and set.
        summary: JSON with U1-U5 measured next to the paper.
        rows: ``lemsim.targets`` row file for U1-U5 (None = not written).
        config: Configuration recorded as provenance.
    """
    ms, arrs = {}, {}
    for d in map(Path, run_dirs):
        m = json.loads((d / "metrics.json").read_text())
        ms[m["variant"]] = m
        arrs[m["variant"]] = dict(np.load(d / "arrays.npz"))
    fig_dir = Path(fig_dir)
    for v in ms:
        tag = "fig5b" if v.startswith("upenn") else "fig5c"
        violin_panel(ms[v], arrs[v], fig_dir / f"{tag}_{v}_gradients.png", "init")
        violin_panel(ms[v], arrs[v], fig_dir / f"{tag}_{v}_gradients_trained.png", "post")
    profile_panel(ms, fig_dir / "fig5_gradient_profile.png")
    feature_panel(ms, arrs, fig_dir / "fig5def_feature_maps.png")
    accuracy_panel(ms, "without_training", fig_dir / "fig5g_without_training.png",
                   f"after pre-learning, no training (NCM, k={next(iter(ms.values()))['k_shot']})")
    accuracy_panel(ms, "relearning", fig_dir / "fig5h_relearning.png", "after re-learning")
    table = Path(table)
    table.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(table) as tmp, open(tmp, "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["variant", "dataset", "without_training_acc", "relearning_acc"])
        for v, m in ms.items():
            for s in m["without_training"]:
                wr.writerow([v, s, f"{m['without_training'][s]:.4f}",
                             f"{m['relearning'][s]:.4f}"])
    out = {"paper": PAPER, "measured": {
        "U1": {v: m["weighted_layers"] for v, m in ms.items()},
        "U2": {v: {w: _decay(m, w) for w in ("init", "post")} for v, m in ms.items()},
        "U3": {v: m["ssim"]["mean"] for v, m in ms.items()},
        "U3_per_stage": {v: m["ssim"]["stages"] for v, m in ms.items()},
        "U4": {v: m["without_training"]["mean"] for v, m in ms.items()},
        "U5": {v: m["relearning"]["mean"] for v, m in ms.items()},
        "pretrain_test_acc": {v: m["pretrain"]["test_acc"] for v, m in ms.items()},
        "seconds": {v: m["seconds"] for v, m in ms.items()},
        "synapse_model": {v: m["synapse_model"] for v, m in ms.items()},
    }}
    write_json(summary, out, config=config)
    if rows is not None:
        from lemsim.targets import write_rows

        write_rows(rows, [dict(r, source_stage="networks") for r in _rows(out["measured"], ms)],
                   config=config)
    return out
