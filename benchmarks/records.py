"""The studies' results files: ``benchmarks/results/*.jsonl``, one JSON object a line per run.

Every study reads its file with ``read_jsonl``, appends each finished run with ``append``, and
stamps a new record with ``stamp()``: the lenet version, the commit of this checkout, the time
and the machine. ``build``, ``spread`` and ``seeds`` say the same of records on every table that
states them (the pages, and the studies' --report).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import lenet

from machine import describe

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
#: A record's date, in UTC (the format of figure9.jsonl's first records).
DATE = "%Y-%m-%dT%H:%M:%SZ"
NOT_YET = "not measured yet"

Record = dict[str, Any]


def read_jsonl(path: str | os.PathLike) -> list[Record]:
    """The records of a results file (none when it does not exist); blank lines skipped."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def append(path: str | os.PathLike, record: Record) -> None:
    """Add one record to the end of a results file (made, with its folder, if missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(record) + "\n")


def commit() -> str:
    """git rev-parse HEAD of this checkout, "-dirty" when tracked files differ from it (the
    results files aside: a study appends to them as it runs); "unknown" outside a git
    checkout."""

    def git(*words: str) -> str:
        return subprocess.run(
            ["git", *words], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "HEAD")
        aside = ":!" + str(RESULTS.relative_to(ROOT))
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", aside)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def stamp() -> Record:
    """What a new record is stamped with: lenet_version, commit, date, cpu."""
    return {
        "lenet_version": lenet.__version__,
        "commit": commit(),
        "date": time.strftime(DATE, time.gmtime()),
        "cpu": describe(),
    }


# ---- what the tables say of records ------------------------------------------------------


def build(records: list[Record]) -> str:
    """Which builds measured `records`: "lenet V, commit C (date)", one per distinct build."""
    return build_of(
        (r.get("lenet_version", "?"), r.get("commit", "?"), r.get("date", "")) for r in records
    )


def build_of(stamps: Iterable[tuple[str, str, str]]) -> str:
    """``build`` of the (lenet version, commit, date) of each record."""
    builds = sorted({(version, short(commit_), date) for version, commit_, date in stamps})
    if any(v == "?" for v, _, _ in builds):
        return "an earlier build (unstamped records)"
    by_commit: dict[tuple[str, str], list[str]] = {}
    for version, commit_, date in builds:
        by_commit.setdefault((version, commit_), []).append(date)
    return "; ".join(
        f"lenet {v}, commit {c}" + (f" ({max(dates)})" if max(dates) else "")
        for (v, c), dates in by_commit.items()
    )


def short(commit_: str) -> str:
    """A commit as the tables show it: 10 hex digits, and "-dirty" when the checkout had
    changes (then the commit alone did not make the figures)."""
    return commit_[:10] + ("-dirty" if commit_.endswith("-dirty") else "")


def spread(fractions: Sequence[float]) -> str:
    """Fractions' mean in percent with their range: "1.04 % (1.00 .. 1.07)"."""
    return mean_range([100 * f for f in fractions])


def mean_range(values: Sequence[float]) -> str:
    """Percentages' mean with their range: "1.04 % (1.00 .. 1.07)"; one alone: "1.04 %"."""
    if len(values) == 1:
        return f"{values[0]:.2f} %"
    return f"{statistics.mean(values):.2f} % ({min(values):.2f} .. {max(values):.2f})"


def seeds(runs: list[Record]) -> str:
    """The runs' seeds in order: "0, 1, 2"."""
    return ", ".join(str(r["seed"]) for r in sorted(runs, key=lambda r: r["seed"]))
