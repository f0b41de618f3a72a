"""The road from 1998 to today: the paper's LeNet-5 changed, one part at a time, into the
network and recipe of the seed's Keras run, each row trained with several seeds.

    python benchmarks/road_study.py                       # rows 0..8, 3 seeds, 2 processes
    python benchmarks/road_study.py --rows 0 5 --seeds 0  # some of them
    python benchmarks/road_study.py --limit 2000 --passes 1 --results /tmp/road.jsonl  # quick
    python benchmarks/road_study.py --report              # the table, as Markdown

Row r is ``lenet train`` with the options of ``lenet.run.recipes.road_options(r)`` (each row
keeps the changes above it; ``ROAD`` says what each changes): row 0 is the paper's recipe, row
8 the seed's network and recipe. Every run trains on the 60,000 training images (or the first
--limit) and is scored once, at the end, on the 10,000 test images by
``lenet.reference_network.network_forward`` (plain NumPy in float64, no code shared with the
training path). No choice is made here: the study measures rows fixed beforehand.

The runs go to parallel processes, one thread each (--jobs, default 2); each finished run is
appended as one JSON line to --results (default benchmarks/results/road.jsonl), and runs already
there are skipped, so a study stopped at any point resumes where it left off. A record:
study, row, change, seed, passes, images, test_errors (images wrong), test_error (their
share), train_seconds, parameters (trainable), lenet_version, commit, date, cpu, command.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from pathlib import Path
from typing import Any

import lenet
from lenet.data import load_mnist, preprocess
from lenet.reference_network import network_errors
from lenet.run.figure9 import MNIST_TRAINING_IMAGES
from lenet.run.recipes import ROAD, road_options, road_recipe
from lenet.run.training import load_data, network_for

from records import append, build, mean_range, read_jsonl, stamp

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "road.jsonl"


def command(row: int, seed: int, passes: int | None, limit: int | None) -> str:
    """The ``lenet train`` command that trains the same run."""
    words = ["lenet", "train", *road_options(row)]
    if passes is not None:  # a quick run: every row gets these passes
        if "--passes" in words:
            at = words.index("--passes")
            del words[at : at + 2]
        words += ["--passes", str(passes)]
    if limit is not None:
        words += ["--limit", str(limit)]
    return " ".join([*words, "--seed", str(seed)])


def one_run(job: tuple[int, int, int | None, int | None, str | None]) -> dict:
    """Train row ``row`` with ``seed`` and score it; a run that fails is recorded with its
    error (a diverged run is a result too), and the study goes on."""
    row, seed, passes, limit, data = job
    record: dict[str, Any] = {"study": "road", "row": row, "change": ROAD[row][0], "seed": seed}
    try:
        record.update(_train(row, seed, passes, limit, data))
    except Exception as failed:
        record["error"] = f"{type(failed).__name__}: {failed}"
    record.update(stamp(), command=command(row, seed, passes, limit))
    return record


def _train(row: int, seed: int, passes: int | None, limit: int | None, data: str | None) -> dict:
    lenet.set_num_threads(1)
    settings: dict[str, Any] = {"seed": seed, "limit": limit}
    if passes is not None:
        settings["passes"] = passes
    recipe = road_recipe(row, **settings)
    train_data, _ = load_data(recipe, data, download=False)
    net = network_for(recipe, train_data[0].shape[1:])
    started = time.perf_counter()
    lenet.train(net, train_data, None, recipe, progress=False, echo=None)
    seconds = time.perf_counter() - started
    (_, _), (xte, yte) = load_mnist(data, download=False)
    x = preprocess(xte, recipe.preprocessing, dtype="float64")
    wrong = network_errors(net, x, yte)
    return {
        "passes": recipe.passes,
        "images": images(limit),
        "test_errors": wrong,
        "test_error": wrong / len(yte),
        "train_seconds": round(seconds, 1),
        "parameters": int(net.parameter_mask.sum()),
    }


def images(limit: int | None) -> int:
    """The training images of a run given --limit (a record's "images")."""
    return MNIST_TRAINING_IMAGES if limit is None else min(limit, MNIST_TRAINING_IMAGES)


def road_runs(records: list[dict]) -> dict[int, list[dict]]:
    """The runs that count for each row of ``ROAD`` (an empty list for a row not measured):
    the road's records without an error, and of a row only those of its most images and
    passes (a quick check does not mix with the full study)."""
    done = [r for r in records if r.get("study") == "road" and "error" not in r]
    counted = {}
    for row in range(len(ROAD)):
        runs = [r for r in done if r["row"] == row]
        if runs:
            biggest = max((r["images"], r["passes"]) for r in runs)
            runs = [r for r in runs if (r["images"], r["passes"]) == biggest]
        counted[row] = runs
    return counted


def road_table(records: list[dict]) -> str:
    """The road as a Markdown table: per row its change, the test error's mean and range over
    the seeds, the parameters and the minutes a run trained, stamped with the version and
    commit measured. Rows without a record say "not measured yet"; only the runs of the most
    passes and images of a row count (``road_runs``)."""
    counted = road_runs(records)
    done = [r for runs in counted.values() for r in runs]
    lines = [
        "| row | change | seeds | test error, mean (min .. max) | parameters | minutes per run |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for row, (change, _) in enumerate(ROAD):
        runs = counted[row]
        if not runs:
            lines.append(f"| {row} | {change} | 0 | not measured yet | | |")
            continue
        errors = [100 * r["test_error"] for r in runs]
        minutes = statistics.mean(r["train_seconds"] for r in runs) / 60
        lines.append(
            f"| {row} | {change} | {len(runs)} | {mean_range(errors)} | "
            f"{runs[0]['parameters']:,} | "
            f"{minutes:.1f} |"
        )
    measured = build(done) if done else "nothing yet"
    sizes = sorted({(r["images"], r["passes"]) for r in done})
    budget = "; ".join(f"{i:,} images, {p} pass{'es' if p != 1 else ''}" for i, p in sizes)
    lines.append("")
    lines.append(f"Measured with {measured}" + (f" ({budget})." if budget else "."))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", nargs="+", type=int, default=list(range(len(ROAD))))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--passes", type=int, help="every row this many passes (quick check)")
    parser.add_argument("--limit", type=int, help="train on the first LIMIT images (quick)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--data", help="folder holding MNIST (default: where lenet looks)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--report", action="store_true", help="print the table and stop")
    args = parser.parse_args()
    for row in args.rows:
        if not 0 <= row < len(ROAD):
            parser.error(f"--rows: {row} is not a row 0 .. {len(ROAD) - 1}")
    if args.report:
        print(road_table(read_jsonl(args.results)))
        return
    done = set()
    for r in read_jsonl(args.results):
        if "error" not in r:  # a failed run is tried again
            done.add((r["row"], r["seed"], r["images"], r["passes"]))
    jobs = [
        (row, seed, args.passes, args.limit, args.data)
        for seed in args.seeds
        for row in args.rows
        if (row, seed, images(args.limit), args.passes or road_recipe(row).passes) not in done
    ]
    print(f"{len(jobs)} runs to make ({len(done)} done already), {args.jobs} at a time")
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        for record in pool.imap_unordered(one_run, jobs):
            append(args.results, record)
            what = f"row {record['row']} seed {record['seed']}"
            if "error" in record:
                print(f"{what}: {record['error']}", flush=True)
            else:
                print(
                    f"{what}: test error {100 * record['test_error']:.2f} %, "
                    f"{record['train_seconds']:.0f} s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
