"""The other networks of the paper's Figure 9: LeNet-1, LeNet-4 and the fully connected nets.

Built from the layer kinds LeNet-5 is made of, trained by the paper's method (SDLM, one pattern
per update, the squashing function f(a) = 1.7159 tanh(2a/3)), and started as lenet starts
LeNet-5 (``init``, by default uniform in +-1/sqrt(F_i)). Where the paper is silent, the reading
taken here (docs/figure9.md says why):

* **The output.** The paper says nothing of these networks' output units or loss. Each ends in
  10 squashed units (``output``) trained towards a target code, +1 for the class and -1 for the
  others, by the squared error, as LeCun et al. 1989-1990 trained LeNet-1's ancestors. lenet
  computes that error as a Euclidean RBF layer (``code``) whose ten fixed prototypes are those
  codes (``place_code``): its penalties are the squared distances of the ten outputs to each
  code, loss (8) is the squared error to the right code, and the smallest penalty is the
  largest output. So every tool made for LeNet-5's penalties (rejection, the studio's bars,
  loss (9)) works here too. The code layer's 100 distances are not in the paper's counts.
* **LeNet-1** (Section III.C.7; LeCun et al. 1990): 28x28 input holding the digit down-sampled
  to 16x16 (preprocessing ``"lenet1"``); H1 4@24x24, H2 4@12x12, H3 12@8x8 wired by
  ``paper.LENET1_H3``, H4 12@4x4, output 10: 2,578 parameters and 98,442 connections, the
  1990 paper's figures exactly.
* **LeNet-4**: 32x32 input as LeNet-5's; C1 4@28x28, S2 8@14x14 (two per C1 map,
  ``paper.LENET4_S2_SOURCES``), C3 16@10x10 each reading 3 S2 maps (``paper.LENET4_C3``, our
  table: the paper gives none), S4 16@5x5, F5 120 units fully connected, output 10:
  262,306 connections (Figure 11: about 260 thousand) but 50,698 parameters where the paper says
  about 17,000. No reading of its words meets both figures: 120 units fully connected to 16
  maps of 3x3 already hold 17,400 weights, and maps that small leave far fewer than 260,000
  connections. We keep the words and report the mismatch.
* **The fully connected nets**: 28x28 input (the paper's scaling, not padded: ``"paper-28"``),
  hidden layers of squashed units, output 10 as above.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .. import paper
from ..paper import INPUT_RANGE as PAPER_INPUT_RANGE
from .layers import DEFAULT_INIT, Convolution, FullConnection, RBFOutput, Subsampling, check_dtype
from .network import Network

__all__ = ["FAMILY", "INPUTS", "FullyConnected", "LeNet1", "LeNet4", "family_network", "place_code"]


def place_code(classes: int = 10, dtype: DTypeLike = np.float64) -> np.ndarray:
    """(classes, classes) target codes: row i is +1 at i and -1 elsewhere."""
    return (2 * np.eye(classes) - 1).astype(dtype)


class _Family(Network):
    """A network of Figure 9 trained by the paper's method: input in the paper's range."""

    input_range: tuple[float, float] | None = PAPER_INPUT_RANGE
    #: the preprocessing scheme (lenet.engine.inputs) that makes this network's input
    preprocessing: str | None = "paper"

    def _start(
        self, layers: list, shape: tuple[int, int, int], dt: np.dtype, seed: int, init: str
    ) -> None:
        """Build on ``layers`` and the code layer, then draw the parameters from ``seed``."""
        layers = [*layers, RBFOutput(place_code(10, dt), name="code", dtype=dt)]
        super().__init__(layers, shape, dt)
        self.seed = seed
        self.init_parameters(seed, init)


class LeNet1(_Family):
    """LeNet-1 (Section III.C.7; LeCun et al. 1990): 28x28 input holding a 16x16 digit.

    ====== ============================================== ==========
    layer  unit                                           output
    ====== ============================================== ==========
    H1     5x5 convolution, squashing                     4 @ 24x24
    H2     2x2 sum x coefficient + bias, squashing        4 @ 12x12
    H3     5x5 convolution wired by LENET1_H3, squashing  12 @ 8x8
    H4     2x2 sum x coefficient + bias, squashing        12 @ 4x4
    output full connection, squashing                     10
    code   squared distance to each class's +-1 code      10 penalties
    ====== ============================================== ==========
    """

    variant = "lenet1"
    preprocessing = "lenet1"

    def __init__(
        self, seed: int = 0, dtype: DTypeLike = np.float32, init: str = DEFAULT_INIT
    ) -> None:
        dt = check_dtype(dtype)
        h3 = paper.connection_table(paper.LENET1_H3, 4)
        layers = [
            Convolution(1, 4, 5, name="H1", dtype=dt),
            Subsampling(4, "paper", name="H2", dtype=dt),
            Convolution(4, 12, 5, connection_table=h3, name="H3", dtype=dt),
            Subsampling(12, "paper", name="H4", dtype=dt),
            FullConnection(12 * 4 * 4, 10, name="output", dtype=dt),
        ]
        self._start(layers, (1, 28, 28), dt, seed, init)


class LeNet4(_Family):
    """LeNet-4 (Figure 9): 32x32 input, as LeNet-5's.

    ====== ============================================== ==========
    layer  unit                                           output
    ====== ============================================== ==========
    C1     5x5 convolution, squashing                     4 @ 28x28
    S2     2x2 subsampling, two maps per C1 map           8 @ 14x14
    C3     5x5 convolution wired by LENET4_C3, squashing  16 @ 10x10
    S4     2x2 subsampling                                16 @ 5x5
    F5     full connection, squashing                     120
    output full connection, squashing                     10
    code   squared distance to each class's +-1 code      10 penalties
    ====== ============================================== ==========
    """

    variant = "lenet4"

    def __init__(
        self, seed: int = 0, dtype: DTypeLike = np.float32, init: str = DEFAULT_INIT
    ) -> None:
        dt = check_dtype(dtype)
        c3 = paper.connection_table(paper.LENET4_C3, 8)
        layers = [
            Convolution(1, 4, 5, name="C1", dtype=dt),
            Subsampling(4, "paper", sources=paper.LENET4_S2_SOURCES, name="S2", dtype=dt),
            Convolution(8, 16, 5, connection_table=c3, name="C3", dtype=dt),
            Subsampling(16, "paper", name="S4", dtype=dt),
            FullConnection(16 * 5 * 5, 120, name="F5", dtype=dt),
            FullConnection(120, 10, name="output", dtype=dt),
        ]
        self._start(layers, paper.INPUT_SHAPE, dt, seed, init)


class FullyConnected(_Family):
    """A fully connected net of Figure 9: 28x28-``hidden``-10, e.g. ``hidden=(300, 100)``.

    Every layer is a full connection with squashing; the 28x28 input has the paper's scaling
    and no padding (preprocessing ``"paper-28"``)."""

    preprocessing = "paper-28"

    def __init__(
        self,
        hidden: tuple[int, ...] = (300,),
        seed: int = 0,
        dtype: DTypeLike = np.float32,
        init: str = DEFAULT_INIT,
    ) -> None:
        dt = check_dtype(dtype)
        sizes = (28 * 28, *hidden, 10)
        layers = [
            FullConnection(sizes[i], sizes[i + 1], name=f"H{i + 1}", dtype=dt)
            for i in range(len(hidden))
        ]
        layers.append(FullConnection(sizes[-2], 10, name="output", dtype=dt))
        self.variant = "fc-" + "-".join(str(h) for h in hidden)
        self._start(layers, (1, 28, 28), dt, seed, init)


#: Figure 9's networks a config can name -> (class, its arguments).
FAMILY: dict[str, tuple[Any, dict]] = {
    "lenet1": (LeNet1, {}),
    "lenet4": (LeNet4, {}),
    "fc-300": (FullyConnected, {"hidden": (300,)}),
    "fc-1000": (FullyConnected, {"hidden": (1000,)}),
    "fc-300-100": (FullyConnected, {"hidden": (300, 100)}),
    "fc-500-150": (FullyConnected, {"hidden": (500, 150)}),
}
#: The preprocessing (lenet.engine.inputs) each of them reads.
INPUTS: dict[str, str] = {model: str(cls.preprocessing) for model, (cls, _) in FAMILY.items()}


def family_network(
    model: str, seed: int = 0, dtype: DTypeLike = np.float32, init: str = DEFAULT_INIT
) -> Network:
    """The freshly initialised network of Figure 9 named ``model`` (a key of ``FAMILY``)."""
    if model not in FAMILY:
        raise ValueError(f"model must be one of {', '.join(map(repr, FAMILY))}, got {model!r}")
    cls, kwargs = FAMILY[model]
    return cls(seed=seed, dtype=dtype, init=init, **kwargs)
