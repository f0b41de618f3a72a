"""The choices for Figure 9's other networks, made on a validation split: the step size of the
paper's method (SDLM's first eta, the schedule scaled to it, and its damping mu) per network.

    python benchmarks/family_validation.py --models lenet1 fc-300 --lr 5e-4 1e-3 2e-3 --mu 0.5
    python benchmarks/family_validation.py --report

Each run trains on training images 0 .. 49,999 with the network's recipe (``lenet.RECIPES``),
the given lr and mu, and measures the error on images 50,000 .. 59,999 after every pass; the
test set is not read. Each finished run is one JSON line in --results (default
benchmarks/results/family_validation.jsonl), stamped with the lenet version and commit;
runs already there are skipped, so the script resumes where it stopped. Runs go to --jobs
processes, one thread each.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import time
from dataclasses import replace
from pathlib import Path

import lenet
from lenet.data import load_mnist
from lenet.engine.inputs import Preprocessed
from lenet.run.training import network_for

from records import NOT_YET, RESULTS, append, build, read_jsonl, seeds, spread, stamp

VALIDATION = 10_000  # the last images of the training set


def one_run(job: tuple[str, float, float, int, int, str | None]) -> dict:
    model, lr, mu, seed, passes, data = job
    lenet.set_num_threads(1)
    recipe = replace(lenet.RECIPES[model], lr=lr, mu=mu, seed=seed, passes=passes)
    (x, y), _ = load_mnist(data)
    split = len(x) - VALIDATION
    images = Preprocessed(x, recipe.preprocessing)
    net = network_for(recipe, images.shape[1:])
    started = time.perf_counter()
    history = lenet.train(
        net,
        (images[:split], y[:split].astype("int64")),
        (images[split:], y[split:].astype("int64")),
        recipe,
        progress=False,
        echo=None,
    )
    return {
        "study": "family-validation",
        "model": model,
        "lr": lr,
        "mu": mu,
        "seed": seed,
        "passes": passes,
        "validation_error": [r["test_error"] for r in history],
        "train_error": [r["train_error"] for r in history],
        "seconds": round(time.perf_counter() - started, 1),
        **stamp(),
    }


def validation_table(records: list[dict]) -> str:
    """Per network and (lr, mu, passes): the validation error after the last pass, mean and
    range over the seeds, and the builds that measured it ("not measured yet" without
    records)."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        if "error" not in r:
            groups.setdefault((r["model"], r["lr"], r["mu"], r["passes"]), []).append(r)
    if not groups:
        return NOT_YET
    lines = [
        "| network | first eta | mu | passes | seeds | validation error, mean (min .. max) "
        "| measured with |",
        "| --- | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for (model, lr, mu, passes), group in sorted(groups.items()):
        errors = [r["validation_error"][-1] for r in group]
        lines.append(
            f"| {model} | {lr:g} | {mu:g} | {passes} | {seeds(group)} | {spread(errors)} | "
            f"{build(group)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["lenet1", "fc-300"])
    parser.add_argument("--lr", nargs="+", type=float, default=[5e-4, 1e-3, 2e-3])
    parser.add_argument("--mu", nargs="+", type=float, default=[0.5])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--data", default=None, help="folder holding mnist/")
    parser.add_argument("--results", type=Path, default=RESULTS / "family_validation.jsonl")
    parser.add_argument("--report", action="store_true", help="print the table and stop")
    args = parser.parse_args()
    if args.report:
        print(validation_table(read_jsonl(args.results)))
        return
    done = {
        (r["model"], r["lr"], r["mu"], r["seed"], r["passes"]) for r in read_jsonl(args.results)
    }
    jobs = [
        (m, lr, mu, s, args.passes, args.data)
        for m, lr, mu, s in itertools.product(args.models, args.lr, args.mu, args.seeds)
        if (m, lr, mu, s, args.passes) not in done
    ]
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        for record in pool.imap_unordered(one_run, jobs):
            append(args.results, record)
            print(
                f"{record['model']} lr {record['lr']:g} mu {record['mu']:g} seed "
                f"{record['seed']}: validation error {100 * record['validation_error'][-1]:.2f} %"
                f" ({record['seconds']:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
