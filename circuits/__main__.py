"""Command line for SPICE netlists of the subset in :mod:`circuits.spice_parse`.

``python -m circuits op NETLIST.cir`` prints the DC point like ``ngspice -b``;
``python -m circuits run NETLIST.cir`` runs the file's analyses (``.op``, ``.tran``; ``.op``
when it has none) and prints each (``.tran``: a table of time, node voltages and source
branch currents). A netlist outside the subset ends with ``line N: ... is not supported``.
"""

from __future__ import annotations

import argparse
import sys

from circuits.mna import ConvergenceError
from circuits.netlist import NetlistError
from circuits.spice import run_file, run_op_file


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (1 on a malformed netlist or no convergence)."""
    ap = argparse.ArgumentParser(prog="python -m circuits", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    op = sub.add_parser("op", help="solve the .op point of a SPICE netlist subset")
    op.add_argument("netlist", help="SPICE file (R, C, V, I, D, B pwl, X; see run --help)")
    run = sub.add_parser("run", help="run the .op/.tran analyses of a SPICE netlist subset")
    run.add_argument("netlist", help="SPICE file (the subset of circuits.spice_parse)")
    args = ap.parse_args(argv)
    try:
        print(run_op_file(args.netlist) if args.cmd == "op" else run_file(args.netlist))
    except (NetlistError, ConvergenceError, OSError, UnicodeDecodeError) as err:
        print(f"{args.netlist}: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
