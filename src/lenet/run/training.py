"""Training (Section III.C): the loop behind ``lenet train``.

``train(net, train_data, test_data, recipe)`` runs passes over the training set. Each pass:

1. the optimiser prepares (SDLM estimates its step sizes on 500 training patterns);
2. every batch goes forward, through the loss, backward, and into the optimiser: either layer
   by layer from Python (``LayerByLayer``, the step to read and change when learning) or a
   whole run of steps per C call (``Fused``, ``lenet.engine.fused``), with the same bits;
3. the train and test errors are measured, one line is printed, and with ``out`` the run
   folder gets the record and a new checkpoint (``lenet.run.runs``).

Every random choice of pass p (the shuffle, the 500 curvature patterns, the distortions of
each chunk of images) comes from a generator seeded with (seed, p, ...), so a run resumed from
a checkpoint, even one written in the middle of a pass after Ctrl-C, ends with the same bits as
an uninterrupted run.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import data
from ..data.distortions import DistortedCopies, distort, distortion_ranges
from ..engine.fused import FusedTrainer, NotFusable
from ..engine.inputs import Preprocessed
from ..engine.lenet5 import build_network, network_config
from ..engine.losses import DEFAULT_J, LOSSES, Loss, check_loss, loss_for
from ..engine.network import Network
from ..engine.optim import Optimizer
from ..engine.sdlm import SDLM
from .evaluation import evaluate
from .recipes import DATASETS, RECIPES, Recipe, make_optimizer, recipe_from_config
from .runs import Progress, RunFolder

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
    "at_chance",
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


# ---- the steps -----------------------------------------------------------------------------


class LayerByLayer:
    """One training step as a student writes it, layer by layer from Python:

        out = net.forward(x)                   # every layer's states, cached for backward
        loss, grad = loss(out, labels)         # equation (8), (9) or cross-entropy
        net.backward(grad)                     # every layer's gradients, into net.gradients
        optimizer.step()                       # w <- w - eps dE/dw (SDLM), or another rule

    The loop to read and to change when learning; the fused path gives the same bits."""

    def __init__(self, net: Network, optimizer: Optimizer, loss: Loss, batch_size: int) -> None:
        self.net, self.optimizer, self.loss, self.batch_size = net, optimizer, loss, batch_size

    def steps_until(self, step: int, chunk_end: int) -> int:
        """The step this stepper stops after: one step per call, so that Ctrl-C is seen
        between any two steps."""
        return step + 1

    def run(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        order: np.ndarray,
        running: dict,
        bar: Any,
        step: int,
    ) -> tuple[int, str | None]:
        """The steps of ``order`` (indices into images and labels, one batch here): returns
        the steps done and, when a loss stopped being finite, what happened."""
        x, y = images[order], labels[order]
        out = self.net.forward(x)
        loss, grad = self.loss(out, y)
        if not math.isfinite(loss):
            return 0, f"the loss became {loss}"
        self.net.backward(grad)
        self.optimizer.step()
        running["loss"] += loss * len(order)
        running["errors"] += int(np.sum(self.net.classify(out) != y))
        running["seen"] += len(order)
        if bar is not None:
            bar.update(len(order))
            if step % 200 == 0:
                _show_running(bar, running)
        return 1, None


class Fused:
    """Training steps run in C, up to the end of a chunk of images per call
    (``lenet.engine.fused``):
    forward, loss, backward and update, exactly as ``LayerByLayer`` runs them."""

    def __init__(self, trainer: FusedTrainer) -> None:
        self.trainer = trainer
        self.batch_size = trainer.batch_size

    def steps_until(self, step: int, chunk_end: int) -> int:
        return chunk_end

    def run(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        order: np.ndarray,
        running: dict,
        bar: Any,
        step: int,
    ) -> tuple[int, str | None]:
        done, loss_sum, errors, diverged = self.trainer.run(images, labels, order, running["loss"])
        seen = min(done * self.batch_size, len(order))
        running["loss"] = loss_sum
        running["errors"] += errors
        running["seen"] += seen
        if bar is not None:
            bar.update(seen)
            _show_running(bar, running)
        return done, "the loss stopped being finite" if diverged else None


def _stepper(
    net: Network, optimizer: Optimizer, loss: Loss, recipe: Recipe, fused: bool | None
) -> LayerByLayer | Fused:
    """The fused steps when asked for (True) or when net and optimiser allow them (None)."""
    if fused is None or fused:
        try:
            return Fused(FusedTrainer(net, optimizer, recipe.batch_size, loss))
        except NotFusable:
            if fused:
                raise
    return LayerByLayer(net, optimizer, loss, recipe.batch_size)


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


@dataclass
class _Run:
    """What every pass of one training run needs."""

    net: Network
    optimizer: Optimizer
    recipe: Recipe
    steps: LayerByLayer | Fused
    x: np.ndarray
    y: np.ndarray
    test: tuple[np.ndarray | Preprocessed, np.ndarray] | None
    folder: RunFolder | None
    progress: Progress
    echo: Callable[[str], None] | None
    bar: bool
    ranges: dict[str, float]  # the distortions' ranges (distort_strength)
    copies: DistortedCopies | None  # the paper's fixed distorted set (distort_copies)
    stop: Any = None


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
    The images may be ``lenet.engine.inputs.Preprocessed`` pixels (as ``load_data`` gives them):
    the same numbers, a quarter of the memory.

    Returns the history: one dict per pass with pass, lr, train_loss, train_error, test_error,
    seconds (and, for SDLM, the range of effective learning rates). With `out`, writes
    ``log.jsonl``, ``config.json`` and ``checkpoint.npz`` there after every pass; with
    `resume`, first continues from ``out/checkpoint.npz``. Ctrl-C writes a checkpoint of the
    point reached (resumable to the same bits) and returns; the history's last entry then has
    ``"interrupted": True``.

    `fused` chooses how the steps run: through the fused C path (``lenet.engine.fused``: forward,
    loss, backward and update for 1,024 images per call), or with ``False`` layer by layer
    from Python (``LayerByLayer``: ``net.forward``, ``net.backward``, ``optimizer.step()``),
    the loop to read and modify when learning. Both give the same bits. ``None`` (the
    default) takes the fused path whenever the network and optimiser allow it.
    """
    recipe = recipe or Recipe()
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a lenet Recipe, got {type(recipe).__name__}")
    recipe.check()  # its fields may have been changed since it was made
    x, y = _training_data(net, train_data, recipe, out)
    loss = recipe_loss(net, recipe)
    optimizer = optimizer or make_optimizer(net, recipe)
    steps = _stepper(net, optimizer, loss, recipe, fused)
    if isinstance(x, Preprocessed):  # pixels, preprocessed as each batch is gathered
        x = x if x.dtype == net.dtype else x.astype(net.dtype)
    elif isinstance(steps, Fused):  # the C loop reads images in place: convert them once
        x = np.ascontiguousarray(x, dtype=net.dtype)
    if resume and out is None:
        raise ValueError("resume needs out: the folder holding the run's checkpoint")
    folder = RunFolder(out, net, optimizer, recipe, len(x)) if out is not None else None
    start = folder.start(resume) if folder is not None else Progress()
    ranges = distortion_ranges(recipe.distort_strength)
    copies = None
    if recipe.distort and recipe.distort_copies:  # made from the seed alone, as a pass's draws
        rng = _pass_generator(recipe.seed, COPIES_KEY)
        copies = DistortedCopies(len(x), recipe.distort_copies, rng, ranges)
    run = _Run(
        net,
        optimizer,
        recipe,
        steps,
        x,
        y,
        test_data,
        folder,
        start,
        echo,
        progress,
        ranges,
        copies,
    )
    try:
        with StopOnInterrupt() as run.stop:
            return _passes(run)
    except BaseException:
        if folder is not None:
            folder.remove_if_unsaved()
        raise


