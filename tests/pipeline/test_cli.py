"""The ``lemsim`` console script: every subcommand has a complete --help and runs its stage's
own code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import cli

ROOT = Path(__file__).resolve().parents[2]


def test_every_command_builds_its_parser() -> None:
    ap = cli.build_parser()
    assert set(cli.COMMANDS) == {"run", "cross-section", "op", "fit", "evaluate", "upscale",
                                 "timings", "reproduce", "table-diff"}
    for name, cmd in cli.COMMANDS.items():
        assert callable(cmd.function(cmd.run)), name
    args = ap.parse_args(["run", "--stack", "s.yaml", "--protocol", "p.yaml", "-o", "o.h5"])
    assert (args.command, args.cells_per_layer, args.rtol) == ("run", 20, 1e-3)


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_help_names_the_options(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: lemsim {name}")
    # the stage's own options are there
    expected = {"run": "--protocol", "cross-section": "--electrode-width", "op": "netlist",
                "fit": "--max-nfev", "evaluate": "--checkpoint", "upscale": "--scale",
                "timings": "--workdir", "reproduce": "--profile", "table-diff": "--tol"}[name]
    assert expected in out


def test_op_runs_a_netlist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    net = tmp_path / "div.cir"
    net.write_text("divider\nV1 1 0 2\nR1 1 2 1k\nR2 2 0 1k\n.op\n.end\n", encoding="utf-8")
    assert cli.main(["op", str(net)]) == 0
    out = capsys.readouterr().out
    assert "v(2)" in out.lower() and "1.0" in out
    assert cli.main(["op", str(tmp_path / "missing.cir")]) == 1


def test_reproduce_runs_what_make_reproduce_runs() -> None:
    args = cli.build_parser("reproduce").parse_args(
        ["reproduce", "--cores", "2", "--", "--config", "scale=smoke"])
    cmds = cli.reproduce_commands(args)
    assert cmds[0][1:] == ["-m", "snakemake", "--profile", "workflow/profiles/default",
                           "--cores", "2", "--config", "scale=smoke"]
    assert cmds[1][-2:] == ["--report", "results/report.html"]
    assert cmds[2][1:] == ["-m", "pipeline.timings", "results"]


def test_console_entry_is_declared_and_module_alias_runs() -> None:
    assert 'lemsim = "pipeline.cli:main"' in (ROOT / "pyproject.toml").read_text()
    out = subprocess.run([sys.executable, "-m", "pipeline", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "table-diff" in out.stdout


def test_fit_measured_names_a_bad_measurement(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """``lemsim fit --measured`` goes to the measured-device fit: a file without the required
    columns ends in its named error (exit 2) before any fit; traces and --measured together
    are refused."""
    bad = tmp_path / "m.csv"
    bad.write_text("foo [s],bar [V]\n0,1\n1,2\n", encoding="utf-8")
    assert cli.main(["fit", "--measured", str(bad), "-o", str(tmp_path / "n.json")]) == 2
    assert "m.csv" in capsys.readouterr().err
    assert not (tmp_path / "n.json").exists()
    assert cli.main(["fit", "x.h5", "--measured", str(bad), "-o", str(tmp_path / "n.json")]) == 1
