"""The ``lenet`` command line: ``summary``, ``train``, ``evaluate``."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

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


# options of `lenet train` that set a Recipe field of the same name
_RECIPE_OPTIONS = ("model", "dataset", "optimizer", "loss", "j", "batch_size", "epochs", "lr",
                   "distort", "seed", "activation", "pooling", "preprocessing", "mu", "init",
                   "momentum", "limit", "lr_decay")


def _train(args: argparse.Namespace) -> int:
    from . import set_num_threads
    from .checkpoint import read_checkpoint
    from .training import RECIPES, load_data, network_for, recipe_from_config, train

    if args.threads is not None:  # results do not depend on it, so it is not part of the recipe
        set_num_threads(args.threads)
    state = None
    if args.resume is not None:
        if args.resume and args.out and Path(args.resume) != Path(args.out):
            raise ValueError(f"--resume {args.resume} and --out {args.out} name two folders: "
                             f"give the run folder once")
        out = Path(args.resume or args.out)
        state = read_checkpoint(out / "checkpoint.npz")
        recipe = recipe_from_config(state["config"])
        others = [k for k in _RECIPE_OPTIONS if k != "epochs" and getattr(args, k) is not None]
        if others or args.recipe != "paper":
            raise ValueError("--resume continues a run as it was started; only --epochs (and "
                             "--threads, --data, --quiet) may be given with it, not "
                             + ", ".join("--" + k.replace("_", "-") for k in others or ["recipe"]))
        if args.epochs is not None:
            recipe = replace(recipe, epochs=args.epochs)
        print(f"resuming {out} at pass {state['progress']['epoch'] + 1}, "
              f"step {state['progress']['step']}")
    else:
        name = args.recipe
        recipe = RECIPES[name]
        chosen = {k: getattr(args, k) for k in _RECIPE_OPTIONS if getattr(args, k) is not None}
        if chosen.get("model") == "modern" and name in ("paper", "literal"):
            # the modern net with the paper's recipe makes no sense: start from the seed's
            name, recipe = "seed", RECIPES["seed"]
        recipe = replace(recipe, **chosen)
        if args.data is not None:
            recipe = replace(recipe, data=str(Path(args.data).resolve()))
        out = Path(args.out) if args.out else _new_run_folder(name)
    train_data, test_data = load_data(recipe, args.data, download=not args.offline)
    if recipe.model == "paper" and train_data[0].shape[1:] != (1, 32, 32):
        raise ValueError(f"the paper's LeNet-5 takes 1 x 32 x 32 images, but {recipe.dataset} with "
                         f"'{recipe.preprocessing}' preprocessing gives "
                         f"{' x '.join(map(str, train_data[0].shape[1:]))}: use --model modern"
                         + (" (or --preprocessing paper)" if recipe.dataset != "cifar10" else ""))
    net = state["net"] if state is not None else network_for(recipe, train_data[0].shape[1:])
    print(f"training {recipe.model} LeNet-5 on {recipe.dataset}: {recipe.optimizer}, loss "
          f"{recipe.loss}, batch {recipe.batch_size}, {recipe.epochs} passes"
          f"{', distorted' if recipe.distort else ''}; output in {out}")
    history = train(net, train_data, test_data, recipe, out=out, resume=args.resume is not None,
                    progress=not args.quiet)
    if history and history[-1].get("interrupted"):
        return 130
    if history:
        last = history[-1]
        print(f"done: test error {100 * last['test_error']:.2f}%, checkpoint {out / 'checkpoint.npz'}")
    return 0


def _new_run_folder(name: str) -> Path:
    """runs/<date-time>-<recipe>, with -2, -3, ... when that folder exists already."""
    base = Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
    folder, k = base, 1
    while True:
        try:
            folder.mkdir(parents=True, exist_ok=False)
            return folder
        except FileExistsError:
            k += 1
            folder = base.with_name(f"{base.name}-{k}")


def _evaluate(args: argparse.Namespace) -> int:
    from .checkpoint import read_checkpoint
    from .training import evaluate, load_data, recipe_from_config

    state = read_checkpoint(args.checkpoint)
    recipe = recipe_from_config(state["config"])
    _, (x_test, y_test) = load_data(recipe, args.data, download=not args.offline)
    result = evaluate(state["net"], x_test, y_test)
    print(f"{args.checkpoint}: test error {100 * result['error']:.2f}% "
          f"({int(round(result['error'] * len(y_test)))} of {len(y_test)} {recipe.dataset} test images)")
    print("per-class error: " + "  ".join(f"{c}: {100 * e:.2f}%"
                                          for c, e in enumerate(result["per_class_error"])))
    confusion = result["confusion"]
    width = max(4, len(str(confusion.max())) + 1)
    print("confusion matrix (rows: true class, columns: predicted)")
    print("    " + "".join(f"{c:>{width}}" for c in range(confusion.shape[1])))
    for c, row in enumerate(confusion):
        print(f"{c:>3} " + "".join(f"{v:>{width}}" for v in row))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .datasets import PREPROCESSING
    from .layers import SUBSAMPLING_MODES
    from .optim import OPTIMIZERS
    from .training import DATASETS, LOSSES, RECIPES

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

    train = commands.add_parser(
        "train", help="train a network (no options: the paper's recipe, Section III.C)",
        description="Train LeNet-5. With no options: the paper's recipe (RBF output, loss (8), "
                    "SDLM, one pattern per update, 20 passes on MNIST). Data are read from "
                    "--data, $LENET_DATA or the user cache, or downloaded.")
    train.add_argument("--recipe", choices=tuple(RECIPES), default="paper",
                       help="starting point: paper (default; SDLM with the two departures in "
                            "docs/results.md), literal (the paper's text to the letter: "
                            "diverges), seed (the Keras run: modern net, raw pixels, RMSprop, "
                            "batch 32, 10 epochs) or modern (ReLU, Adam, batch 64); the options "
                            "below override it")
    train.add_argument("--model", choices=("paper", "modern"))
    train.add_argument("--dataset", choices=DATASETS)
    train.add_argument("--preprocessing", choices=PREPROCESSING)
    train.add_argument("--optimizer", choices=tuple(OPTIMIZERS))
    train.add_argument("--loss", choices=LOSSES,
                       help="penalty: equation (8); discriminative: equation (9); cross-entropy")
    train.add_argument("--j", type=float, help="the constant j of equation (9)")
    train.add_argument("--activation", choices=("scaled_tanh", "tanh", "sigmoid", "relu", "swish"),
                       help="modern variant: squashing function")
    train.add_argument("--pooling", choices=SUBSAMPLING_MODES,
                       help="modern variant: subsampling")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--epochs", type=int, help="passes over the training set")
    train.add_argument("--lr", type=float, help="learning rate (SDLM: the first pass's eta; the "
                                                "paper's schedule is scaled to it)")
    train.add_argument("--distort", action="store_const", const=True,
                       help="random affine distortions of every training image, every pass")
    train.add_argument("--mu", type=float, help="SDLM: eps_k = eta / (mu + h_kk); paper 0.02")
    train.add_argument("--init", choices=("lecun98", "lecun98-sqrt"),
                       help="paper model: uniform +-2.4/F_i (Appendix A) or +-2.4/sqrt(F_i)")
    train.add_argument("--momentum", type=float, help="SGD's momentum (default 0)")
    train.add_argument("--lr-decay", type=float,
                       help="not SDLM: pass p (from 0) uses lr * LR_DECAY**p (default 1)")
    train.add_argument("--seed", type=int)
    train.add_argument("--threads", type=int, help="OpenMP threads (default: all cores)")
    train.add_argument("--data", metavar="DIR", help="folder holding the dataset files")
    train.add_argument("--out", metavar="DIR", help="output folder (default: a new one under runs/)")
    train.add_argument("--resume", metavar="DIR", nargs="?", const="",
                       help="continue the run in DIR (or in --out) from its checkpoint")
    train.add_argument("--offline", action="store_true",
                       help="never download: fail if the dataset files are not found")
    train.add_argument("--limit", type=int, metavar="N",
                       help="train on the first N training images only (a quick try)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="test error, per-class error and confusion "
                                                    "matrix of a checkpoint")
    evaluate.add_argument("checkpoint", help="a checkpoint.npz, or a run folder holding one")
    evaluate.add_argument("--data", metavar="DIR", help="folder holding the dataset files")
    evaluate.add_argument("--offline", action="store_true",
                          help="never download: fail if the dataset files are not found")
    evaluate.set_defaults(run=_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    if args.command == "train" and args.resume == "" and not args.out:
        parser.error("--resume needs the run folder: --resume DIR, or --out DIR --resume")
    from .training import TrainingDiverged

    try:
        return args.run(args)
    except (OSError, ValueError, TypeError) as exc:
        print(f"lenet {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except TrainingDiverged as exc:
        print(f"lenet {args.command}: training diverged: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"lenet {args.command}: aborted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
