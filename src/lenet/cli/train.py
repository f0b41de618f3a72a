"""``lenet train``: train a network as a recipe says, into a run folder; ``--resume`` goes on."""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..engine import checks, threads
from ..engine.inputs import PREPROCESSING
from ..engine.lenet5 import PART_VALUES
from ..engine.losses import LOSSES
from ..paper import FIGURE9_NAMES
from ..run.boosting import BOOSTED, BoostingSettings, train_boosted
from ..run.checkpoint import read_checkpoint
from ..run.recipes import (
    DATASETS,
    MODELS,
    OPTIMIZERS,
    RECIPES,
    Recipe,
    check_settings,
    recipe_from_config,
    recipe_with,
    without_inapplicable,
)
from ..run.runs import check_preprocessing, run_preprocessing
from ..run.training import load_data, network_for, train
from .common import check_data_folder

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
    "distort_all",
    "distort_strength",
    "seed",
    "activation",
    "pooling",
    "c3",
    "output",
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


# ---- the options ---------------------------------------------------------------------------


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "train",
        help="train a network (no options: the paper's recipe, Section III.C)",
        description="Train LeNet-5 (or, with --model, another network of the paper's Figure "
        "9). With no options: the paper's recipe (RBF output, loss (8), "
        "SDLM, one pattern per update, 20 passes on MNIST). Data are read from "
        "--data, $LENET_DATA or the user cache, or downloaded.",
    )
    _add_recipe_options(parser)
    _add_run_options(parser)
    parser.set_defaults(run=run)


def _add_recipe_options(train: argparse.ArgumentParser) -> None:
    """The options that set the recipe's fields."""
    train.add_argument(
        "--recipe",
        choices=tuple(RECIPES),
        help="starting point: paper (default; SDLM with the two departures in "
        "docs/results.md), literal (the paper's text to the letter: "
        "diverges), seed (the Keras run: modern net, raw pixels, RMSprop, "
        "batch 32, 10 epochs) or modern (ReLU, Adam, batch 64); the options "
        "below override it",
    )
    train.add_argument(
        "--model",
        choices=(*MODELS, *BOOSTED),
        help="paper (LeNet-5, the default), modern, or another network of the paper's "
        "Figure 9: lenet1, lenet4, fc-300, fc-1000, fc-300-100, fc-500-150 (each with its own "
        "recipe: the paper's method on its own input), or boosted-lenet4 (three LeNet-4s, "
        "docs/figure9.md)",
    )
    _add_boosting_options(train)
    train.add_argument("--dataset", choices=DATASETS)
    train.add_argument("--preprocessing", choices=PREPROCESSING)
    train.add_argument("--optimizer", choices=tuple(OPTIMIZERS))
    train.add_argument(
        "--loss",
        choices=LOSSES,
        help="penalty: equation (8); discriminative: equation (9); cross-entropy",
    )
    train.add_argument("--j", type=float, help="the constant j of equation (9)")
    _add_part_options(train)
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
    _add_distortion_options(train)
    train.add_argument("--mu", type=float, help="SDLM: eps_k = eta / (mu + h_kk); paper 0.02")
    train.add_argument(
        "--init",
        choices=("lecun98", "lecun98-sqrt", "eblearn", "glorot"),
        help="paper model: uniform +-2.4/F_i (Appendix A), +-2.4/sqrt(F_i), +-1/sqrt(F_i) "
        "(EBLearn's MNIST demonstration, the default) or glorot (Keras's: "
        "+-sqrt(6/(F_i + F_o)), zero biases)",
    )
    train.add_argument("--momentum", type=float, help="SGD's momentum (default 0)")
    train.add_argument(
        "--lr-decay", type=float, help="not SDLM: pass p (from 0) uses lr * LR_DECAY**p (default 1)"
    )
    train.add_argument("--seed", type=int)


def _add_boosting_options(train: argparse.ArgumentParser) -> None:
    group = train.add_argument_group("boosted-lenet4 only")
    group.add_argument(
        "--patterns", type=int, metavar="N", help="patterns nets 2 and 3 train on (10000)"
    )
    group.add_argument(
        "--candidates",
        type=int,
        metavar="N",
        help="the most candidates each filter examines (10 x the training images)",
    )
    group.add_argument(
        "--validation",
        type=int,
        metavar="N",
        help="the last N training images choose the threshold; no net trains on them (10000)",
    )


