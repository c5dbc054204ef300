"""``lemsim``: one command line for the pipeline's stages and its tables.

Each subcommand is built from its stage's own parser functions and runs the stage's own code;
the ``python -m`` entry points stay as aliases:

==============  ==========================================  ===================================
command         what it does                                alias
==============  ==========================================  ===================================
run             1D drift-diffusion of a stack (dolfinx)     ``python -m device_physics run``
cross-section   2D pixel cross-section                      ``python -m device_physics
                                                            cross-section``
op              DC point of a SPICE netlist                 ``python -m circuits op``
fit             compact model from physics traces           (``compact_model.fit.build_nlem``,
                                                            as rule ``fit_compact``)
evaluate        accuracy of a trained classifier            ``python -m networks evaluate``
upscale         super-resolve a folder of images            ``python -m networks upscale``
timings         wall time per stage of a run                ``python -m pipeline.timings``
reproduce       the default Snakemake DAG, report, timings  ``make reproduce``
table-diff      rows of two paper tables that moved         (:mod:`lemsim.table_diff`)
==============  ==========================================  ===================================

A stage's module is imported only when its command runs (``lemsim --help`` imports none).
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Command:
    """One subcommand: where its options and its action live."""

    module: str
    """Module holding the two functions."""
    add: str
    """Name of ``add(parser)``, which adds the options."""
    run: str
    """Name of ``run(args) -> int``, which executes the command."""
    help: str
    """One-line help."""
    alias: str
    """The equivalent older command line (empty: none)."""

    def function(self, name: str) -> Callable:
        """The named function of :attr:`module` (imports it)."""
        return getattr(importlib.import_module(self.module), name)


COMMANDS: dict[str, Command] = {
    "run": Command("device_physics.cli", "add_run_arguments", "run_device",
                   "run a protocol on a stack (1D drift-diffusion, dolfinx), write the HDF5",
                   "python -m device_physics run"),
    "cross-section": Command("device_physics.cli", "add_cross_section_arguments",
                             "run_cross_section",
                             "run a protocol on the 2D pixel cross-section (HDF5 + 2D XDMF)",
                             "python -m device_physics cross-section"),
    "op": Command("circuits.__main__", "add_op_arguments", "run_op",
                  "solve the .op point of a SPICE netlist subset, print it like ngspice -b",
                  "python -m circuits op"),
    "fit": Command("pipeline.cli", "add_fit_arguments", "run_fit",
                   "fit the compact model to physics traces (HDF5) or a measured device "
                   "(--measured), write nlem.json", "python -m compact_model fit"),
    "evaluate": Command("networks.evaluate", "add_arguments", "run",
                        "accuracy of a trained classifier on a dataset",
                        "python -m networks evaluate"),
    "upscale": Command("networks.sr.upscale", "add_arguments", "run",
                       "super-resolve a folder of images with a trained SR model",
                       "python -m networks upscale"),
    "timings": Command("pipeline.timings", "add_arguments", "run",
                       "wall time per pipeline stage of a run, from Snakemake's records",
                       "python -m pipeline.timings"),
    "reproduce": Command("pipeline.cli", "add_reproduce_arguments", "run_reproduce",
                         "run the default Snakemake DAG, then the HTML report and the timings",
                         "make reproduce"),
    "table-diff": Command("lemsim.table_diff", "add_arguments", "run",
                          "which rows of two paper_vs_sim.csv tables moved, against a tolerance",
                          ""),
}


def add_fit_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``fit``."""
    p.add_argument("traces", nargs="*",
                   help="physics HDF5 traces (data contract of docs/architecture.md); none: "
                        "write the preset's fit to the paper's numbers")
    p.add_argument("--measured", nargs="+", default=None, metavar="FILE",
                   help="fit a measured device instead: measurement CSV file(s) "
                        "(formats of compact_model.measured)")
    p.add_argument("--meta", default=None, metavar="META.yaml",
                   help="with --measured: metadata file (default: <stem>.meta.yaml beside "
                        "the first file)")
    p.add_argument("-o", "--out", required=True, help="output nlem.json")
    p.add_argument("--preset", default="paper", help="start point (default %(default)s)")
    p.add_argument("--max-nfev", type=int, default=200,
                   help="function-evaluation cap of the physics fit (default %(default)s)")
    p.add_argument("--report", default=None, help="also write the fit-report figure (PNG)")


