"""Boosted LeNet-4's combined network (Figure 9: 0.7 %): three nets whose penalties are added,
the second and third run only when the first is unsure.

    >>> import numpy as np
    >>> from lenet.engine.family import family_network
    >>> nets = [family_network("fc-300", seed=s, dtype=np.float64) for s in range(3)]
    >>> boosted = BoostedNetwork(nets, threshold=0.5)
    >>> x = np.zeros((4, 1, 28, 28))
    >>> outputs, full = boosted.answer(x)
    >>> outputs.shape, full.shape
    ((4, 10), (4,))

The answer is the class of the smallest summed penalty (the nets end in RBF penalties, smallest
wins, so adding them is adding the paper's "outputs"). Net 1 is run on every image; where its
answer's margin (``lenet.run.rejection``'s penalty gap, the second smallest penalty minus the
smallest) is at least ``threshold``, its answer stands and nets 2 and 3 are not run. So the cost
against one net is 1 + 2 x (the share of images whose margin is below the threshold); the paper
reports about 1.75 (``lenet.paper.BOOSTING_COST``). ``lenet.run.boosting`` trains the nets and
chooses the threshold; ``BoostedNetwork.load(folder)`` reads what it made.

The interface is the part of ``Network``'s that inference needs: ``infer``, ``classify``,
``predict``, ``preprocessing``, ``dtype``; so ``lenet.run.evaluation.evaluate`` scores it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from ..engine.layers import RBFOutput
from ..engine.network import Network
from ..paper import BOOSTING_COST, FIGURE9, FIGURE9_NAMES
from .checkpoint import read_checkpoint
from .rejection import margin

__all__ = ["BOOSTING_FILE", "BoostedNetwork", "boosted_summary", "is_boosted_run"]

#: the file of a boosted run folder that says what was done and chosen (lenet.run.boosting)
BOOSTING_FILE = "boosting.json"
#: the run folders of the three nets inside a boosted run folder
NET_FOLDERS = ("net1", "net2", "net3")


def is_boosted_run(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a boosted run's folder (it holds ``boosting.json``)."""
    return (Path(path) / BOOSTING_FILE).is_file()


