"""Loss (9) and its gradient (Section II.C): the cases (small penalties and large ones, ten
classes and other counts), the engine's loss, and the known mistakes.
"""

from __future__ import annotations

import numpy as np

from ..._i18n import N_
from ...engine import losses
from .exercise import F64, Case, Exercise, Mistake, Outputs

_LOSS9_J = [1.0, 5.0, 0.5, 10.0, 2.0]
#: classes: LeNet-5's ten, then other counts (the loss is written for any)
_LOSS9_CLASSES = [10, 10, 7, 10, 2]
#: the largest penalty of LeNet-5: 84 F6 states at -A against prototype components +1
_LOSS9_LARGEST = 84 * (1.7159 + 1.0) ** 2


def _loss9_case(rng: np.random.Generator, i: int) -> Case:
    """The i-th case: each pattern's penalties either small (0 to 8), where every term of the
    sum counts, or large (20 to the largest, 620), where the constant e^-j dominates; a batch
    of one in every fifth case from the second; float32 penalties in every fifth from the
    fourth (which loss (9) in float32 still gets right to the tolerance)."""
    n = 1 if i % 5 == 1 else int(rng.integers(2, 6))
    classes = _LOSS9_CLASSES[i % len(_LOSS9_CLASSES)]
    large = rng.permutation(np.arange(n) % 2 == 1) if n > 1 else np.array([i % 2 == 1])
    y = np.where(
        large[:, None],
        rng.uniform(20.0, _LOSS9_LARGEST, (n, classes)),
        rng.uniform(0.0, 8.0, (n, classes)),
    )
    return {
        "y": y.astype(np.float32) if i % 5 == 3 else y,
        "labels": rng.integers(0, classes, n),
        "j": _LOSS9_J[i % len(_LOSS9_J)],
    }


def _loss9(y: np.ndarray, labels: np.ndarray, j: float) -> Outputs:
    loss, grad = losses.rbf_discriminative(np.asarray(y, F64), labels, j)
    return {"E": np.asarray(loss, F64), "dy": grad}


def _one_hot(c: Case) -> np.ndarray:
    return np.eye(c["y"].shape[1])[c["labels"]]


def _loss9_without_correct(c: Case) -> Outputs:
    right = _loss9(**c)
    n = c["y"].shape[0]
    correct = c["y"][np.arange(n), c["labels"]]
    return {"E": right["E"] - correct.mean(), "dy": right["dy"] - _one_hot(c) / n}


EXERCISE = Exercise(
    name="loss9_gradient",
    answer=("loss_rbf_discriminative", "loss_softmax_cross_entropy", "softmax"),
    title="Loss (9) and its gradient",
    section="Section II.C, equation (9)",
    summary="E = (1/N) sum_n (y[n, D_n] + log(e^-j + sum_i e^-y[n, i])) and dE/dy.",
    points=3,
    outputs=(("E", N_("a number")), ("dy", "(N, classes)")),
    axes={"dy": ("n", "class")},
    make_case=_loss9_case,
    solve=lambda c: _loss9(**c),
    starter='''\
import numpy as np


def loss9_gradient(y, labels, j):
    """The discriminative loss, equation (9) (Section II.C), and its gradient.

    Inputs:
    - y: the RBF penalties of a batch, shape (N, classes)
    - labels: the correct classes D_n, integers, shape (N,)
    - j: the positive constant of the "rubbish" term e^-j, a float

    Returns a tuple (E, dy):
    - E: the loss, a float, the mean over the batch
    - dy: dE/dy, shape (N, classes)
    """
    raise NotImplementedError("loss9_gradient")
''',
    hint=N_(
        "E is the batch mean of y[n, D_n] + log(e^-j + sum_i e^-y[n, i]); its gradient is "
        "dE/dy[n, i] = ([i = D_n] - e^-y[n, i] / (e^-j + sum_k e^-y[n, k])) / N."
    ),
    mistakes=(
        Mistake(
            N_(
                "your values are N times too large: E is the mean over the batch (1/P in "
                "equation (9)), and so is its gradient."
            ),
            lambda c: {k: v * c["y"].shape[0] for k, v in _loss9(**c).items()},
        ),
        Mistake(
            N_(
                "your values match the loss without the constant term e^-j: equation (9)'s "
                "log is of e^-j + sum_i e^-y_i."
            ),
            lambda c: _loss9(c["y"], c["labels"], 1e6),
        ),  # e^-1e6 is exactly 0
        Mistake(
            N_("your values match e^+j instead of e^-j in the log."),
            # log(e^j + sum e^-y) = (2j + y) rewritten: the engine's loss at y + 2j
            lambda c: _loss9(c["y"] + 2 * c["j"], c["labels"], c["j"]),
        ),
        Mistake(
            N_(
                "your gradient has the wrong sign on its second term: d/dy_i of "
                "log(e^-j + sum_k e^-y_k) is -e^-y_i / (e^-j + sum_k e^-y_k)."
            ),
            lambda c: {"dy": 2 * _one_hot(c) / c["y"].shape[0] - _loss9(**c)["dy"]},
        ),
        Mistake(
            N_(
                "your values miss the correct class's penalty y[n, D_n]: equation (9) is "
                "equation (8)'s penalty plus the log term."
            ),
            _loss9_without_correct,
        ),
    ),
)
