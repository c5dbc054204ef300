"""YAML loading and config validation under random fragments (hypothesis), dotted overrides.

Random duplicate keys end in YamlFileError naming the file, key and line; random wrong types
and non-finite numbers at random config leaves end in ConfigError naming the key path; valid
fragments round-trip through dump -> parse unchanged.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lemsim.configtools import ConfigError, YamlFileError, from_dict, load_yaml, parse_yaml
from pipeline.config import LemsimConfig, load_config, resolve_raw

EXAMPLES = 60


def _leaves(cls: type, prefix: str = "") -> list[tuple[str, typing.Any, dict]]:
    """(dotted path, type, field metadata) of every scalar or list leaf of a config tree."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        path = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(tp):
            out += _leaves(tp, path + ".")
        elif tp in (int, float, str, bool) or typing.get_origin(tp) is list:
            out.append((path, tp, dict(f.metadata)))
    return out


LEAVES = _leaves(LemsimConfig)
FLOATS = [leaf for leaf in LEAVES if leaf[1] is float]


def _nest(path: str, value: object) -> dict:
    head, *rest = path.split(".")
    return {head: _nest(".".join(rest), value) if rest else value}


def _wrong(tp: typing.Any) -> st.SearchStrategy[object]:
    """Values of the wrong type for a field of type ``tp``."""
    words = st.text(alphabet="abcxyz", min_size=1, max_size=6).filter(
        lambda s: s.lower() not in ("true", "false"))
    if tp is bool:
        return st.one_of(words, st.integers(2, 9), st.lists(st.booleans(), max_size=2))
    if tp in (int, float):
        return st.one_of(words, st.lists(st.integers(), max_size=2),
                         st.dictionaries(words, st.integers(), min_size=1, max_size=1))
    if tp is str:
        return st.one_of(st.integers(), st.lists(words, max_size=2), st.booleans())
    return st.one_of(st.integers(), words.filter(lambda s: True), st.booleans())  # lists


scalar = st.one_of(st.integers(-1000, 1000), st.booleans(), st.text("abc", max_size=4),
                   st.floats(-1e3, 1e3, allow_nan=False))
keys = st.text(alphabet="abcdefgh_", min_size=1, max_size=6)
trees = st.recursive(scalar, lambda kids: st.dictionaries(keys, kids, max_size=4), max_leaves=12)


@settings(max_examples=EXAMPLES, deadline=None)
@given(tree=st.dictionaries(keys, trees, min_size=1, max_size=4))
def test_valid_yaml_round_trips(tree) -> None:
    assert parse_yaml(yaml.safe_dump(tree), "t.yaml") == tree


@settings(max_examples=EXAMPLES, deadline=None)
@given(tree=st.dictionaries(keys, trees, min_size=1, max_size=4), depth=st.integers(0, 3),
       data=st.data())
def test_duplicate_keys_anywhere_are_named(tree, depth, data) -> None:
    # descend to a random mapping, then repeat one of its keys at the end of its block
    node = tree
    for _ in range(depth):
        subs = [k for k, v in node.items() if isinstance(v, dict) and v]
        if not subs:
            break
        node = node[data.draw(st.sampled_from(sorted(subs)))]
    key = data.draw(st.sampled_from(sorted(node)))
    marker = "__dup_marker__"
    node[marker] = 0
    text = yaml.safe_dump(tree, sort_keys=False, default_flow_style=False)
    line = next(ln for ln in text.splitlines() if ln.lstrip().startswith(marker + ":"))
    indent = line[: len(line) - len(line.lstrip())]
    dup = f"{indent}{yaml.safe_dump({key: 1}, default_flow_style=False).strip()}"
    text = text.replace(line, dup, 1)
    with pytest.raises(YamlFileError) as err:
        parse_yaml(text, "frag.yaml")
    msg = str(err.value)
    assert msg.startswith("frag.yaml: line ") and f"duplicate key {key!r}" in msg


@settings(max_examples=2 * EXAMPLES, deadline=None)
@given(leaf=st.sampled_from(LEAVES), data=st.data())
def test_wrong_types_at_random_leaves_name_the_key(leaf, data) -> None:
    path, tp, _ = leaf
    value = data.draw(_wrong(tp))
    with pytest.raises(ConfigError) as err:
        from_dict(LemsimConfig, parse_yaml(yaml.safe_dump(_nest(path, value)), "frag.yaml"))
    assert path in str(err.value)


@settings(max_examples=EXAMPLES, deadline=None)
@given(leaf=st.sampled_from(FLOATS),
       value=st.sampled_from([float("inf"), float("-inf"), float("nan")]))
def test_non_finite_floats_are_refused(leaf, value) -> None:
    path = leaf[0]
    with pytest.raises(ConfigError, match=rf"{path} = -?(inf|nan): must be a finite number"):
        from_dict(LemsimConfig, parse_yaml(yaml.safe_dump(_nest(path, value)), "f.yaml"))


def test_dotted_overrides_expand_before_validation(tmp_path: Path) -> None:
    over = tmp_path / "over.yaml"  # what `snakemake --configfile over.yaml` passes
    over.write_text("networks.fcn.epochs: 2\nnetworks.upenn.variants: [upenn]\n")
    raw = resolve_raw(overrides=load_yaml(over))
    assert raw["networks"]["fcn"]["epochs"] == 2 and "networks.fcn.epochs" not in raw
    cfg = load_config("smoke", overrides=load_yaml(over))
    assert cfg.networks.fcn.epochs == 2  # over the smoke file's 3
    assert cfg.networks.upenn.variants == ["upenn"]
    with pytest.raises(ConfigError, match=r"networks.fcn.epochs = 0: must be in \[1"):
        load_config(overrides={"networks.fcn.epochs": 0})



def test_scale_files_resolve_in_the_working_directory_first(tmp_path: Path, monkeypatch) -> None:
    from pipeline.config import CONFIG_DIR, default_config_dir

    assert default_config_dir() == Path.cwd() / "config" or default_config_dir() == CONFIG_DIR
    monkeypatch.chdir(tmp_path)  # no config/ here: the bundled files
    assert default_config_dir() == CONFIG_DIR
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("scale: smoke\n")
    (tmp_path / "config" / "smoke.yaml").write_text("networks: {fcn: {epochs: 7}}\n")
    assert default_config_dir() == tmp_path / "config"
    assert resolve_raw()["networks"]["fcn"]["epochs"] == 7
    from pipeline.config import config_sources

    (tmp_path / "over.yaml").write_text("seed: 3\n")
    assert config_sources("smoke", ["over.yaml"]) == [
        str((tmp_path / p).resolve()) for p in ("config/config.yaml", "config/smoke.yaml",
                                                "over.yaml")]


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.one_of(st.binary(max_size=40), st.text(max_size=40).map(str.encode)))
def test_random_bytes_as_a_config_file(tmp_path_factory, data) -> None:
    from pipeline.config import read_yaml

    path = tmp_path_factory.mktemp("cfg") / "over.yaml"
    path.write_bytes(data)
    try:
        over = read_yaml(path)
    except ConfigError as exc:
        assert "over.yaml" in str(exc)
        return
    try:
        from_dict(LemsimConfig, over)
    except ConfigError:
        pass  # named keys; a mapping of valid keys would be a valid config
