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
