"""Command line of the compact model: ``python -m compact_model fit --measured FILE ...``.

``fit`` fits the compact model to a measured device (:mod:`compact_model.measured`) and
writes ``nlem.json``, the file the circuit and network stages read::

    python -m compact_model fit --measured examples/data/nlem_measured_synthetic.csv \\
        [--meta META.yaml] -o nlem.json [--report fit_report.png]
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The parser with its ``fit`` subcommand (arguments of
    :func:`compact_model.measured.add_fit_arguments`)."""
    from compact_model.measured import add_fit_arguments

    parser = argparse.ArgumentParser(prog="python -m compact_model",
                                     description="compact N-LEM model")
    sub = parser.add_subparsers(dest="command", required=True)
    add_fit_arguments(sub.add_parser("fit", help="fit the compact model to a measured device"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 with the message for a bad measurement)."""
    from compact_model.measured import MeasurementError, run_fit_cli

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        run_fit_cli(args)
    except MeasurementError as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