def run_fit(args: argparse.Namespace) -> int:
    """Execute ``fit``: :func:`compact_model.fit.build_nlem` (and its report figure)."""
    from compact_model.fit import build_nlem
    from lemsim.runtime import setup_logging

    setup_logging(None)
    if args.max_nfev < 1:
        print(f"error: --max-nfev = {args.max_nfev}: must be >= 1", file=sys.stderr)
        return 1
    if args.measured:
        if args.traces:
            print("error: give physics traces or --measured files, not both", file=sys.stderr)
            return 1
        from compact_model.measured import MeasurementError, run_fit_cli

        try:
            run_fit_cli(argparse.Namespace(measured=args.measured, meta=args.meta,
                                           output=args.out, report=args.report,
                                           max_nfev=args.max_nfev))
        except MeasurementError as err:
            print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
            return 2
        return 0
    try:
        build_nlem(args.out, args.traces, preset=args.preset, max_nfev=args.max_nfev)
    except (ValueError, FileNotFoundError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.report:
        from compact_model.figures import fit_report

        fit_report(args.out, args.report, args.traces)
    print(f"written {args.out}")
    return 0


def add_reproduce_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``reproduce``."""
    p.add_argument("--cores", default="all", help="Snakemake --cores (default %(default)s)")
    p.add_argument("--profile", default="workflow/profiles/default",
                   help="Snakemake profile (default %(default)s)")
    p.add_argument("--results", default="results",
                   help="results directory of the run (the config's 'results'; default "
                        "%(default)s)")
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")
    p.add_argument("snakemake_args", nargs=argparse.REMAINDER,
                   help="further Snakemake arguments after '--', e.g. "
                        "-- --config scale=paper")


def reproduce_commands(args: argparse.Namespace) -> list[list[str]]:
    """The command lines ``reproduce`` runs, in order (as ``make reproduce``)."""
    extra = [a for a in args.snakemake_args if a != "--"]
    smk = [sys.executable, "-m", "snakemake", "--profile", args.profile]
    cmds = [[*smk, "--cores", str(args.cores), *extra]]
    if not args.no_report:
        cmds.append([*smk, "--cores", "1", *extra, "--report",
                     str(Path(args.results) / "report.html")])
    cmds.append([sys.executable, "-m", "pipeline.timings", args.results])
    return cmds


def run_reproduce(args: argparse.Namespace) -> int:
    """Execute ``reproduce``: each command of :func:`reproduce_commands`; stops at a failure."""
    for cmd in reproduce_commands(args):
        print("+ " + " ".join(cmd), flush=True)
        rc = subprocess.call(cmd)
        if rc:
            return rc
    return 0


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The ``lemsim`` parser; only ``selected``'s options are added (None: every command's,
    which imports every stage)."""
    ap = argparse.ArgumentParser(
        prog="lemsim", description="Physics-first simulation of light-emitting memristor "
        "hardware: the pipeline's commands. 'lemsim COMMAND --help' gives each command's "
        "options.", formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="aliases:\n" + "\n".join(f"  {n:14s} = {c.alias}" for n, c in COMMANDS.items()
                                        if c.alias))
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, cmd in COMMANDS.items():
        p = sub.add_parser(name, help=cmd.help, description=cmd.help + (
            f" (same as '{cmd.alias}')" if cmd.alias else ""))
        if selected is None or selected == name:
            cmd.function(cmd.add)(p)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lemsim`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = argv[0] if argv and argv[0] in COMMANDS else ""
    args = build_parser(selected).parse_args(argv)
    cmd = COMMANDS[args.command]
    return int(cmd.function(cmd.run)(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
