"""Training and evaluation (Section III.C): the loop behind ``lenet train``.

``train(net, train_data, test_data, ...)`` runs passes over the training set: before each
pass the optimiser prepares (SDLM estimates its step sizes on 500 patterns), then every batch
goes forward, through the loss, backward, and into the optimiser. After each pass the train
and test errors are measured, one line is printed, the same figures are appended to
``OUT/log.jsonl``, and ``OUT/checkpoint.npz`` is replaced atomically.

Every random choice of pass p (the shuffle, the 500 curvature patterns, the distortions of
each chunk of images) comes from a generator seeded with (seed, p, ...), so a run resumed from
a checkpoint, even one written in the middle of a pass after Ctrl-C, ends with the same bits as
an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from . import losses as _losses
from . import checks, datasets
from .checkpoint import read_checkpoint, save_checkpoint
from .datasets import distort
from .fused import FusedTrainer, NotFusable
from .model import build_network, network_config
from .losses import DEFAULT_J, LOSSES, Loss, check_loss, loss_for
from .model import Network
from .optim import Optimizer
from .sdlm import SDLM
from .recipes import DATASETS, RECIPES, Recipe, make_optimizer, recipe_from_config

#: Images distorted together with one generator (a resumed run regenerates whole chunks), and
#: run through the fused path in one call (so Ctrl-C is seen at least every chunk).
DISTORT_CHUNK = 1024
#: A pass whose train or test error is at least this is at chance level (10 classes: 90 %).
CHANCE_ERROR = 0.85


class TrainingDiverged(RuntimeError):
    """The loss or the weights stopped being finite."""


def recipe_loss(net: Network, recipe: Recipe) -> Loss:
    """The loss the recipe names, checked against the network's output layer."""
    return loss_for(net, recipe.loss, recipe.j if recipe.loss == "discriminative" else None)


def loss_and_grad(net: Network, out: np.ndarray, labels: np.ndarray, recipe: Recipe):
    """(loss, dE/dout) of the recipe's loss; RBF losses need RBF outputs and vice versa."""
    return recipe_loss(net, recipe)(out, labels)


def evaluate(net: Network, x: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> dict:
    """Error rate, per-class error and confusion matrix (rows: true class) of net on (x, y)."""
    out = np.concatenate([net.infer(x[i:i + batch_size], batch_size)
                          for i in range(0, len(x), batch_size)]) if len(x) else np.zeros((0, 10))
    predicted, classes = net.classify(out), out.shape[1]
    y = checks.labels("y", y, len(x), classes)
    confusion = np.zeros((classes, classes), np.int64)
    np.add.at(confusion, (y.astype(np.int64), predicted), 1)
    counts = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(counts > 0, 1 - np.diag(confusion) / counts, np.nan)  # nan: absent
    return {"error": float(np.mean(predicted != y)) if len(y) else float("nan"),
            "per_class_error": per_class, "confusion": confusion, "predicted": predicted}


def _pass_generator(seed: int, epoch: int, *more: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, *more])


