"""``lemsim table-diff``: rows that moved against a per-row tolerance."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import pytest

from lemsim.table_diff import (
    compare_row,
    diff_files,
    failures,
    format_changes,
    parse_tol,
    read_table,
    run,
)


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_tolerance_forms() -> None:
    assert parse_tol("") == (0.0, 0.0)
    assert parse_tol("0.05") == (0.05, 0.0)
    assert parse_tol("2%") == (0.0, pytest.approx(0.02))
    with pytest.raises(ValueError, match="tol = 'abc'"):
        parse_tol("abc")
    with pytest.raises(ValueError, match="must be >= 0"):
        parse_tol("-1")


def test_row_statuses() -> None:
    assert compare_row("D3", "0.2", "0.2", "").status == "same"
    assert compare_row("D3", "0.2", "0.201", "").status == "MOVED"
    c = compare_row("D3", "0.2", "0.201", "1%")
    assert c.status == "within" and c.delta == pytest.approx(0.001)
    assert compare_row("D3", "0.2", "0.21", "1%").status == "MOVED"
    assert compare_row("F3", "70", "71.5", "2").status == "within"
    # text rows match as text
    assert compare_row("D1", "ccw", "ccw", "5%").status == "same"
    assert compare_row("D1", "ccw", "cw", "5%").status == "MOVED"
    assert compare_row("D11", "nan", "0.5", "5%").status == "MOVED"
    # numbers inside a text value: each judged by the tolerance, the words must match
    assert compare_row("U4", "UPENN 39.71; Contrast 25.63", "UPENN 40.5; Contrast 25.0",
                       "1").status == "within"
    assert compare_row("U4", "UPENN 39.71; Contrast 25.63", "UPENN 42.0; Contrast 25.63",
                       "1").status == "MOVED"
    assert compare_row("U4", "UPENN 39.71; Contrast 25.63", "UPENN 39.71; Other 25.63",
                       "1").status == "MOVED"
    assert compare_row("D9", "dI -0.72 %, dL +449.53 %", "dI -0.721 %, dL +449.6 %",
                       "1%").status == "within"


def test_files_and_report(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.csv", [
        {"id": "D3", "simulated": "0.2", "tol": "1%"},
        {"id": "D6", "simulated": "1.5", "tol": ""},
        {"id": "F3", "simulated": "70", "tol": "2"}])
    b = _write(tmp_path / "b.csv", [
        {"id": "D3", "simulated": "0.2005", "definition": "x"},
        {"id": "D6", "simulated": "1.6", "definition": "y"},
        {"id": "S5", "simulated": "30", "definition": "z"}])
    changes = diff_files(a, b)
    by = {c.id: c.status for c in changes}
    assert by == {"D3": "within", "D6": "MOVED", "F3": "removed", "S5": "added"}
    assert [c.id for c in failures(changes)] == ["D6", "F3", "S5"]
    text = format_changes(changes)
    assert "D6" in text and "+6.67%" in text and "3 outside it" in text
    ns = argparse.Namespace(a=str(a), b=str(b), tol="", all=False)
    assert run(ns) == 1
    ns_same = argparse.Namespace(a=str(a), b=str(a), tol="", all=True)
    assert run(ns_same) == 0


def test_bad_table_is_named(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.csv", [{"name": "D3", "value": "1"}])
    with pytest.raises(ValueError, match=r"bad.csv: columns \['id', 'simulated'\] missing"):
        read_table(bad)
    dup = _write(tmp_path / "dup.csv", [{"id": "D3", "simulated": "1"},
                                        {"id": "D3", "simulated": "2"}])
    with pytest.raises(ValueError, match="appears twice"):
        read_table(dup)
