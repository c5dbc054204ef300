"""Command line: ``python -m circuits op NETLIST.cir`` prints the DC point like ``ngspice -b``.

The same command is ``lemsim op`` (:func:`add_op_arguments`, :func:`run_op`).
"""

from __future__ import annotations

import argparse
import sys

#: One-line help of ``op`` (shared with ``lemsim``).
OP_HELP = "solve the .op point of a SPICE netlist subset and print it like ngspice -b"


def add_op_arguments(op: argparse.ArgumentParser) -> None:
    """Options of ``op``."""
    op.add_argument("netlist", help="SPICE file (R, C, V, I, D with .model D, subcircuits)")


def run_op(args: argparse.Namespace) -> int:
    """Execute ``op``; returns the exit status (1 on a malformed netlist or no convergence)."""
    from circuits.mna import ConvergenceError
    from circuits.netlist import NetlistError
    from circuits.spice import run_op_file

    try:
        print(run_op_file(args.netlist))
    except (NetlistError, ConvergenceError, OSError) as err:
        print(f"{args.netlist}: error: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (1 on a malformed netlist or no convergence)."""
    ap = argparse.ArgumentParser(prog="python -m circuits", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    add_op_arguments(sub.add_parser("op", help=OP_HELP))
    return run_op(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
