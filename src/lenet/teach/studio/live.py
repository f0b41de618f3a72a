"""Training driven from the page: start, pause, step (one pattern, 100, a pass), stop.

The page's commands drive one ``lenet.run.session.TrainingRun``, the run object that
``lenet.train`` drives too: the same steps, the same records, the same run folder. Here is
only what is about the page: a background thread advances the run a chunk of patterns at a
time (the fused path releases the GIL, so the server keeps answering the page meanwhile); the
commands set how many patterns it trains before pausing; after every chunk the trained weights
are copied into the studio's view of the network (the ``on_chunk`` callback), so the page's
drawings go through the network as it is being trained without touching the buffers the
trainer writes; and the points of the running loss and error curves are kept.

Each pass is the one ``lenet train`` makes with the same recipe, so the weights after a pass
are the same bits as ``lenet.train``'s. After every pass, and on ``stop``, the run folder
(``config.json``, ``log.jsonl``, ``checkpoint.npz``) is written; ``lenet evaluate`` reads it and
``lenet train --resume`` continues it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...engine.inputs import Preprocessed
from ...engine.network import Network
from ...engine.sdlm import SDLM
from ...engine.threads import get_num_threads, set_num_threads
from ...run.recipes import Recipe
from ...run.session import TrainingRun

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
    """One network trained by one recipe in a background thread, driven by commands.

    ``train_data`` and ``test_data`` are (images, labels), the images preprocessed as the
    recipe says (``Preprocessed`` pixels, say); the recipe's ``limit`` applies."""

    def __init__(
        self,
        net: Network,
        recipe: Recipe,
        train_data: tuple[np.ndarray | Preprocessed, np.ndarray],
        test_data: tuple[np.ndarray | Preprocessed, np.ndarray] | None,
        out: Path,
        on_chunk: Callable[[Network], None] = lambda net: None,
    ) -> None:
        self.net, self.recipe, self.out = net, recipe, Path(out)
        self.run = TrainingRun(net, train_data, test_data, recipe, out=self.out, fused=True)
        self.on_chunk = on_chunk
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._budget: int | None = 0  # patterns to train before pausing; None: until paused
        self._closing = False
        self._saved_at = -1  # patterns seen when the checkpoint was last written
        self._histogram_pass = -1  # the pass the step sizes' histogram was made in
        # the figures the page shows, copied from the run under _cond
        self.state = "idle"  # idle, running, paused, stopped, failed
        self.message = ""
        self.epoch, self.step = 0, 0  # the pass (from 0) and its next step
        self.seen = 0  # patterns trained in all
        self.curve: list[dict[str, float]] = []
        self.history: list[dict[str, Any]] = []
        self.step_size_histogram: dict[str, Any] | None = None
        self.rate = 0.0  # patterns per second over the last chunk
        self.last_pattern: int | None = None
        self.checkpoint: str | None = None

    @property
    def x(self) -> np.ndarray | Preprocessed:
        """The images trained on."""
        return self.run.x

    @property
    def y(self) -> np.ndarray:
        return self.run.y

    # ---- commands, from the server's threads --------------------------------------------------

    def command(self, action: str, amount: str | None = None) -> None:
        """``start`` (train until paused), ``pause``, ``step`` (``amount``: "1", "100" or
        "pass"), ``stop`` (pause and write the checkpoint)."""
        with self._cond:
            if self.state == "failed":
                raise ValueError(f"training failed: {self.message}")
            if action == "start":
                self._budget = None
            elif action in ("pause", "stop"):
                self._budget = 0
            elif action == "step":
                if amount not in STEPS:
                    raise ValueError(
                        f"amount must be one of {', '.join(STEPS)} for a step, got {amount!r}"
                    )
                batch = self.recipe.batch_size  # whole steps: at least one, of `batch` patterns
                wanted = STEPS[amount] or self._left_in_pass()
                self._budget = max(batch, wanted // batch * batch)
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
        """End the thread (the server stops): the run is saved if it trained since last, and
        a run folder that never got a checkpoint is removed."""
        with self._cond:
            self._closing, self._budget = True, 0
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=60)
        if self.seen and self._saved_at != self.seen and self.state != "failed":
            self.save()
        self.run.discard_if_unsaved()

    def status(self) -> dict[str, Any]:
        with self._cond:
            return {
                "state": self.state,
                "message": self.message,
                "model": self.net.variant,
                "optimizer": self.recipe.optimizer,
                "loss": self.run.loss.name,
                "batch_size": self.recipe.batch_size,
                "pass": self.epoch + 1,
                "passes": self.recipe.passes,
                "step": self.step,
                "steps_per_pass": self.run.steps_per_pass,
                "images": len(self.run.x),
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

    def _left_in_pass(self) -> int:
        return (self.run.steps_per_pass - self.step) * self.recipe.batch_size

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

    def _chunk(self, patterns: int) -> None:
        """Advance the run by `patterns` patterns (whole steps) of the current pass, publish
        the weights and the figures, and end the pass when its last step is done."""
        epoch = self.run.epoch
        started = time.perf_counter()
        threads = get_num_threads()
        set_num_threads(TRAINING_THREADS)
        try:
            trained = self.run.advance(patterns)
        finally:
            set_num_threads(threads)
        seconds = time.perf_counter() - started
        if isinstance(self.run.optimizer, SDLM) and self._histogram_pass != epoch:
            self.step_size_histogram = self._histogram()  # eps_k is set for the whole pass
            self._histogram_pass = epoch
        self.on_chunk(self.net)
        with self._cond:
            self.step = self.run.step
            self.seen += trained
            self.rate = trained / seconds if seconds > 0 else 0.0
            self.last_pattern = self.run.last_pattern
            if self._budget is not None:  # a step ends at the end of its pass at the latest
                self._budget = 0 if self.run.pass_done else max(0, self._budget - trained)
            self._point(trained, self.run.running)
        if self.run.pass_done:  # its record, the checkpoint and the log line
            self.run.end_pass()
            with self._cond:
                self.epoch, self.step = self.run.epoch, self.run.step
                self.history = list(self.run.history)
                self._saved_at = self.seen
                self.checkpoint = str(self.run.folder.checkpoint_path) if self.run.folder else None

    def _point(self, trained: int, running: dict[str, Any]) -> None:
        """A point of the running curves every POINT_EVERY patterns and when a command is
        done (under _cond)."""
        every = max(POINT_EVERY, self.recipe.batch_size)
        if self.seen // every != (self.seen - trained) // every or self._budget == 0:
            seen = max(running["seen"], 1)
            self.curve.append(
                {
                    "seen": self.seen,
                    "loss": running["loss"] / seen,
                    "error": running["errors"] / seen,
                }
            )
            if len(self.curve) > MAX_POINTS:
                self.curve = self.curve[::2]

    def _histogram(self) -> dict[str, Any]:
        """log10 of SDLM's step sizes eps_k = eta / (mu + h_kk), counted per layer over its
        trainable parameters, in bins of a quarter decade from 1e-8 to 1."""
        optimizer = self.run.optimizer
        assert isinstance(optimizer, SDLM)
        edges = np.linspace(-8.0, 0.0, 33)
        sizes, mask = optimizer.step_sizes, self.net.parameter_mask
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
            "eta": optimizer.lr,
            "mu": optimizer.mu,
            "min": float(rates.min()),
            "max": float(rates.max()),
        }

    # ---- the run folder -------------------------------------------------------------------------

    def save(self) -> str:
        """Write the checkpoint of the run as it stands."""
        with self._cond:
            path = self.run.save()
            self._saved_at = self.seen
            self.checkpoint = str(path)
            return self.checkpoint
