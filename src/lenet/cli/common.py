"""What several commands share: the data options, reading a checkpoint with its data, and the
checks of the picture commands' options."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..run.checkpoint import read_checkpoint
from ..run.recipes import Recipe, recipe_from_config
from ..run.runs import check_preprocessing, run_preprocessing
from ..run.training import load_data

#: the test image docs/tutorial.md follows (a 9), drawn by inspect and figures by default
TUTORIAL_IMAGE = 7

DATASET_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}


class MissingExtra(RuntimeError):
    """An optional dependency (an extra such as ``lenet[plot]``) is not installed."""


def need_extra(require: Callable[[], object]) -> None:
    """Run an extra's check (``viz.require_matplotlib``) now, before any data are loaded."""
    try:
        require()
    except ImportError as exc:
        raise MissingExtra(str(exc)) from None


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """--data DIR and --offline, as every command that reads a dataset takes them."""
    parser.add_argument("--data", metavar="DIR", help="folder holding the dataset files")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="never download: fail if the dataset files are not found",
    )


def check_data_folder(args: argparse.Namespace) -> None:
    """--data, when given, must be a folder (whether it holds the dataset is seen on reading)."""
    if args.data is not None and not Path(args.data).expanduser().is_dir():
        raise ValueError(f"--data {args.data}: no such folder")


def checkpoint_data(
    args: argparse.Namespace,
    split: str = "test",
    doing: str = "cannot read it",
    path: str | Path | None = None,
) -> tuple[dict, Recipe, tuple[np.ndarray, np.ndarray]]:
    """(state, recipe, (images, labels)): a checkpoint (``path``, by default
    ``args.checkpoint``) and the `split` of the dataset its recipe names, preprocessed as it
    was trained (refused, naming both, when the recipe's preprocessing is not the one its run
    trained on)."""
    path = args.checkpoint if path is None else path
    state = read_checkpoint(path)
    recipe = recipe_from_config(state["config"])
    check_preprocessing(path, run_preprocessing(state), recipe.preprocessing, doing)
    train_data, test_data = load_data(recipe, args.data, download=not args.offline)
    images, labels = test_data if split == "test" else train_data
    return state, recipe, (np.asarray(images), labels)


def check_picture_options(args: argparse.Namespace) -> None:
    """The checks of `inspect` and `figures` options that need no data, made before any file is
    read: --index from 0 (its upper end is the dataset's size, checked once it is loaded),
    --max-digits from 1, --out a folder or a path yet unused."""
    if args.index < 0:
        raise ValueError(f"--index {args.index} is out of range: images are numbered from 0")
    if getattr(args, "max_digits", 1) < 1:
        raise ValueError(f"--max-digits must be at least 1, got {args.max_digits}")
    if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"--out {args.out} is not a folder")


def check_index(index: int, labels: np.ndarray, dataset: str, split: str) -> int:
    n = len(labels)
    if not 0 <= index < n:
        raise ValueError(
            f"--index {index} is out of range: the "
            f"{DATASET_NAMES.get(dataset, dataset)} {split} set has "
            f"{n:,} images, numbered 0 to {n - 1:,}"
        )
    return index


def digit_title(recipe: Recipe, split: str, index: int) -> str:
    return f"{DATASET_NAMES.get(recipe.dataset, recipe.dataset)} {split} image {index}"
