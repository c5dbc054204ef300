"""The pipeline configuration: root dataclass, YAML loading, scales and overrides.

Loading (:func:`load_config`) merges ``config/config.yaml`` with the scale file
``config/<scale>.yaml`` (``smoke``, ``default`` or ``paper``) and then with overrides. Override
keys may be dotted paths (``networks.fcn.epochs: 3``), as in a file given to Snakemake's
``--configfile`` (its ``--config`` parser itself refuses dots in key names; there, write
``'networks={fcn: {epochs: 3}}'``). Scale files are read from the working directory's
``config/`` when it has one (:func:`default_config_dir`). Every YAML file is read with
:func:`lemsim.configtools.load_yaml` (duplicate keys are errors).
Each stage owns its section dataclass in ``<package>/config.py`` (light modules: no heavy
imports), so a stage and its schema live side by side; validation machinery is in
:mod:`lemsim.configtools`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from circuits.config import CircuitsConfig
from compact_model.config import CompactConfig
from device_physics.config import DeviceConfig
from device_physics.studies_config import StudiesConfig
from lemsim.configtools import (
    ConfigError,
    YamlFileError,
    config_markdown,
    from_dict,
    json_schema,
    load_yaml,
    param,
)
from networks.config import NetworksConfig
from pipeline.sweep_config import SweepConfig

#: Repository root (the folder holding ``config/``).
ROOT = Path(__file__).resolve().parents[1]
#: Folder of the YAML configuration files.
CONFIG_DIR = ROOT / "config"
#: Scales a run can use (docs/architecture.md, "Scales").
SCALES = ("smoke", "default", "paper")

__all__ = ["ConfigError", "LemsimConfig", "load_config", "resolve_raw", "config_sources",
           "SCALES", "ROOT"]


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive merge: mappings merge key by key, anything else in ``over`` replaces."""
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def expand_dotted(data: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``{"a.b.c": 1}`` into ``{"a": {"b": {"c": 1}}}`` (other keys unchanged)."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, Mapping):
            v = expand_dotted(v)
        if isinstance(k, str) and "." in k:
            head, *rest = k.split(".")
            node: dict[str, Any] = {}
            cur = node
            for part in rest[:-1]:
                cur[part] = {}
                cur = cur[part]
            cur[rest[-1]] = v
            out = deep_merge(out, {head: node})
        elif isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out = deep_merge(out, {k: v})
        else:
            out[k] = v
    return out


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping (an empty file is an empty mapping)."""
    try:
        data = load_yaml(path) or {}
    except YamlFileError as exc:
        raise ConfigError([str(exc)]) from None
    if not isinstance(data, Mapping):
        raise ConfigError([f"{path}: top level must be a mapping, got {type(data).__name__}"])
    return dict(data)


def default_config_dir() -> Path:
    """``config/`` of the working directory (Snakemake's ``--directory``) when it holds a
    ``config.yaml``, else the folder bundled with the installed package: a second checkout
    sharing one environment reads its own scale files."""
    here = Path.cwd() / "config"
    return here if (here / "config.yaml").is_file() else CONFIG_DIR


def resolve_raw(
    raw: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    config_dir: Path | None = None,
) -> dict[str, Any]:
    """Merge base config, scale file and overrides into one plain mapping (not yet validated).

    Args:
        raw: The base mapping (Snakemake's ``config`` after ``configfile:``); read from
            ``config/config.yaml`` when None.
        overrides: Mapping of (possibly dotted) keys applied last.
        config_dir: Where the scale files live (default :func:`default_config_dir`).
    """
    cdir = Path(config_dir) if config_dir else default_config_dir()
    base = expand_dotted(dict(raw) if raw is not None else read_yaml(cdir / "config.yaml"))
    over = expand_dotted(dict(overrides or {}))
    scale = over.get("scale", base.get("scale", "default"))
    if scale not in SCALES:
        raise ConfigError([f"scale = {scale!r}: must be one of {', '.join(SCALES)}"])
    scale_file = cdir / f"{scale}.yaml"
    scale_data = expand_dotted(read_yaml(scale_file)) if scale_file.exists() else {}
    merged = deep_merge(deep_merge(base, scale_data), over)
    merged["scale"] = scale
    return merged


def config_sources(scale: str, extra: Sequence[str | Path] = (),
                   config_dir: Path | None = None) -> list[str]:
    """Absolute paths of the YAML files a run's configuration is read from, in merge order:
    ``config.yaml`` and the scale file (from :func:`default_config_dir`) and ``extra`` (the
    ``--configfile`` files). Recorded in ``provenance.json``."""
    cdir = Path(config_dir) if config_dir else default_config_dir()
    files = [cdir / "config.yaml", cdir / f"{scale}.yaml", *map(Path, extra)]
    return [str(f.resolve()) for f in files if f.is_file()]


def load_config(
    scale: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    raw: Mapping[str, Any] | None = None,
    config_dir: Path | None = None,
) -> LemsimConfig:
    """Load and validate the pipeline configuration.

    Args:
        scale: ``smoke``, ``default`` or ``paper`` (overrides the ``scale`` key of the base).
        overrides: Extra values, dotted keys allowed, applied last.
        raw: Base mapping instead of reading ``config/config.yaml``.
        config_dir: Folder of the YAML files.

    Raises:
        ConfigError: naming every bad key path, value and allowed range.
    """
    over = dict(overrides or {})
    if scale is not None:
        over["scale"] = scale
    return from_dict(LemsimConfig, resolve_raw(raw, over, config_dir))


@dataclass
class ReportConfig:
    """What the HTML report and the paper-vs-simulation table contain."""

    title: str = "lemsim: simulated reproduction of Chen et al., Nat. Commun. 2024"
    """Title of the HTML report."""


@dataclass
class LemsimConfig:
    """Root of the pipeline configuration (``config/config.yaml`` + scale file + overrides)."""

    scale: str = param("default", choices=SCALES)
    """Scale of the run: ``smoke`` (CI, minutes), ``default`` (2-core laptop, about an hour),
    ``paper`` (GPU or cluster, hours). Recorded in every table row."""
    seed: int = param(1234, lo=0, hi=2**31 - 1)
    """Master random seed; every stage derives its generators from it."""
    results: str = "results"
    """Output folder of the DAG, relative to the repository root."""
    device: DeviceConfig = field(default_factory=DeviceConfig)
    """Drift-diffusion of the N-LEM stack (device_physics)."""
    studies: StudiesConfig = field(default_factory=StudiesConfig)
    """Mechanism studies, physics sweeps and physics figures (device_physics.studies)."""
    sweep: SweepConfig = field(default_factory=SweepConfig)
    """Material-to-accuracy sweep: PVP trap density x UV intensity -> FCN-2 accuracy."""
    compact: CompactConfig = field(default_factory=CompactConfig)
    """Compact N-LEM model (compact_model)."""
    circuits: CircuitsConfig = field(default_factory=CircuitsConfig)
    """Crossbar and photodiode circuits (circuits)."""
    networks: NetworksConfig = field(default_factory=NetworksConfig)
    """Datasets and network experiments (networks)."""
    report: ReportConfig = field(default_factory=ReportConfig)
    """HTML report and tables."""

    def __post_init__(self) -> None:
        """Cross-section checks (a compact model fitted to physics needs the physics stage)."""
        if self.compact.source == "physics" and not self.device.enabled:
            raise ConfigError([
                "compact.source = 'physics' with device.enabled = false: the physics fit needs "
                "the drift-diffusion traces; enable the device stage or set compact.source = "
                "'paper' (the preset fitted to the paper's numbers)"])


def schema_path() -> Path:
    """Where the generated JSON Schema is kept."""
    return ROOT / "workflow" / "schemas" / "config.schema.json"


def write_schema(path: Path | None = None) -> Path:
    """(Re)generate the JSON Schema file from the dataclasses."""
    path = Path(path or schema_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(json_schema(LemsimConfig, "lemsim configuration"), indent=1) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def config_doc_path() -> Path:
    """Where the generated key reference is kept (the workflow catalog's ``config/README.md``)."""
    return CONFIG_DIR / "README.md"


_DOC_INTRO = """\
Generated from the configuration dataclasses (`<package>/config.py`) by
`python -m pipeline.config` (`make schema`), like `workflow/schemas/config.schema.json`; a test
keeps both in sync. Do not edit by hand: edit the field's docstring and regenerate.

A run reads `config/config.yaml`, merges the scale file `config/<scale>.yaml` on top
(`smoke`, `default` or `paper`, chosen with `--config scale=...`) and then the values given on
the command line, where keys may be dotted paths:

```bash
snakemake --cores all --config scale=smoke networks.fcn.epochs=5
snakemake --cores all --configfile my_overrides.yaml
```

Unknown keys, wrong types and out-of-range values stop the run before any rule, with the key
path, the value and what is allowed. *default* is the dataclass default (the `default` scale);
*set in files* lists the values `config.yaml` and the scale files set instead. Stacks
(`config/stacks/*.yaml`) and protocols (`config/protocols/*.yaml`) are files of their own,
named by the keys below."""


def config_markdown_text(config_dir: Path | None = None) -> str:
    """The key reference: every key of :class:`LemsimConfig` with what the YAML files set."""
    cdir = Path(config_dir) if config_dir else CONFIG_DIR
    files = {"config.yaml": cdir / "config.yaml",
             **{scale: cdir / f"{scale}.yaml" for scale in SCALES}}
    values = {name: expand_dotted(read_yaml(path)) for name, path in files.items()
              if path.exists()}
    return config_markdown(LemsimConfig, "lemsim configuration keys", _DOC_INTRO, values)


def write_config_doc(path: Path | None = None) -> Path:
    """(Re)generate ``config/README.md`` from the dataclasses and the YAML files."""
    path = Path(path or config_doc_path())
    path.write_text(config_markdown_text(), encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover
    print(write_schema())
    print(write_config_doc())
