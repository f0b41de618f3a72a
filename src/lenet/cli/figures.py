"""``lenet figures``: all the pictures of a checkpoint as PNG files, and Figure 9 from the
study's results."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..engine.layers import RBFOutput
from ..paper import TEST_ERROR
from ..run.evaluation import evaluate
from ..run.figure9 import read_results, summarize
from ..teach import viz
from .common import (
    TUTORIAL_IMAGE,
    add_data_options,
    check_index,
    check_picture_options,
    checkpoint_data,
    digit_title,
    need_extra,
)


def add_parser(commands: Any) -> None:
    figures = commands.add_parser(
        "figures",
        help="all the pictures of a checkpoint as PNG files (needs lenet[plot])",
        description="Write the pictures of a checkpoint into DIR: one digit's feature maps "
        "(Figure 2), the C1 and C3 kernels (C3 as Table I), the RBF prototypes "
        "(Figure 3), the training curves (Figure 5), the misclassified test digits "
        "(Figure 8) and the confusion matrix; with --figure9, Figure 9 (each network's "
        "test error beside the paper's) from the results of benchmarks/figure9_study.py. "
        "Needs matplotlib: "
        'pip install ".[plot]" in a checkout, pip install "lenet[plot]" from a package '
        "index.",
    )
    figures.add_argument(
        "checkpoint", nargs="?", help="a checkpoint.npz, or a run folder holding one"
    )
    figures.add_argument(
        "--figure9",
        action="store_true",
        help="also (or, without a checkpoint, only) write figure9.png: lenet's test error per "
        "network of the paper's Figure 9, mean and range over its seeds, beside the paper's",
    )
    figures.add_argument(
        "--results",
        metavar="FILE",
        help="with --figure9: the study's results (default: benchmarks/results/figure9.jsonl "
        "of the checkout lenet runs from)",
    )
    figures.add_argument(
        "--out", metavar="DIR", required=True, help="folder for the PNG files (created if missing)"
    )
    figures.add_argument(
        "--index",
        type=int,
        default=TUTORIAL_IMAGE,
        help=f"the test image whose feature maps are drawn (default "
        f"{TUTORIAL_IMAGE}, the tutorial's digit, a 9)",
    )
    figures.add_argument(
        "--max-digits",
        type=int,
        default=100,
        metavar="N",
        help="draw at most N misclassified digits (default 100)",
    )
    add_data_options(figures)
    figures.set_defaults(run=run)


#: the study's results in a checkout of lenet (not part of an installed package)
CHECKOUT_RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "figure9.jsonl"


def results_file(given: str | None) -> Path:
    """The results file --figure9 draws from: --results, else the checkout's."""
    if given is not None:
        return Path(given)
    if CHECKOUT_RESULTS.is_file():
        return CHECKOUT_RESULTS
    raise ValueError(
        "--figure9 needs the Figure 9 study's results: give --results FILE, the "
        "benchmarks/results/figure9.jsonl of a checkout of lenet (written by python "
        "benchmarks/figure9_study.py)"
    )


def run(args: argparse.Namespace) -> int:
    check_picture_options(args)
    figure9 = args.figure9 or args.results is not None
    if args.checkpoint is None and not figure9:
        raise ValueError("give a checkpoint (or a run folder), or --figure9")
    rows = summarize(read_results(results_file(args.results))) if figure9 else None
    need_extra(viz.require_matplotlib)  # before any data are loaded
    out = Path(args.out)
    if rows is not None:
        out.mkdir(parents=True, exist_ok=True)
        print(viz.save_png(viz.figure9(rows), out / "figure9.png"))
    if args.checkpoint is None:
        return 0
    state, recipe, (x, y) = checkpoint_data(args, doing="cannot draw it")
    net, i = state["net"], check_index(args.index, y, recipe.dataset, "test")
    out.mkdir(parents=True, exist_ok=True)

    def write(fig: Any, name: str) -> None:
        print(viz.save_png(fig, out / name))

    result = evaluate(net, x, y)
    write(
        viz.feature_maps(net, x[i], int(y[i]), title=digit_title(recipe, "test", i)),
        f"test-image-{i}-feature-maps.png",
    )
    write(viz.kernels(net), "kernels.png")
    if isinstance(net.layers[-1], RBFOutput):
        write(viz.prototypes(net), "prototypes.png")
    else:
        print("prototypes.png: skipped, this network has no RBF output (no prototypes)")
    history = [
        r for r in state["progress"].get("history", []) if "pass" in r and not r.get("interrupted")
    ]
    if history:
        paper = (
            TEST_ERROR[bool(recipe.distort)]
            if recipe.model == "paper" and recipe.dataset == "mnist"
            else None
        )
        write(viz.training_curves(history, paper_error=paper), "training-curves.png")
    else:
        print("training-curves.png: skipped, the checkpoint's history holds no finished pass")
    write(
        viz.misclassified(x, y, result["predicted"], max_digits=args.max_digits),
        "misclassified.png",
    )
    write(viz.confusion_matrix(result["confusion"]), "confusion-matrix.png")
    return 0
