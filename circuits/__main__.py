"""Command line for SPICE netlists of the subset in :mod:`circuits.spice_parse`.

``python -m circuits op NETLIST.cir`` prints the DC point like ``ngspice -b``;
``python -m circuits run NETLIST.cir`` runs the file's analyses (``.op``, ``.tran``; ``.op``
when it has none) and prints each (``.tran``: a table of time, node voltages and source
branch currents). A netlist outside the subset ends with ``line N: ... is not supported``.
The same command is ``lemsim op`` (:func:`add_op_arguments`, :func:`run_op`).
"""

from __future__ import annotations

import argparse
import sys

#: One-line help of ``op`` (shared with ``lemsim``).
OP_HELP = "solve the .op point of a SPICE netlist subset and print it like ngspice -b"


def add_op_arguments(op: argparse.ArgumentParser) -> None:
    """Options of ``op`` (and ``run``)."""
    op.add_argument("netlist", help="SPICE file (R, C, V, I, D, B pwl, X; the subset of "
                    "circuits.spice_parse)")


def run_op(args: argparse.Namespace) -> int:
    """Execute ``op`` (or ``run`` when ``args.cmd == "run"``); returns the exit status (1 on a
    malformed netlist or no convergence)."""
    from circuits.mna import ConvergenceError
    from circuits.netlist import NetlistError
    from circuits.spice import run_file, run_op_file

    try:
        print(run_file(args.netlist) if getattr(args, "cmd", "op") == "run"
              else run_op_file(args.netlist))
    except (NetlistError, ConvergenceError, OSError, UnicodeDecodeError) as err:
        print(f"{args.netlist}: error: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (1 on a malformed netlist or no convergence)."""
    ap = argparse.ArgumentParser(prog="python -m circuits", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    add_op_arguments(sub.add_parser("op", help=OP_HELP))
    add_op_arguments(sub.add_parser("run", help="run the .op/.tran analyses of a SPICE "
                                    "netlist subset"))
    return run_op(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