def _training_data(
    net: Network,
    train_data: tuple[np.ndarray | Preprocessed, np.ndarray],
    recipe: Recipe,
    out: str | os.PathLike | None,
) -> tuple[Any, np.ndarray]:
    """The images and labels to train on (the first `limit`), checked against the network."""
    x, y = train_data
    if recipe.limit is not None:
        x, y = x[: recipe.limit], y[: recipe.limit]
    if net.variant != "custom" and net.variant != recipe.model:
        raise ValueError(
            f"the recipe is for the {recipe.model!r} model but the network is the "
            f"{net.variant!r} one: set Recipe(model={net.variant!r}, ...)"
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


def _passes(run: _Run) -> list[dict]:
    """The passes from where the run stands to the recipe's last; returns the history."""
    history = run.progress.history
    warned = any(at_chance(r) for r in history)  # a resumed run warned already
    for epoch in range(run.progress.epoch, run.recipe.passes):
        started = time.perf_counter()
        first = run.progress.step if epoch == run.progress.epoch else 0
        running = run.progress.running if epoch == run.progress.epoch else _no_steps()
        step = _one_pass(run, epoch, first, running)
        steps = _steps_per_pass(run)
        if step < steps:  # Ctrl-C: save the point reached, between two steps
            return _interrupted(
                run,
                Progress(epoch, step, running, history),
                f"interrupted in pass {epoch + 1} after {step} of {steps} steps",
            )
        if run.stop.requested and first < steps:  # in the last step: save before evaluating
            return _interrupted(
                run,
                Progress(epoch, steps, running, history),
                f"interrupted at the end of pass {epoch + 1}",
            )
        record = _end_of_pass(run, epoch, running, started)
        history.append(record)
        if run.echo:
            run.echo(format_record(record))
            if not warned and at_chance(record):
                warned = True
                run.echo(chance_warning(record, run.recipe))
        _save(run, Progress(epoch + 1, 0, _no_steps(), history))
        if run.folder is not None:  # after the checkpoint: the log never runs ahead of it
            run.folder.log(record)
        if run.stop.requested and epoch + 1 < run.recipe.passes:
            history.append({"pass": epoch + 2, "interrupted": True, "step": 0})
            if run.echo:
                run.echo(_interrupted_text(run, f"interrupted after pass {epoch + 1}"))
            return history
    return history


def _distorted(run: _Run, indices: np.ndarray, epoch: int, chunk: int) -> np.ndarray:
    """What pass `epoch` shows of images ``run.x[indices]``: new distortions, or the versions
    of the fixed distorted set."""
    if run.copies is not None:
        return run.copies.images(run.x, indices, epoch)
    rng = _pass_generator(run.recipe.seed, epoch, chunk)
    return distort(run.x[indices], rng, **run.ranges)


def _no_steps() -> dict:
    return {"loss": 0.0, "errors": 0, "seen": 0}


def _steps_per_pass(run: _Run) -> int:
    return math.ceil(len(run.x) / run.recipe.batch_size)


def _one_pass(run: _Run, epoch: int, first: int, running: dict) -> int:
    """The steps of pass `epoch` from step `first` on; returns the step reached (fewer than the
    pass's steps when Ctrl-C stopped it)."""
    recipe, n, batch = run.recipe, len(run.x), run.recipe.batch_size
    steps = _steps_per_pass(run)
    chunk = batch * max(1, DISTORT_CHUNK // batch)  # images distorted together
    # resuming inside a pass, the optimiser's state came with the checkpoint
    order = begin_pass(run.optimizer, recipe, run.x, run.y, epoch, first == 0)
    bar = _progress_bar(n, min(first * batch, n), epoch, recipe.passes, run.bar)
    distorted = (-1, run.x, run.y)  # (chunk, its images and labels), made once per chunk
    try:
        step = first
        while step < steps:
            if run.stop.requested:
                return step
            index = step * batch // chunk  # the chunk of this step's images
            lo = index * chunk
            end = run.steps.steps_until(step, min(steps, (index + 1) * chunk // batch))
            if recipe.distort:  # this chunk's images, distorted, in the pass's order
                if distorted[0] != index:
                    images = _distorted(run, order[lo : lo + chunk], epoch, index)
                    distorted = (index, images, run.y[order[lo : lo + len(images)]])
                _, images, labels = distorted
                positions = np.arange(step * batch - lo, min(end * batch, n) - lo)
            else:
                images, labels = run.x, run.y
                positions = order[step * batch : min(end * batch, n)]
            done, diverged = run.steps.run(images, labels, positions, running, bar, step)
            if diverged:
                failed = images[positions[done * batch : (done + 1) * batch]]
                raise _diverged(
                    diverged, epoch, step + done + 1, run, run.net.where_non_finite(failed)
                )
            step += done
        return step
    finally:
        if bar is not None:
            bar.close()


def _end_of_pass(run: _Run, epoch: int, running: dict, started: float) -> dict:
    """The pass's record: its running figures, and the errors measured after it."""
    if not np.all(np.isfinite(run.net.parameters)):
        raise _diverged(
            "the weights stopped being finite",
            epoch,
            _steps_per_pass(run),
            run,
            run.net.where_non_finite(),
        )
    seen = max(running["seen"], 1)
    record = {
        "pass": epoch + 1,
        "lr": run.optimizer.lr,
        "train_loss": running["loss"] / seen,
        "running_train_error": running["errors"] / seen,
        "train_error": evaluate(run.net, run.x, run.y)["error"],
        "test_error": evaluate(run.net, *run.test)["error"] if run.test else None,
        "seconds": time.perf_counter() - started,
    }
    if isinstance(run.optimizer, SDLM):
        record["effective_lr_min"], record["effective_lr_max"] = run.optimizer.effective_rates()
    return record


def _save(run: _Run, progress: Progress) -> None:
    """A checkpoint of the run as it is now, in its folder (never of non-finite weights)."""
    if run.folder is None:
        return
    if not np.all(np.isfinite(run.net.parameters)):  # never replace a good checkpoint by this
        raise _diverged(
            "the weights stopped being finite",
            progress.epoch,
            progress.step,
            run,
            run.net.where_non_finite(),
        )
    run.folder.save(progress)


def _interrupted(run: _Run, progress: Progress, text: str) -> list[dict]:
    """Ctrl-C inside a pass: save the point reached; the history says where it stopped."""
    _save(run, progress)
    progress.history.append(
        {"pass": progress.epoch + 1, "interrupted": True, "step": progress.step}
    )
    if run.echo:
        run.echo(_interrupted_text(run, text))
    return progress.history


def _interrupted_text(run: _Run, text: str) -> str:
    where = (
        f" to {run.folder.checkpoint_path} (continue with --resume)"
        if run.folder is not None
        else ""
    )
    return f"{text}: checkpoint written{where}"


def _diverged(what: str, epoch: int, step: int, run: _Run, where: str = "") -> TrainingDiverged:
    """The error that stops a diverging run: what happened, in which pass and step (both from
    1), where in the network, and which checkpoint is left."""
    if run.folder is None:
        last = ""
    elif epoch:
        last = (
            f"; the last good checkpoint, written after pass {epoch}, is kept in {run.folder.path}"
        )
    else:
        last = "; no checkpoint was written (the first pass did not finish)"
    return TrainingDiverged(
        f"{what} in pass {epoch + 1}, step {step}" + (f": {where}" if where else "") + last
    )


def begin_pass(
    optimizer: Optimizer,
    recipe: Recipe,
    x: np.ndarray,
    y: np.ndarray,
    epoch: int,
    start: bool = True,
) -> np.ndarray:
    """The order of pass `epoch`'s patterns and, with `start`, the optimiser's pass begun
    (SDLM: h_kk estimated on ``recipe.curvature_patterns`` patterns drawn for that pass).
    Both come from the pass's own random numbers, so a resumed run, or the studio's live
    training, repeats them."""
    n = len(x)
    rng = _pass_generator(recipe.seed, epoch)
    order = rng.permutation(n)
    if start:
        if isinstance(optimizer, SDLM):
            sample = rng.choice(n, min(recipe.curvature_patterns, n), replace=False)
            optimizer.start_pass(epoch, (x[sample], y[sample]))
        else:
            optimizer.start_pass(epoch)
    return order


def _pass_generator(seed: int, epoch: int, *more: int) -> np.random.Generator:
    """The random numbers of pass `epoch` (its order, its curvature patterns, its distortions),
    a function of the seed and the pass alone: so a resumed run repeats them."""
    return np.random.default_rng([seed, epoch, *more])


# ---- what the learner sees ---------------------------------------------------------------------


def _progress_bar(total: int, initial: int, index: int, passes: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm  # optional: lenet runs without it when no bar is asked for

    # disable=None: no bar when stderr is not a terminal (a log file under nohup, say)
    return tqdm(
        total=total,
        initial=initial,
        desc=f"pass {index + 1}/{passes}",
        unit="img",
        leave=False,
        dynamic_ncols=True,
        file=sys.stderr,
        mininterval=0.5,
        disable=None,
    )


def _show_running(bar: Any, running: dict) -> None:
    """The running figures on the bar: the loss and error of the steps so far in this pass,
    each measured on its batch just before that batch's update."""
    seen = max(running["seen"], 1)
    bar.set_postfix_str(
        f"running: loss {running['loss'] / seen:.4f}, error {100 * running['errors'] / seen:.2f}%",
        refresh=False,
    )


def network_for(recipe: Recipe, image_shape: tuple[int, int, int]) -> Network:
    """A freshly initialised network for the recipe and images of shape (C, H, W)."""
    return build_network(recipe.network_config(image_shape))


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
