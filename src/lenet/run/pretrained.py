"""Trained networks that ship with the package, so that nothing opens on an untrained one unless
asked (docs/results.md, "The shipped networks").

    >>> import lenet
    >>> net = lenet.pretrained("paper")                  # LeNet-5, trained by the paper's recipe
    >>> lenet.run.pretrained.shipped("paper").recipe == lenet.RECIPES["paper"]
    True

``pretrained("paper")`` is LeNet-5 trained by ``lenet train --recipe paper``; ``"modern"`` is the
modern variant trained by ``--recipe seed`` (the recipe the studio trains it with). Each is a
checkpoint (``lenet.run.checkpoint``'s format: float32 parameters under their state_dict keys,
``meta/config`` with the network and its recipe, ``meta/progress`` with the run's history) with
no optimiser state, in the package's ``pretrained/`` folder. ``pretrained.json`` beside them says
of each: the file, the recipe, the exact command that made it, the lenet version and the date of
the commit it was trained at, its errors out of the 10,000 MNIST test images, and the seconds its
passes took, and when its answer is unsure (``rejection``: a rule of ``lenet.run.rejection`` and
its threshold, chosen on a validation split by ``benchmarks/rejection.py``; docs/studio.md,
"When the network is unsure"). ``shipped(model)`` reads that record; ``ship`` writes both from
a finished run, keeping the record's ``rejection``.

    >>> rejection = lenet.run.pretrained.shipped("paper").rejection
    >>> rejection.rule
    'penalty-gap'
    >>> rejection.unsure([[0.4, 50.0, 61.0, 70.0], [6.0, 7.5, 30.0, 41.0]]).tolist()
    [False, True]
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..engine.network import Network
from .checkpoint import read_checkpoint, save_checkpoint
from .evaluation import evaluate
from .recipes import RECIPES, Recipe, recipe_from_config
from .rejection import unsure
from .training import load_data

__all__ = ["PRETRAINED", "Rejection", "Shipped", "pretrained", "ship", "shipped"]

#: the shipped networks: model -> the recipe (lenet.run.recipes.RECIPES) it was trained with
PRETRAINED = {"paper": "paper", "modern": "seed"}

#: where the package keeps them
FOLDER = Path(__file__).resolve().parents[1] / "pretrained"
RECORD = "pretrained.json"


@dataclass(frozen=True)
class Rejection:
    """When a shipped network's answer is unsure: its margin (``lenet.run.rejection.margin``
    under ``rule``) is below ``threshold``. The threshold was chosen on a twin of the network,
    trained by the same recipe on the first 50,000 training images only (``twin``), as the
    largest that rejects at most the share ``most_rejected`` of the 10,000 held out; the
    shipped network saw all 60,000, so it cannot be chosen on them."""

    rule: str  # lenet.run.rejection.RULES
    threshold: float
    most_rejected: float  # the target: reject at most this share of the validation digits
    twin: str  # the command that trained the twin the threshold was chosen on
    # the twin on training images 50,000 .. 59,999: images, errors, rejected, errors_accepted
    validation: dict[str, int]
    # the shipped network on the 10,000 test images, measured once the threshold was chosen
    test: dict[str, int]
    noise: dict[str, list[int]]  # kind of noise -> [flagged unsure, images], shipped network

    def unsure(self, outputs: Any) -> np.ndarray:
        """True where the answer for ``outputs`` (penalties or logits) is unsure."""
        return unsure(outputs, self.threshold, self.rule)


@dataclass(frozen=True)
class Shipped:
    """What ``pretrained.json`` says of one shipped network."""

    model: str
    path: Path  # its checkpoint file
    recipe: Recipe  # the recipe it was trained with: its preprocessing makes the input
    command: str  # the exact `lenet train` command that made it
    version: str  # lenet's version then
    commit_date: str  # the date of the commit it was trained at (YYYY-MM-DD)
    test_errors: int  # misclassified MNIST test images
    test_images: int
    training_seconds: float  # the passes' time, as the run's log records it
    rejection: Rejection | None = None  # when its answer is unsure, if that was chosen

    @property
    def test_error(self) -> float:
        return self.test_errors / self.test_images

    def describe(self) -> str:
        """One line for a page or a printout: which network, how it was made, its error."""
        return (
            f"shipped, trained by `{self.command}`, test error {100 * self.test_error:.2f} % "
            f"({self.test_errors} of {self.test_images})"
        )


def _known(model: str) -> str:
    if model not in PRETRAINED:
        known = ", ".join(repr(name) for name in PRETRAINED)
        raise ValueError(f"no shipped network is called {model!r}: the known ones are {known}")
    return model


def shipped(model: str = "paper", folder: str | os.PathLike | None = None) -> Shipped:
    """What is recorded of the shipped network ``model`` ("paper" or "modern")."""
    _known(model)
    folder = Path(folder) if folder is not None else FOLDER
    record = json.loads((folder / RECORD).read_text())[model]
    return Shipped(
        model=model,
        path=folder / record["file"],
        recipe=RECIPES[record["recipe"]],
        command=record["command"],
        version=record["version"],
        commit_date=record["commit_date"],
        test_errors=int(record["test_errors"]),
        test_images=int(record["test_images"]),
        training_seconds=float(record["training_seconds"]),
        rejection=Rejection(**record["rejection"]) if "rejection" in record else None,
    )


def pretrained(model: str = "paper") -> Network:
    """The shipped network ``model``, trained: "paper" (LeNet-5, the paper's recipe) or "modern"
    (the modern variant, the seed's recipe). Its input is made as ``shipped(model).recipe``'s
    preprocessing says. A ValueError names the known ones for any other name."""
    return read_checkpoint(shipped(model).path)["net"]


def command_for(model: str) -> str:
    """The command that trains the shipped network ``model``."""
    return f"lenet train --recipe {PRETRAINED[_known(model)]} --out runs/pretrained-{model}"


def _commit_date() -> str:
    """The date of the checkout's last commit (shipping is done from a git checkout)."""
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        ["git", "-C", str(root), "log", "-1", "--format=%cs"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def ship(
    run: str | os.PathLike,
    model: str,
    *,
    data: str | os.PathLike | None = None,
    folder: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Write the finished run ``run`` (made by ``command_for(model)``) as the shipped network
    ``model``: its checkpoint without optimiser state or the data folder's path, and its record
    in ``pretrained.json``, the test error measured here on the MNIST test set (read from
    ``data``, else searched). Returns the record."""
    state = read_checkpoint(run)
    config = {**state["config"], "data": None}  # where the data lay is no part of the network
    recipe, name = recipe_from_config(config), PRETRAINED[_known(model)]
    if recipe != RECIPES[name]:
        raise ValueError(f"{run} was not trained by `{command_for(model)}`: its recipe is {recipe}")
    progress = state["progress"]
    history = [r for r in progress.get("history", []) if not r.get("interrupted")]
    if len(history) != recipe.passes or progress.get("step", 0) != 0:
        raise ValueError(f"{run} has not finished its {recipe.passes} passes")
    net = state["net"]
    _, (x_test, y_test) = load_data(recipe, root=data, download=False)
    predicted = evaluate(net, x_test, y_test)["predicted"]
    folder = Path(folder) if folder is not None else FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    kept = {k: progress[k] for k in ("epoch", "step", "seed", "run") if k in progress}
    save_checkpoint(
        folder / f"{model}.npz", net, None, recipe.config(), {**kept, "history": history}
    )
    record = {
        "file": f"{model}.npz",
        "recipe": name,
        "command": command_for(model),
        "version": __version__,
        "commit_date": _commit_date(),
        "test_errors": int(np.sum(predicted != y_test)),
        "test_images": len(y_test),
        "training_seconds": round(sum(float(r["seconds"]) for r in history), 1),
    }
    path = folder / RECORD
    records = json.loads(path.read_text()) if path.exists() else {}
    if "rejection" in records.get(model, {}):  # chosen on a twin: the same for a remade network
        record["rejection"] = records[model]["rejection"]
    records[model] = record
    path.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n")
    return record
