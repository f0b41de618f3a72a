"""Training (Section III.C): ``lenet.train``, the loop behind ``lenet train`` and notebooks.

``train(net, train_data, test_data, recipe)`` runs passes over the training set, advancing one
``lenet.run.session.TrainingRun`` (the run object the studio's page drives too). Each pass:

1. the optimiser prepares (SDLM estimates its step sizes on 500 training patterns);
2. every batch goes forward, through the loss, backward, and into the optimiser: either layer
   by layer from Python (``LayerByLayer``, the step to read and change when learning) or a
   whole run of steps per C call (``Fused``, ``lenet.engine.fused``), with the same bits
   (``lenet.run.steps``);
3. the train and test errors are measured, one line is printed, and with ``out`` the run
   folder gets the record and a new checkpoint (``lenet.run.runs``).

Ctrl-C stops the run between two steps and writes a checkpoint from which a resumed run ends
with the same bits as an uninterrupted one.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import data
from ..engine.inputs import Preprocessed
from ..engine.lenet5 import build_network
from ..engine.losses import DEFAULT_J, LOSSES, check_loss
from ..engine.network import Network
from ..engine.optim import Optimizer
from .evaluation import evaluate
from .recipes import DATASETS, RECIPES, Recipe, recipe_from_config
from .session import (
    CHANCE_ERROR,
    DISTORT_CHUNK,
    TrainingDiverged,
    TrainingRun,
    at_chance,
    begin_pass,
    chance_warning,
    format_record,
    loss_and_grad,
    recipe_loss,
)
from .steps import Fused, LayerByLayer

__all__ = [
    "CHANCE_ERROR",
    "DEFAULT_J",
    "DISTORT_CHUNK",
    "LOSSES",
    "RECIPES",
    "Fused",
    "LayerByLayer",
    "Recipe",
    "StopOnInterrupt",
    "TrainingDiverged",
    "TrainingRun",
    "at_chance",
    "begin_pass",
    "chance_warning",
    "check_loss",
    "evaluate",
    "format_record",
    "load_data",
    "loss_and_grad",
    "network_for",
    "recipe_from_config",
    "recipe_loss",
    "train",
]


# ---- Ctrl-C ----------------------------------------------------------------------------------


class StopOnInterrupt:
    """While active, the first Ctrl-C (SIGINT) or SIGTERM only sets ``requested``: the loop
    stops between two steps and writes a checkpoint. A second one interrupts at once."""

    def __enter__(self) -> StopOnInterrupt:
        self.requested = False
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is signal.SIG_IGN:  # a background job: keep ignoring
                    continue
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            self._restore()
            raise KeyboardInterrupt
        self.requested = True
        print(
            f"\n{signal.Signals(signum).name}: stopping at the next step boundary (within "
            f"{DISTORT_CHUNK:,} images) and writing a checkpoint; once more aborts without saving",
            file=sys.stderr,
            flush=True,
        )

    def _restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous = {}

    def __exit__(self, *exc: object) -> None:
        self._restore()


# ---- the run ---------------------------------------------------------------------------------


def train(
    net: Network,
    train_data: tuple[np.ndarray | Preprocessed, np.ndarray],
    test_data: tuple[np.ndarray | Preprocessed, np.ndarray] | None = None,
    recipe: Recipe | None = None,
    *,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] | None = print,
    optimizer: Optimizer | None = None,
    fused: bool | None = None,
) -> list[dict]:
    """Train `net` on `train_data` = (images (N, C, H, W), labels (N,)) as `recipe` says.
    The images may be ``lenet.engine.inputs.Preprocessed`` pixels (as ``load_data`` gives them,
    preprocessed as the recipe says): the same numbers, a quarter of the memory.

    Returns the history: one dict per pass with pass, lr, train_loss, running_train_error,
    train_error, test_error, seconds (and, for SDLM, the range of effective learning rates).
    With `out`, writes ``log.jsonl``, ``config.json`` and ``checkpoint.npz`` there after every
    pass; with `resume`, first continues from ``out/checkpoint.npz`` (refused when the recipe
    differs from the run's in what would change the bits, its preprocessing among them).
    Ctrl-C writes a checkpoint of the point reached (resumable to the same bits) and returns;
    the history's last entry then has ``"interrupted": True``.

    `fused` chooses how the steps run: through the fused C path (``lenet.engine.fused``: forward,
    loss, backward and update for 1,024 images per call), or with ``False`` layer by layer
    from Python (``LayerByLayer``: ``net.forward``, ``net.backward``, ``optimizer.step()``),
    the loop to read and modify when learning. Both give the same bits. ``None`` (the
    default) takes the fused path whenever the network and optimiser allow it.
    """
    run = TrainingRun(
        net,
        train_data,
        test_data,
        recipe,
        out=out,
        resume=resume,
        optimizer=optimizer,
        fused=fused,
        echo=echo,
        bar=progress,
    )
    try:
        with StopOnInterrupt() as interrupt:
            return _passes(run, interrupt)
    except BaseException:
        run.discard_if_unsaved()
        raise


def _passes(run: TrainingRun, interrupt: StopOnInterrupt) -> list[dict]:
    """The passes from where the run stands to the recipe's last; returns the history."""

    def stop() -> bool:
        return interrupt.requested

    while run.epoch < run.recipe.passes:
        epoch, first, steps = run.epoch, run.step, run.steps_per_pass
        run.advance(stop=stop)  # the rest of the pass, unless Ctrl-C comes first
        if run.step < steps:  # Ctrl-C: save the point reached, between two steps
            return run.interrupted(
                f"interrupted in pass {epoch + 1} after {run.step} of {steps} steps"
            )
        if interrupt.requested and first < steps:  # in the last step: save before evaluating
            return run.interrupted(f"interrupted at the end of pass {epoch + 1}")
        run.end_pass()
        if interrupt.requested and run.epoch < run.recipe.passes:
            return run.interrupted(f"interrupted after pass {epoch + 1}", save=False)
    return run.history


# ---- data and networks ------------------------------------------------------------------------


def network_for(recipe: Recipe, image_shape: tuple[int, int, int]) -> Network:
    """A freshly initialised network for the recipe and images of shape (C, H, W), reading
    the recipe's preprocessing."""
    net = build_network(recipe.network_config(image_shape))
    net.use_preprocessing(recipe.preprocessing)
    return net


def load_data(
    recipe: Recipe, root: str | os.PathLike | None = None, download: bool = True
) -> tuple[tuple[Preprocessed, np.ndarray], tuple[Preprocessed, np.ndarray]]:
    """(train, test) pairs of images (N, C, H, W) and labels, as the recipe's dataset and
    preprocessing say (files from `root`, else recipe.data, else the usual search; see
    lenet.data.files). Both image sets are ``Preprocessed``: their pixels, made into the
    recipe's float32 input a batch at a time (so a run holds 55 MB of MNIST instead of 287 MB;
    ``np.asarray`` gives the array)."""
    if recipe.dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {recipe.dataset!r}")
    loader = getattr(data, "load_" + recipe.dataset.replace("-", "_"))
    root = root if root is not None else recipe.data
    (x_train, y_train), (x_test, y_test) = loader(root=root, download=download)
    return (
        (Preprocessed(x_train, recipe.preprocessing), y_train.astype(np.int64)),
        (Preprocessed(x_test, recipe.preprocessing), y_test.astype(np.int64)),
    )
