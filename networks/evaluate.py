"""``python -m networks evaluate``: accuracy of a trained classifier on a dataset.

Usage::

    python -m networks evaluate --checkpoint results/networks/upenn/upenn/model.pt \\
        --dataset mnist [--split test] [--max-samples 1000] [--ncm K]

The checkpoint is a :func:`networks.checkpoint.save_model` file. With ``--ncm K`` the FC is
bypassed and a nearest-class-mean classifier on the frozen features is built from K labelled
training examples per class (the "without training" protocol of Fig. 5g); otherwise the
model's own outputs are scored (the dataset must use the model's classes). Prints one JSON
line with the accuracy.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m networks evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``evaluate`` (also ``lemsim evaluate``)."""
    p.add_argument("--checkpoint", required=True, help="model.pt written by save_model")
    p.add_argument("--dataset", required=True,
                   help="networks.data name, photo_patches/sample_patches, MedMNIST .npz or "
                        "image folder")
    p.add_argument("--split", default="test", choices=("train", "test"))
    p.add_argument("--max-samples", type=int, default=0, help="seeded subset (0 = all)")
    p.add_argument("--image-size", type=int, default=0, help="0 = the model's input size")
    p.add_argument("--ncm", type=int, default=0, metavar="K",
                   help="nearest-class-mean from K train examples per class (0 = use the FC)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))


def main(argv: list[str]) -> int:
    """Run the evaluation; returns the exit status (0 ok, 2 bad input)."""
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Evaluate with parsed options (:func:`add_arguments`); returns the exit status."""
    from networks.analysis import ncm_accuracy
    from networks.checkpoint import load_model
    from networks.experiments.upenn_data import load_task
    from networks.experiments.upenn_run import pick_device
    from networks.train import accuracy

    if args.max_samples < 0 or args.ncm < 0 or args.image_size < 0:
        print("error: --max-samples, --ncm and --image-size must be >= 0", file=sys.stderr)
        return 2
    try:
        model, meta = load_model(args.checkpoint)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    model = model.to(pick_device(args.device)).eval()
    size = args.image_size or int(getattr(model, "input_size", 32))
    try:
        x, y = load_task(args.dataset, args.split, size, args.max_samples or None, args.seed)
    except Exception as exc:  # noqa: BLE001 - report any loader failure with its cause
        print(f"error: dataset = {args.dataset!r}: {exc}", file=sys.stderr)
        return 2
    if args.ncm:
        xa, ya = load_task(args.dataset, "train", size, None, args.seed)
        acc = ncm_accuracy(model.embed, model, xa, ya, x, y, args.ncm, args.seed)
        mode = f"ncm(k={args.ncm})"
    else:
        n_out = model(x[:1].to(next(model.parameters()).device)).shape[1]
        if int(y.max()) >= n_out:
            print(f"error: dataset = {args.dataset!r} has label {int(y.max())} but the model "
                  f"has {n_out} outputs; use --ncm K for unseen tasks", file=sys.stderr)
            return 2
        acc = accuracy(model, x, y)
        mode = "fc"
    print(json.dumps({"checkpoint": args.checkpoint, "dataset": args.dataset,
                      "split": args.split, "n": len(y), "mode": mode, "accuracy": acc,
                      "trained_on": meta.get("dataset")}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    torch.set_num_threads(1)
    raise SystemExit(main(sys.argv[1:]))
