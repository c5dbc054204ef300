"""Command line: ``python -m device_physics run --stack S.yaml --protocol P.yaml -o out.h5``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m device_physics",
                                 description="Drift-diffusion of a layered device (dolfinx).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a protocol on a stack and write the HDF5 output")
    r.add_argument("--stack", required=True, help="stack YAML file")
    r.add_argument("--protocol", required=True, help="protocol YAML file")
    r.add_argument("-o", "--out", required=True, help="output .h5 file")
    r.add_argument("--cells-per-layer", type=int, default=20)
    r.add_argument("--grading", type=float, default=3.5)
    r.add_argument("--rtol", type=float, default=1e-3)
    r.add_argument("--no-xdmf", action="store_true", help="skip the XDMF profiles")
    c = sub.add_parser("cross-section", help="run a protocol on the 2D pixel cross-section "
                       "(trace HDF5 + 2D XDMF profiles)")
    c.add_argument("--stack", required=True, help="stack YAML file")
    c.add_argument("--protocol", required=True, help="protocol YAML file")
    c.add_argument("-o", "--out", required=True, help="output .h5 file")
    c.add_argument("--width", type=float, default=2e-6, help="pixel width (m)")
    c.add_argument("--electrode-width", type=float, default=1.6e-6, help="top electrode (m)")
    c.add_argument("--nx", type=int, default=16, help="cells across the width (even)")
    c.add_argument("--cells-per-layer", type=int, default=6)
    c.add_argument("--rtol", type=float, default=1e-3)
    args = ap.parse_args(argv)
    from lemsim.io import check_output_file
    from lemsim.runtime import setup_logging

    setup_logging(None)
    try:  # before the solve: a bad -o must not cost the whole run
        check_output_file(args.out, "-o/--out")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.cmd == "cross-section":
        from device_physics.cross_section import run_cross_section

        return _exit_code(lambda: run_cross_section(
            args.stack, args.protocol, args.out, width=args.width,
            electrode_width=args.electrode_width, nx=args.nx,
            cells_per_layer=args.cells_per_layer, rtol=args.rtol))
    from device_physics.simulate import simulate

    return _exit_code(lambda: simulate(
        args.stack, args.protocol, args.out, cells_per_layer=args.cells_per_layer,
        grading=args.grading, rtol=args.rtol, xdmf=not args.no_xdmf, progress=True))


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
