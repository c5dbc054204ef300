"""Machinery for typed, validated configuration dataclasses.

Every section of the configuration is a dataclass whose fields carry a docstring (the string
literal right after the field, aihwkit style; the unit is written in it) and, where it applies,
an allowed range given with :func:`param`. One source of truth serves three purposes:

* :func:`from_dict` builds the dataclass tree from plain YAML/JSON data and rejects unknown
  keys, wrong types and out-of-range values in *one* :class:`ConfigError` that names every
  offending key path, its value and what is allowed;
* :func:`json_schema` generates the JSON Schema that ``workflow/Snakefile`` hands to
  Snakemake's ``validate()``;
* :func:`field_docs` exposes the per-field docstrings, and :func:`config_markdown` writes them
  with types, defaults and ranges as the key reference `config/README.md`.

Every YAML file of the project (configs, scale files, stacks, protocols, study overrides) is
read with :func:`load_yaml`: safe loading that refuses duplicate keys (PyYAML would keep the
last one silently) and names the file and line of a duplicate or a syntax error.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import math
import textwrap
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml


class ConfigError(ValueError):
    """Invalid configuration; the message lists every offending key path."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(
            "invalid lemsim configuration:\n" + "\n".join(f"  - {p}" for p in self.problems)
        )


class YamlFileError(ValueError):
    """A YAML file that cannot be read: syntax error or duplicate key (file and line named)."""


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, line: int, first: int):
        super().__init__(f"duplicate key {key!r}")
        self.key, self.line, self.first = key, line, first


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that raises on a key repeated within one mapping."""


def _unique_mapping(loader: UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False
                    ) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # "<<" merges may override keys
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:  # unhashable key: SafeLoader reports it
            break
        line = key_node.start_mark.line + 1
        if first is not None:
            raise _DuplicateKey(key, line, first)
        seen[key] = line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML ``text`` with :class:`UniqueKeyLoader`.

    Raises:
        YamlFileError: syntax error or duplicate key, naming ``source`` and the line.
    """
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        raise YamlFileError(f"{source}: line {exc.line}: duplicate key {exc.key!r} (first at "
                            f"line {exc.first}); each key may appear once") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = getattr(exc, "problem", None) or str(exc)
        raise YamlFileError(f"{source}: {where}not valid YAML ({what})") from None


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file with :func:`parse_yaml` (an empty file gives None).

    Raises:
        FileNotFoundError: no such file.
        YamlFileError: not UTF-8 text, a syntax error or a duplicate key (file, line named).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlFileError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") \
            from None
    return parse_yaml(text, str(p))


def param(
    default: Any = MISSING,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    choices: tuple[Any, ...] | None = None,
    default_factory: Any = MISSING,
    min_items: int | None = None,
    allow_inf: bool = False,
) -> Any:
    """A dataclass field with an allowed range or a set of allowed values.

    Float fields refuse NaN always and infinities unless ``allow_inf`` (a field that means
    something by ``inf`` says so in its docstring).

    Args:
        default: Default value.
        lo: Lower bound (inclusive unless ``lo_open``); for lists it applies to every item.
        hi: Upper bound (inclusive unless ``hi_open``).
        lo_open: Exclude ``lo`` itself.
        hi_open: Exclude ``hi`` itself.
        choices: Allowed values (for strings; for lists of strings, of every item).
        default_factory: Factory for mutable defaults (lists).
        min_items: Fewest items a list field may hold.
        allow_inf: Accept ``inf``/``-inf`` in a float field.
    """
    meta = {"lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "choices": choices,
            "min_items": min_items, "allow_inf": allow_inf}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


@cache
def field_docs(cls: type) -> dict[str, str]:
    """Docstrings of a dataclass's fields: the string literal following each field."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            src = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):  # pragma: no cover - classes built at run time
            continue
        body = ast.parse(src).body[0].body  # type: ignore[attr-defined]
        for node, nxt in zip(body, body[1:] + [None], strict=True):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _range_text(meta: Mapping[str, Any]) -> str:
    if meta.get("choices") is not None:
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    lo, hi = meta.get("lo"), meta.get("hi")
    left = "(" if meta.get("lo_open") else "["
    right = ")" if meta.get("hi_open") else "]"
    lo_s = "-inf" if lo is None else _num_text(lo)
    hi_s = "inf" if hi is None else _num_text(hi)
    if lo is None and hi is None:
        return "any value"
    return f"in {left}{lo_s}, {hi_s}{right}"


def _num_text(value: float) -> str:
    """A bound as written: integers in full, floats in the shortest ``g`` form."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _check_range(path: str, value: Any, meta: Mapping[str, Any], problems: list[str]) -> None:
    if meta.get("choices") is not None:
        if value not in meta["choices"]:
            problems.append(f"{path} = {value!r}: must be {_range_text(meta)}")
        return
    lo, hi = meta.get("lo"), meta.get("hi")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    bad = False
    if lo is not None and (value < lo or (meta.get("lo_open") and value == lo)):
        bad = True
    if hi is not None and (value > hi or (meta.get("hi_open") and value == hi)):
        bad = True
    if value != value:  # NaN
        bad = True
    if bad:
        problems.append(f"{path} = {value!r}: must be {_range_text(meta)}")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _from_cli_string(value: str, tp: type) -> Any:
    """Snakemake's ``--config a={b: 1}`` hands nested values over as strings: convert a string
    that spells a value of the target type exactly (``"3"`` for int, ``"1e-3"`` for float,
    ``"true"``/``"false"`` for bool); anything else is returned unchanged and then rejected."""
    text = value.strip()
    if tp is bool:
        return {"true": True, "false": False}.get(text.lower(), value)
    try:
        return int(text) if tp is int else float(text)
    except ValueError:
        return value


