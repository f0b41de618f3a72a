"""Softmax cross-entropy and its gradient with respect to the logits (the modern network's
loss): the cases (logits where a plain exponential overflows or underflows, a batch of one,
two classes), the engine's loss, and the known mistakes.
"""

from __future__ import annotations

import numpy as np

from ..._i18n import N_, _
from ...engine import losses
from .exercise import F64, Case, Exercise, Mistake, Outputs

_CLASSES = [10, 10, 10, 7, 2]


def _ce_case(rng: np.random.Generator, i: int) -> Case:
    kind = i % len(_CLASSES)
    classes = _CLASSES[kind]
    n = 1 if kind == 1 else int(rng.integers(2, 7))
    shape = (n, classes)
    if kind == 2:  # e^z overflows to inf (beyond z = 709.78), the softmax is spread out;
        # rows far apart (+1000, 0, -1000), so that only each row's own largest logit shifts
        # every row into range
        offsets = rng.permutation(np.resize([1000.0, -1000.0, 0.0], n))
        z = offsets[:, None] + rng.normal(0.0, 2.0, shape)
    elif kind == 3:  # both: overflow, and the label's probability below the smallest double
        z = rng.uniform(-800.0, 800.0, shape)
    elif kind == 4:  # e^z underflows to 0 (below z = -745.13): a plain softmax is 0 / 0
        z = -1000.0 + rng.normal(0.0, 2.0, shape)
    else:  # logits of a network in training
        z = rng.normal(0.0, 3.0, shape)
    labels = rng.integers(0, classes, n)
    if kind == 3:  # at least once: p[label] = e^-1600 is 0 in float64, -log p[label] is not inf
        z[0, labels[0]], z[0, (labels[0] + 1) % classes] = -800.0, 800.0
    return {"z": z, "labels": labels}


def _ce(z: np.ndarray, labels: np.ndarray) -> Outputs:
    """The engine's loss (the C core): E, the batch mean, and dE/dz."""
    loss, grad = losses.softmax_cross_entropy(np.asarray(z, F64), labels)
    return {"E": np.asarray(loss, F64), "dz": grad}


def _p(c: Case) -> np.ndarray:
    return losses.softmax(c["z"])


def _one_hot(c: Case) -> np.ndarray:
    return np.eye(c["z"].shape[1])[c["labels"]]


def _over_the_batch(c: Case) -> Outputs:
    """Softmax taken down each column (over the batch) instead of along each row; its E only
    where finite (an inf would match nothing, or, as a tolerance, everything)."""
    n = c["z"].shape[0]
    p = losses.softmax(c["z"].T).T
    wrong = {"dz": (p - _one_hot(c)) / n}
    with np.errstate(divide="ignore"):
        loss = -np.log(p[np.arange(n), c["labels"]]).mean()
    if np.isfinite(loss):
        wrong["E"] = np.asarray(loss)
    return wrong


def _of_the_softmax_alone(c: Case) -> Outputs:
    """The gradient of -p[label] (no log): p[label] (p - one-hot) / N."""
    p = _p(c)
    correct = p[np.arange(len(c["labels"])), c["labels"]]
    return {"dz": correct[:, None] * (p - _one_hot(c)) / c["z"].shape[0]}


def _ce_explain(c: Case, output: str, actual: np.ndarray) -> str | None:
    """A plain exponential overflowed or underflowed: the result holds inf or NaN."""
    if np.all(np.isfinite(actual)):
        return None
    top = float(np.abs(c["z"]).max())
    shift = _(
        "subtract each row's largest logit m first: softmax(z) = softmax(z - m), and "
        "log sum_k e^z_k = m + log sum_k e^(z_k - m)"
    )
    if output == "E":
        return _(
            "your E is {value} for logits up to |z| = {top}: log(sum e^z) overflows when e^z "
            "does (beyond z = 709.78), and -log p[label] is inf when p[label] underflows to "
            "0. Compute E = log sum_k e^z_k - z[label] with the log-sum-exp: {shift}.",
            value=actual.item(),
            top=f"{top:.0f}",
            shift=shift,
        )
    return _(
        "your dz holds inf or NaN for logits up to |z| = {top}: e^z overflows to inf beyond "
        "z = 709.78 and underflows to 0 below -745.13, so exp(z) / sum(exp(z)) gives inf / inf "
        "or 0 / 0. The softmax is the same for z and z - m: {shift}.",
        top=f"{top:.0f}",
        shift=shift,
    )


