"""The Figure 9 study's results: one JSON line per scored run, summed up per network.

``benchmarks/figure9_study.py`` trains each network of the paper's Figure 9 with several seeds
and appends one record per run to ``benchmarks/results/figure9.jsonl``: ``network`` (the
model), ``seed``, ``distort``, ``passes``, ``images``, ``test_errors`` (of 10,000),
``test_error``, ``train_error``, ``train_seconds``, ``parameters``, ``multiply_adds``,
``lenet_version``, ``commit``, ``date``, ``cpu``, ``command`` (and ``distort_all``: true for a
run of ``--distort-all``); boosted LeNet-4's add ``cost``
(against one net: 1 + 2 x the share of test images on which nets 2 and 3 ran), ``threshold``,
``net1_test_errors`` and ``boosting`` (its settings), its ``parameters`` being the three nets'
and its ``multiply_adds`` one net's times the cost. ``read_results`` reads such a file,
``summarize`` makes one ``Row`` per network (its seeds' mean and range beside the paper's
figures): the study's Markdown table and ``lenet figures --figure9`` are drawn from it.
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

from ..paper import BOOSTING_COST, FIGURE9, FIGURE9_NAMES, PASSES

__all__ = ["MNIST_TRAINING_IMAGES", "Row", "read_results", "stamp", "summarize"]

#: the training images of a full run (a run on fewer says so in its row's name)
MNIST_TRAINING_IMAGES = 60_000


@dataclass(frozen=True)
class Row:
    """One network of Figure 9 as lenet measured it: errors in percent of the test set."""

    network: str  #: the model (lenet train --model), "paper" for LeNet-5
    distort: bool  #: trained on distorted images
    name: str  #: the paper's label, with " [dist]" when distorted, and the budget if not full
    paper_error: float | None  #: Figure 9's test error (%), None where it has none
    errors: tuple[float, ...]  #: each seed's test error (%), by seed
    seeds: tuple[int, ...]
    parameters: int
    multiply_adds: int  #: the mean over the seeds
    paper_multiply_adds: float | None  #: Figure 11, thousands
    paper_variables: float | None  #: Figure 12, thousands
    train_seconds: float  #: the mean over the seeds
    versions: tuple[str, ...]  #: lenet versions the records were measured with
    commits: tuple[str, ...]
    #: a boosted network's average cost against one net, the mean over the seeds (None: one net)
    cost: float | None = None
    #: the paper's (``lenet.paper.BOOSTING_COST``) where ``cost`` is given
    paper_cost: float | None = None
    #: (lenet version, commit, date) of each seed's record, as stamped
    builds: tuple[tuple[str, str, str], ...] = ()
    #: trained with every version of the fixed distorted set in each pass (--distort-all)
    distort_all: bool = False

    @property
    def mean(self) -> float:
        return statistics.mean(self.errors)

    @property
    def low(self) -> float:
        return min(self.errors)

    @property
    def high(self) -> float:
        return max(self.errors)


def read_results(path: str | os.PathLike) -> list[dict]:
    """The records of a results file (one JSON object a line; blank lines skipped). A line
    that is no JSON object raises ValueError naming the file and the line."""
    records = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}, line {number}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}, line {number}: not a JSON object")
        records.append(record)
    return records


def _order(network: str) -> int:
    """Figure 9's order: the fully connected nets, LeNet-1, LeNet-4, ..., LeNet-5; others last."""
    names = list(FIGURE9)
    return names.index(network) if network in names else len(names)


def summarize(records: list[dict]) -> list[Row]:
    """One Row per (network, distorted, distort_all, passes, training images) of the records, in
    Figure 9's order; a run scored twice (--rescore) counts once, by its last record."""
    runs: dict[tuple, dict[int, dict]] = {}
    for r in records:
        if r.get("study", "figure9") != "figure9" or "test_errors" not in r:
            continue
        every = bool(r.get("distort_all"))
        key = (r["network"], bool(r.get("distort")), every, r["passes"], r["images"])
        runs.setdefault(key, {})[r["seed"]] = r
    rows = []
    for key in sorted(runs, key=lambda k: (_order(k[0]), k[1], k[2], -k[4], -k[3])):
        network, distort, every, passes, images = key
        by_seed = [runs[key][s] for s in sorted(runs[key])]
        paper = FIGURE9.get(network, {})
        costs = [r["cost"] for r in by_seed if "cost" in r]
        # [dist, every version]: the fixed set's every version in each pass (--distort-all)
        label = (" [dist, every version]" if every else " [dist]") if distort else ""
        name = FIGURE9_NAMES.get(network, network) + label
        if passes != PASSES or images != MNIST_TRAINING_IMAGES:
            name += f" ({passes} pass{'es' if passes != 1 else ''}, {images:,} images)"
        rows.append(
            Row(
                network=network,
                distort=distort,
                name=name,
                paper_error=paper.get("distorted" if distort else "error"),
                errors=tuple(100 * r["test_errors"] / 10_000 for r in by_seed),
                seeds=tuple(r["seed"] for r in by_seed),
                parameters=by_seed[-1]["parameters"],
                # boosted LeNet-4's vary with its cost: their mean
                multiply_adds=round(statistics.mean(r["multiply_adds"] for r in by_seed)),
                paper_multiply_adds=paper.get("multiply_adds"),
                paper_variables=paper.get("variables"),
                train_seconds=statistics.mean(r["train_seconds"] for r in by_seed),
                versions=tuple(sorted({str(r["lenet_version"]) for r in by_seed})),
                commits=tuple(sorted({str(r["commit"]) for r in by_seed})),
                cost=statistics.mean(costs) if costs else None,
                paper_cost=BOOSTING_COST if costs else None,
                builds=tuple(
                    (str(r["lenet_version"]), str(r["commit"]), str(r.get("date", "")))
                    for r in by_seed
                ),
                distort_all=every,
            )
        )
    return rows


def stamp(rows: list[Row]) -> str:
    """What measured the rows: "lenet 0.1.0, commit 093bb16c; 3-5 seeds per network"."""
    versions = sorted({v for row in rows for v in row.versions})
    commits = sorted({_short(c) for row in rows for c in row.commits})
    counts = sorted({len(row.seeds) for row in rows})
    seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    return (
        f"lenet {', '.join(versions)}, commit{'s' if len(commits) > 1 else ''} "
        f"{', '.join(commits)}; {seeds} seed{'s' if counts[-1] > 1 else ''} per network"
    )


def _short(commit: str) -> str:
    """A commit as the stamp shows it: 8 hex digits, "-dirty" kept."""
    return commit[:8] + ("-dirty" if commit.endswith("-dirty") else "")
