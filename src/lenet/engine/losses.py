"""Losses and their gradients with respect to the network output (Section II.C): the one place
that says which loss there is, what it computes, and which output it fits.

Each loss takes the output of a batch, (N, classes), and the labels (N,), and returns
``(loss, grad)``: the batch-mean loss and dE/d(output), ready for ``net.backward(grad)``.

* ``"penalty"``, ``rbf_penalty``: equation (8), E = mean of y_{label}, the correct class's RBF
  penalty. The paper's loss, and the default for RBF outputs.
* ``"discriminative"``, ``rbf_discriminative``: equation (9), which also pushes the other
  penalties up through a softmax over -y with an extra constant "rubbish" class of score -j
  (j > 0; the paper gives no value, ``DEFAULT_J``).
* ``"cross-entropy"``, ``softmax_cross_entropy``: the modern variant's loss on logits, and the
  default for them.

``Loss(name, j)`` is one of these as an object, ``loss_for(net, name, j)`` the loss a network
trains with (checked against its output layer), and ``softmax`` the class probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._guard import guarded
from . import _core, checks
from .layers import RBFOutput

#: The losses a recipe can name: equation (8), equation (9), and the modern variant's.
LOSSES = ("penalty", "discriminative", "cross-entropy")
#: The constant of equation (9); the paper gives no value (see docs/results.md).
DEFAULT_J = 1.0
#: How each loss is named beside its formula.
EQUATIONS = {
    "penalty": "equation (8)",
    "discriminative": "equation (9)",
    "cross-entropy": "softmax cross-entropy",
}


def rbf_penalty(y: ArrayLike, labels: ArrayLike) -> tuple[float, np.ndarray]:
    """Equation (8): E = (1/N) sum_n y[n, label_n]. Returns (E, dE/dy)."""
    return _core.loss_rbf_penalty(y, labels)


def rbf_discriminative(y: ArrayLike, labels: ArrayLike, j: float) -> tuple[float, np.ndarray]:
    """Equation (9): E = (1/N) sum_n (y[n,label_n] + log(e^-j + sum_i e^-y[n,i])).

    dE/dy_i = ([i = label] - e^-y_i / (e^-j + sum_k e^-y_k)) / N. Returns (E, dE/dy).
    """
    return _core.loss_rbf_discriminative(y, labels, j)


def softmax_cross_entropy(logits: ArrayLike, labels: ArrayLike) -> tuple[float, np.ndarray]:
    """E = (1/N) sum_n (log sum_i e^z[n,i] - z[n,label_n]). Returns (E, dE/dz)."""
    return _core.loss_softmax_cross_entropy(logits, labels)


@guarded("softmax")
def softmax(logits: ArrayLike) -> np.ndarray:
    """Softmax along the last axis, in float64: p[..., i] = exp(z_i) / sum_k exp(z_k), computed
    as exp(z_i - max z) / sum_k exp(z_k - max z) so that it never overflows."""
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def fits_rbf(name: str) -> bool:
    """Whether loss ``name`` is one of the RBF output's (else it takes logits)."""
    return name != "cross-entropy"


@dataclass(frozen=True)
class Loss:
    """One of the losses, ready to call: ``Loss("discriminative", j=10)(out, labels)``."""

    name: str = "penalty"
    j: float = DEFAULT_J

    def __post_init__(self) -> None:
        checks.one_of("loss", self.name, LOSSES)
        checks.real_number("j", self.j, 0, low_open=True)

    @property
    def equation(self) -> str:
        """How the paper names it ("equation (8)"), or "softmax cross-entropy"."""
        return EQUATIONS[self.name]

    def __call__(self, out: ArrayLike, labels: ArrayLike) -> tuple[float, np.ndarray]:
        if self.name == "penalty":
            return rbf_penalty(out, labels)
        if self.name == "discriminative":
            return rbf_discriminative(out, labels, self.j)
        return softmax_cross_entropy(out, labels)


def check_loss(net: Any, loss: str) -> None:
    """RBF losses need RBF outputs and cross-entropy needs logits (``net``: a lenet network)."""
    rbf = isinstance(net.layers[-1], RBFOutput)
    checks.one_of("loss", loss, LOSSES)
    if loss == "cross-entropy" and rbf:
        raise ValueError(
            "loss 'cross-entropy' needs logits; the RBF output gives penalties: "
            "use 'penalty' or 'discriminative'"
        )
    if loss != "cross-entropy" and not rbf:
        raise ValueError(
            f"loss {loss!r} needs RBF penalties; this network outputs logits: use 'cross-entropy'"
        )


def loss_for(net: Any, name: str | None = None, j: float | None = None) -> Loss:
    """The loss ``net`` trains with: ``name`` (checked against its output layer), by default
    the paper's (8) for an RBF output and cross-entropy for logits; ``j`` only with (9)."""
    if name is None:
        name = "penalty" if isinstance(net.layers[-1], RBFOutput) else "cross-entropy"
    check_loss(net, name)
    if j is not None and name != "discriminative":
        raise ValueError(
            f"j is the constant of the discriminative loss (9); the loss here "
            f"is {name!r}: give loss='discriminative' or leave j out"
        )
    return Loss(name, DEFAULT_J if j is None else j)
