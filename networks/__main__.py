"""``python -m networks {evaluate,upscale} ...``: command-line entry points of the network stage.

* ``evaluate --checkpoint model.pt --dataset NAME_OR_PATH``: accuracy of a trained classifier
  (``networks.evaluate.main``).
* ``upscale --checkpoint model.pt --scale 2 IN_DIR OUT_DIR``: super-resolve a folder of images
  with a trained SR model (``networks.sr.upscale.main``).
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "evaluate": ("networks.evaluate", "accuracy of a trained classifier on a dataset"),
    "upscale": ("networks.sr.upscale", "super-resolve a folder of images"),
}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the sub-command's ``main(argv)``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: python -m networks {" + ",".join(COMMANDS) + "} [args]\n")
        for name, (_, text) in COMMANDS.items():
            print(f"  {name:10s} {text}")
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\nerror: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
