"""The ``lenet`` command line: ``summary``, ``train``, ``evaluate``, ``inspect``, ``figures``,
``studio``."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..engine import checks
from ..engine.inputs import PREPROCESSING
from ..engine.layers import SUBSAMPLING_MODES, RBFOutput
from ..engine.lenet5 import build_network
from ..engine.losses import LOSSES
from ..engine.threads import set_num_threads
from ..paper import TEST_ERROR
from ..run.checkpoint import read_checkpoint
from ..run.recipes import (
    DATASETS,
    OPTIMIZERS,
    RECIPES,
    Recipe,
    check_settings,
    recipe_from_config,
    recipe_with,
    without_inapplicable,
)
from ..run.training import TrainingDiverged, evaluate, load_data, network_for, train
from ..teach import studio, viz


def _summary(args: argparse.Namespace) -> int:
    config = {"model": args.model, "seed": args.seed, "dtype": args.dtype}
    if args.model == "modern":
        config.update(in_channels=args.in_channels, input_size=args.input_size)
    print(build_network(config).summary())
    return 0


# options of `lenet train` that set a Recipe field of the same name
_RECIPE_OPTIONS = (
    "model",
    "dataset",
    "optimizer",
    "loss",
    "j",
    "batch_size",
    "passes",
    "lr",
    "distort",
    "distort_copies",
    "distort_strength",
    "seed",
    "activation",
    "pooling",
    "preprocessing",
    "mu",
    "init",
    "momentum",
    "limit",
    "lr_decay",
)


#: options typed under an old name: field -> the name the user typed (--epochs for passes)
_TYPED: dict[str, str] = {}


def option(field: str) -> str:
    """A Recipe field as `lenet train` spells its option (batch_size -> --batch-size), or as
    the user typed it when that was an old name (--epochs)."""
    return _TYPED.get(field, "--" + field.replace("_", "-"))


def _train_recipe(args: argparse.Namespace) -> tuple[str, Recipe]:
    """(recipe name, Recipe) of a new run: the --recipe with the options typed, every one
    checked and named as typed; options that do not apply to the run are refused."""

    name = args.recipe
    chosen = {k: getattr(args, k) for k in _RECIPE_OPTIONS if getattr(args, k) is not None}
    model = chosen.get("model")
    if model is not None and model != RECIPES[name].model and not args.recipe_given:
        # --model alone: start from that model's own recipe
        name = "seed" if model == "modern" else "paper"
    elif model is not None and model != RECIPES[name].model:
        raise ValueError(
            f"--model {model} does not fit --recipe {name}, which trains the "
            f"{RECIPES[name].model} model: leave one of them out"
        )
    values = without_inapplicable({**asdict(RECIPES[name]), **chosen}, keep=chosen)
    if args.data is not None:
        values["data"] = str(Path(args.data).expanduser().resolve())
    check_settings(values, spell=option, given=chosen)
    return name, Recipe(**values)


def _check_data_folder(args: argparse.Namespace) -> None:
    """--data, when given, must be a folder (whether it holds the dataset is seen on reading)."""
    if args.data is not None and not Path(args.data).expanduser().is_dir():
        raise ValueError(f"--data {args.data}: no such folder")


def _check_train_options(args: argparse.Namespace) -> None:
    """The options that need neither data nor files, checked before anything is read or made."""

    if args.threads is not None:
        checks.whole_number("--threads", args.threads, 1)
    _check_data_folder(args)
    if args.out is not None and args.resume is None:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {args.out} is not a folder")
        if (out / "checkpoint.npz").exists() or (out / "log.jsonl").exists():
            raise ValueError(
                f"--out {args.out} already holds a run: continue it with --resume "
                f"{args.out}, or choose another folder"
            )


def _train(args: argparse.Namespace) -> int:

    _check_train_options(args)
    state = None
    if args.resume is not None:
        if args.resume and args.out and Path(args.resume) != Path(args.out):
            raise ValueError(
                f"--resume {args.resume} and --out {args.out} name two folders: "
                f"give the run folder once"
            )
        out = Path(args.resume or args.out)
        others = [k for k in _RECIPE_OPTIONS if k != "passes" and getattr(args, k) is not None]
        if others or args.recipe_given:
            raise ValueError(
                "--resume continues a run as it was started; only --passes (and "
                "--threads, --data, --quiet) may be given with it, not "
                + ", ".join(option(k) for k in others or ["recipe"])
            )
        if args.passes is not None:
            checks.whole_number(option("passes"), args.passes, 1)
        state = read_checkpoint(out)
        recipe = recipe_from_config(state["config"])
        if args.passes is not None:
            recipe = recipe_with(recipe, passes=args.passes)
        name = None
    else:
        name, recipe = _train_recipe(args)
        # a name only: the folder is made when training starts (lenet.run.runs)
        out = Path(args.out) if args.out else _new_run_folder(name)
    if args.threads is not None:  # results do not depend on it, so it is not part of the recipe
        set_num_threads(args.threads)
    train_data, test_data = load_data(recipe, args.data, download=not args.offline)
    if recipe.model == "paper" and train_data[0].shape[1:] != (1, 32, 32):
        raise ValueError(
            f"the paper's LeNet-5 takes 1 x 32 x 32 images, but {recipe.dataset} with "
            f"'{recipe.preprocessing}' preprocessing gives "
            f"{' x '.join(map(str, train_data[0].shape[1:]))}: use --model modern"
            + (" (or --preprocessing paper)" if recipe.dataset != "cifar10" else "")
        )
    if state is not None:
        net = state["net"]
        print(
            f"resuming {out} at pass {state['progress']['epoch'] + 1}, "
            f"step {state['progress']['step']}"
        )
    else:
        net = network_for(recipe, train_data[0].shape[1:])
    print(
        f"training {recipe.model} LeNet-5 on {recipe.dataset}"
        + (f" (recipe {name})" if name else "")
        + f": {recipe.optimizer}, loss "
        f"{recipe.loss}, batch {recipe.batch_size}, {recipe.passes} "
        f"pass{'es' if recipe.passes != 1 else ''}"
        f"{', distorted' if recipe.distort else ''}; output in {out}"
    )
    history = train(
        net,
        train_data,
        test_data,
        recipe,
        out=out,
        resume=args.resume is not None,
        progress=not args.quiet,
    )
    if history and history[-1].get("interrupted"):
        return 130
    if history:
        last = history[-1]
        print(
            f"done: test error {100 * last['test_error']:.2f}% (after pass {last['pass']}), "
            f"checkpoint {out / 'checkpoint.npz'}"
        )
    return 0


def _new_run_folder(name: str) -> Path:
    """runs/<date-time>-<recipe>, with -2, -3, ... when that folder exists already (the
    folder itself is made by the training run, and removed if it fails before a checkpoint)."""
    base = Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
    folder, k = base, 1
    while folder.exists():
        k += 1
        folder = base.with_name(f"{base.name}-{k}")
    return folder


def _evaluate(args: argparse.Namespace) -> int:

    state, recipe, (x_test, y_test) = _checkpoint_data(args)
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


def _studio(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be 0 (any free port) to 65535, got {args.port}")
    _check_data_folder(args)
    net, model = None, args.model or "paper"
    if args.run_path is not None:
        state = read_checkpoint(args.run_path)
        net = state["net"]
        if args.model is not None and net.variant != args.model:
            raise ValueError(
                f"{args.run_path} holds the {net.variant!r} network, not the {args.model!r} one "
                f"given with --model"
            )
        model = net.variant
    studio.serve(
        net,
        model=model,
        host=args.host,
        port=args.port,
        open_browser=not args.no_browser,
        data=args.data,
        out=args.out,
        source=None if args.run_path is None else f"loaded from {args.run_path}",
    )
    return 0


class MissingExtra(RuntimeError):
    """An optional dependency (an extra such as ``lenet[plot]``) is not installed."""


def _viz() -> Any:
    """lenet.teach.viz, with matplotlib checked now, before any data are loaded."""
    try:
        viz.require_matplotlib()
    except ImportError as exc:
        raise MissingExtra(str(exc)) from None
    return viz


def _checkpoint_data(
    args: argparse.Namespace, split: str = "test"
) -> tuple[dict, Recipe, tuple[np.ndarray, np.ndarray]]:
    """(state, recipe, (images, labels)): a checkpoint and the `split` of the dataset its
    recipe names, preprocessed as it was trained."""

    state = read_checkpoint(args.checkpoint)
    recipe = recipe_from_config(state["config"])
    train_data, test_data = load_data(recipe, args.data, download=not args.offline)
    images, labels = test_data if split == "test" else train_data
    return state, recipe, (np.asarray(images), labels)


def _check_options(args: argparse.Namespace) -> None:
    """The checks of `inspect` and `figures` options that need no data, made before any file is
    read: --index from 0 (its upper end is the dataset's size, checked once it is loaded),
    --max-digits from 1, --out a folder or a path yet unused."""
    if args.index < 0:
        raise ValueError(f"--index {args.index} is out of range: images are numbered from 0")
    if getattr(args, "max_digits", 1) < 1:
        raise ValueError(f"--max-digits must be at least 1, got {args.max_digits}")
    if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"--out {args.out} is not a folder")


def _check_index(index: int, labels: np.ndarray, dataset: str, split: str) -> int:
    n = len(labels)
    if not 0 <= index < n:
        raise ValueError(
            f"--index {index} is out of range: the "
            f"{_DATASET_NAMES.get(dataset, dataset)} {split} set has "
            f"{n:,} images, numbered 0 to {n - 1:,}"
        )
    return index


_DATASET_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}


def _digit_title(recipe: Recipe, split: str, index: int) -> str:
    return f"{_DATASET_NAMES.get(recipe.dataset, recipe.dataset)} {split} image {index}"


def _inspect(args: argparse.Namespace) -> int:
    _check_options(args)
    draw = args.out is not None
    if draw:
        _viz()  # checked now: the text alone needs no matplotlib
    state, recipe, (x, y) = _checkpoint_data(args, args.split)
    net, i = state["net"], _check_index(args.index, y, recipe.dataset, args.split)
    title = _digit_title(recipe, args.split, i)
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


#: the test image docs/tutorial.md follows (a 9), drawn by inspect and figures by default
TUTORIAL_IMAGE = 7


def _figures(args: argparse.Namespace) -> int:

    _check_options(args)
    viz = _viz()
    state, recipe, (x, y) = _checkpoint_data(args)
    net, i = state["net"], _check_index(args.index, y, recipe.dataset, "test")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def write(fig: Any, name: str) -> None:
        print(viz.save_png(fig, out / name))

    result = evaluate(net, x, y)
    write(
        viz.feature_maps(net, x[i], int(y[i]), title=_digit_title(recipe, "test", i)),
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


def build_parser() -> argparse.ArgumentParser:

    parser = argparse.ArgumentParser(
        prog="lenet", description="LeNet-5 as in LeCun et al. (1998), on a C/OpenMP core."
    )
    parser.add_argument("--version", action="version", version=f"lenet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    summary = commands.add_parser(
        "summary",
        help="show the network's layers, parameters and connections (the paper's figures)",
    )
    summary.add_argument(
        "--model",
        choices=("paper", "modern"),
        default="paper",
        help="the paper's LeNet-5 (default) or the modern variant",
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
    summary.set_defaults(run=_summary)

    train = commands.add_parser(
        "train",
        help="train a network (no options: the paper's recipe, Section III.C)",
        description="Train LeNet-5. With no options: the paper's recipe (RBF output, loss (8), "
        "SDLM, one pattern per update, 20 passes on MNIST). Data are read from "
        "--data, $LENET_DATA or the user cache, or downloaded.",
    )
    train.add_argument(
        "--recipe",
        choices=tuple(RECIPES),
        help="starting point: paper (default; SDLM with the two departures in "
        "docs/results.md), literal (the paper's text to the letter: "
        "diverges), seed (the Keras run: modern net, raw pixels, RMSprop, "
        "batch 32, 10 epochs) or modern (ReLU, Adam, batch 64); the options "
        "below override it",
    )
    train.add_argument("--model", choices=("paper", "modern"))
    train.add_argument("--dataset", choices=DATASETS)
    train.add_argument("--preprocessing", choices=PREPROCESSING)
    train.add_argument("--optimizer", choices=tuple(OPTIMIZERS))
    train.add_argument(
        "--loss",
        choices=LOSSES,
        help="penalty: equation (8); discriminative: equation (9); cross-entropy",
    )
    train.add_argument("--j", type=float, help="the constant j of equation (9)")
    train.add_argument(
        "--activation",
        choices=("scaled_tanh", "tanh", "sigmoid", "relu", "swish"),
        help="modern variant: squashing function",
    )
    train.add_argument("--pooling", choices=SUBSAMPLING_MODES, help="modern variant: subsampling")
    train.add_argument("--batch-size", type=int)
    train.add_argument(
        "--passes",
        "--epochs",
        type=int,
        dest="passes",
        help="passes over the training set (--epochs: its old name)",
    )
    train.add_argument(
        "--lr",
        type=float,
        help="learning rate (SDLM: the first pass's eta; the paper's schedule is scaled to it)",
    )
    train.add_argument(
        "--distort",
        action="store_const",
        const=True,
        help="random affine distortions of the training images (Section III.C)",
    )
    train.add_argument(
        "--distort-copies",
        type=int,
        metavar="N",
        help="with --distort: 0 (default) new distortions every pass; N: the paper's scheme, N "
        "distorted copies of each image made once beside it (the paper: 9), shown in turn",
    )
    train.add_argument(
        "--distort-strength",
        type=float,
        metavar="S",
        help="with --distort: the ranges of lenet.data.distortions.DISTORTION_RANGES (shift 2 px, "
        "scale and squeeze 15 %%, shear 0.3) times S (default 0.5)",
    )
    train.add_argument("--mu", type=float, help="SDLM: eps_k = eta / (mu + h_kk); paper 0.02")
    train.add_argument(
        "--init",
        choices=("lecun98", "lecun98-sqrt", "eblearn"),
        help="paper model: uniform +-2.4/F_i (Appendix A), +-2.4/sqrt(F_i) or +-1/sqrt(F_i) "
        "(EBLearn's MNIST demonstration)",
    )
    train.add_argument("--momentum", type=float, help="SGD's momentum (default 0)")
    train.add_argument(
        "--lr-decay", type=float, help="not SDLM: pass p (from 0) uses lr * LR_DECAY**p (default 1)"
    )
    train.add_argument("--seed", type=int)
    train.add_argument("--threads", type=int, help="OpenMP threads (default: all cores)")
    train.add_argument("--data", metavar="DIR", help="folder holding the dataset files")
    train.add_argument(
        "--out", metavar="DIR", help="output folder (default: a new one under runs/)"
    )
    train.add_argument(
        "--resume",
        metavar="DIR",
        nargs="?",
        const="",
        help="continue the run in DIR (or in --out) from its checkpoint",
    )
    train.add_argument(
        "--offline",
        action="store_true",
        help="never download: fail if the dataset files are not found",
    )
    train.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="train on the first N training images only (a quick try)",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser(
        "evaluate", help="test error, per-class error and confusion matrix of a checkpoint"
    )
    evaluate.add_argument("checkpoint", help="a checkpoint.npz, or a run folder holding one")
    evaluate.add_argument("--data", metavar="DIR", help="folder holding the dataset files")
    evaluate.add_argument(
        "--offline",
        action="store_true",
        help="never download: fail if the dataset files are not found",
    )
    evaluate.set_defaults(run=_evaluate)

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
    inspect.add_argument("--data", metavar="DIR", help="folder holding the dataset files")
    inspect.add_argument(
        "--offline",
        action="store_true",
        help="never download: fail if the dataset files are not found",
    )
    inspect.set_defaults(run=_inspect)

    figures = commands.add_parser(
        "figures",
        help="all the pictures of a checkpoint as PNG files (needs lenet[plot])",
        description="Write the pictures of a checkpoint into DIR: one digit's feature maps "
        "(Figure 2), the C1 and C3 kernels (C3 as Table I), the RBF prototypes "
        "(Figure 3), the training curves (Figure 5), the misclassified test digits "
        "(Figure 8) and the confusion matrix. Needs matplotlib: "
        'pip install ".[plot]" in a checkout, pip install "lenet[plot]" from a package '
        "index.",
    )
    figures.add_argument("checkpoint", help="a checkpoint.npz, or a run folder holding one")
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
    figures.add_argument("--data", metavar="DIR", help="folder holding the dataset files")
    figures.add_argument(
        "--offline",
        action="store_true",
        help="never download: fail if the dataset files are not found",
    )
    figures.set_defaults(run=_figures)

    serve = commands.add_parser(
        "studio",
        help="the LeNet-5 studio in the browser: draw a digit, watch the network read it, "
        "train it live",
        description="Serve the LeNet-5 studio on this machine (127.0.0.1) and open it in the "
        "browser: draw a digit and see every layer's maps, one unit computed with its numbers, "
        "the gradients of the loss, the kernels as Table I, and train the network live "
        "(docs/studio.md). Without RUN it starts from fresh, untrained networks. Ctrl-C stops it.",
    )
    serve.add_argument(
        "run_path", nargs="?", metavar="RUN_OR_CHECKPOINT", help="a run folder or a checkpoint.npz"
    )
    serve.add_argument(
        "--model",
        choices=("paper", "modern"),
        help="the network to show and train first (default: the run's, else paper)",
    )
    serve.add_argument(
        "--port", type=int, default=0, help="the port to listen on (default: a free one)"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default 127.0.0.1, this machine only; another "
        "address lets other machines use the studio, with no password: a warning says so)",
    )
    serve.add_argument(
        "--no-browser", action="store_true", help="print the address, do not open a browser"
    )
    serve.add_argument("--data", metavar="DIR", help="folder holding the MNIST files")
    serve.add_argument(
        "--out",
        metavar="DIR",
        help="where live training writes its run folder, studio-MODEL-DATE-TIME (default runs/)",
    )
    serve.set_defaults(run=_studio)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    if args.command == "train" and args.resume == "" and not args.out:
        parser.error("--resume needs the run folder: --resume DIR, or --out DIR --resume")
    if args.command == "train":
        args.recipe_given = args.recipe is not None
        args.recipe = args.recipe or "paper"
        words = sys.argv[1:] if argv is None else argv
        _TYPED.clear()
        if any(w == "--epochs" or w.startswith("--epochs=") for w in words):
            _TYPED["passes"] = "--epochs"

    try:
        return args.run(args)
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