def _progress_bar(total: int, initial: int, epoch: int, epochs: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    # disable=None: no bar when stderr is not a terminal (a log file under nohup, say)
    return tqdm(total=total, initial=initial, desc=f"pass {epoch + 1}/{epochs}", unit="img",
                leave=False, dynamic_ncols=True, file=sys.stderr, mininterval=0.5, disable=None)


def check_output_folder(out: Path, needed: int = 0) -> None:
    """Fail now, not after an hour of training, when `out` cannot take checkpoints: it must be
    writable and have room for `needed` bytes (a checkpoint, its temporary twin and the log)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        with open(probe, "wb") as f:
            f.write(b"\0" * 65536)
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
        free = shutil.disk_usage(out).free
    except OSError as exc:
        raise OSError(f"cannot write checkpoints to {out}: {exc.strerror or exc}") from None
    if free < needed:
        raise OSError(f"cannot write checkpoints to {out}: {free / 2**20:.1f} MiB free, and the "
                      f"run needs about {needed / 2**20:.1f} MiB (a checkpoint is written beside "
                      f"the old one before replacing it)")


def _checkpoint_bytes(net: Network, optimizer: Optimizer) -> int:
    """About the size of one checkpoint: the parameters and the optimiser's state arrays."""
    state = sum(np.asarray(v).nbytes for v in optimizer.state_dict().values())
    return int(net.parameters.nbytes + state) + 65536  # + the zip and JSON overhead


class _StopOnInterrupt:
    """While active, the first Ctrl-C (SIGINT) or SIGTERM only sets ``requested``: the loop
    stops between two steps and writes a checkpoint. A second one interrupts at once."""

    def __enter__(self):
        import signal
        import threading

        self.requested = False
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is signal.SIG_IGN:  # a background job: keep ignoring
                    continue
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        import signal

        if self.requested:
            self._restore()
            raise KeyboardInterrupt
        self.requested = True
        print(f"\n{signal.Signals(signum).name}: stopping at the next step boundary (within "
              f"{DISTORT_CHUNK:,} images) and writing a checkpoint; once more aborts without saving",
              file=sys.stderr, flush=True)

    def _restore(self):
        import signal

        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous = {}

    def __exit__(self, *exc):
        self._restore()
        return False


def _run_identity(n: int, recipe: Recipe) -> dict:
    """What must not change between a run and its resumption (else the bits would differ)."""
    return {"images": n, "batch_size": recipe.batch_size, "seed": recipe.seed,
            "distort": recipe.distort, "optimizer": recipe.optimizer, "loss": recipe.loss}


def _write_atomically(path: Path, text: str) -> None:
    """Write a small text file so that a crash leaves the old version or the new, whole."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_log(out_dir: Path, history: list[dict]) -> None:
    """log.jsonl with one line per finished pass, replaced atomically."""
    _write_atomically(out_dir / "log.jsonl",
                      "".join(json.dumps(r) + "\n" for r in history if not r.get("interrupted")))


def train(net: Network, train_data: tuple[np.ndarray, np.ndarray],
          test_data: tuple[np.ndarray, np.ndarray] | None = None, recipe: Recipe | None = None,
          *, out: str | os.PathLike | None = None, resume: bool = False,
          progress: bool = True, echo: Callable[[str], None] | None = print,
          optimizer: Optimizer | None = None, fused: bool | None = None) -> list[dict]:
    """Train `net` on `train_data` = (images (N, C, H, W), labels (N,)) as `recipe` says.

    Returns the history: one dict per pass with pass, lr, train_loss, train_error, test_error,
    seconds (and, for SDLM, the range of effective learning rates). With `out`, writes
    ``log.jsonl``, ``config.json`` and ``checkpoint.npz`` there after every pass; with
    `resume`, first continues from ``out/checkpoint.npz``. Ctrl-C writes a checkpoint of the
    point reached (resumable to the same bits) and returns; the history's last entry then has
    ``"interrupted": True``.

    `fused` chooses how the steps run: through the fused C path (``lenet.fused``: forward,
    loss, backward and update for 1,024 images per call), or with ``False`` layer by layer
    from Python (``net.forward``, ``net.backward``, ``optimizer.step()``), the loop to read
    and modify when learning. Both give the same bits. ``None`` (the default) takes the fused
    path whenever the network and optimiser allow it.
    """
    recipe = recipe or Recipe()
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a lenet Recipe, got {type(recipe).__name__}")
    recipe.check()  # its fields may have been changed since it was made
    x_train, y_train = train_data
    if recipe.limit is not None:
        x_train, y_train = x_train[:recipe.limit], y_train[:recipe.limit]
    if net.variant != "custom" and net.variant != recipe.model:
        raise ValueError(f"the recipe is for the {recipe.model!r} model but the network is the "
                         f"{net.variant!r} one: set Recipe(model={net.variant!r}, ...)")
    if out is not None:
        network_config(net)  # a custom network cannot be checkpointed: say so before training
    if len(x_train) != len(y_train) or len(x_train) == 0:
        raise ValueError(f"train_data must be non-empty images and labels of the same length, "
                         f"got {len(x_train)} images and {len(y_train)} labels")
    y_train = np.asarray(y_train, dtype=np.int64)
    check_loss(net, recipe.loss)
    optimizer = optimizer or make_optimizer(net, recipe)
    trainer = None
    if fused is None or fused:
        try:
            trainer = FusedTrainer(net, optimizer, recipe.batch_size, recipe_loss(net, recipe))
        except NotFusable:
            if fused:
                raise
        if trainer is not None:  # the C loop reads images in place: convert them once
            x_train = np.ascontiguousarray(x_train, dtype=net.dtype)
    out_dir = Path(out) if out is not None else None
    history: list[dict] = []
    start_epoch, start_step, partial = 0, 0, {"loss": 0.0, "errors": 0, "seen": 0}
    if resume and out_dir is None:
        raise ValueError("resume needs out: the folder holding the run's checkpoint")
    if out_dir is not None:
        if not resume and ((out_dir / "checkpoint.npz").exists() or (out_dir / "log.jsonl").exists()):
            raise ValueError(f"{out_dir} already holds a run: resume it, or choose another folder")
        created = _missing_folders(out_dir)  # removed again if the run fails before a checkpoint
        # room for the new checkpoint beside the old one, and the log, with a margin
        check_output_folder(out_dir, 3 * _checkpoint_bytes(net, optimizer) + 2**20)
        if resume:
            state = read_checkpoint(out_dir / "checkpoint.npz")
            p = _checked_progress(state["progress"], out_dir / "checkpoint.npz")
            saved = p.get("run", {})
            now = _run_identity(len(x_train), recipe)
            changed = [k for k in now if k in saved and saved[k] != now[k]]
            if changed:
                raise ValueError(f"cannot resume {out_dir} with a different "
                                 + ", ".join(f"{k} ({saved[k]} then, {now[k]} now)" for k in changed))
            net.load_state_dict(state["net"].state_dict())
            optimizer.load_state_dict(state["optimizer"])
            start_epoch, start_step = p["epoch"], p["step"]
            partial = p.get("partial", partial)
            history = p.get("history", [])
            _write_log(out_dir, history)  # the log says what the checkpoint holds, no more
        _write_atomically(out_dir / "config.json", json.dumps(recipe.config(), indent=2) + "\n")

    def checkpoint(epoch: int, step: int, running: dict) -> None:
        if out_dir is None:
            return
        if not np.all(np.isfinite(net.parameters)):  # never replace a good checkpoint by this
            raise _diverged("the weights stopped being finite", epoch, step, out_dir,
                            _bad_layer(net))
        progress_state = {"epoch": epoch, "step": step, "partial": running,
                          "history": history, "seed": recipe.seed,
                          "run": _run_identity(len(x_train), recipe)}
        save_checkpoint(out_dir / "checkpoint.npz", net, optimizer.state_dict(),
                        recipe.config(), progress_state)

    try:
        with _StopOnInterrupt() as stop:
            return _passes(net, x_train, y_train, test_data, recipe, optimizer, out_dir, history,
                           start_epoch, start_step, partial, progress, echo, checkpoint, stop,
                           trainer)
    except BaseException:
        if out_dir is not None and not (out_dir / "checkpoint.npz").exists():
            _remove_run_folder(out_dir, created)
        raise


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, innermost first."""
    missing = []
    for f in (folder, *folder.parents):
        if f.exists():
            break
        missing.append(f)
    return missing


def _remove_run_folder(out_dir: Path, created: list[Path]) -> None:
    """After a run that failed before its first checkpoint: remove the files it wrote and the
    folders it made, so that no run folder without a checkpoint is left behind."""
    if not created:  # the folder was there before: leave it, without this run's files
        for name in ("config.json", "log.jsonl"):
            (out_dir / name).unlink(missing_ok=True)
        return
    for name in ("config.json", "log.jsonl", "config.json.tmp", ".write-test"):
        (out_dir / name).unlink(missing_ok=True)
    for folder in created:
        try:
            folder.rmdir()  # only when empty: nothing of the user's is ever removed
        except OSError:
            break


def _checked_progress(p: dict, path: Path) -> dict:
    """A checkpoint's progress record, checked before a resume relies on it."""
    def bad(what: str) -> ValueError:
        return ValueError(f"{path}: cannot resume from it: its meta/progress {what}")

    def count(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    for key in ("epoch", "step"):
        if not count(p.get(key)):
            raise bad(f"needs {key!r}, a whole number >= 0, got {p.get(key)!r}")
    partial = p.get("partial", {"loss": 0.0, "errors": 0, "seen": 0})
    if not (isinstance(partial, dict) and isinstance(partial.get("loss"), (int, float))
            and not isinstance(partial.get("loss"), bool) and math.isfinite(partial["loss"])
            and count(partial.get("errors")) and count(partial.get("seen"))):
        raise bad(f"has a broken 'partial' record: {partial!r}")
    history = p.get("history", [])
    if not (isinstance(history, list) and all(isinstance(r, dict) for r in history)):
        raise bad("has a 'history' that is not a list of records")
    if not isinstance(p.get("run", {}), dict):
        raise bad("has a 'run' that is not a record")
    return {**p, "partial": partial, "history": history}


def _diverged(what: str, epoch: int, step: int, out_dir, where: str = "") -> TrainingDiverged:
    """The error that stops a diverging run: what happened, in which pass and step (both from
    1), where in the network, and which checkpoint is left."""
    if out_dir is None:
        last = ""
    elif epoch:
        last = f"; the last good checkpoint, written after pass {epoch}, is kept in {out_dir}"
    else:
        last = "; no checkpoint was written (the first pass did not finish)"
    return TrainingDiverged(f"{what} in pass {epoch + 1}, step {step}"
                            + (f": {where}" if where else "") + last)


def _bad_layer(net: Network, x: np.ndarray | None = None) -> str:
    """Where the non-finite numbers start: the first layer whose parameters are NaN or Inf,
    or, running x forward layer by layer, the first layer whose outputs are."""
    for layer in net.layers:
        for name, arr in layer.params.items():
            bad = arr.size - int(np.count_nonzero(np.isfinite(arr)))
            if bad:
                return f"layer {layer.name}: {bad} of its {arr.size} {name} values are NaN or Inf"
    if x is None:
        return ""
    out = np.ascontiguousarray(x, dtype=net.dtype)
    if not np.all(np.isfinite(out)):  # the data themselves
        return "the input images hold NaN or Inf"
    with np.errstate(all="ignore"):
        for layer in net.layers:
            out = layer._run_forward(out)
            if not np.all(np.isfinite(out)):
                largest = np.nanmax(np.abs(np.where(np.isfinite(layer._x), layer._x, 0)))
                return (f"layer {layer.name} is the first whose outputs are NaN or Inf (its "
                        f"inputs reach {largest:.3g}, its largest weight "
                        f"{max((float(np.max(np.abs(a))) for a in layer.params.values()), default=0):.3g})")
    return "every layer's outputs are finite; the loss itself overflowed"


def _show_running(bar, running: dict) -> None:
    """The running figures on the bar: the loss and error of the steps so far in this pass,
    each measured on its batch just before that batch's update."""
    seen = max(running["seen"], 1)
    bar.set_postfix_str(f"running: loss {running['loss'] / seen:.4f}, "
                        f"error {100 * running['errors'] / seen:.2f}%", refresh=False)


def _passes(net, x_train, y_train, test_data, recipe, optimizer, out_dir, history, start_epoch,
            start_step, partial, progress, echo, checkpoint, stop, trainer) -> list[dict]:
    n = len(x_train)
    batch = recipe.batch_size
    steps = math.ceil(n / batch)
    chunk = batch * max(1, DISTORT_CHUNK // batch)  # images distorted together
    def batch_at(step: int) -> tuple[np.ndarray, np.ndarray]:
        """The pass's indices and images of `step` (from the distorted chunk when distorting)."""
        idx = order[step * batch:(step + 1) * batch]
        if not recipe.distort:
            return idx, x_train[idx]
        lo = step * batch - chunk_start * chunk
        return idx, images[lo:lo + len(idx)]

    def interrupted(pass_no: int, step: int, text: str) -> list[dict]:
        if echo:
            where = f" to {out_dir / 'checkpoint.npz'} (continue with --resume)" \
                if out_dir is not None else ""
            echo(f"{text}: checkpoint written{where}")
        history.append({"pass": pass_no, "interrupted": True, "step": step})
        return history

    warned_chance = any(at_chance(r) for r in history)  # a resumed run warned already
    for epoch in range(start_epoch, recipe.epochs):
        started = time.perf_counter()
        rng = _pass_generator(recipe.seed, epoch)
        order = rng.permutation(n)
        first = start_step if epoch == start_epoch else 0
        # resuming inside a pass, the optimiser's state for the pass came with the checkpoint
        if first == 0 and isinstance(optimizer, SDLM):
            sample = rng.choice(n, min(recipe.curvature_patterns, n), replace=False)
            optimizer.start_pass(epoch, (x_train[sample], y_train[sample]))
        elif first == 0:
            optimizer.start_pass(epoch)
        running = partial if epoch == start_epoch else {"loss": 0.0, "errors": 0, "seen": 0}
        bar = _progress_bar(n, min(first * batch, n), epoch, recipe.epochs, progress)
        images, chunk_start = None, -1
        step = first
        while step < steps:
            if stop.requested:  # Ctrl-C: save the point reached, between two steps
                if bar is not None:
                    bar.close()
                checkpoint(epoch, step, running)
                return interrupted(epoch + 1, step, f"interrupted in pass {epoch + 1} after "
                                                    f"{step} of {steps} steps")
            lo = step * batch
            if recipe.distort and lo // chunk != chunk_start:
                chunk_start = lo // chunk
                idx = order[chunk_start * chunk:(chunk_start + 1) * chunk]
                images = distort(x_train[idx], _pass_generator(recipe.seed, epoch, chunk_start))
            if trainer is not None:  # the steps up to the end of this chunk, in one C call
                step, diverged = _fused_steps(trainer, x_train, y_train, order, images, chunk,
                                              step, steps, batch, recipe.distort, running, bar)
                if diverged:
                    if bar is not None:
                        bar.close()
                    raise _diverged("the loss stopped being finite", epoch, step + 1, out_dir,
                                    _bad_layer(net, batch_at(step)[1]))
                continue
            idx, x = batch_at(step)
            labels = y_train[idx]
            out_batch = net.forward(x)
            loss, grad = loss_and_grad(net, out_batch, labels, recipe)
            if not math.isfinite(loss):
                if bar is not None:
                    bar.close()
                raise _diverged(f"the loss became {loss}", epoch, step + 1, out_dir,
                                _bad_layer(net, x))
            net.backward(grad)
            optimizer.step()
            running["loss"] += loss * len(idx)
            running["errors"] += int(np.sum(net.classify(out_batch) != labels))
            running["seen"] += len(idx)
            if bar is not None:
                bar.update(len(idx))
                if step % 200 == 0:
                    _show_running(bar, running)
            step += 1
        if bar is not None:
            bar.close()
        if stop.requested and first < steps:  # stopped in the last step: save before evaluating
            checkpoint(epoch, steps, running)
            return interrupted(epoch + 1, steps, f"interrupted at the end of pass {epoch + 1}")
        if not np.all(np.isfinite(net.parameters)):
            raise _diverged("the weights stopped being finite", epoch, steps, out_dir,
                            _bad_layer(net))
        record = {"pass": epoch + 1, "lr": optimizer.lr,
                  "train_loss": running["loss"] / max(running["seen"], 1),
                  "running_train_error": running["errors"] / max(running["seen"], 1),
                  "train_error": evaluate(net, x_train, y_train)["error"],
                  "test_error": evaluate(net, *test_data)["error"] if test_data else None,
                  "seconds": time.perf_counter() - started}
        if isinstance(optimizer, SDLM):
            record["effective_lr_min"], record["effective_lr_max"] = optimizer.effective_rates()
        history.append(record)
        if echo:
            echo(format_record(record))
            if not warned_chance and at_chance(record):
                warned_chance = True
                echo(chance_warning(record, recipe))
        checkpoint(epoch + 1, 0, {"loss": 0.0, "errors": 0, "seen": 0})
        if out_dir is not None:  # after the checkpoint: the log never runs ahead of it
            with open(out_dir / "log.jsonl", "a") as log:
                log.write(json.dumps(record) + "\n")
                log.flush()
                os.fsync(log.fileno())
        if stop.requested and epoch + 1 < recipe.epochs:
            return interrupted(epoch + 2, 0, f"interrupted after pass {epoch + 1}")
    return history


def _fused_steps(trainer, x_train, y_train, order, images, chunk, step, steps, batch, distorted,
                 running, bar) -> tuple[int, bool]:
    """Run steps from `step` to the end of its chunk of images through the fused path; update
    the running figures and the progress bar. Returns the next step, and whether the loss of
    that step stopped being finite (it then made no update)."""
    chunk_start = step * batch // chunk
    end = min(steps, (chunk_start + 1) * chunk // batch)
    lo, hi = step * batch, min(end * batch, len(order))
    if distorted:  # `images` holds this chunk, distorted, in the pass's order
        first = chunk_start * chunk
        data, labels = images, y_train[order[first:first + len(images)]]
        local = np.arange(lo - first, hi - first)
    else:
        data, labels, local = x_train, y_train, order[lo:hi]
    done, loss_sum, errors, diverged = trainer.run(data, labels, local, running["loss"])
    seen = min(done * batch, hi - lo)
    running["loss"] = loss_sum
    running["errors"] += errors
    running["seen"] += seen
    if bar is not None:
        bar.update(seen)
        _show_running(bar, running)
    return step + done, diverged


def network_for(recipe: Recipe, image_shape: tuple[int, int, int]) -> Network:
    """A freshly initialised network for the recipe and images of shape (C, H, W)."""
    return build_network(recipe.network_config(image_shape))


def load_data(recipe: Recipe, root: str | os.PathLike | None = None, download: bool = True):
    """(train, test) pairs of preprocessed images (N, C, H, W) float32 and labels, as the
    recipe's dataset and preprocessing say (files from `root`, else recipe.data, else the
    usual search; see lenet.datasets)."""
    if recipe.dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {recipe.dataset!r}")
    loader = getattr(datasets, "load_" + recipe.dataset.replace("-", "_"))
    root = root if root is not None else recipe.data
    (x_train, y_train), (x_test, y_test) = loader(root=root, download=download)
    return ((datasets.preprocess(x_train, recipe.preprocessing), y_train.astype(np.int64)),
            (datasets.preprocess(x_test, recipe.preprocessing), y_test.astype(np.int64)))


def format_record(record: dict) -> str:
    """One line per pass: pass, learning rate, the running loss and error of the pass (each
    batch measured before its update), then the train and test errors measured after it."""
    test = record.get("test_error")
    running = record.get("running_train_error")
    return (f"pass {record['pass']:2d}  lr {record['lr']:.2e}  running: loss "
            f"{record['train_loss']:.4f}"
            + (f", error {100 * running:.2f}%" if running is not None else "")
            + f"  after the pass: train error {100 * record['train_error']:.2f}%"
            + (f", test error {100 * test:.2f}%" if test is not None else "")
            + f"  {record['seconds']:.1f} s")


def at_chance(record: dict) -> bool:
    """Whether a pass's record shows a network at chance level: its train or test error, as
    measured after the pass, at least CHANCE_ERROR (ten classes: chance is 90 %)."""
    errors = [record.get("train_error"), record.get("test_error")]
    return any(e is not None and e >= CHANCE_ERROR for e in errors)


def chance_warning(record: dict, recipe: Recipe) -> str:
    """The one line printed when a run is at chance after a pass."""
    worst = max(e for e in (record.get("train_error"), record.get("test_error")) if e is not None)
    literal = " (SDLM from the literal +-2.4/F_i initialisation does this)" \
        if recipe.optimizer == "sdlm" and recipe.model == "paper" and recipe.init == "lecun98" \
        else ""
    return (f"warning: after pass {record['pass']} the error is {100 * worst:.1f} %, chance "
            f"level: this run is not learning{literal}; lenet.recipes.RECIPES (lenet train "
            f"--recipe) lists recipes that train, and docs/results.md tells why")
