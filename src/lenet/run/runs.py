"""A training run's folder: ``config.json``, ``log.jsonl`` and ``checkpoint.npz``.

``RunFolder(path)`` is what ``lenet.train(..., out=path)`` writes into:

* ``config.json``: the recipe's settings that apply to the run (``Recipe.config()``);
* ``log.jsonl``: one JSON line per finished pass, written after that pass's checkpoint, so the
  log never runs ahead of the checkpoint;
* ``checkpoint.npz``: the network, the optimiser's state and where the run is (pass, step,
  the running sums of an interrupted pass, the history), replaced atomically
  (``lenet.run.checkpoint``).

Before training starts the folder is checked to be writable and to have room for two
checkpoints and the log; a run that fails before its first checkpoint removes what it wrote
(and the folders it made), so no folder without a checkpoint is left behind. Resuming reads the
checkpoint, checks its progress record and that the run is the same one (images, batch size,
seed, preprocessing, distortions, optimiser, loss), before anything is made or written, and goes
on from where it stopped.

A network is fed only the inputs it was trained on: the run's preprocessing (its identity, in
the checkpoint) is checked against the recipe's by a resumed run here and by ``lenet evaluate``
(``check_preprocessing``), each refusal naming both schemes.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .checkpoint import read_checkpoint, save_checkpoint

if TYPE_CHECKING:  # for the type checker only
    from ..engine.network import Network
    from ..engine.optim import Optimizer
    from .recipes import Recipe

__all__ = [
    "Progress",
    "RunFolder",
    "check_output_folder",
    "check_preprocessing",
    "run_preprocessing",
]


@dataclass
class Progress:
    """Where a run is: the pass (from 0) and step it goes on from, the running sums of that
    pass so far (loss x samples, errors, samples seen), and the records of finished passes."""

    epoch: int = 0
    step: int = 0
    running: dict = field(default_factory=lambda: {"loss": 0.0, "errors": 0, "seen": 0})
    history: list = field(default_factory=list)


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
        raise OSError(
            f"cannot write checkpoints to {out}: {free / 2**20:.1f} MiB free, and the "
            f"run needs about {needed / 2**20:.1f} MiB (a checkpoint is written beside "
            f"the old one before replacing it)"
        )


def write_atomically(path: Path, text: str) -> None:
    """Write a small text file so that a crash leaves the old version or the new, whole."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class RunFolder:
    """The folder of one training run (see the module's docstring)."""

    def __init__(
        self,
        path: str | os.PathLike,
        net: Network,
        optimizer: Optimizer,
        recipe: Recipe,
        images: int,
    ) -> None:
        self.path = Path(path)
        self.net, self.optimizer, self.recipe = net, optimizer, recipe
        net.use_preprocessing(recipe.preprocessing)  # what it is trained on: its checkpoint says so
        #: what must not change between a run and its resumption (else the bits would differ)
        self.identity = {
            "images": images,
            "batch_size": recipe.batch_size,
            "seed": recipe.seed,
            "preprocessing": recipe.preprocessing,
            "distort": recipe.distort,
            "distort_copies": recipe.distort_copies,  # (the checkpoints before: not checked)
            "distort_all": recipe.distort_all,
            "optimizer": recipe.optimizer,
            "loss": recipe.loss,
        }
        self._made: list[Path] = []

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.npz"

    def start(self, resume: bool) -> Progress:
        """Check the folder, then either refuse one that holds a run already, or (resume)
        load the run's checkpoint into the network and optimiser; write config.json. Returns
        where the run goes on from."""
        if not resume and (self.checkpoint_path.exists() or (self.path / "log.jsonl").exists()):
            raise ValueError(
                f"{self.path} already holds a run: resume it, or choose another folder"
            )
        state = self._resumable() if resume else None  # checked before anything is written
        self._made = [f for f in (self.path, *self.path.parents) if not f.exists()]
        # room for the new checkpoint beside the old one, and the log, with a margin
        check_output_folder(self.path, 3 * self._checkpoint_bytes() + 2**20)
        progress = Progress()
        if state is not None:
            progress = self._resume(state)
        write_atomically(
            self.path / "config.json", json.dumps(self.recipe.config(), indent=2) + "\n"
        )
        return progress

    def _checkpoint_bytes(self) -> int:
        """About the size of one checkpoint: the parameters and the optimiser's state arrays."""
        state = sum(np.asarray(v).nbytes for v in self.optimizer.state_dict().values())
        return int(self.net.parameters.nbytes + state) + 65536  # + the zip and JSON overhead

    def _resumable(self) -> dict[str, Any]:
        """The checkpoint to resume from, its progress record checked, and the run it holds
        checked to be this one (else the bits, or the network's inputs, would differ)."""
        state = read_checkpoint(self.checkpoint_path)
        p = _checked_progress(state["progress"], self.checkpoint_path)
        check_preprocessing(
            self.path, run_preprocessing(state), self.recipe.preprocessing, "cannot resume it"
        )
        saved = p.get("run", {})
        changed = [k for k in self.identity if k in saved and saved[k] != self.identity[k]]
        if changed:
            raise ValueError(
                f"cannot resume {self.path} with a different "
                + ", ".join(f"{k} ({saved[k]} then, {self.identity[k]} now)" for k in changed)
            )
        return {**state, "progress": p}

    def _resume(self, state: dict[str, Any]) -> Progress:
        p = state["progress"]
        self.net.load_state_dict(state["net"].state_dict())
        self.optimizer.load_state_dict(state["optimizer"])
        progress = Progress(p["epoch"], p["step"], p["partial"], p["history"])
        self._write_log(progress.history)  # the log says what the checkpoint holds, no more
        return progress

    def save(self, progress: Progress) -> None:
        """Replace the checkpoint by the run as it is now (the weights must be finite)."""
        state = {
            "epoch": progress.epoch,
            "step": progress.step,
            "partial": progress.running,
            "history": progress.history,
            "seed": self.recipe.seed,
            "run": self.identity,
        }
        save_checkpoint(
            self.checkpoint_path, self.net, self.optimizer.state_dict(), self.recipe.config(), state
        )

    def log(self, record: dict) -> None:
        """Append one finished pass's record to log.jsonl (after its checkpoint)."""
        with open(self.path / "log.jsonl", "a") as log:
            log.write(json.dumps(record) + "\n")
            log.flush()
            os.fsync(log.fileno())

    def _write_log(self, history: list[dict]) -> None:
        """log.jsonl with one line per finished pass, replaced atomically."""
        write_atomically(
            self.path / "log.jsonl",
            "".join(json.dumps(r) + "\n" for r in history if not r.get("interrupted")),
        )

    def remove_if_unsaved(self) -> None:
        """After a run that failed before its first checkpoint: remove the files it wrote and
        the folders it made, so that no run folder without a checkpoint is left behind."""
        if self.checkpoint_path.exists():
            return
        names = ("config.json", "log.jsonl", "config.json.tmp", ".write-test")
        for name in names if self._made else names[:2]:
            (self.path / name).unlink(missing_ok=True)
        for folder in self._made:
            try:
                folder.rmdir()  # only when empty: nothing of the user's is ever removed
            except OSError:
                break


