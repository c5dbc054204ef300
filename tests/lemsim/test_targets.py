"""The paper-vs-simulation table: every target row present, unfilled rows say why."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from lemsim.targets import (
    COLUMNS,
    TARGET_IDS,
    build_table,
    doc_target_ids,
    write_rows,
    write_table,
)


def test_targets_cover_every_row_of_paper_targets() -> None:
    """The table's rows are those of the repository's docs/targets.md, in its order."""
    assert doc_target_ids() == TARGET_IDS


def test_missing_targets_doc_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.md"):
        doc_target_ids(tmp_path / "nope.md")


def test_table_merges_rows_and_explains_missing(tmp_path: Path) -> None:
    write_rows(tmp_path / "a.json", [{"id": "D3", "simulated": 0.2123456789, "unit": ""}])
    write_rows(tmp_path / "b.json", [{"id": "S5", "simulated": 30.5, "definition": "x"}])
    table = build_table([tmp_path / "a.json", tmp_path / "b.json"], scale="smoke")
    assert [r["id"] for r in table] == list(TARGET_IDS)
    by_id = {r["id"]: r for r in table}
    assert by_id["D3"]["simulated"] == "0.212346"
    assert by_id["S5"]["definition"].startswith("x; preset_value blank: USRNN is not rerun")
    assert by_id["D4"]["simulated"] == "" and by_id["D4"]["definition"].startswith("NOT PRODUCED")
    out = write_table(tmp_path / "t.csv", table)
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == COLUMNS and len(rows) == len(TARGET_IDS)
    assert all(r["scale"] == "smoke" for r in rows)


def test_unknown_row_id_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="row id = 'D99'"):
        write_rows(tmp_path / "x.json", [{"id": "D99", "simulated": 1}])


def test_role_synapse_source_and_preset_value(tmp_path: Path) -> None:
    write_rows(tmp_path / "a.json", [{"id": "D3", "simulated": 0.2}, {"id": "D1", "simulated": 1},
                                     {"id": "F4", "simulated": 97.0, "definition": "fcn"},
                                     {"id": "U5", "simulated": 50.0, "definition": "upenn"}])
    write_rows(tmp_path / "p.json", [{"id": "F4", "simulated": 96.5}])
    table = build_table([tmp_path / "a.json"], "smoke", synapse_source="physics:nlem",
                        preset_files=[tmp_path / "p.json"])
    by_id = {r["id"]: r for r in table}
    assert by_id["D3"]["role"] == "calibrated" and by_id["D1"]["role"] == "predicted"
    assert by_id["F4"]["role"] == "predicted"
    assert by_id["D3"]["synapse_source"] == ""  # device rows have no synapses
    assert by_id["F4"]["synapse_source"] == by_id["U5"]["synapse_source"] == "physics:nlem"
    assert by_id["F4"]["preset_value"] == "96.5" and "preset:paper (96.5)" in by_id["F4"][
        "definition"]
    assert by_id["U5"]["preset_value"] == "" and "10+ min" in by_id["U5"]["definition"]
    # a run on the preset is its own preset value
    table = build_table([tmp_path / "a.json"], "smoke", synapse_source="preset:paper")
    assert {r["id"]: r for r in table}["U5"]["preset_value"] == "50"


def test_calibrated_rows_are_the_calibration_targets() -> None:
    from device_physics.calibration import WEIGHTS
    from lemsim.targets import CALIBRATED_IDS

    assert {k.split("_")[0] for k in WEIGHTS} == CALIBRATED_IDS