EXERCISE = Exercise(
    name="softmax_cross_entropy_gradient",
    answer=("loss_softmax_cross_entropy", "softmax"),
    title="Softmax cross-entropy and its gradient",
    section="modern variant, not in the paper",
    points=3,
    summary="E = (1/N) sum_n (log sum_i e^z[n, i] - z[n, label_n]) on logits z, and dE/dz = "
    "(softmax(z) - one-hot of the labels) / N.",
    outputs=(("E", N_("a number")), ("dz", "(N, classes)")),
    axes={"dz": ("n", "class")},
    make_case=_ce_case,
    solve=lambda c: _ce(**c),
    starter='''\
import numpy as np


def softmax_cross_entropy_gradient(z, labels):
    """Softmax cross-entropy on logits (the modern network's loss) and its gradient.

    Inputs:
    - z: the logits of a batch, shape (N, classes); any size, also far beyond +-709
    - labels: the correct classes, integers, shape (N,)

    Returns a tuple (E, dz):
    - E: the loss, a float, the mean over the batch of -log softmax(z[n])[labels[n]]
    - dz: dE/dz, shape (N, classes)
    """
    raise NotImplementedError("softmax_cross_entropy_gradient")
''',
    hint=N_(
        "p = softmax of each row of z, computed from z - (the row's max); E is the batch mean "
        "of log sum_k e^z[n, k] - z[n, label_n]; dE/dz = (p - one-hot of the labels) / N."
    ),
    mistakes=(
        Mistake(
            N_(
                "your values are N times too large: E is the mean over the batch, and so is its "
                "gradient (the 1/N carries into dz)."
            ),
            lambda c: {k: v * c["z"].shape[0] for k, v in _ce(**c).items()},
        ),
        Mistake(
            N_(
                "your dz matches softmax(z) / N: the one-hot of the label is missing, "
                "dE/dz = (softmax(z) - one-hot) / N."
            ),
            lambda c: {"dz": _p(c) / c["z"].shape[0]},
        ),
        Mistake(
            N_(
                "your dz has the wrong sign: dE/dz = (softmax(z) - one-hot) / N, positive for the "
                "wrong classes (raising their logits raises the loss)."
            ),
            lambda c: {"dz": -_ce(**c)["dz"]},
        ),
        Mistake(
            N_(
                "your dz is 0 for every class but the label: that is the diagonal of softmax's "
                "Jacobian alone, dp_i/dz_i = p_i (1 - p_i). Each p_i depends on every logit, "
                "dp_i/dz_k = -p_i p_k for k != i; with them, dE/dz = (softmax(z) - one-hot) / N."
            ),
            lambda c: {"dz": _one_hot(c) * (_p(c) - 1) / c["z"].shape[0]},
        ),
        Mistake(
            N_(
                "your dz matches the gradient of -p[label], of the softmax alone: the loss is "
                "-log p[label], and the log's 1/p[label] cancels the p[label] in front, "
                "dE/dz = (softmax(z) - one-hot) / N."
            ),
            _of_the_softmax_alone,
        ),
        Mistake(
            N_(
                "your values match a softmax taken over the batch (axis 0): each pattern's softmax "
                "runs over its own classes, along axis 1 (keepdims=True keeps the shapes aligned)."
            ),
            _over_the_batch,
        ),
        Mistake(
            N_(
                "your E misses the label's logit: "
                "-log softmax(z)[label] = log sum_k e^z_k - z[label]."
            ),
            lambda c: {"E": _ce(**c)["E"] + (c["z"] * _one_hot(c)).sum(axis=1).mean()},
        ),
        Mistake(
            N_("your E has the wrong sign: the loss is -log p[label], which is >= 0."),
            lambda c: {"E": -_ce(**c)["E"]},
        ),
    ),
    explain=_ce_explain,
)
