"""D rows of paper_vs_sim.csv from the compact model's nlem.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compact_model.rows import target_rows, write_target_rows


@pytest.fixture(scope="module")
def preset_doc(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from compact_model.fit import build_nlem

    out = tmp_path_factory.mktemp("nlem") / "nlem.json"
    build_nlem(out)
    return json.loads(out.read_text())


def test_preset_rows_are_labelled_as_fitted(preset_doc: dict, tmp_path: Path) -> None:
    rows = {r["id"]: r for r in target_rows(preset_doc)}
    assert {"D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D10", "D11", "D12"} <= set(rows)
    assert all("PRESET FITTED" in r["definition"] for r in rows.values())
    # The preset meets the paper within 10 % on the fitted rows.
    assert rows["D3"]["simulated"] == pytest.approx(0.20, rel=0.10)
    assert rows["D10"]["simulated"] == pytest.approx(71.6, rel=0.10)
    assert rows["D12"]["simulated"] <= 3.52 * 1.1
    assert rows["D1"]["simulated"].startswith("counter-clockwise; grows")
    out = write_target_rows_from(preset_doc, tmp_path)
    assert len(json.loads(out.read_text())["rows"]) == len(rows)


def write_target_rows_from(doc: dict, tmp_path: Path) -> Path:
    src = tmp_path / "nlem.json"
    src.write_text(json.dumps(doc))
    return write_target_rows(src, tmp_path / "rows.json")


def test_physics_fit_rows_name_the_physics_values(preset_doc: dict) -> None:
    from compact_model.rows import physics_table

    doc = dict(preset_doc, physics_vs_compact={
        "pulses_10": {"nl_current": {"physics": 0.25, "compact": 0.24},
                      "gain_current_10": {"physics": 1.5, "compact": 1.45}},
        "decay": {"gain_current_50": {"physics": 2.0, "compact": 2.1},
                  "gain_lost_at_probe": {"physics": 0.7, "compact": 0.66}}})
    table = {r["metric"]: r for r in physics_table(doc)}
    assert table["D3_nl_current"]["relative_difference"] == pytest.approx(-0.04)
    assert table["D6_gain_current_50"]["protocol"] == "decay"  # the train inside decay
    assert table["D3_nl_current"]["paper"] == 0.20
    rows = {r["id"]: r for r in target_rows(doc)}
    assert "physics fit" in rows["D3"]["source_stage"]
    assert "physics pulses_10: 0.25" in rows["D3"]["definition"]
    assert physics_table(preset_doc) == []  # the preset has no physics values
