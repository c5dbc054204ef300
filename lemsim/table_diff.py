"""Which rows of two paper-vs-simulation tables moved, and by how much against a tolerance.

``lemsim table-diff A.csv B.csv`` compares the ``simulated`` column of two tables with the
columns of ``results/tables/paper_vs_sim.csv`` (rows matched by ``id``). The tolerance of a
row is the ``tol`` column of ``A`` (a golden table has one), else of ``B``, else ``--tol``:

* ``0.05``: absolute, in the row's unit (``|B - A| <= 0.05``);
* ``2%``: relative to ``|A|``;
* empty or ``0``: the values must be equal.

A row whose value is text with numbers in it (``UPENN 39.71; Contrast Net 25.63``) must keep
its text around the numbers, and each number is judged by the row's tolerance; other text
(``nan``, a qualitative row) must match exactly. Each row is
``same`` (equal), ``within`` (moved inside its tolerance), ``MOVED`` (outside it), ``added`` or
``removed``; the command exits 1 when any row is ``MOVED``, ``added`` or ``removed``.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: A number inside a text value (sign, digits, decimals, exponent).
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")

#: Statuses that fail the comparison.
FAILING = ("MOVED", "added", "removed")


@dataclass(frozen=True)
class RowChange:
    """The comparison of one row of two tables."""

    id: str
    """Row id (``D3``, ``F4``, ...)."""
    before: str
    """``simulated`` of table A (empty when the row is only in B)."""
    after: str
    """``simulated`` of table B (empty when the row is only in A)."""
    delta: float | None
    """``after - before`` when both are finite numbers, else None."""
    tol: str
    """Tolerance the row was judged by (text as in the ``tol`` column)."""
    status: str
    """``same``, ``within``, ``MOVED``, ``added`` or ``removed``."""


def read_table(path: str | Path) -> dict[str, dict[str, str]]:
    """Rows of a CSV table by ``id``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file lacks an ``id`` or ``simulated`` column, or repeats an id.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"id", "simulated"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: columns {sorted(missing)} missing (has "
                             f"{reader.fieldnames})")
        rows: dict[str, dict[str, str]] = {}
        for row in reader:
            if row["id"] in rows:
                raise ValueError(f"{path}: row id {row['id']!r} appears twice")
            rows[row["id"]] = row
    return rows


def parse_tol(text: str) -> tuple[float, float]:
    """``(absolute, relative)`` tolerance of a ``tol`` text (module docstring).

    Raises:
        ValueError: not a non-negative number or percentage.
    """
    s = (text or "").strip()
    if not s:
        return 0.0, 0.0
    rel = s.endswith("%")
    try:
        value = float(s[:-1] if rel else s)
    except ValueError:
        raise ValueError(f"tol = {text!r}: must be a number (absolute) or a percentage such as "
                         "'2%'") from None
    if not value >= 0.0:
        raise ValueError(f"tol = {text!r}: must be >= 0")
    return (0.0, value / 100.0) if rel else (value, 0.0)


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _within(a: float, b: float, abs_tol: float, rel_tol: float) -> bool:
    return abs(b - a) <= abs_tol + rel_tol * abs(a)


def compare_row(row_id: str, before: str, after: str, tol: str) -> RowChange:
    """Judge one row: equal, within ``tol`` or moved (module docstring)."""
    abs_tol, rel_tol = parse_tol(tol)
    a, b = _number(before), _number(after)
    if a is not None and b is not None:
        delta = b - a
        status = ("same" if delta == 0.0 else
                  "within" if _within(a, b, abs_tol, rel_tol) else "MOVED")
        return RowChange(row_id, before, after, delta, tol, status)
    if before.strip() == after.strip():
        return RowChange(row_id, before, after, None, tol, "same")
    na, nb = _NUMBER.findall(before), _NUMBER.findall(after)
    same_text = _NUMBER.sub("#", before).strip() == _NUMBER.sub("#", after).strip()
    ok = same_text and len(na) == len(nb) and all(
        _within(float(x), float(y), abs_tol, rel_tol) for x, y in zip(na, nb, strict=True))
    return RowChange(row_id, before, after, None, tol, "within" if ok else "MOVED")


def diff_tables(before: Mapping[str, Mapping[str, str]], after: Mapping[str, Mapping[str, str]],
                default_tol: str = "") -> list[RowChange]:
    """Compare the ``simulated`` values of two tables row by row (order of ``before``, then
    the rows only in ``after``)."""
    out = []
    for rid, row in before.items():
        if rid not in after:
            out.append(RowChange(rid, row.get("simulated", ""), "", None,
                                 row.get("tol", ""), "removed"))
            continue
        other = after[rid]
        tol = row.get("tol") or other.get("tol") or default_tol
        out.append(compare_row(rid, row.get("simulated", ""), other.get("simulated", ""), tol))
    out += [RowChange(rid, "", row.get("simulated", ""), None, row.get("tol", ""), "added")
            for rid, row in after.items() if rid not in before]
    return out


def diff_files(a: str | Path, b: str | Path, default_tol: str = "") -> list[RowChange]:
    """:func:`diff_tables` of two CSV files."""
    return diff_tables(read_table(a), read_table(b), default_tol)


def failures(changes: Sequence[RowChange]) -> list[RowChange]:
    """The rows that fail the comparison (:data:`FAILING`)."""
    return [c for c in changes if c.status in FAILING]


def format_changes(changes: Sequence[RowChange], show_all: bool = False) -> str:
    """A fixed-width text table of the changed rows (every row with ``show_all``)."""
    shown = [c for c in changes if show_all or c.status != "same"]
    lines = [f"{'id':<5} {'status':<8} {'A':>14} {'B':>14} {'B - A':>12} {'rel':>9}  tol"]
    for c in shown:
        a = _number(c.before)
        rel = f"{c.delta / abs(a):+.2%}" if c.delta is not None and a else ""
        delta = f"{c.delta:+.4g}" if c.delta is not None else ""
        lines.append(f"{c.id:<5} {c.status:<8} {c.before[:14]:>14} {c.after[:14]:>14} "
                     f"{delta:>12} {rel:>9}  {c.tol or '0'}")
    n_fail = len(failures(changes))
    lines.append(f"{len(changes)} rows: {sum(c.status == 'same' for c in changes)} same, "
                 f"{sum(c.status == 'within' for c in changes)} within tolerance, "
                 f"{n_fail} outside it (moved, added or removed)")
    return "\n".join(lines)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """Options of ``lemsim table-diff``."""
    ap.add_argument("a", help="reference table A (e.g. a golden table with a 'tol' column)")
    ap.add_argument("b", help="table B, compared with A")
    ap.add_argument("--tol", default="",
                    help="tolerance of rows without a 'tol' column: absolute (0.05) or "
                         "relative (2%%); default: equal")
    ap.add_argument("--all", action="store_true", help="print unchanged rows too")


def run(args: argparse.Namespace) -> int:
    """Print the diff; 0 when every row is within its tolerance, 1 otherwise, 2 on bad input."""
    try:
        changes = diff_files(args.a, args.b, args.tol)
        print(format_changes(changes, show_all=args.all))
    except (OSError, ValueError) as err:
        print(f"error: {err}")
        return 2
    return 1 if failures(changes) else 0
