"""The paper's numbers (``docs/targets.md``) and the paper-vs-simulation table.

Each stage writes its measured rows to ``results/tables/rows/<stage>.json`` as
``{"rows": [{"id": "D3", "simulated": 0.21, "definition": "...", "source_stage": "..."}]}``
(:func:`write_rows`); :func:`build_table` merges them under the fixed list :data:`TARGETS` and
writes ``results/tables/paper_vs_sim.csv`` with the columns
``id, figure, quantity, paper, simulated, preset_value, unit, scale, source_stage, role,
synapse_source, definition``. A target that no stage filled is never left silently blank: its
``definition`` says that it was not produced and why.

* ``role``: ``calibrated`` for a device row whose number was a target of the stack's parameter
  fit (:data:`CALIBRATED_IDS`: the residuals of ``device_physics.calibration``), ``predicted``
  for every other row;
* ``synapse_source``: for the network rows (F, U, S), the compact model the networks ran on
  (``physics:<stack>`` or ``preset:paper``, the ``synapse_source`` of ``nlem.json``);
* ``preset_value``: for the network rows, the same row run on ``preset:paper`` when a stage
  ran it (the FCN co-design, rule ``circuits_fcn_preset``); blank otherwise, with the reason
  in ``definition`` (:data:`PRESET_NOT_RUN`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lemsim.io import atomic_path, write_json

#: The repository's copy of the paper's numbers, one table row per target.
TARGETS_DOC = Path(__file__).resolve().parents[1] / "docs" / "targets.md"

COLUMNS = ("id", "figure", "quantity", "paper", "simulated", "preset_value", "unit", "scale",
           "source_stage", "role", "synapse_source", "definition")

#: Device rows whose paper number was a target of the stack's calibration (the residuals of
#: ``device_physics.calibration.WEIGHTS``: D3-D7, D10-D12; a test keeps the two in step).
CALIBRATED_IDS = frozenset({"D3", "D4", "D5", "D6", "D7", "D10", "D11", "D12"})

#: Prefixes of the rows measured on the networks, which name their synapse source.
NETWORK_PREFIXES = ("F", "U", "S")

#: Why a network row has no ``preset_value`` (per row family).
PRESET_NOT_RUN = {
    "F": "the FCN co-design was not run on preset:paper at this scale",
    "U": "UPENN is not rerun on preset:paper: its training takes 10+ min at default scale, "
         "and a second run would exceed the make reproduce budget",
    "S": "USRNN is not rerun on preset:paper: its training takes 10+ min at default scale, "
         "and a second run would exceed the make reproduce budget",
}


@dataclass(frozen=True)
class Target:
    """One row of docs/targets.md."""

    id: str
    """Row id (D1..D14, F1..F4, U1..U5, S1..S5)."""
    figure: str
    """Paper figure or panel."""
    quantity: str
    """What is measured."""
    paper: str
    """The paper's value (text: some rows are qualitative)."""
    unit: str
    """Unit of ``paper`` and ``simulated`` (empty when dimensionless)."""
    stage: str
    """Stage expected to fill the row."""
    definition: str
    """Protocol and definition used here."""


