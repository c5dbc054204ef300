"""pipeline.timings: per-stage wall times from Snakemake's metadata records."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from pipeline.timings import collect_jobs, main, stage_of, summarise


def _record(meta: Path, out: str, rule: str, job_hash: int, start: float, end: float,
            incomplete: bool = False) -> None:
    name = base64.b64encode(out.encode()).decode().replace("/", "@")
    (meta / name).write_text(json.dumps({
        "rule": rule, "job_hash": job_hash, "starttime": start, "endtime": end,
        "incomplete": incomplete}))


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    meta = tmp_path / ".snakemake" / "metadata"
    meta.mkdir(parents=True)
    res = tmp_path / "res"
    # one device job with two outputs (one job), a parallel device job, a study, a training
    _record(meta, str(res / "device/nlem/a.h5"), "device_run", 1, 100.0, 160.0)
    _record(meta, str(res / "device/nlem/a.xdmf"), "device_run", 1, 100.0, 161.0)
    _record(meta, str(res / "device/nlem/b.h5"), "device_run", 2, 110.0, 130.0)
    _record(meta, str(res / "studies/x.json"), "study_trace", 3, 161.0, 171.0)
    _record(meta, str(res / "networks/u.pt"), "usrnn_train", 4, 171.0, 271.0)
    # not counted: another results dir, an incomplete job, a non-record file
    _record(meta, str(tmp_path / "other/device/c.h5"), "device_run", 5, 0.0, 1000.0)
    _record(meta, str(res / "networks/v.pt"), "usrnn_train", 6, 171.0, 9999.0, incomplete=True)
    (meta / "not-base64!").write_text("{}")
    return tmp_path


def test_jobs_are_grouped_by_hash_and_filtered(workdir: Path) -> None:
    jobs = collect_jobs(workdir / "res", workdir)
    assert [j.rule for j in jobs] == ["device_run", "device_run", "study_trace", "usrnn_train"]
    assert jobs[0].outputs == tuple(sorted((str(workdir / "res/device/nlem/a.h5"),
                                            str(workdir / "res/device/nlem/a.xdmf"))))
    assert jobs[0].wall_s == pytest.approx(61.0)  # last output's end


def test_stage_sums_and_spans(workdir: Path) -> None:
    rows = {r["stage"]: r for r in summarise(collect_jobs(workdir / "res", workdir))}
    dev = rows["device physics"]
    assert dev["jobs"] == 2 and dev["job_s"] == pytest.approx(81.0)  # 61 + 20 (parallel)
    assert dev["span_s"] == pytest.approx(61.0)
    assert rows["USRNN and SR baselines"]["job_s"] == pytest.approx(100.0)
    assert rows["whole run"]["span_s"] == pytest.approx(171.0)
    assert rows["whole run"]["jobs"] == 4


def test_unknown_rule_is_its_own_stage() -> None:
    assert stage_of("device_figure") == "device physics"
    assert stage_of("brand_new_rule") == "brand_new_rule"


def test_cli_writes_csv_and_missing_workdir_is_named(workdir: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    assert main([str(workdir / "res"), "--workdir", str(workdir), "--out", str(out)]) == 0
    assert out.read_text().splitlines()[0].startswith("stage,jobs,job_s,span_s")
    with pytest.raises(FileNotFoundError, match="workdir="):
        collect_jobs(workdir / "res", tmp_path / "nowhere")