def run_preprocessing(state: dict[str, Any]) -> str | None:
    """The preprocessing a checkpoint's network was trained on (``read_checkpoint``'s
    answer): its run's identity, or for runs written before the identity held it, its config."""
    run = state["progress"].get("run")
    scheme = run.get("preprocessing") if isinstance(run, dict) else None
    return scheme if scheme is not None else state["config"].get("preprocessing")


def check_preprocessing(
    where: str | os.PathLike, trained: str | None, given: str, doing: str
) -> None:
    """Refuse to feed a run's network other inputs than it was trained on, naming both."""
    if trained is not None and trained != given:
        raise ValueError(
            f"{where}: {doing} with preprocessing {given!r}: its network was trained on "
            f"preprocessing {trained!r}, and other inputs would give other answers"
        )


def _checked_progress(p: dict, path: Path) -> dict[str, Any]:
    """A checkpoint's progress record, checked before a resume relies on it."""

    def bad(what: str) -> ValueError:
        return ValueError(f"{path}: cannot resume from it: its meta/progress {what}")

    def count(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    for key in ("epoch", "step"):
        if not count(p.get(key)):
            raise bad(f"needs {key!r}, a whole number >= 0, got {p.get(key)!r}")
    partial = p.get("partial", {"loss": 0.0, "errors": 0, "seen": 0})
    if not (
        isinstance(partial, dict)
        and isinstance(partial.get("loss"), (int, float))
        and not isinstance(partial.get("loss"), bool)
        and math.isfinite(partial["loss"])
        and count(partial.get("errors"))
        and count(partial.get("seen"))
    ):
        raise bad(f"has a broken 'partial' record: {partial!r}")
    history = p.get("history", [])
    if not (isinstance(history, list) and all(isinstance(r, dict) for r in history)):
        raise bad("has a 'history' that is not a list of records")
    if not isinstance(p.get("run", {}), dict):
        raise bad("has a 'run' that is not a record")
    return {**p, "partial": partial, "history": history}
