"""One training run, advanced by some number of patterns at a time (Section III.C).

``TrainingRun(net, train_data, test_data, recipe, out=...)`` holds everything a run needs:
the network and its optimiser, the steps (``lenet.run.steps``: fused in C or layer by layer),
the images, where the run stands (pass, step, the running sums of the pass, the records of
finished passes) and its folder (``lenet.run.runs``). ``lenet.train`` (the command line and
notebooks) drives it with these methods:

* ``advance(patterns)``: train the next steps of the current pass (whole steps, up to the end
  of the pass); the first call of a pass begins it (its order of the patterns and, for SDLM,
  h_kk estimated on 500 of them);
* ``end_pass()``: once the pass's last step is done, measure the train and test errors, make
  the pass's record (the same keys for every driver), write the checkpoint, then the log line;
* ``save()``: a checkpoint of the point reached, between two steps.

Every random choice of pass p (the shuffle, the curvature patterns, the distortions of each
chunk of images) comes from a generator seeded with (seed, p, ...), so a run resumed from a
checkpoint, even one written in the middle of a pass, ends with the same bits as an
uninterrupted run, however it was advanced.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..data.distortions import DistortedCopies, distort, distortion_ranges
from ..engine.inputs import Preprocessed
from ..engine.lenet5 import CHOICES, lenet5_choices, network_config
from ..engine.losses import Loss, check_loss, loss_for
from ..engine.network import Network
from ..engine.optim import Optimizer
from ..engine.sdlm import SDLM
from .evaluation import evaluate
from .recipes import LENET5_MODELS, Recipe, make_optimizer
from .runs import Progress, RunFolder
from .steps import Fused, make_steps, no_steps

__all__ = [
    "CHANCE_ERROR",
    "COPIES_KEY",
    "DISTORT_CHUNK",
    "TrainingDiverged",
    "TrainingRun",
    "at_chance",
    "begin_pass",
    "chance_warning",
    "format_record",
    "loss_and_grad",
    "recipe_loss",
]

#: Images distorted together with one generator (a resumed run regenerates whole chunks), and
#: run through the fused path in one call (so Ctrl-C is seen at least every chunk).
DISTORT_CHUNK = 1024
#: The key, in the place of a pass's number, of the draws of the fixed distorted set.
COPIES_KEY = 2**32 - 1
#: A pass whose train or test error is at least this is at chance level (10 classes: 90 %).
CHANCE_ERROR = 0.85


class TrainingDiverged(RuntimeError):
    """The loss or the weights stopped being finite."""


def recipe_loss(net: Network, recipe: Recipe) -> Loss:
    """The loss the recipe names, checked against the network's output layer."""
    return loss_for(net, recipe.loss, recipe.j if recipe.loss == "discriminative" else None)


def loss_and_grad(
    net: Network, out: np.ndarray, labels: np.ndarray, recipe: Recipe
) -> tuple[float, np.ndarray]:
    """(loss, dE/dout) of the recipe's loss; RBF losses need RBF outputs and vice versa."""
    return recipe_loss(net, recipe)(out, labels)


