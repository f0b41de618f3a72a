"""Evaluation: the error rate, per-class error and confusion matrix of a network on a set."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..engine import checks

if TYPE_CHECKING:  # for the type checker only
    from ..engine.inputs import Preprocessed
    from ..engine.network import Network
    from .boosted import BoostedNetwork

__all__ = ["evaluate"]


def evaluate(
    net: Network | BoostedNetwork,
    x: np.ndarray | Preprocessed,
    y: np.ndarray,
    batch_size: int = 1000,
) -> dict:
    """Error rate, per-class error and confusion matrix (rows: true class) of net on (x, y).

    net may be a boosted run's combined network (``lenet.run.boosted``). x may be
    ``Preprocessed`` pixels: each batch of them is made into input as it is read."""
    out = (
        np.concatenate(
            [net.infer(x[i : i + batch_size], batch_size) for i in range(0, len(x), batch_size)]
        )
        if len(x)
        else np.zeros((0, 10))
    )
    return score(net.classify(out), y, out.shape[1])


def score(predicted: np.ndarray, y: np.ndarray, classes: int = 10) -> dict:
    """``evaluate``'s figures for the classes a network ``predicted`` (N,) of labels y."""
    y = checks.labels("y", y, len(predicted), classes)
    confusion = np.zeros((classes, classes), np.int64)
    np.add.at(confusion, (y, predicted), 1)
    counts = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(counts > 0, 1 - np.diag(confusion) / counts, np.nan)  # nan: absent
    return {
        "error": float(np.mean(predicted != y)) if len(y) else float("nan"),
        "per_class_error": per_class,
        "confusion": confusion,
        "predicted": predicted,
    }
