"""The HTML report groups its figures by stage: device physics, circuits, networks (then the
sweep across them, the paper table and the provenance), each with a caption file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Rules whose report figures belong to each stage.
STAGES = {
    "Device physics": {"device_figure", "fit_compact", "compact_figures", "study_profiles",
                       "study_mechanism_table", "study_sweep_uv", "study_sweep_trap",
                       "study_paper_panels"},
    "Circuits": {"circuits_fcn_codesign"},
    "Networks": {"upenn_fig5", "usrnn_report"},
}


@pytest.fixture(scope="module")
def report_items(monkeypatch_module: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """(rule name, report flag) of every output marked ``report(...)``, smoke scale."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    monkeypatch_module.chdir(ROOT)
    with SnakemakeApi(OutputSettings()) as api:
        wf = api.workflow(resource_settings=ResourceSettings(),
                          config_settings=ConfigSettings(config={"scale": "smoke"}),
                          snakefile=ROOT / "workflow" / "Snakefile")
        return [(rule.name, out.flags["report"]) for rule in wf._workflow.rules
                for out in rule.output if out.flags.get("report")]


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_figures_grouped_by_stage(report_items: list[tuple[str, object]]) -> None:
    by_rule: dict[str, set[str]] = {}
    for rule, item in report_items:
        by_rule.setdefault(rule, set()).add(item.category)
        assert item.subcategory or item.category in ("Paper vs simulation", "Provenance"), rule
    for category, rules in STAGES.items():
        for rule in rules:
            assert by_rule.get(rule) == {category}, (rule, by_rule.get(rule))
    assert {c for cats in by_rule.values() for c in cats} >= set(STAGES)


def test_every_report_item_has_a_caption_file(report_items: list[tuple[str, object]]) -> None:
    for rule, item in report_items:
        caption = Path(str(item.caption))
        assert caption.is_file() and caption.read_text(encoding="utf-8").strip(), (rule, caption)