class TrainingRun:
    """One network trained by one recipe (see the module's docstring).

    ``train_data`` = (images (N, C, H, W), labels (N,)); the images may be ``Preprocessed``
    pixels, which must then be preprocessed as the recipe says; the network's
    ``preprocessing`` becomes the recipe's (``net.predict`` prepares raw digits so, and its
    checkpoints record it). With ``out`` the run has a
    folder, checked (and, with ``resume``, read: the run goes on from its checkpoint) here,
    before any step. ``echo`` prints each pass's line; ``bar`` shows a progress bar while a
    call of ``advance`` runs."""

    def __init__(
        self,
        net: Network,
        train_data: tuple[np.ndarray | Preprocessed, np.ndarray],
        test_data: tuple[np.ndarray | Preprocessed, np.ndarray] | None = None,
        recipe: Recipe | None = None,
        *,
        out: str | os.PathLike | None = None,
        resume: bool = False,
        optimizer: Optimizer | None = None,
        fused: bool | None = None,
        echo: Callable[[str], None] | None = None,
        bar: bool = False,
    ) -> None:
        recipe = recipe or Recipe()
        if not isinstance(recipe, Recipe):
            raise TypeError(f"recipe must be a lenet Recipe, got {type(recipe).__name__}")
        recipe.check()  # its fields may have been changed since it was made
        x, self.y = _training_data(net, train_data, recipe, out)
        net.use_preprocessing(recipe.preprocessing)  # the input it learns: predict makes it so
        self.net, self.recipe, self.test = net, recipe, test_data
        self.loss = recipe_loss(net, recipe)
        self.optimizer = optimizer or make_optimizer(net, recipe)
        self.steps = make_steps(net, self.optimizer, self.loss, recipe.batch_size, fused)
        if isinstance(x, Preprocessed):  # pixels, preprocessed as each batch is gathered
            x = x if x.dtype == net.dtype else x.astype(net.dtype)
        elif isinstance(self.steps, Fused):  # the C loop reads images in place: convert once
            x = np.ascontiguousarray(x, dtype=net.dtype)
        self.x = x
        if resume and out is None:
            raise ValueError("resume needs out: the folder holding the run's checkpoint")
        self.folder = (
            RunFolder(out, net, self.optimizer, recipe, len(x)) if out is not None else None
        )
        start = self.folder.start(resume) if self.folder is not None else Progress()
        self.epoch, self.step, self.running, self.history = (
            start.epoch,
            start.step,
            start.running,
            start.history,
        )
        self.echo, self.bar = echo, bar
        self.ranges = distortion_ranges(recipe.distort_strength)
        self.copies = None  # the paper's fixed distorted set (distort_copies)
        if recipe.distort and recipe.distort_copies:  # made from the seed alone, as a pass's
            rng = pass_generator(recipe.seed, COPIES_KEY)
            self.copies = DistortedCopies(len(x), recipe.distort_copies, rng, self.ranges)
        self.measured = (self.x, self.y)  # the images whose train error a pass records
        self.distorting = recipe.distort  # whether a pass distorts the images it shows
        if self.copies is not None and recipe.distort_all:  # a pass over the whole set
            versions = recipe.distort_copies + 1
            if echo:
                echo(f"making the enlarged set: {versions * len(x):,} images")
            try:  # slow and large: a failure or Ctrl-C here leaves no folder behind
                self.x = self.copies.every_version(self.x)
            except BaseException:
                self.discard_if_unsaved()
                raise
            self.y = np.tile(self.y, versions)
            self.copies, self.distorting = None, False
        self.order: np.ndarray | None = None  # the pass's order of the patterns, once begun
        self.last_pattern: int | None = None  # the index of the pattern trained last
        self._distorted: tuple[int, Any, np.ndarray] | None = None  # (chunk, images, labels)
        self._seconds = 0.0  # spent on the current pass
        self._warned = any(at_chance(r) for r in self.history)  # a resumed run warned already

    @property
    def steps_per_pass(self) -> int:
        return math.ceil(len(self.x) / self.recipe.batch_size)

    @property
    def pass_done(self) -> bool:
        """Whether every step of the current pass is done (``end_pass`` is next)."""
        return self.step >= self.steps_per_pass

    # ---- the steps -------------------------------------------------------------------------

    def advance(self, patterns: int | None = None, stop: Callable[[], bool] | None = None) -> int:
        """Train the next ``patterns`` patterns of the current pass, as whole steps (at least
        one), or with None the rest of the pass; ``stop()``, asked before each call into the
        steps, ends the call early (Ctrl-C). Returns the patterns trained."""
        started = time.perf_counter()
        batch, n, first = self.recipe.batch_size, len(self.x), self.step
        steps = self.steps_per_pass
        last = steps if patterns is None else min(steps, first + max(1, patterns // batch))
        if self.order is None:  # resuming inside a pass, the optimiser's state came with it
            self.order = begin_pass(
                self.optimizer, self.recipe, self.x, self.y, self.epoch, first == 0
            )
        bar = progress_bar(
            n, f"pass {self.epoch + 1}/{self.recipe.passes}", self.bar, min(first * batch, n)
        )
        try:
            while self.step < last:
                if stop is not None and stop():
                    break
                self._run_steps(last, bar)
        finally:
            if bar is not None:
                bar.close()
            self._seconds += time.perf_counter() - started
        return min(self.step * batch, n) - min(first * batch, n)

    def _run_steps(self, last: int, bar: Any) -> None:
        """One call into the steps, from the current step to `last` at most, within one chunk
        of images (the distortions are made a chunk at a time)."""
        assert self.order is not None
        batch, n, step = self.recipe.batch_size, len(self.x), self.step
        chunk = batch * max(1, DISTORT_CHUNK // batch)  # images distorted together
        index = step * batch // chunk  # the chunk of this step's images
        lo = index * chunk
        chunk_end = min(self.steps_per_pass, (index + 1) * chunk // batch)
        end = min(last, self.steps.steps_until(step, chunk_end))
        if self.distorting:  # this chunk's images, distorted, in the pass's order
            if self._distorted is None or self._distorted[0] != index:
                images = self._distort(self.order[lo : lo + chunk], index)
                self._distorted = (index, images, self.y[self.order[lo : lo + len(images)]])
            _, images, labels = self._distorted
            positions = np.arange(step * batch - lo, min(end * batch, n) - lo)
        else:
            images, labels = self.x, self.y
            positions = self.order[step * batch : min(end * batch, n)]
        done, diverged = self.steps.run(images, labels, positions, self.running, bar, step)
        trained = min(done * batch, len(positions))
        if trained:
            self.last_pattern = int(self.order[step * batch + trained - 1])
        if diverged:
            failed = images[positions[done * batch : (done + 1) * batch]]
            raise self._diverged(
                diverged, self.epoch, step + done + 1, self.net.where_non_finite(failed)
            )
        self.step += done

    def _distort(self, indices: np.ndarray, chunk: int) -> np.ndarray:
        """What this pass shows of images ``x[indices]``: new distortions, or the versions of
        the fixed distorted set."""
        if self.copies is not None:
            return self.copies.images(self.x, indices, self.epoch)
        rng = pass_generator(self.recipe.seed, self.epoch, chunk)
        return distort(self.x[indices], rng, **self.ranges)

    # ---- the end of a pass, checkpoints ------------------------------------------------------

    def end_pass(self) -> dict:
        """The finished pass's record (its running figures, then the errors measured after
        it), printed with ``echo``; then the checkpoint of the next pass's start, and the
        record in the log (after the checkpoint: the log never runs ahead of it)."""
        started = time.perf_counter()
        if not np.all(np.isfinite(self.net.parameters)):
            raise self._diverged(
                "the weights stopped being finite",
                self.epoch,
                self.steps_per_pass,
                self.net.where_non_finite(),
            )
        seen = max(self.running["seen"], 1)
        record = {
            "pass": self.epoch + 1,
            "lr": self.optimizer.lr,
            "train_loss": self.running["loss"] / seen,
            "running_train_error": self.running["errors"] / seen,
            "train_error": evaluate(self.net, *self.measured)["error"],
            "test_error": evaluate(self.net, *self.test)["error"] if self.test else None,
            "seconds": self._seconds + time.perf_counter() - started,
        }
        if isinstance(self.optimizer, SDLM):
            record["effective_lr_min"], record["effective_lr_max"] = (
                self.optimizer.effective_rates()
            )
        self.history.append(record)
        if self.echo:
            self.echo(format_record(record))
            if not self._warned and at_chance(record):
                self._warned = True
                self.echo(chance_warning(record, self.recipe))
        self.epoch, self.step, self.running = self.epoch + 1, 0, no_steps()
        self.order, self._distorted, self._seconds = None, None, 0.0
        self.save()
        if self.folder is not None:
            self.folder.log(record)
        return record

    def save(self) -> Path | None:
        """A checkpoint of the run as it is now, in its folder (never of non-finite weights);
        returns its path (None without a folder)."""
        if self.folder is None:
            return None
        if not np.all(np.isfinite(self.net.parameters)):  # never replace a good checkpoint
            raise self._diverged(
                "the weights stopped being finite",
                self.epoch,
                self.step,
                self.net.where_non_finite(),
            )
        self.folder.save(Progress(self.epoch, self.step, self.running, self.history))
        return self.folder.checkpoint_path

    def interrupted(self, text: str, save: bool = True) -> list[dict]:
        """Stopped (Ctrl-C): the point reached saved; the history says where it stopped."""
        if save:
            self.save()
        self.history.append({"pass": self.epoch + 1, "interrupted": True, "step": self.step})
        if self.echo:
            where = (
                f" to {self.folder.checkpoint_path} (continue with --resume)"
                if self.folder is not None
                else ""
            )
            self.echo(f"{text}: checkpoint written{where}")
        return self.history

    def discard_if_unsaved(self) -> None:
        """After a run that failed, or ended, before its first checkpoint: no folder without a
        checkpoint is left behind (``RunFolder.remove_if_unsaved``)."""
        if self.folder is not None:
            self.folder.remove_if_unsaved()

    def _diverged(self, what: str, epoch: int, step: int, where: str = "") -> TrainingDiverged:
        """The error that stops a diverging run: what happened, in which pass and step (both
        from 1), where in the network, and which checkpoint is left."""
        if self.folder is None:
            last = ""
        elif epoch:
            last = (
                f"; the last good checkpoint, written after pass {epoch}, is kept in "
                f"{self.folder.path}"
            )
        else:
            last = "; no checkpoint was written (the first pass did not finish)"
        return TrainingDiverged(
            f"{what} in pass {epoch + 1}, step {step}" + (f": {where}" if where else "") + last
        )


def _check_parts(net: Network, recipe: Recipe) -> None:
    """A LeNet-5's parts that the recipe names must be the network's (the run would record
    one network and train another); a part the recipe leaves to the model (None) is the
    network's, whatever it is."""
    have = lenet5_choices(net)
    for part in CHOICES:
        if getattr(recipe, part) is not None and have[part] != recipe.part(part):
            raise ValueError(
                f"the recipe's {part} is {recipe.part(part)!r} but the network's is "
                f"{have[part]!r}: set Recipe({part}={have[part]!r}, ...)"
            )


def _training_data(
    net: Network,
    train_data: tuple[np.ndarray | Preprocessed, np.ndarray],
    recipe: Recipe,
    out: str | os.PathLike | None,
) -> tuple[Any, np.ndarray]:
    """The images and labels to train on (the first `limit`), checked against the network
    and, when they are ``Preprocessed`` pixels, against the recipe's preprocessing."""
    x, y = train_data
    if recipe.limit is not None:
        x, y = x[: recipe.limit], y[: recipe.limit]
    if net.variant != "custom" and net.variant != recipe.model:
        raise ValueError(
            f"the recipe is for the {recipe.model!r} model but the network is the "
            f"{net.variant!r} one: set Recipe(model={net.variant!r}, ...)"
        )
    if net.variant in LENET5_MODELS:
        _check_parts(net, recipe)
    if isinstance(x, Preprocessed) and x.scheme != recipe.preprocessing:
        raise ValueError(
            f"the images are preprocessed as {x.scheme!r} but the recipe's preprocessing is "
            f"{recipe.preprocessing!r}: the run would record the one and train on the other; "
            f"set Recipe(preprocessing={x.scheme!r}, ...) or preprocess the images as "
            f"{recipe.preprocessing!r}"
        )
    if out is not None:
        network_config(net)  # a custom network cannot be checkpointed: say so before training
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(
            f"train_data must be non-empty images and labels of the same length, "
            f"got {len(x)} images and {len(y)} labels"
        )
    check_loss(net, recipe.loss)
    return x, np.asarray(y, dtype=np.int64)


def begin_pass(
    optimizer: Optimizer,
    recipe: Recipe,
    x: np.ndarray | Preprocessed,
    y: np.ndarray,
    epoch: int,
    start: bool = True,
) -> np.ndarray:
    """The order of pass `epoch`'s patterns and, with `start`, the optimiser's pass begun
    (SDLM: h_kk estimated on ``recipe.curvature_patterns`` patterns drawn for that pass).
    Both come from the pass's own random numbers, so a resumed run repeats them."""
    n = len(x)
    rng = pass_generator(recipe.seed, epoch)
    order = rng.permutation(n)
    if start:
        if isinstance(optimizer, SDLM):
            sample = rng.choice(n, min(recipe.curvature_patterns, n), replace=False)
            optimizer.start_pass(epoch, (x[sample], y[sample]))
        else:
            optimizer.start_pass(epoch)
    return order


def pass_generator(seed: int, epoch: int, *more: int) -> np.random.Generator:
    """The random numbers of pass `epoch` (its order, its curvature patterns, its distortions),
    a function of the seed and the pass alone: so a resumed run repeats them."""
    return np.random.default_rng([seed, epoch, *more])


# ---- what the learner sees ---------------------------------------------------------------------


def progress_bar(total: int, desc: str, enabled: bool, initial: int = 0) -> Any:
    """A tqdm bar over ``total`` images (None when not ``enabled``): a pass's, or a filter's
    candidates (lenet.run.boosting)."""
    if not enabled:
        return None
    from tqdm import tqdm  # optional: lenet runs without it when no bar is asked for

    # disable=None: no bar when stderr is not a terminal (a log file under nohup, say)
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="img",
        leave=False,
        dynamic_ncols=True,
        file=sys.stderr,
        mininterval=0.5,
        disable=None,
    )


def format_record(record: dict) -> str:
    """One line per pass: pass, learning rate, the running loss and error of the pass (each
    batch measured before its update), then the train and test errors measured after it."""
    test = record.get("test_error")
    running = record.get("running_train_error")
    return (
        f"pass {record['pass']:2d}  lr {record['lr']:.2e}  running: loss "
        f"{record['train_loss']:.4f}"
        + (f", error {100 * running:.2f}%" if running is not None else "")
        + f"  after the pass: train error {100 * record['train_error']:.2f}%"
        + (f", test error {100 * test:.2f}%" if test is not None else "")
        + f"  {record['seconds']:.1f} s"
    )


def at_chance(record: dict) -> bool:
    """Whether a pass's record shows a network at chance level: its train or test error, as
    measured after the pass, at least CHANCE_ERROR (ten classes: chance is 90 %)."""
    errors = [record.get("train_error"), record.get("test_error")]
    return any(e is not None and e >= CHANCE_ERROR for e in errors)


def chance_warning(record: dict, recipe: Recipe) -> str:
    """The one line printed when a run is at chance after a pass."""
    worst = max(e for e in (record.get("train_error"), record.get("test_error")) if e is not None)
    literal = (
        " (SDLM from the literal +-2.4/F_i initialisation does this)"
        if recipe.optimizer == "sdlm" and recipe.model == "paper" and recipe.init == "lecun98"
        else ""
    )
    return (
        f"warning: after pass {record['pass']} the error is {100 * worst:.1f} %, chance "
        f"level: this run is not learning{literal}; lenet.run.recipes.RECIPES (lenet train "
        f"--recipe) lists recipes that train, and docs/results.md tells why"
    )
