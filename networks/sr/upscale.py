"""``python -m networks upscale --checkpoint model.pt --scale 2 IN_DIR OUT_DIR``.

Super-resolves every image of ``IN_DIR`` (PNG, JPEG, BMP, TIFF; grey images are treated as
RGB) with a model file written by the USRNN experiment (``networks.sr.models.save_model``)
and writes ``OUT_DIR/<name>.png``. ``--checkpoint bicubic`` uses MATLAB bicubic instead.
Before anything is written, ``OUT_DIR`` is checked, every input image is decoded once (an
unreadable one stops the run naming the file) and two inputs with the same stem (which would
write the same output) are refused.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m networks upscale", description=__doc__.split(
        "\n\n")[0])
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``upscale`` (also ``lemsim upscale``)."""
    p.add_argument("--checkpoint", required=True,
                   help="model file (model_x2.pt / model_x4.pt) or 'bicubic'")
    p.add_argument("--scale", type=int, required=True, choices=(2, 4), help="magnification")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("in_dir", help="folder of low-resolution images")
    p.add_argument("out_dir", help="output folder (created)")


def main(argv: list[str]) -> int:
    """Entry point; returns the exit status."""
    return run(_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Upscale with parsed options (:func:`add_arguments`); returns the exit status."""
    from lemsim.runtime import set_threads, setup_logging

    setup_logging()
    set_threads(args.threads)
    from PIL import Image

    from lemsim.io import atomic_path, check_output_dir
    from networks.sr.data import IMAGE_EXT, to_rgb
    from networks.sr.evaluate import super_resolve

    in_dir, out_dir = Path(args.in_dir), Path(args.out_dir)
    if not in_dir.is_dir():
        log.error("IN_DIR = %r is not a folder", str(in_dir))
        return 2
    files = sorted(p for p in in_dir.iterdir() if p.suffix.lower() in IMAGE_EXT)
    if not files:
        log.error("IN_DIR = %r holds no images (%s)", str(in_dir), ", ".join(IMAGE_EXT))
        return 2
    try:
        check_output_dir(out_dir, "OUT_DIR")
    except ValueError as err:
        log.error("%s", err)
        return 2
    stems: dict[str, list[str]] = {}
    for f in files:
        stems.setdefault(f.stem, []).append(f.name)
    clash = {k: v for k, v in stems.items() if len(v) > 1}
    if clash:
        log.error("IN_DIR = %r: inputs %s would write the same OUT_DIR/<stem>.png; rename them",
                  str(in_dir), "; ".join(" and ".join(v) for v in clash.values()))
        return 2
    from skimage.io import imread

    def read(f: Path) -> np.ndarray:
        return to_rgb(np.asarray(imread(f)))

    for f in files:  # decode every input before writing anything
        try:
            read(f)
        except Exception as err:  # noqa: BLE001 - any decoder failure: name the file
            log.error("%s: not a readable image (%s: %s); nothing written", f,
                      type(err).__name__, err)
            return 2
    model = None
    if args.checkpoint != "bicubic":
        from networks.sr.models import load_model

        try:
            model = load_model(args.checkpoint)
        except (FileNotFoundError, ValueError) as err:
            log.error("%s", err)
            return 2
        if int(model.scale) != args.scale:
            log.error("--scale %d but %s magnifies by %d", args.scale, args.checkpoint,
                      model.scale)
            return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in files:
        img = read(f)
        sr = super_resolve(model, img, args.scale)
        with atomic_path(out_dir / f"{f.stem}.png") as tmp:
            Image.fromarray(sr).save(tmp, format="PNG")
        log.info("%s: %s -> %s", f.name, img.shape[:2], sr.shape[:2])
    return 0
