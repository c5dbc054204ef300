"""Command line: ``python -m device_physics run --stack S.yaml --protocol P.yaml -o out.h5``.

The same commands are ``lemsim run`` and ``lemsim cross-section``: both parsers are built by
:func:`add_run_arguments` / :func:`add_cross_section_arguments` and executed by
:func:`run_device` / :func:`run_cross_section`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

#: One-line help of the two commands (shared with ``lemsim``).
RUN_HELP = "run a protocol on a stack (1D drift-diffusion, dolfinx) and write the HDF5 output"
CROSS_SECTION_HELP = ("run a protocol on the 2D pixel cross-section (trace HDF5 + 2D XDMF "
                      "profiles)")


def add_run_arguments(r: argparse.ArgumentParser) -> None:
    """Options of ``run``."""
    r.add_argument("--stack", required=True, help="stack YAML file")
    r.add_argument("--protocol", required=True, help="protocol YAML file")
    r.add_argument("-o", "--out", required=True, help="output .h5 file")
    r.add_argument("--cells-per-layer", type=int, default=20,
                   help="mesh cells per layer (default %(default)s)")
    r.add_argument("--grading", type=float, default=3.5,
                   help="mesh grading towards the interfaces (default %(default)s)")
    r.add_argument("--rtol", type=float, default=1e-3,
                   help="relative tolerance of the adaptive time stepper (default %(default)s)")
    r.add_argument("--no-xdmf", action="store_true", help="skip the XDMF profiles")


def add_cross_section_arguments(c: argparse.ArgumentParser) -> None:
    """Options of ``cross-section``."""
    c.add_argument("--stack", required=True, help="stack YAML file")
    c.add_argument("--protocol", required=True, help="protocol YAML file")
    c.add_argument("-o", "--out", required=True, help="output .h5 file")
    c.add_argument("--width", type=float, default=2e-6, help="pixel width (m)")
    c.add_argument("--electrode-width", type=float, default=1.6e-6, help="top electrode (m)")
    c.add_argument("--nx", type=int, default=16, help="cells across the width (even)")
    c.add_argument("--cells-per-layer", type=int, default=6,
                   help="mesh cells per layer (default %(default)s)")
    c.add_argument("--rtol", type=float, default=1e-3,
                   help="relative tolerance of the adaptive time stepper (default %(default)s)")


def run_device(args: argparse.Namespace) -> int:
    """Execute ``run``; returns the exit status (:func:`_exit_code`)."""
    from device_physics.simulate import simulate
    from lemsim.runtime import setup_logging

    setup_logging(None)
    if not _output_ok(args.out):
        return 1
    return _exit_code(lambda: simulate(
        args.stack, args.protocol, args.out, cells_per_layer=args.cells_per_layer,
        grading=args.grading, rtol=args.rtol, xdmf=not args.no_xdmf, progress=True))


def run_cross_section(args: argparse.Namespace) -> int:
    """Execute ``cross-section``; returns the exit status (:func:`_exit_code`)."""
    from device_physics.cross_section import run_cross_section as run_2d
    from lemsim.runtime import setup_logging

    setup_logging(None)
    if not _output_ok(args.out):
        return 1
    return _exit_code(lambda: run_2d(
        args.stack, args.protocol, args.out, width=args.width,
        electrode_width=args.electrode_width, nx=args.nx,
        cells_per_layer=args.cells_per_layer, rtol=args.rtol))


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m device_physics",
                                 description="Drift-diffusion of a layered device (dolfinx).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    add_run_arguments(sub.add_parser("run", help=RUN_HELP))
    add_cross_section_arguments(sub.add_parser("cross-section", help=CROSS_SECTION_HELP))
    args = ap.parse_args(argv)
    return run_cross_section(args) if args.cmd == "cross-section" else run_device(args)


def _output_ok(out: str) -> bool:
    """Check ``-o`` before the solve (a bad output path must not cost the whole run); prints
    the error and returns False when it is unusable."""
    from lemsim.io import check_output_file

    try:
        check_output_file(out, "-o/--out")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return False
    return True


def _exit_code(run: Callable[[], object]) -> int:
    """Run a solve: 0 on success, 2 on a failed solve (its partial trace is written), 1 on
    bad input; the error goes to stderr."""
    from device_physics.timestepping import StepFailure

    try:
        run()
    except StepFailure as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