def _convert(path: str, value: Any, tp: Any, meta: Mapping[str, Any], problems: list[str]) -> Any:
    """Convert ``value`` to type ``tp``; append to ``problems`` and return None when it fails."""
    origin = get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in get_args(tp) if a is not type(None)]
        if value is None and len(args) < len(get_args(tp)):
            return None
        return _convert(path, value, args[0], meta, problems)
    if origin is Literal:
        if value not in get_args(tp):
            problems.append(f"{path} = {value!r}: must be one of {list(get_args(tp))}")
            return None
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            problems.append(f"{path} = {value!r}: must be a mapping (section {_type_name(tp)})")
            return None
        return _build(tp, value, path, problems)
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            problems.append(f"{path} = {value!r}: must be a list")
            return None
        n_min = meta.get("min_items")
        if n_min is not None and len(value) < n_min:
            problems.append(f"{path} = {list(value)!r}: must hold at least {n_min} item"
                            + ("s" if n_min > 1 else ""))
            return None
        (item_tp, *_) = get_args(tp) or (Any,)
        out = [_convert(f"{path}[{i}]", v, item_tp, meta, problems) for i, v in enumerate(value)]
        return out if origin is list else tuple(out)
    if origin is dict:
        if not isinstance(value, Mapping):
            problems.append(f"{path} = {value!r}: must be a mapping")
            return None
        return dict(value)
    if tp is Any:
        return value
    if isinstance(value, str) and tp in (bool, int, float):
        value = _from_cli_string(value, tp)
    if tp is bool:
        if not isinstance(value, bool):
            problems.append(f"{path} = {value!r}: must be true or false")
            return None
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path} = {value!r}: must be an integer")
            return None
        _check_range(path, value, meta, problems)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{path} = {value!r}: must be a number")
            return None
        if value != value or (not meta.get("allow_inf") and value in (math.inf, -math.inf)):
            problems.append(f"{path} = {value!r}: must be a finite number")
            return None
        _check_range(path, float(value), meta, problems)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            problems.append(f"{path} = {value!r}: must be a string")
            return None
        _check_range(path, value, meta, problems)
        return value
    problems.append(f"{path}: unsupported field type {_type_name(tp)}")  # pragma: no cover
    return None


