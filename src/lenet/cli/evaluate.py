"""``lenet evaluate``: the test error, per-class error and confusion matrix of a checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..paper import BOOSTING_COST
from ..run.boosted import NET_FOLDERS, BoostedNetwork, cost_of, is_boosted_run
from ..run.evaluation import evaluate, score
from .common import add_data_options, checkpoint_data


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "evaluate", help="test error, per-class error and confusion matrix of a checkpoint"
    )
    parser.add_argument(
        "checkpoint",
        help="a checkpoint.npz, a run folder holding one, or a boosted run's folder "
        "(lenet train --model boosted-lenet4)",
    )
    add_data_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    boosted = BoostedNetwork.load(args.checkpoint) if is_boosted_run(args.checkpoint) else None
    first = Path(args.checkpoint) / NET_FOLDERS[0] if boosted else None  # its test set is net 1's
    state, recipe, (x_test, y_test) = checkpoint_data(args, doing="cannot evaluate it", path=first)
    if boosted is not None:  # one pass: the answers and where nets 2 and 3 ran
        outputs, full = boosted.answer(x_test)
        result = score(boosted.classify(outputs), y_test, outputs.shape[1])
    else:
        result = evaluate(state["net"], x_test, y_test)
    print(
        f"{args.checkpoint}: test error {100 * result['error']:.2f}% "
        f"({int(round(result['error'] * len(y_test)))} of {len(y_test)} {recipe.dataset} test "
        f"images)"
    )
    print(
        "per-class error: "
        + "  ".join(f"{c}: {100 * e:.2f}%" for c, e in enumerate(result["per_class_error"]))
    )
    if boosted is not None:
        print(
            f"nets 2 and 3 run where net 1's penalty gap is below {boosted.threshold:g}: "
            f"average cost {cost_of(full):.2f} x one net (the paper: about "
            f"{BOOSTING_COST})"
        )
    confusion = result["confusion"]
    width = max(4, len(str(confusion.max())) + 1)
    print("confusion matrix (rows: true class, columns: predicted)")
    print("    " + "".join(f"{c:>{width}}" for c in range(confusion.shape[1])))
    for c, row in enumerate(confusion):
        print(f"{c:>3} " + "".join(f"{v:>{width}}" for v in row))
    return 0