#: what `lenet train --model boosted-lenet4` takes besides the run's own options
_BOOSTING_OPTIONS = ("seed", "passes", "limit", "patterns", "candidates", "validation")


def _add_part_options(train: argparse.ArgumentParser) -> None:
    """LeNet-5's parts, for the paper's network and the modern one (default: the model's own;
    benchmarks/road_study.py changes them one at a time)."""
    train.add_argument(
        "--activation",
        choices=PART_VALUES["activation"],
        help="LeNet-5's squashing function (paper: scaled_tanh, modern: swish)",
    )
    train.add_argument(
        "--pooling",
        choices=PART_VALUES["pooling"],
        help="LeNet-5's S2 and S4: paper (trainable 2x2 sums), max or average (modern: max)",
    )
    train.add_argument(
        "--c3",
        choices=PART_VALUES["c3"],
        help="LeNet-5's C3: table (wired by Table I, the paper's) or full (every S2 map, modern)",
    )
    train.add_argument(
        "--output",
        choices=PART_VALUES["output"],
        help="LeNet-5's output: rbf (penalties, loss (8) or (9); the paper's) or linear "
        "(logits for --loss cross-entropy; modern)",
    )


def _add_distortion_options(train: argparse.ArgumentParser) -> None:
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
        "--distort-all",
        action="store_const",
        const=True,
        help="with --distort-copies N: each pass shows all N + 1 versions of every image "
        "(600,000 patterns a pass for 9 copies of MNIST's 60,000: 2.5 GB, 2.9 GB while they are "
        "made), not one",
    )
    train.add_argument(
        "--distort-strength",
        type=float,
        metavar="S",
        help="with --distort: the ranges of lenet.data.DISTORTION_RANGES (shift 2 px, "
        "scale and squeeze 15 %%, shear 0.3) times S (default 0.5)",
    )


def _add_run_options(train: argparse.ArgumentParser) -> None:
    """The options of the run itself: threads, data, folders, the bar."""
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


def prepare(args: argparse.Namespace, words: list[str]) -> str | None:
    """What the parser cannot see: the usage error to report (None: none), the recipe given
    or not, and --epochs typed for --passes (`words`: the command line's words)."""
    if args.resume == "" and not args.out:
        return "--resume needs the run folder: --resume DIR, or --out DIR --resume"
    args.recipe_given = args.recipe is not None
    args.recipe = args.recipe or "paper"
    _TYPED.clear()
    if any(w == "--epochs" or w.startswith("--epochs=") for w in words):
        _TYPED["passes"] = "--epochs"
    return None


# ---- the run -------------------------------------------------------------------------------


def _train_recipe(args: argparse.Namespace) -> tuple[str, Recipe]:
    """(recipe name, Recipe) of a new run: the --recipe with the options typed, every one
    checked and named as typed; options that do not apply to the run are refused."""

    name = args.recipe
    chosen = {k: getattr(args, k) for k in _RECIPE_OPTIONS if getattr(args, k) is not None}
    model = chosen.get("model")
    if model is not None and model != RECIPES[name].model and not args.recipe_given:
        # --model alone: start from that model's own recipe
        name = "seed" if model == "modern" else model
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


def _check_train_options(args: argparse.Namespace) -> None:
    """The options that need neither data nor files, checked before anything is read or made."""

    if args.threads is not None:
        checks.whole_number("--threads", args.threads, 1)
    check_data_folder(args)
    if args.out is not None and args.resume is None:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {args.out} is not a folder")
        if (out / "checkpoint.npz").exists() or (out / "log.jsonl").exists():
            raise ValueError(
                f"--out {args.out} already holds a run: continue it with --resume "
                f"{args.out}, or choose another folder"
            )


def _resumed(args: argparse.Namespace) -> tuple[Path, dict, Recipe]:
    """(run folder, its checkpoint, its recipe) of --resume: only --passes may change, and the
    run's preprocessing must be the one its recipe records."""
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
    check_preprocessing(out, run_preprocessing(state), recipe.preprocessing, "cannot resume it")
    if args.passes is not None:
        recipe = recipe_with(recipe, passes=args.passes)
    return out, state, recipe


