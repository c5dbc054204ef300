"""Wall time of a Snakemake run per rule and per pipeline stage, from Snakemake's own records.

Snakemake keeps, for every output it made, a JSON record in ``<workdir>/.snakemake/metadata/``
(file name = base64 of the output path) with the rule, the job hash and the job's ``starttime``
and ``endtime`` (Unix seconds). This module reads the records of the outputs under one results
directory, merges the outputs of one job (same job hash), and sums per rule and per stage.

Two numbers per stage, because rules run in parallel (``--cores``):

* ``job_s``: the sum of its jobs' wall times (core-slot seconds when each job has one thread);
* ``span_s``: from its first job's start to its last job's end (the wall clock the stage held).

Usage::

    python -m pipeline.timings results            # table on stdout, results/tables/timings.csv

Decision: stages are named by rule-name prefix (:data:`STAGES`); a rule matching none is its own
stage, so a new rule is never silently dropped.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from lemsim.io import atomic_path

STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("data", ("prepare_data",)),
    ("device physics", ("device_",)),
    ("physics studies", ("study_",)),
    ("compact model", ("fit_compact", "compact_")),
    ("circuits", ("circuits_",)),
    ("UPENN and Contrast Net", ("upenn_",)),
    ("USRNN and SR baselines", ("usrnn_",)),
    ("material sweep", ("sweep_",)),
    ("table and provenance", ("paper_table", "provenance", "report")),
)
"""Pipeline stage of a rule: the first stage with a prefix the rule name starts with."""


@dataclass(frozen=True)
class Job:
    """One finished Snakemake job."""

    rule: str
    """Rule name."""
    start: float
    """Start time (Unix seconds)."""
    end: float
    """End time (Unix seconds)."""
    outputs: tuple[str, ...]
    """Its output paths under the results directory."""

    @property
    def wall_s(self) -> float:
        """Wall time of the job (s)."""
        return self.end - self.start


def stage_of(rule: str) -> str:
    """Pipeline stage of ``rule`` (see :data:`STAGES`)."""
    for stage, prefixes in STAGES:
        if any(rule == p or rule.startswith(p) for p in prefixes):
            return stage
    return rule


def _decode(name: str) -> str:
    return base64.b64decode(name.replace("@", "/") + "=" * (-len(name) % 4)).decode()


def collect_jobs(results: str | Path, workdir: str | Path = ".") -> list[Job]:
    """Finished jobs whose outputs lie under ``results``, from ``workdir``'s Snakemake records.

    Args:
        results: the run's results directory (``config["results"]``).
        workdir: the Snakemake working directory (the repository root).

    Raises:
        FileNotFoundError: ``workdir`` has no ``.snakemake/metadata`` (nothing was run there).
    """
    meta = Path(workdir) / ".snakemake" / "metadata"
    if not meta.is_dir():
        raise FileNotFoundError(f"workdir={str(workdir)!r} has no .snakemake/metadata records")
    root = Path(results).resolve()
    groups: dict[tuple[str, int], list[tuple[str, dict]]] = {}
    for rec in meta.iterdir():
        try:
            out = _decode(rec.name)
            data = json.loads(rec.read_text())
        except (ValueError, UnicodeDecodeError, OSError):
            continue  # not a record (Snakemake keeps other files there too)
        path = Path(out) if Path(out).is_absolute() else Path(workdir) / out
        if not path.resolve().is_relative_to(root) or data.get("incomplete"):
            continue
        if data.get("starttime") is None or data.get("endtime") is None:
            continue
        groups.setdefault((data["rule"], data.get("job_hash", id(rec))), []).append((out, data))
    jobs = [
        Job(rule=rule, start=min(d["starttime"] for _, d in recs),
            end=max(d["endtime"] for _, d in recs), outputs=tuple(sorted(o for o, _ in recs)))
        for (rule, _), recs in groups.items()
    ]
    return sorted(jobs, key=lambda j: j.start)


def summarise(jobs: list[Job]) -> list[dict[str, object]]:
    """Rows per stage, in pipeline order: jobs, job_s (sum), span_s (first start to last end)."""
    by_stage: dict[str, list[Job]] = {}
    for job in jobs:
        by_stage.setdefault(stage_of(job.rule), []).append(job)
    order = [s for s, _ in STAGES] + sorted(set(by_stage) - {s for s, _ in STAGES})
    rows: list[dict[str, object]] = []
    for stage in order:
        js = by_stage.get(stage)
        if not js:
            continue
        rows.append({
            "stage": stage, "jobs": len(js), "job_s": round(sum(j.wall_s for j in js), 1),
            "span_s": round(max(j.end for j in js) - min(j.start for j in js), 1),
            "slowest_rule": max(js, key=lambda j: j.wall_s).rule,
            "slowest_s": round(max(j.wall_s for j in js), 1),
        })
    if jobs:
        rows.append({
            "stage": "whole run", "jobs": len(jobs),
            "job_s": round(sum(j.wall_s for j in jobs), 1),
            "span_s": round(max(j.end for j in jobs) - min(j.start for j in jobs), 1),
            "slowest_rule": max(jobs, key=lambda j: j.wall_s).rule,
            "slowest_s": round(max(j.wall_s for j in jobs), 1),
        })
    return rows


def to_csv(rows: list[dict[str, object]]) -> str:
    """The stage rows as CSV text."""
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """Options of the timings command (also ``lemsim timings``)."""
    ap.add_argument("results", help="results directory of the run")
    ap.add_argument("--workdir", default=".", help="Snakemake working directory (repo root)")
    ap.add_argument("--out", default=None, help="CSV path (default <results>/tables/timings.csv)")


def main(argv: list[str] | None = None) -> int:
    """CLI: print the stage table of a run and write ``<results>/tables/timings.csv``."""
    ap = argparse.ArgumentParser(prog="python -m pipeline.timings",
                                 description=__doc__.split("\n")[0])
    add_arguments(ap)
    return run(ap.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Print and write the stage table with parsed options (:func:`add_arguments`)."""
    rows = summarise(collect_jobs(args.results, args.workdir))
    if not rows:
        print(f"no finished jobs with outputs under {args.results!r}")
        return 1
    out = Path(args.out or Path(args.results) / "tables" / "timings.csv")
    with atomic_path(out) as tmp:
        tmp.write_text(to_csv(rows))
    width = max(len(str(r["stage"])) for r in rows)
    print(f"{'stage':<{width}}  jobs    job_s   span_s  slowest rule")
    for r in rows:
        print(f"{r['stage']!s:<{width}}  {r['jobs']:>4}  {r['job_s']:>7}  {r['span_s']:>7}  "
              f"{r['slowest_rule']} ({r['slowest_s']} s)")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
