"""``lenet inspect``: one digit through a checkpoint's network, every layer's feature maps."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

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
    inspect = commands.add_parser(
        "inspect",
        help="one digit through a checkpoint's network: every layer's feature maps "
        "(a PNG with --out, text in the terminal)",
        description="Run one image of the test set (or of the training set, --split train) "
        "through a checkpoint's network and show "
        "every layer's states, C1 to F6, and the output (the paper's Figure 2 for "
        "that digit): as DIR/test-image-INDEX-feature-maps.png with --out (needs "
        'matplotlib: pip install ".[plot]" in a checkout, pip install "lenet[plot]" '
        "from a package index), as text without it or with --text.",
    )
    inspect.add_argument("checkpoint", help="a checkpoint.npz, or a run folder holding one")
    inspect.add_argument(
        "--index",
        type=int,
        default=TUTORIAL_IMAGE,
        help=f"which image of the set, from 0 (default {TUTORIAL_IMAGE}: in the "
        f"test set the tutorial's digit, a 9)",
    )
    inspect.add_argument(
        "--split",
        choices=("test", "train"),
        default="test",
        help="the test set (default) or the training set",
    )
    inspect.add_argument("--out", metavar="DIR", help="write the PNG into DIR (created if missing)")
    inspect.add_argument(
        "--text",
        action="store_true",
        help="print the digit and small feature maps as text (the default without --out)",
    )
    add_data_options(inspect)
    inspect.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_picture_options(args)
    draw = args.out is not None
    if draw:
        need_extra(viz.require_matplotlib)  # checked now: the text alone needs no matplotlib
    state, recipe, (x, y) = checkpoint_data(args, args.split, doing="cannot inspect it")
    net, i = state["net"], check_index(args.index, y, recipe.dataset, args.split)
    title = digit_title(recipe, args.split, i)
    if args.text or not draw:  # its first line names the image, its label and the prediction
        print(viz.feature_maps_text(net, x[i], int(y[i]), title=title))
    else:
        print(f"{title}: label {y[i]}, predicted {int(net.predict(x[i : i + 1])[0])}")
    if draw:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        name = f"{args.split}-image-{i}-feature-maps.png"
        print(viz.save_png(viz.feature_maps(net, x[i], int(y[i]), title=title), out / name))
    return 0
