"""Reproduce the paper's MNIST experiments and the seed's, and write what was measured.

Runs, one after the other, each into its own folder under --out (default runs/reproduce):

  a  paper     LeNet-5 as in Section III.C: RBF output, SDLM, batch 1, 20 passes
  b  distort   the same with random affine distortions of the training images
  c  seed      the seed's Keras run: modern net, raw pixels, RMSprop, batch 32, 10 epochs
  d  modern    a strong modern recipe: ReLU, max pooling, Adam, batch 64
  e  literal   the paper's text to the letter (Appendix A's start, mu 0.02): it stays at chance

    python benchmarks/reproduce_paper.py [--only c d] [--data DIR] [--epochs N] [--out DIR]
    python benchmarks/reproduce_paper.py --pages      # the pages' figures from the results files

Each run's per-pass figures are in its log.jsonl; a summary of all runs goes to
OUT/summary.json, and each finished run on the whole training set is appended, stamped with the
lenet version and commit, to benchmarks/results/reproduce.jsonl (--results), which the pages'
tables of (c), (d) and (e) are made from. LeNet-5's figures on the pages, (a) and (b), come
from the Figure 9 study (benchmarks/figure9_study.py: five seeds each, scored by the NumPy
reference); (a) and (b) stay here for a single run's per-pass log. A run folder that already
holds a checkpoint is resumed, not restarted, so the script can be stopped and started again.

--pages rewrites the generated blocks of README.md and docs/results.md from the results files
(benchmarks/pages.py; `python benchmarks/pages.py --check` only checks them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import lenet
from lenet.run.training import RECIPES, Recipe, load_data, network_for, train

from machine import describe
from pages import write_pages
from records import RESULTS, append, read_jsonl, stamp

RUNS = {
    "a": ("paper", RECIPES["paper"]),
    "b": ("distort", replace(RECIPES["paper"], distort=True)),
    "c": ("seed", RECIPES["seed"]),
    "d": ("modern", RECIPES["modern"]),
    "e": ("literal", RECIPES["literal"]),
}

PUBLISHED = {
    "a": "paper: 0.95 % test error (Section III.C); 0.35 % training error after 19 passes",
    "b": "paper: 0.8 % test error with distortions",
    "c": "seed: 96.78 % training accuracy after epoch 1, 98.72 % after epoch 10",
    "d": "target: >= 99.2 % test accuracy",
    "e": "chance: 90 % test error",
}


def report(out: Path) -> str:
    """Markdown tables of every run found under `out`, from their log.jsonl files."""
    lines = []
    for key, (name, _) in RUNS.items():
        log = out / f"{key}-{name}" / "log.jsonl"
        if not log.exists():
            continue
        records = read_jsonl(log)
        config = json.loads((out / f"{key}-{name}" / "config.json").read_text())
        lines += [
            f"### ({key}) {name}",
            "",
            "recipe: " + ", ".join(f"{k}={v}" for k, v in config.items()),
            "",
            *history_table(records),
        ]
        total = sum(r["seconds"] for r in records)
        lines += [
            "",
            f"{len(records)} passes, {total / 60:.1f} minutes, counting the evaluation "
            f"after each pass; {PUBLISHED[key]}.",
            "",
        ]
    return "\n".join(lines)


def history_table(history: list[dict]) -> list[str]:
    """A run's passes as the lines of a Markdown table (its log, or its record's history)."""
    lines = [
        "| pass | lr | train loss (running) | running train error | train error "
        "| test error | seconds |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for h in history:
        lines.append(
            f"| {h['pass']} | {h['lr']:.2g} | {h['train_loss']:.4f} | "
            f"{100 * h['running_train_error']:.2f} % | {100 * h['train_error']:.2f} % | "
            f"{100 * h['test_error']:.2f} % | {h['seconds']:.0f} |"
        )
    return lines


def record_run(
    path: Path, key: str, name: str, recipe: Recipe, history: list[dict], images: int
) -> None:
    """Append the finished run to the results file, stamped; once per run and commit."""
    stamped = stamp()
    if any(
        r.get("name") == name and r.get("commit") == stamped["commit"] and r["seed"] == recipe.seed
        for r in read_jsonl(path)
    ):
        return
    keep = ("pass", "lr", "train_loss", "running_train_error", "train_error", "test_error")
    last = history[-1]
    record = {
        "study": "reproduce",
        "run": key,
        "name": name,
        "seed": recipe.seed,
        "passes": len(history),
        "cut_short": len(history) < RUNS[key][1].passes,  # --epochs or a stop
        "images": images,
        "test_error": last["test_error"],
        "train_error": last["train_error"],
        "running_train_error": last["running_train_error"],
        "train_seconds": sum(h.get("seconds", 0) for h in history),
        "history": [{k: h[k] for k in keep} | {"seconds": h.get("seconds", 0)} for h in history],
        **stamped,
        "command": "python benchmarks/reproduce_paper.py " + " ".join(sys.argv[1:]),
    }
    append(path, record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=tuple(RUNS), default=list(RUNS))
    parser.add_argument(
        "--data", help="folder holding the MNIST files (default: LENET_DATA, cache)"
    )
    parser.add_argument("--out", default="runs/reproduce")
    parser.add_argument("--epochs", type=int, help="override every recipe's number of passes")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument(
        "--report",
        action="store_true",
        help="only print Markdown tables of the runs already in --out",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS / "reproduce.jsonl",
        help="where each finished run's stamped record is appended",
    )
    parser.add_argument(
        "--pages",
        action="store_true",
        help="only rewrite the generated blocks of README.md and docs/results.md",
    )
    args = parser.parse_args()
    if args.pages:
        changed = write_pages()
        print("rewrote " + ", ".join(changed) if changed else "the pages are up to date")
        return
    if args.report:
        print(report(Path(args.out)))
        return
    if args.threads:
        lenet.set_num_threads(args.threads)

    out = Path(args.out)
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    for key in args.only:
        name, recipe = RUNS[key]
        if args.epochs is not None:
            recipe = replace(recipe, passes=args.epochs)
        folder = out / f"{key}-{name}"
        train_data, test_data = load_data(recipe, args.data)
        net = network_for(recipe, train_data[0].shape[1:])
        print(f"== {key}: {name} -> {folder}")
        started = time.perf_counter()
        history = train(
            net,
            train_data,
            test_data,
            recipe,
            out=folder,
            resume=(folder / "checkpoint.npz").exists(),
            progress=not args.quiet,
        )
        if history and history[-1].get("interrupted"):
            print("interrupted: run the script again to continue")
            return
        summary[key] = {
            "name": name,
            "recipe": asdict(recipe),
            "history": history,
            "final_test_error": history[-1]["test_error"] if history else None,
            "final_train_error": history[-1]["train_error"] if history else None,
            "wall_seconds_this_session": time.perf_counter() - started,
            "train_seconds": sum(h.get("seconds", 0) for h in history),
            "published": PUBLISHED[key],
            "machine": f"{describe()}, {lenet.get_num_threads()} threads",
            "date": time.strftime("%Y-%m-%d"),
        }
        out.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(json.dumps(summary, indent=2) + "\n")
        if history:
            record_run(args.results, key, name, recipe, history, len(train_data[1]))
        last = history[-1] if history else {}
        print(
            f"== {key}: test error {100 * last.get('test_error', float('nan')):.2f}% "
            f"({PUBLISHED[key]})"
        )


if __name__ == "__main__":
    main()