def _boosted(args: argparse.Namespace) -> int:
    """`lenet train --model boosted-lenet4`: the three nets of lenet.run.boosting."""
    resume = args.resume is not None
    others = [k for k in _RECIPE_OPTIONS if getattr(args, k) is not None]
    others = [k for k in others if k not in (*_BOOSTING_OPTIONS, "model")]
    if args.recipe_given or others:
        raise ValueError(
            f"--model {args.model} trains its nets by the {BOOSTED[args.model]} recipe: "
            + ", ".join(option(k) for k in others or ["recipe"])
            + " cannot be given with it"
        )
    chosen = {k: getattr(args, k) for k in _BOOSTING_OPTIONS if getattr(args, k) is not None}
    if resume and chosen:
        raise ValueError(
            "--resume continues a boosted run as it was started; "
            + ", ".join(option(k) for k in chosen)
            + " cannot be given with it"
        )
    if "limit" in chosen:
        chosen["images"] = chosen.pop("limit")
    settings = BoostingSettings(model=BOOSTED[args.model], **chosen)
    spelled = {"images": "--limit", "model": "--model"}
    settings.check(lambda name: spelled.get(name, option(name)))
    if args.resume and args.out and Path(args.resume) != Path(args.out):
        raise ValueError(f"--resume {args.resume} and --out {args.out} name two folders")
    out = Path(args.resume or args.out) if resume or args.out else _new_run_folder(args.model)
    if args.threads is not None:
        threads.set_num_threads(args.threads)
    print(f"training {FIGURE9_NAMES[args.model]}: three nets in {out}")
    record = train_boosted(
        out,
        None if resume else settings,
        resume=resume,
        data=args.data,
        download=not args.offline,
        progress=not args.quiet,
    )
    return 130 if record.get("interrupted") else 0


def run(args: argparse.Namespace) -> int:
    _check_train_options(args)
    boosting = [k for k in ("patterns", "candidates", "validation") if getattr(args, k) is not None]
    if args.model in BOOSTED:
        return _boosted(args)
    if boosting:
        raise ValueError(
            f"{option(boosting[0])} applies only to --model {', '.join(BOOSTED)}: leave it out"
        )
    state, name = None, None
    if args.resume is not None:
        out, state, recipe = _resumed(args)
    else:
        name, recipe = _train_recipe(args)
        # a name only: the folder is made when training starts (lenet.run.runs)
        out = Path(args.out) if args.out else _new_run_folder(name)
    if args.threads is not None:  # results do not depend on it, so it is not part of the recipe
        with warnings.catch_warnings():  # a serial build: the header below says so
            warnings.simplefilter("ignore", RuntimeWarning)
            threads.set_num_threads(args.threads)
    train_data, test_data = load_data(recipe, args.data, download=not args.offline)
    if recipe.model == "paper" and train_data[0].shape[1:] not in ((1, 32, 32), (1, 28, 28)):
        raise ValueError(
            f"the paper's LeNet-5 takes 1 x 32 x 32 images (or 1 x 28 x 28, C1 then padding "
            f"them, 'same'), but {recipe.dataset} with "
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
        f"training {_network_name(recipe.model)} on {recipe.dataset}"
        + (f" (recipe {name})" if name else "")
        + f": {recipe.optimizer}, loss "
        f"{recipe.loss}, batch {recipe.batch_size}, {recipe.passes} "
        f"pass{'es' if recipe.passes != 1 else ''}"
        f"{', distorted' if recipe.distort else ''}; output in {out}"
    )
    note = threads.serial_build_note()
    if note is not None:
        print(note)
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


def _network_name(model: str) -> str:
    """How the start of a run names its network: "paper LeNet-5", "LeNet-1", "28x28-300-10"."""
    if model in ("paper", "modern"):
        return f"{model} LeNet-5"
    return FIGURE9_NAMES.get(model, model)


def _new_run_folder(name: str) -> Path:
    """runs/<date-time>-<recipe>, with -2, -3, ... when that folder exists already (the
    folder itself is made by the training run, and removed if it fails before a checkpoint)."""
    base = Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
    folder, k = base, 1
    while folder.exists():
        k += 1
        folder = base.with_name(f"{base.name}-{k}")
    return folder
