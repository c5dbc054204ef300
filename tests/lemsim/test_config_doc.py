"""config/README.md, the key reference of the workflow catalog layout, is generated from the
config dataclasses and stays in sync with them; every key in it has a description."""

from __future__ import annotations

import dataclasses
import typing

from lemsim.configtools import config_markdown, field_docs, param
from pipeline.config import LemsimConfig, config_doc_path, config_markdown_text


@dataclasses.dataclass
class Inner:
    """Inner section."""

    rate: float = param(0.5, lo=0.0, hi=1.0, lo_open=True)
    """A rate (1/s)."""


@dataclasses.dataclass
class Outer:
    """Outer section."""

    inner: Inner = dataclasses.field(default_factory=Inner)
    """The inner part."""
    mode: str = param("a", choices=("a", "b"))
    """The mode."""


def _key_paths(cls: type, prefix: str = "") -> list[str]:
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}.{f.name}" if prefix else f.name
        out.append(path)
        if dataclasses.is_dataclass(hints[f.name]):
            out += _key_paths(hints[f.name], path)
    return out


def test_config_readme_in_sync_with_dataclasses() -> None:
    on_disk = config_doc_path().read_text(encoding="utf-8")
    assert on_disk == config_markdown_text(), (
        "config/README.md is stale: run `python -m pipeline.config`"
    )


def test_every_key_is_documented() -> None:
    undocumented = []
    for path in _key_paths(LemsimConfig):
        *parents, name = path.split(".")
        cls = LemsimConfig
        for part in parents:
            cls = typing.get_type_hints(cls)[part]
        if not field_docs(cls).get(name):
            undocumented.append(path)
    assert not undocumented, f"fields without a docstring: {undocumented}"
    text = config_doc_path().read_text(encoding="utf-8")
    sections = {p.rsplit(".", 1)[0] for p in _key_paths(LemsimConfig) if "." in p}
    for section in sections:
        assert f"## `{section}`" in text, section


def test_markdown_rows_carry_type_default_range_and_file_values() -> None:
    text = config_markdown(Outer, "T", scales={"smoke": {"inner": {"rate": 0.25}}})
    assert "| `rate` | float | `0.5` | in (0, 1] | smoke: `0.25` | A rate (1/s). |" in text
    assert "| `mode` | str | `\"a\"` | one of 'a', 'b' |  | The mode. |" in text
    assert "## `inner`" in text and "[`inner`](#inner)" in text
