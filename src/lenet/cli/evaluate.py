"""``lenet evaluate``: the test error, per-class error and confusion matrix of a checkpoint."""

from __future__ import annotations

import argparse
from typing import Any

from ..run.evaluation import evaluate
from .common import add_data_options, checkpoint_data


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "evaluate", help="test error, per-class error and confusion matrix of a checkpoint"
    )
    parser.add_argument("checkpoint", help="a checkpoint.npz, or a run folder holding one")
    add_data_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    state, recipe, (x_test, y_test) = checkpoint_data(args, doing="cannot evaluate it")
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
    confusion = result["confusion"]
    width = max(4, len(str(confusion.max())) + 1)
    print("confusion matrix (rows: true class, columns: predicted)")
    print("    " + "".join(f"{c:>{width}}" for c in range(confusion.shape[1])))
    for c, row in enumerate(confusion):
        print(f"{c:>3} " + "".join(f"{v:>{width}}" for v in row))
    return 0
