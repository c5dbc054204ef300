"""Command line: ``python -m circuits op NETLIST.cir`` prints the DC point like ``ngspice -b``."""

from __future__ import annotations

import argparse
import sys

from circuits.mna import ConvergenceError
from circuits.netlist import NetlistError
from circuits.spice import run_op_file


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (1 on a malformed netlist or no convergence)."""
    ap = argparse.ArgumentParser(prog="python -m circuits", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    op = sub.add_parser("op", help="solve the .op point of a SPICE netlist subset")
    op.add_argument("netlist", help="SPICE file (R, C, V, I, D with .model D, subcircuits)")
    args = ap.parse_args(argv)
    try:
        print(run_op_file(args.netlist))
    except (NetlistError, ConvergenceError, OSError) as err:
        print(f"{args.netlist}: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
