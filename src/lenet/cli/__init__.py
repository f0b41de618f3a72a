"""The ``lenet`` command line: ``summary``, ``train``, ``evaluate``, ``predict``, ``inspect``,
``figures``, ``studio``, ``exercises``, one module each (``add_parser`` adds its subcommand,
``run`` runs it)."""

from __future__ import annotations

import argparse
import sys

from .._version import __version__
from ..run.session import TrainingDiverged
from . import evaluate, exercises, figures, inspect, predict, studio, summary, train
from .common import MissingExtra

#: the commands, in the order `lenet --help` lists them
COMMANDS = (summary, train, evaluate, predict, inspect, figures, studio, exercises)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lenet", description="LeNet-5 as in LeCun et al. (1998), on a C/OpenMP core."
    )
    parser.add_argument("--version", action="version", version=f"lenet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    if args.command == "train":
        problem = train.prepare(args, sys.argv[1:] if argv is None else argv)
        if problem is not None:
            parser.error(problem)
    try:
        return int(args.run(args))
    except (OSError, ValueError, TypeError, MissingExtra) as exc:
        # a dataset that is not found says so with the options, not the loaders' arguments
        message = getattr(exc, "command_line_message", None) or str(exc)
        print(f"lenet {args.command}: error: {message}", file=sys.stderr)
        return 2
    except TrainingDiverged as exc:
        print(f"lenet {args.command}: training diverged: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"lenet {args.command}: aborted", file=sys.stderr)
        return 130
