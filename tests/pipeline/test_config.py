"""Configuration: dataclass defaults, scale merging, overrides, validation and the schema."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import jsonschema
import pytest

from lemsim.configtools import (
    ConfigError,
    field_docs,
    from_dict,
    json_schema,
    param,
    to_dict,
)
from pipeline.config import (
    LemsimConfig,
    expand_dotted,
    load_config,
    resolve_raw,
    schema_path,
)


@pytest.mark.parametrize("scale", ["smoke", "default", "paper"])
def test_every_scale_loads_and_validates_against_schema(scale: str) -> None:
    cfg = load_config(scale)
    assert cfg.scale == scale
    schema = json.loads(schema_path().read_text())
    jsonschema.validate(to_dict(cfg), schema)


def test_scale_file_overrides_defaults() -> None:
    assert load_config("smoke").networks.fcn.epochs == 3
    assert load_config("default").networks.fcn.epochs == LemsimConfig().networks.fcn.epochs
    assert load_config("paper").networks.upenn.image_size == 224


def test_dotted_overrides_apply_last() -> None:
    cfg = load_config("smoke", overrides={"networks.fcn.epochs": 7, "seed": 9})
    assert cfg.networks.fcn.epochs == 7 and cfg.seed == 9
    assert expand_dotted({"a.b.c": 1, "a": {"d": 2}}) == {"a": {"b": {"c": 1}, "d": 2}}


def test_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError, match="bogus_key: unknown key"):
        load_config(overrides={"bogus_key": 1})
    with pytest.raises(ConfigError, match=r"networks\.fcn\.nope: unknown key"):
        load_config(overrides={"networks.fcn.nope": 1})


def test_out_of_range_names_key_value_and_range() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(overrides={"device.rtol": 5, "circuits.crosstalk": -0.1})
    msg = str(err.value)
    assert "device.rtol = 5.0: must be in (0, 1)" in msg
    assert "circuits.crosstalk = -0.1: must be in [0, 0.25]" in msg


def test_wrong_types_and_choices_are_reported_together() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(overrides={"networks.fcn.epochs": "x", "seed": True, "scale": "default",
                               "networks.device": "tpu", "networks.fcn.class_counts": [2, 1]})
    assert len(err.value.problems) == 4
    msg = str(err.value)
    assert "networks.fcn.epochs = 'x': must be an integer" in msg
    assert "seed = True: must be an integer" in msg
    assert "networks.device = 'tpu': must be one of 'auto', 'cpu', 'cuda'" in msg
    assert "networks.fcn.class_counts[1] = 1" in msg


def test_numeric_strings_from_the_command_line_are_converted() -> None:
    cfg = load_config(overrides={"networks": {"fcn": {"epochs": "4"}}, "device.rtol": "1e-4"})
    assert cfg.networks.fcn.epochs == 4 and cfg.device.rtol == 1e-4
    with pytest.raises(ConfigError, match="must be an integer"):
        load_config(overrides={"networks.fcn.epochs": "4.5"})


def test_bad_scale_is_rejected() -> None:
    with pytest.raises(ConfigError, match="scale = 'huge'"):
        load_config("huge")


def test_every_field_has_a_docstring() -> None:
    """aihwkit-style: a docstring right after every field, in every section."""

    def walk(cls: type, prefix: str) -> list[str]:
        import dataclasses
        import typing

        missing = []
        docs = field_docs(cls)
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name not in docs:
                missing.append(prefix + f.name)
            if dataclasses.is_dataclass(hints[f.name]):
                missing += walk(hints[f.name], prefix + f.name + ".")
        return missing

    assert walk(LemsimConfig, "") == []


def test_schema_file_in_sync_with_dataclasses() -> None:
    """The committed schema is generated from the dataclasses (`make schema` regenerates it)."""
    on_disk = json.loads(schema_path().read_text())
    assert on_disk == json_schema(LemsimConfig, "lemsim configuration"), (
        "workflow/schemas/config.schema.json is stale: run `python -m pipeline.config`"
    )


def test_schema_rejects_what_from_dict_rejects() -> None:
    schema = json.loads(schema_path().read_text())
    good = to_dict(load_config("smoke"))
    bad = json.loads(json.dumps(good))
    bad["networks"]["fcn"]["epochs"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    with pytest.raises(ConfigError, match="networks.fcn.epochs = 0"):
        from_dict(LemsimConfig, bad)


def test_a_range_must_admit_its_default() -> None:
    @dataclass
    class Broken:
        x: float = param(-1.0, lo=0.0)
        """A field whose default violates its range."""

    with pytest.raises(ConfigError, match="x = -1.0"):
        from_dict(Broken, {})


@dataclass
class _Inner:
    v: list[float] = param(default_factory=lambda: [1.0], lo=0.0, lo_open=True)
    """Positive values."""
    name: str | None = None
    """Optional name."""


@dataclass
class _Outer:
    inner: _Inner = field(default_factory=_Inner)
    """Nested."""


def test_nested_lists_and_optional() -> None:
    assert from_dict(_Outer, {"inner": {"v": [2, 3.5], "name": None}}).inner.v == [2.0, 3.5]
    with pytest.raises(ConfigError, match=r"inner\.v\[0\] = 0.0: must be in \(0, inf\]"):
        from_dict(_Outer, {"inner": {"v": [0]}})


def test_command_line_values_beat_the_scale_file() -> None:
    """Snakemake merges --config into the base before we see it; it is passed again as overrides
    so that it wins over the scale file (precedence: config.yaml < scale < command line)."""
    cli = {"scale": "smoke", "networks": {"fcn": {"epochs": 2}}}
    raw = {"scale": "default", "seed": 1, **cli}
    cfg = from_dict(LemsimConfig, resolve_raw(raw, overrides=cli))
    assert cfg.networks.fcn.epochs == 2
    assert cfg.networks.fcn.train_samples == 500  # still from smoke.yaml


def test_resolve_raw_reads_config_yaml(repo_root) -> None:
    raw = resolve_raw(overrides={"scale": "smoke"})
    assert raw["scale"] == "smoke" and raw["results"] == "results"


def test_physics_source_is_the_default_at_every_scale() -> None:
    for scale in ("smoke", "default", "paper"):
        assert load_config(scale).compact.source == "physics", scale


def test_physics_source_without_the_device_stage_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"compact.source = 'physics' with device.enabled"):
        load_config("default", overrides={"device.enabled": False})
    cfg = load_config("default", overrides={"device.enabled": False, "compact.source": "paper"})
    assert cfg.compact.source == "paper"