def _build(cls: type, data: Mapping[str, Any], prefix: str, problems: list[str]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for key in data:
        if key not in fields:
            where = f"{prefix}.{key}" if prefix else str(key)
            problems.append(
                f"{where}: unknown key (allowed in {prefix or 'the top level'}: "
                f"{', '.join(sorted(fields))})"
            )
    for name, f in fields.items():
        where = f"{prefix}.{name}" if prefix else name
        if name in data:
            kwargs[name] = _convert(where, data[name], hints[name], f.metadata, problems)
        elif dataclasses.is_dataclass(hints[name]) and f.default is MISSING and (
            f.default_factory is MISSING
        ):
            kwargs[name] = _build(hints[name], {}, where, problems)
        elif f.default is MISSING and f.default_factory is MISSING:
            problems.append(f"{where}: required key is missing")
        else:
            default = f.default_factory() if f.default is MISSING else f.default
            # Defaults are checked too: a range must admit its own default.
            _convert(where, default if not dataclasses.is_dataclass(default)
                     else dataclasses.asdict(default), hints[name], f.metadata, problems)
    if problems:
        return None
    return cls(**kwargs)


def from_dict(cls: type, data: Mapping[str, Any] | None, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from plain data, validating keys, types and ranges.

    Raises:
        ConfigError: listing every unknown key, wrong type and out-of-range value by key path.
    """
    problems: list[str] = []
    obj = _build(cls, data or {}, prefix, problems)
    if problems:
        raise ConfigError(problems)
    return obj


def to_dict(obj: Any) -> Any:
    """Plain-data (JSON-ready) form of a config dataclass tree."""
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def json_schema(cls: type, title: str | None = None) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) generated from dataclass ``cls``."""

    def schema_of(tp: Any, meta: Mapping[str, Any]) -> dict[str, Any]:
        origin = get_origin(tp)
        if origin in (types.UnionType, typing.Union):
            args = [a for a in get_args(tp) if a is not type(None)]
            inner = schema_of(args[0], meta)
            return {"anyOf": [inner, {"type": "null"}]}
        if origin is Literal:
            return {"enum": list(get_args(tp))}
        if dataclasses.is_dataclass(tp):
            return obj_schema(tp)
        if origin in (list, tuple):
            (item_tp, *_) = get_args(tp) or (Any,)
            arr = {"type": "array", "items": schema_of(item_tp, meta)}
            if meta.get("min_items") is not None:
                arr["minItems"] = meta["min_items"]
            return arr
        if origin is dict:
            return {"type": "object"}
        out: dict[str, Any] = {}
        if tp is bool:
            out["type"] = "boolean"
        elif tp is int:
            out["type"] = "integer"
        elif tp is float:
            out["type"] = "number"
        elif tp is str:
            out["type"] = "string"
        if meta.get("choices") is not None:
            out["enum"] = list(meta["choices"])
        if meta.get("lo") is not None:
            out["exclusiveMinimum" if meta.get("lo_open") else "minimum"] = meta["lo"]
        if meta.get("hi") is not None:
            out["exclusiveMaximum" if meta.get("hi_open") else "maximum"] = meta["hi"]
        return out

    def obj_schema(klass: type) -> dict[str, Any]:
        docs = field_docs(klass)
        hints = _hints(klass)
        props = {}
        for f in dataclasses.fields(klass):
            s = schema_of(hints[f.name], f.metadata)
            if f.name in docs:
                s = {"description": docs[f.name], **s}
            props[f.name] = s
        out: dict[str, Any] = {"type": "object", "properties": props,
                               "additionalProperties": False}
        if klass.__doc__:
            out["description"] = " ".join(klass.__doc__.split())
        return out

    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **obj_schema(cls)}
    if title:
        schema["title"] = title
    return schema




def _type_text(tp: Any) -> str:
    """Readable type of a field: ``int``, ``list[str]``, ``float | None``, a section's name."""
    if isinstance(tp, type) and get_origin(tp) is None:
        return "section" if dataclasses.is_dataclass(tp) else tp.__name__
    return str(tp).replace("typing.", "")


def _value_text(value: Any) -> str:
    """A value as it is written in the YAML files (inline), for a Markdown table cell."""
    if dataclasses.is_dataclass(value):
        return ""
    text = json.dumps(value, ensure_ascii=False)
    return "`" + text.replace("|", "\\|") + "`"


def _lookup(data: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def config_markdown(cls: type, title: str, intro: str = "",
                    scales: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """Markdown reference of every key of config dataclass ``cls``, one table per section.

    Each row gives the key, its type, its default, the allowed range (from :func:`param`), the
    values that configuration files set (``scales``: file label -> that file's nested mapping)
    and the field's docstring, so the document says the same as the dataclasses and the JSON
    Schema.

    Args:
        cls: Root config dataclass.
        title: First heading.
        intro: Markdown put under the title.
        scales: Values set by each configuration file, keyed by a label for it.
    """
    scales = dict(scales or {})
    lines = [f"# {title}", ""]
    if intro:
        lines += [intro.strip(), ""]
    sections: list[tuple[str, type]] = [("", cls)]
    while sections:
        prefix, klass = sections.pop(0)
        hints, docs = _hints(klass), field_docs(klass)
        heading = f"`{prefix}`" if prefix else "Top level"
        lines += [f"## {heading}", ""]
        if klass.__doc__:
            lines += [" ".join(klass.__doc__.split()), ""]
        lines += ["| key | type | default | allowed | set in files | description |",
                  "|---|---|---|---|---|---|"]
        nested: list[tuple[str, type]] = []
        for f in dataclasses.fields(klass):
            path = f"{prefix}.{f.name}" if prefix else f.name
            tp = hints[f.name]
            if dataclasses.is_dataclass(tp):
                nested.append((path, tp))
                default = f"section [`{path}`](#{path.replace('.', '')})"
            else:
                value = f.default_factory() if f.default is MISSING else f.default
                default = _value_text(value)
            allowed = "" if dataclasses.is_dataclass(tp) else (
                _range_text(f.metadata) if f.metadata else "any value")
            by_scale = "; ".join(
                f"{name}: {_value_text(v)}" for name, data in scales.items()
                for found, v in [_lookup(data, path)]
                if found and not isinstance(v, Mapping)
            )
            doc = docs.get(f.name, "").replace("|", "\\|")
            lines.append(f"| `{f.name}` | {_type_text(tp).replace('|', '\\|')} | {default} | "
                         f"{allowed} | {by_scale} | {doc} |")
        lines.append("")
        sections = nested + sections
    return "\n".join(lines).rstrip() + "\n"
