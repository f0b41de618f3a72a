"""``lenet summary``: the network's layers, parameters and connections."""

from __future__ import annotations

import argparse
from typing import Any

from ..engine import threads
from ..engine.lenet5 import MODELS, build_network
from ..paper import FIGURE9_NAMES
from ..run.boosted import boosted_summary
from ..run.boosting import BOOSTED


def add_parser(commands: Any) -> None:
    summary = commands.add_parser(
        "summary",
        help="show the network's layers, parameters and connections (the paper's figures)",
    )
    summary.add_argument(
        "--model",
        choices=(*MODELS, *BOOSTED),
        default="paper",
        help="the paper's LeNet-5 (default), the modern variant, or another network of "
        "Figure 9 (lenet1, lenet4, boosted-lenet4, fc-300, fc-1000, fc-300-100, fc-500-150)",
    )
    summary.add_argument(
        "--in-channels", type=int, default=1, help="modern variant: input channels (default 1)"
    )
    summary.add_argument(
        "--input-size",
        type=int,
        choices=(28, 32),
        default=28,
        help="modern variant: input size (default 28)",
    )
    summary.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    summary.add_argument("--seed", type=int, default=0)
    summary.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model = BOOSTED.get(args.model, args.model)  # a boosted network: one of its three nets
    config = {"model": model, "seed": args.seed, "dtype": args.dtype}
    if args.model == "modern":
        config.update(in_channels=args.in_channels, input_size=args.input_size)
    net = build_network(config)
    if args.model in BOOSTED:
        print(boosted_summary(net, FIGURE9_NAMES[args.model]))
    else:
        print(net.summary())
    note = threads.serial_build_note()
    if note is not None:  # where a learner looks first after installing
        print(f"\n{note}")
    return 0