TARGETS: tuple[Target, ...] = (
    Target("D1", "Fig. 2a", "I-V hysteresis", "counter-clockwise; conductance and peak brightness "
           "grow over 3 scans", "", "device_physics",
           "three 0->6->0 V dark sweeps; loop area sign and I(6 V), L(6 V) per scan"),
    Target("D2", "Fig. 2c", "EPSC/EPSB under 10 pulses", "strongly correlated", "",
           "device_physics", "10 pulses, 5 V, 30 ms, 30 ms interval; per-pulse peaks A_k, B_k"),
    Target("D3", "Fig. 2d", "nonlinearity NL, current", "0.20", "", "device_physics",
           "NL = max_k|g_k - lin_k|/(g_N - g_1), g_k normalised peak of pulse k, lin_k chord "
           "from g_1 to g_N"),
    Target("D4", "Fig. 2d", "nonlinearity NL, light", "0.27", "", "device_physics",
           "NL as D3 on the light peaks B_k"),
    Target("D5", "Fig. 2c", "Pearson r(I, L)", "0.999", "", "device_physics",
           "Pearson correlation of the per-pulse peaks of D2"),
    Target("D6", "Fig. 2f", "EPSC gain A_N/A_1", "1.38 (N=10) -> 2.40 (N=50)", "",
           "device_physics", "N = 10, 30, 50 pulses; simulated: gain at N = 50"),
    Target("D7", "Fig. 2f", "EPSB gain B_N/B_1", "1.57 (N=10) -> 3.17 (N=50)", "",
           "device_physics", "as D6 on light; simulated: gain at N = 50"),
    Target("D8", "Fig. 2g", "PPF index vs interval", "decays with interval, exponential fit", "s",
           "device_physics", "(A_2 - A_1)/A_1 for pulse pairs, intervals 10 ms..10 s; "
           "simulated: fitted time constant"),
    Target("D9", "Fig. 2h", "UV suppression", "current and light drop under UV", "",
           "device_physics", "4 V, 30 ms read pulses with UV on vs off; simulated: I_on/I_off"),
    Target("D10", "Fig. S15", "natural decay time", "71.6", "s", "device_physics",
           "50 pulses then dark rest; time for the read current to lose 63.06 % of its gain"),
    Target("D11", "Fig. S16", "UV reset time", "2.52", "s", "device_physics",
           "50 pulses then UV at 70 mW/cm2; time to erase the gain"),
    Target("D12", "Fig. S16", "reset / decay time ratio", "<= 3.52", "%", "device_physics",
           "D11 / D10"),
    Target("D13", "Fig. 2b", "multi-level states", "distinguishable conductance under 15 cyclic "
           "I-V scans", "levels", "device_physics",
           "count of levels separated by more than the read noise"),
    Target("D14", "Fig. 3", "mechanism", "only IDTBT/PVP/QD(ZnO) shows negative UV "
           "photoconductance; built-in field opposite the applied one", "", "device_physics",
           "sign of dI under UV for each control stack; interface fields with and without UV"),
    Target("F1", "Fig. 4a", "FCN structure", "784-5-5-20-C; 25 weights as 50 N-LEMs, 15 states "
           "per sign", "", "networks", "structure as built"),
    Target("F2", "Fig. 4", "FCN data", "MNIST 5000 train / 1000 test", "samples", "networks",
           "training and test samples used"),
    Target("F3", "Fig. 4e", "accuracy vs number of classes", "99 (2 classes) -> 73.48 (largest)",
           "%", "networks", "FCN-2 test accuracy for 2..10 classes; simulated: largest task"),
    Target("F4", "Fig. 4f", "4-class accuracy FCN-1 / FCN-2 / ideal", "91.6 / 90.23 / 94.95", "%",
           "networks", "4-class test accuracy; simulated: FCN-2 (others in definition)"),
    Target("U1", "Fig. 5a", "depth", "UPENN 54 weighted layers (16 CIBlocks); Contrast Net 50",
           "layers", "networks", "weighted layers counted in the built UPENN"),
    Target("U2", "Fig. 5b,c", "gradients", "Contrast Net: falls ~10x in stage 4, ~1e-8 in "
           "stage 1; UPENN: no exponential decay", "", "networks",
           "ratio of mean |grad| stage 1 / stage 4 per network"),
    Target("U3", "Fig. 5d-f", "feature-map SSIM normal vs pneumonia", "UPENN 0.052, Contrast "
           "0.925", "", "networks", "SSIM of stage-4 feature maps; simulated: UPENN"),
    Target("U4", "Fig. 5g", "pre-learning accuracy, 8 unseen sets", "UPENN 86.71, Contrast 21.36",
           "%", "networks", "mean accuracy without training; simulated: UPENN"),
    Target("U5", "Fig. 5h", "re-learning accuracy", "UPENN 90.76, Contrast 21.31", "%",
           "networks", "mean accuracy after re-learning; simulated: UPENN"),
    Target("S1", "Fig. 6a", "USRNN depth", "133 (x2), 135 (x4)", "layers", "networks",
           "conv, ReLU and PixelShuffle modules counted in the built USRNN (x2)"),
    Target("S2", "Fig. 6", "training", "x2 on 48x48 LR patches; x4 by fine-tuning upsampler + "
           "tail", "", "networks", "training protocol as run"),
    Target("S3", "Fig. 6b-d", "comparison", "Y-channel PSNR/SSIM vs bicubic, SRCNN, VDSR, "
           "SRResNet", "dB", "networks", "Set5 x2 Y-PSNR of USRNN"),
    Target("S4", "Fig. 6b", "one shown image", "28.94 dB / 0.8975, best of all methods", "dB",
           "networks", "PSNR of USRNN on the shown image"),
    Target("S5", "Fig. 6f", "overall x2", "35.15", "dB", "networks",
           "mean Y-PSNR over Set5 and Set14 at x2"),
)

