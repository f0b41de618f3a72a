"""The ``lenet`` command line."""

from __future__ import annotations

import argparse
import sys

import numpy as np


def _summary(args: argparse.Namespace) -> int:
    from .model import LeNet5

    dtype = np.float64 if args.dtype == "float64" else np.float32
    if args.model == "paper":
        net = LeNet5(seed=args.seed, dtype=dtype)
    else:
        net = LeNet5.modern(in_channels=args.in_channels, input_size=args.input_size,
                            seed=args.seed, dtype=dtype)
    print(net.summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="lenet", description="LeNet-5 as in LeCun et al. (1998), on a C/OpenMP core.")
    parser.add_argument("--version", action="version", version=f"lenet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    summary = commands.add_parser("summary", help="show the network's layers, parameters and "
                                  "connections (the paper's figures)")
    summary.add_argument("--model", choices=("paper", "modern"), default="paper",
                         help="the paper's LeNet-5 (default) or the modern variant")
    summary.add_argument("--in-channels", type=int, default=1,
                         help="modern variant: input channels (default 1)")
    summary.add_argument("--input-size", type=int, choices=(28, 32), default=28,
                         help="modern variant: input size (default 28)")
    summary.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    summary.add_argument("--seed", type=int, default=0)
    summary.set_defaults(run=_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
