"""The whole DAG end to end at smoke scale, report included (CI runs it)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from lemsim.targets import TARGET_IDS

ROOT = Path(__file__).resolve().parents[2]
#: The smoke-scale paper table as it should come out, with a tolerance per row
#: (``lemsim table-diff``; how the tolerances were chosen: ``tests/golden/README.md``).
GOLDEN = ROOT / "tests" / "golden" / "paper_vs_sim_smoke.csv"

pytestmark = pytest.mark.workflow


def run(args: list[str], timeout: int = 1500) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    res = tmp_path_factory.mktemp("smoke") / "results"
    cfg = ["--config", "scale=smoke", f"results={res}"]
    out = run(["--cores", "2", "--nolock", *cfg])
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    rep = run(["--cores", "1", "--nolock", "--report", str(res / "report.html"), *cfg], 600)
    assert rep.returncode == 0, rep.stdout[-4000:] + rep.stderr[-4000:]
    return res


def test_table_has_every_row(smoke_results: Path) -> None:
    with open(smoke_results / "tables" / "paper_vs_sim.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == list(TARGET_IDS)
    for r in rows:
        # A row is filled, or it says why not: never silently blank.
        assert r["simulated"] != "" or r["definition"].startswith("NOT PRODUCED"), r
        assert r["scale"] == "smoke"


def test_table_matches_the_golden_table(smoke_results: Path) -> None:
    """No row of the smoke table moved outside its tolerance (``lemsim table-diff``)."""
    from lemsim.table_diff import diff_files, failures, format_changes

    changes = diff_files(GOLDEN, smoke_results / "tables" / "paper_vs_sim.csv")
    assert not failures(changes), "\n" + format_changes(changes)


def test_report_written(smoke_results: Path) -> None:
    html = (smoke_results / "report.html").read_text(encoding="utf-8", errors="replace")
    assert len(html) > 10_000 and "paper_vs_sim.csv" in html


def test_data_written_with_provenance(smoke_results: Path) -> None:
    from lemsim.io import read_provenance

    files = sorted((smoke_results / "data").glob("*.npz"))
    assert len(files) >= 7
    assert all(read_provenance(f)["lemsim_version"] for f in files)


def test_material_sweep_fills_its_grid(smoke_results: Path) -> None:
    """The material sweep at smoke scale: a >= 3 x 3 grid; every cell a number or a reason."""
    with open(smoke_results / "sweep" / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 9
    assert len({r["trap_factor"] for r in rows}) >= 3
    assert len({r["uv_intensity_mw_cm2"] for r in rows}) >= 3
    for r in rows:
        if r["status"] == "complete":
            assert 0.0 <= float(r["fcn2_accuracy"]) <= 100.0, r
        else:
            assert r["status"] == "failed" and r["reason"], r
    assert (smoke_results / "figures" / "sweep_heatmap.png").stat().st_size > 10_000


def test_physics_studies_written(smoke_results: Path) -> None:
    """The physics studies: mechanism table, profiles, sweeps and Fig. 2 panels exist."""
    studies, figs = smoke_results / "studies", smoke_results / "figures" / "studies"
    with open(studies / "mechanism_table.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) >= 2
    for name in ("mechanism_uv", "profiles", "fig2c", "fig2f", "figS15_S16"):
        assert (figs / f"{name}.png").stat().st_size > 1_000, name


def _planned_jobs(stdout: str) -> set[str]:
    """Rule names of the job-stats table of a dry run."""
    jobs, in_table = set(), False
    for line in stdout.splitlines():
        if line.startswith("job ") and "count" in line:
            in_table = True
            continue
        if in_table:
            parts = line.split()
            if not parts or parts[0] == "total":
                break
            if not parts[0].startswith("-"):
                jobs.add(parts[0])
    return jobs


def test_complete_run_has_nothing_left_to_do(smoke_results: Path) -> None:
    out = run(["-n", "--cores", "1", "--nolock", "--config", "scale=smoke",
               f"results={smoke_results}"], 300)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "Nothing to be done" in out.stdout + out.stderr


def test_changed_parameter_reruns_exactly_its_downstream(smoke_results: Path) -> None:
    """Changing one USRNN parameter reruns the USRNN rules and the table, nothing upstream."""
    cfg = ["--config", "scale=smoke", f"results={smoke_results}"]
    out = run(["-n", "--cores", "1", "--nolock", *cfg,
               "networks={usrnn: {finetune_iterations: 4}}"], 300)
    assert out.returncode == 0, out.stdout[-3000:]
    jobs = _planned_jobs(out.stdout)
    # (`--list-changes params` is not used: in Snakemake 9.27 it lists every output of this
    # workflow even without a change, while the dry run below plans exactly what reruns.)
    assert "usrnn_train" in jobs and "paper_table" in jobs and "usrnn_report" in jobs
    upstream = {"prepare_data", "fit_compact", "device_run", "circuits_fcn_codesign"}
    assert not jobs & upstream, jobs


def test_network_rows_name_their_physics_source(smoke_results: Path) -> None:
    """compact.source physics (the default): the F, U and S rows ran on physics:nlem, the F
    rows carry the preset's value beside it, and the D rows say which were calibrated."""
    with open(smoke_results / "tables" / "paper_vs_sim.csv", newline="") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    for rid, r in rows.items():
        if rid[0] in "FUS" and r["simulated"] != "":
            assert r["synapse_source"] == "physics:nlem", r
        assert r["role"] == ("calibrated" if rid in ("D3", "D4", "D5", "D6", "D7", "D10", "D11",
                                                     "D12") else "predicted"), r
    for rid in ("F3", "F4"):
        assert 0.0 <= float(rows[rid]["preset_value"]) <= 100.0, rows[rid]
    assert rows["U5"]["preset_value"] == "" and "10+ min" in rows["U5"]["definition"]
    with open(smoke_results / "compact" / "physics_vs_compact.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert table and {"protocol", "metric", "physics", "compact"} <= set(table[0])