TARGET_IDS = tuple(t.id for t in TARGETS)


def doc_target_ids(path: str | Path = TARGETS_DOC) -> tuple[str, ...]:
    """Row ids (``D1``, ``F3``, ...) of the target tables in ``docs/targets.md``, in order.

    Raises:
        FileNotFoundError: ``path`` does not exist (it names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"paper targets file {path} not found (docs/targets.md of the "
                                "repository)")
    return tuple(re.findall(r"^\| ([DFUS]\d+) \|", path.read_text(encoding="utf-8"), re.M))


def write_rows(path: str | Path, rows: Iterable[Mapping[str, Any]], config: Any = None) -> Path:
    """Write a stage's measured rows (validated against :data:`TARGET_IDS`).

    Raises:
        ValueError: a row has an unknown ``id`` or no ``simulated`` key.
    """
    clean = []
    for row in rows:
        if row.get("id") not in TARGET_IDS:
            raise ValueError(f"row id = {row.get('id')!r}: must be one of {', '.join(TARGET_IDS)}")
        if "simulated" not in row:
            raise ValueError(f"row {row['id']}: missing 'simulated'")
        clean.append(dict(row))
    return write_json(path, {"rows": clean}, config=config)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.6g}"
    return str(value)


def _read_rows(files: Iterable[str | Path]) -> dict[str, Mapping[str, Any]]:
    measured: dict[str, Mapping[str, Any]] = {}
    for f in files:
        for row in json.loads(Path(f).read_text(encoding="utf-8"))["rows"]:
            measured[row["id"]] = row
    return measured


def build_table(row_files: Iterable[str | Path], scale: str, synapse_source: str = "",
                preset_files: Iterable[str | Path] = ()) -> list[dict[str, str]]:
    """Merge the stages' row files under :data:`TARGETS` (later files win on the same id).

    Args:
        row_files: The stages' row files.
        scale: Scale of the run (every row's ``scale``).
        synapse_source: Synapse source of the network rows that do not name their own (the
            ``synapse_source`` of the ``nlem.json`` the networks ran on; empty: unknown).
        preset_files: Row files of the network rows run on ``preset:paper`` (their
            ``simulated`` becomes the ``preset_value`` of the same row).
    """
    measured = _read_rows(row_files)
    preset = _read_rows(preset_files)
    table = []
    for t in TARGETS:
        row = measured.get(t.id)
        role = "calibrated" if t.id in CALIBRATED_IDS else "predicted"
        network = t.id.startswith(NETWORK_PREFIXES)
        if row is None:
            table.append({"id": t.id, "figure": t.figure, "quantity": t.quantity,
                          "paper": t.paper, "simulated": "", "preset_value": "", "unit": t.unit,
                          "scale": scale, "source_stage": t.stage, "role": role,
                          "synapse_source": "",
                          "definition": f"NOT PRODUCED: no {t.stage} rule filled this row at "
                                        f"this scale. Intended: {t.definition}"})
            continue
        definition = str(row.get("definition", t.definition))
        source = str(row.get("synapse_source", synapse_source if network else ""))
        pv = ""
        if network:
            if t.id in preset:
                pv = _fmt(preset[t.id]["simulated"])
                how = preset[t.id].get("definition")
                definition += (f"; preset_value: the same on preset:paper ({pv}"
                               + (f": {how})" if how else ")"))
            elif source.startswith("preset:"):
                pv = _fmt(row["simulated"])
                definition += "; preset_value: this run is on the preset"
            else:
                definition += f"; preset_value blank: {PRESET_NOT_RUN[t.id[0]]}"
        table.append({"id": t.id, "figure": t.figure, "quantity": t.quantity, "paper": t.paper,
                      "simulated": _fmt(row["simulated"]), "preset_value": pv,
                      "unit": row.get("unit", t.unit), "scale": scale,
                      "source_stage": row.get("source_stage", t.stage), "role": role,
                      "synapse_source": source, "definition": definition})
    return table


def write_table(path: str | Path, table: list[dict[str, str]]) -> Path:
    """Write the table as CSV, atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
    return Path(path)
