"""Losses and their gradients with respect to the network output (Section II.C).

Each function takes the output of a batch, (N, classes), and the labels (N,), and returns
``(loss, grad)``: the batch-mean loss and dE/d(output), ready for ``net.backward(grad)``.

* ``rbf_penalty``: equation (8), E = mean of y_{label}, the correct class's RBF penalty.
* ``rbf_discriminative``: equation (9), which also pushes the other penalties up through a
  softmax over -y with an extra constant "rubbish" class of score -j (j > 0).
* ``softmax_cross_entropy``: the modern variant's loss on logits.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from .layers import RBFOutput

#: The losses a recipe can name: equation (8), equation (9), and the modern variant's.
LOSSES = ("penalty", "discriminative", "cross-entropy")
#: The constant of equation (9); the paper gives no value (see docs/results.md).
DEFAULT_J = 1.0


def check_loss(net, loss: str) -> None:
    """RBF losses need RBF outputs and cross-entropy needs logits (``net``: a lenet network)."""
    rbf = isinstance(net.layers[-1], RBFOutput)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if loss == "cross-entropy" and rbf:
        raise ValueError("loss 'cross-entropy' needs logits; the RBF output gives penalties: "
                         "use 'penalty' or 'discriminative'")
    if loss != "cross-entropy" and not rbf:
        raise ValueError(f"loss {loss!r} needs RBF penalties; this network outputs "
                         f"logits: use 'cross-entropy'")


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