class BoostedNetwork:
    """Three networks with RBF penalties, combined by adding them (see the module's docstring).

    ``nets``: the three networks (same input, same dtype); ``threshold``: the margin of net 1's
    answer at and above which nets 2 and 3 are not run (0: never run; ``inf``: always run)."""

    def __init__(self, nets: Sequence[Network], threshold: float) -> None:
        if len(nets) != 3:
            raise ValueError(f"a boosted network combines 3 networks, got {len(nets)}")
        for net in nets:
            if not isinstance(net.layers[-1], RBFOutput):
                raise ValueError("the combined networks must end in RBF penalties (smallest wins)")
        if len({net.input_shape for net in nets}) != 1 or len({net.dtype for net in nets}) != 1:
            raise ValueError("the combined networks must take the same input, in the same dtype")
        if not (isinstance(threshold, (int, float)) and threshold >= 0):
            raise ValueError(f"threshold must be a number >= 0, got {threshold!r}")
        self.nets = list(nets)
        self.threshold = float(threshold)
        self.dtype = nets[0].dtype
        self.input_shape = nets[0].input_shape

    @property
    def preprocessing(self) -> str | None:
        """The scheme (``lenet.engine.inputs``) the nets' input is made by: net 1's."""
        return self.nets[0].preprocessing

    @classmethod
    def load(cls, folder: str | os.PathLike) -> BoostedNetwork:
        """The combined network of a finished boosted run folder (``lenet.run.boosting``)."""
        folder = Path(folder)
        if not is_boosted_run(folder):
            raise ValueError(f"{folder} is not a boosted run folder: it holds no {BOOSTING_FILE}")
        record = json.loads((folder / BOOSTING_FILE).read_text())
        if record.get("threshold") is None:
            raise ValueError(
                f"{folder}: the boosted run is not finished (continue it with --resume {folder})"
            )
        nets = [read_checkpoint(folder / name)["net"] for name in NET_FOLDERS]
        return cls(nets, record["threshold"])

    def answer(self, x: ArrayLike, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """(outputs (N, 10), full (N,)): ``full`` marks the images on which net 1 was unsure
        and nets 2 and 3 were run; their outputs are the three nets' summed penalties, the
        others' are net 1's penalties alone (the answer is the smallest either way)."""
        x = np.asarray(x, dtype=self.dtype)
        out = np.asarray(self.nets[0].infer(x, batch_size), dtype=np.float64)
        full = self._unsure(out)
        if np.any(full):
            unsure = x[full]
            for net in self.nets[1:]:  # only where net 1 is unsure
                out[full] += net.infer(unsure, batch_size)
        return out, full

    def infer(self, x: ArrayLike, batch_size: int = 256) -> np.ndarray:
        """The outputs of ``answer``: the class is the smallest of each row."""
        return self.answer(x, batch_size)[0]

    def classify(self, out: np.ndarray) -> np.ndarray:
        """The classes (N,) that outputs (N, 10) name: the smallest penalty."""
        return np.argmin(out, axis=1)

    def predict(self, x: ArrayLike) -> np.ndarray:
        """Classes (N,) of network input (N, C, H, W), or of raw digits: uint8 (N, 28, 28)
        images are first made into input by the nets' ``preprocessing``."""
        x = np.asarray(x)
        if x.dtype == np.uint8:
            x = self.nets[0].prepare(x)
        return self.classify(self.infer(x))

    def cost(self, x: ArrayLike, batch_size: int = 256) -> float:
        """The average cost of answering for the images ``x`` against that of one net:
        1 + 2 x (the share on which net 1 is unsure). Runs net 1 alone."""
        return cost_of(self._unsure(self.nets[0].infer(np.asarray(x, self.dtype), batch_size)))

    def _unsure(self, out: np.ndarray) -> np.ndarray:
        """Where net 1's outputs ``out`` leave it unsure: nets 2 and 3 are run there."""
        return margin(out, "penalty-gap") < self.threshold

    def __repr__(self) -> str:
        return (
            f"BoostedNetwork({self.nets[0].variant} x 3, threshold={self.threshold:g}, "
            f"preprocessing={self.preprocessing!r})"
        )


def cost_of(full: np.ndarray) -> float:
    """The cost against one net of answering with nets 2 and 3 run where ``full`` is True."""
    return 1.0 + 2.0 * float(np.mean(full)) if len(full) else 1.0


def boosted_summary(net: Network, name: str = "Boosted LeNet-4") -> str:
    """``lenet summary --model boosted-lenet4``: the summary of one of the three nets (``net``)
    and what the boosted network makes of three of them: its parameters, how the nets are
    trained and combined, and its cost against one net (at the paper's 1.75, in multiply-adds:
    one net's connections, its loss layer left out, times the cost, as Figure 11 counts)."""
    rows = net.describe()
    parameters = sum(r["parameters"] for r in rows)
    connections = sum(r["connections"] for r in rows if r["kind"] != "euclidean rbf")
    one = FIGURE9_NAMES.get(net.variant, type(net).__name__)
    paper = FIGURE9.get("boosted-lenet4", {}).get("multiply_adds") if one == "LeNet-4" else None
    said = "" if paper is None else f"; Figure 11: {paper:g} thousand"
    return "\n".join(
        [
            net.summary(),
            "",
            f"{name}: three {one}s like the one above, {3 * parameters:,} parameters "
            f"(3 x {parameters:,}).",
            f"  net 1: trained as `lenet train --model {net.variant}` trains one;",
            "  net 2: on patterns net 1 filters, half of them it gets wrong, half right;",
            "  net 3: on new patterns on which nets 1 and 2 disagree.",
            "  answer: the smallest sum of the three nets' penalties; nets 2 and 3 run only",
            "  where net 1's penalty gap (second smallest minus smallest) is below a threshold",
            "  chosen on the validation split.",
            "  cost against one net: 1 + 2 x the share of digits below the threshold; at the",
            f"  paper's {BOOSTING_COST:g}, {round(BOOSTING_COST * connections):,} multiply-adds "
            f"against one net's {connections:,}",
            f"  (its connections but the loss layer's{said}).",
        ]
    )
