"""Training driven from the page: start, pause, step (one pattern, 100, a pass), stop.

The steps run in a background thread through the fused path (``lenet.engine.fused.FusedTrainer``),
a chunk of patterns per call, with the GIL released: the server keeps answering the page
meanwhile. Each pass is the one ``lenet train`` makes with the same recipe: the same order of
the patterns and, for SDLM, the same curvature patterns (``training.begin_pass``), so the
weights after a pass are the same bits as ``lenet.train``'s.

After every chunk the trained weights are copied into the studio's view of the network (the
``on_chunk`` callback), so the page's drawings go through the network as it is being trained
without touching the buffers the trainer writes. After every pass, and on ``stop``, the run
is written as a run folder (``config.json``, ``log.jsonl``, ``checkpoint.npz``) that
``lenet evaluate`` reads and ``lenet train --resume`` continues.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...engine.fused import FusedTrainer
from ...engine.network import Network
from ...engine.sdlm import SDLM
from ...engine.threads import get_num_threads, set_num_threads
from ...run.evaluation import evaluate
from ...run.recipes import Recipe, make_optimizer
from ...run.runs import Progress, RunFolder
from ...run.training import begin_pass, recipe_loss

__all__ = ["CHUNK", "STEPS", "TRAINING_THREADS", "LiveTraining"]

#: patterns per call into the C loop while running (a few milliseconds: pause is prompt)
CHUNK = 250
#: threads of the C loops while the page trains: at one pattern per update a second thread
#: buys little (`lenet train --limit 10000 --passes 1 --threads 1`, then `--threads 2`: 1.6-1.7 s
#: against 1.3-1.6 s a pass, its evaluation included), and the other core is left to the page
#: and the browser (the bits are the same for any count)
TRAINING_THREADS = 1
#: what one press of "step" trains: one pattern, a hundred, or the rest of the pass
STEPS = {"1": 1, "100": 100, "pass": None}
#: points kept on the curves (older ones are thinned out, every other one dropped)
MAX_POINTS = 600
#: patterns between two points of the running loss and error curves
POINT_EVERY = 500


class LiveTraining:
    """One network trained by one recipe in a background thread, driven by commands."""

    def __init__(
        self,
        net: Network,
        recipe: Recipe,
        train_data: tuple[np.ndarray, np.ndarray],
        test_data: tuple[np.ndarray, np.ndarray] | None,
        out: Path,
        on_chunk: Callable[[Network], None] = lambda net: None,
    ) -> None:
        if recipe.distort:
            raise ValueError("the studio trains without distortions (recipe.distort=False)")
        self.net, self.recipe, self.out = net, recipe, Path(out)
        self.x = np.ascontiguousarray(train_data[0], dtype=net.dtype)
        self.y = np.asarray(train_data[1], dtype=np.int64)
        self.test = test_data
        self.optimizer = make_optimizer(net, recipe)
        self.trainer = FusedTrainer(
            net, self.optimizer, recipe.batch_size, recipe_loss(net, recipe)
        )
        self.on_chunk = on_chunk
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._budget: int | None = 0  # patterns to train before pausing; None: until paused
        self._closing = False
        self._folder: RunFolder | None = None
        self._saved_at = -1  # patterns seen when the checkpoint was last written
        # the figures the page shows, all under _cond
        self.state = "idle"  # idle, running, paused, stopped, failed
        self.message = ""
        self.epoch, self.step = 0, 0  # the pass (from 0) and its next step
        self.order: np.ndarray | None = None
        self.running = {"loss": 0.0, "errors": 0, "seen": 0}
        self.seen = 0  # patterns trained in all
        self.curve: list[dict[str, float]] = []
        self.history: list[dict[str, Any]] = []
        self.step_size_histogram: dict[str, Any] | None = None
        self.rate = 0.0  # patterns per second over the last chunk
        self.last_pattern: int | None = None
        self.checkpoint: str | None = None

    # ---- commands, from the server's threads --------------------------------------------------

    def command(self, action: str, amount: str | None = None) -> None:
        """``start`` (train until paused), ``pause``, ``step`` (``amount``: "1", "100" or
        "pass"), ``stop`` (pause and write the checkpoint)."""
        with self._cond:
            if self.state == "failed":
                raise ValueError(f"training failed: {self.message}")
            if action == "start":
                self._budget = None
            elif action == "pause":
                self._budget = 0
            elif action == "step":
                if amount not in STEPS:
                    raise ValueError(
                        f"amount must be one of {', '.join(STEPS)} for a step, got {amount!r}"
                    )
                batch = self.recipe.batch_size  # whole steps: at least one, of `batch` patterns
                wanted = STEPS[amount] or self._left_in_pass()
                self._budget = max(batch, wanted // batch * batch)
            elif action == "stop":
                self._budget = 0
            else:
                raise ValueError(f"action must be one of start, pause, step, stop, got {action!r}")
            self._ensure_thread()
            self._cond.notify_all()
            if action != "start":  # answer once the thread is between two chunks (a step:
                # once it is done), so that the answer shows what the command did
                self._cond.wait_for(
                    lambda: self._budget == 0 and self.state != "running", timeout=60
                )
        if action == "stop":
            self.save()
            with self._cond:
                self.state = "stopped"

    def close(self) -> None:
        """End the thread (the server stops): the run is saved if it trained since last."""
        with self._cond:
            self._closing, self._budget = True, 0
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=60)
        if self.seen and self._saved_at != self.seen and self.state != "failed":
            self.save()

    def status(self) -> dict[str, Any]:
        with self._cond:
            steps = self._steps_per_pass()
            return {
                "state": self.state,
                "message": self.message,
                "model": self.net.variant,
                "optimizer": self.recipe.optimizer,
                "loss": self.trainer.loss.name,
                "batch_size": self.recipe.batch_size,
                "pass": self.epoch + 1,
                "passes": self.recipe.passes,
                "step": self.step,
                "steps_per_pass": steps,
                "images": len(self.x),
                "seen": self.seen,
                "images_per_second": self.rate,
                "curve": list(self.curve),
                "history": list(self.history),
                "step_sizes": self.step_size_histogram,
                "last_pattern": self.last_pattern,
                "checkpoint": self.checkpoint,
                "out": str(self.out),
            }

    # ---- the thread ---------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="lenet-studio-training")
            self._thread.daemon = True
            self._thread.start()

    def _steps_per_pass(self) -> int:
        return -(-len(self.x) // self.recipe.batch_size)

    def _left_in_pass(self) -> int:
        return (self._steps_per_pass() - self.step) * self.recipe.batch_size

    def _loop(self) -> None:
        try:
            while True:
                with self._cond:
                    self.state = "paused" if self.seen else self.state
                    self._cond.notify_all()
                    self._cond.wait_for(lambda: self._closing or self._budget != 0)
                    if self._closing:
                        return
                    self.state = "running"
                    budget = self._budget
                self._chunk(CHUNK if budget is None else min(CHUNK, budget))
        except Exception as failed:  # shown on the page; the server goes on
            with self._cond:
                self.state, self.message = "failed", f"{type(failed).__name__}: {failed}"
                self._cond.notify_all()

    def _start_pass(self) -> None:
        self.order = begin_pass(self.optimizer, self.recipe, self.x, self.y, self.epoch)
        if isinstance(self.optimizer, SDLM):
            self.step_size_histogram = self._histogram()

    def _histogram(self) -> dict[str, Any]:
        """log10 of SDLM's step sizes eps_k = eta / (mu + h_kk), counted per layer over its
        trainable parameters, in bins of a quarter decade from 1e-8 to 1."""
        assert isinstance(self.optimizer, SDLM)
        edges = np.linspace(-8.0, 0.0, 33)
        sizes, mask = self.optimizer.step_sizes, self.net.parameter_mask
        layers = {}
        for name, (start, stop) in self.net.parameter_offsets.items():
            trainable = sizes[start:stop][mask[start:stop]]
            if trainable.size:
                counts, _ = np.histogram(np.log10(np.maximum(trainable, 1e-30)), bins=edges)
                layers[name] = counts.tolist()
        rates = sizes[mask]
        return {
            "log10_edges": edges.tolist(),
            "layers": layers,
            "eta": self.optimizer.lr,
            "mu": self.optimizer.mu,
            "min": float(rates.min()),
            "max": float(rates.max()),
        }

    def _chunk(self, patterns: int) -> None:
        """Train `patterns` patterns (whole steps) of the current pass, then publish."""
        batch = self.recipe.batch_size
        if self.step == 0 and self.order is None:
            self._start_pass()
        assert self.order is not None
        steps = min(max(1, patterns // batch), self._steps_per_pass() - self.step)
        lo, hi = self.step * batch, min((self.step + steps) * batch, len(self.x))
        positions = self.order[lo:hi]
        started = time.perf_counter()
        threads = get_num_threads()
        set_num_threads(TRAINING_THREADS)
        try:
            done, loss_sum, errors, diverged = self.trainer.run(self.x, self.y, positions)
        finally:
            set_num_threads(threads)
        seconds = time.perf_counter() - started
        if diverged:
            raise FloatingPointError(
                f"the loss stopped being finite in pass {self.epoch + 1}, "
                f"step {self.step + done + 1}"
            )
        self.on_chunk(self.net)
        with self._cond:
            trained = min(done * batch, hi - lo)
            self.step += done
            self.seen += trained
            self.running["loss"] += loss_sum
            self.running["errors"] += errors
            self.running["seen"] += trained
            self.rate = trained / seconds if seconds > 0 else 0.0
            self.last_pattern = int(positions[trained - 1]) if trained else None
            if self._budget is not None:
                self._budget = max(0, self._budget - trained)
            every = max(POINT_EVERY, batch)
            if self.seen // every != (self.seen - trained) // every or self._budget == 0:
                seen = max(self.running["seen"], 1)
                self.curve.append(
                    {
                        "seen": self.seen,
                        "loss": self.running["loss"] / seen,
                        "error": self.running["errors"] / seen,
                    }
                )
                if len(self.curve) > MAX_POINTS:
                    self.curve = self.curve[::2]
        if self.step >= self._steps_per_pass():
            self._end_pass()

    def _end_pass(self) -> None:
        seen = max(self.running["seen"], 1)
        record: dict[str, Any] = {
            "pass": self.epoch + 1,
            "lr": self.optimizer.lr,
            "train_loss": self.running["loss"] / seen,
            "running_train_error": self.running["errors"] / seen,
            "test_error": evaluate(self.net, *self.test)["error"] if self.test else None,
        }
        with self._cond:
            self.history.append(record)
            self.epoch, self.step, self.order = self.epoch + 1, 0, None
            self.running = {"loss": 0.0, "errors": 0, "seen": 0}
        self.save(record)

    # ---- the run folder -------------------------------------------------------------------------

    def save(self, record: dict[str, Any] | None = None) -> str:
        """Write the checkpoint of the run as it stands (and the pass's record to the log)."""
        with self._cond:
            if self._folder is None:
                self._folder = RunFolder(
                    self.out, self.net, self.optimizer, self.recipe, len(self.x)
                )
                self._folder.start(resume=False)
            progress = Progress(self.epoch, self.step, dict(self.running), list(self.history))
            self._folder.save(progress)
            if record is not None:
                self._folder.log(record)
            self._saved_at = self.seen
            self.checkpoint = str(self._folder.checkpoint_path)
            return self.checkpoint
