"""The Euclidean RBF output units (Section II.B): their cases and the engine's layer (shared
with ``rbf_backward``), and the known mistakes.
"""

from __future__ import annotations

import numpy as np

from ..._i18n import N_
from ...engine import _core
from ...engine.layers import RBFOutput
from ...paper import rbf_prototypes
from .exercise import F64, Case, Exercise, Mistake, _states

# (classes, features): LeNet-5's, then small ones, a single feature and a single class
_RBF_SHAPES = [(10, 84), (10, 84), (3, 5), (4, 1), (1, 12)]


def _rbf_case(rng: np.random.Generator, i: int, backward: bool = False) -> Case:
    """The i-th case: F6 states anywhere in (-A, A), saturated ones too; a batch of one in
    every fifth case from the third. For the forward pass, float32 in every fifth from the
    fourth, which the RBF units in float32 still get right to the tolerance (their gradient in
    float32 does not: ``rbf_backward``'s cases are all float64)."""
    classes, features = _RBF_SHAPES[i % len(_RBF_SHAPES)]
    n = 1 if i % 5 == 2 else int(rng.integers(1, 5))
    prototypes = (
        rbf_prototypes(F64) if i == 0 else rng.choice([-1.0, 1.0], (classes, features))
    )  # +-1 components, as the paper's
    x = rng.uniform(-1.7159, 1.7159, (n, features))
    saturated = rng.random(x.shape) < 0.25  # states of saturated F6 units, near +-A
    x[saturated] = np.sign(x[saturated]) * rng.uniform(1.71, 1.7159, int(saturated.sum()))
    case = {"x": x, "prototypes": prototypes}
    if i % 5 == 3 and not backward:
        case = {k: v.astype(np.float32) for k, v in case.items()}
    if backward:
        case["dy"] = rng.standard_normal((n, classes))
    return case


def _rbf_layer(c: Case) -> RBFOutput:
    layer = RBFOutput(prototypes=c["prototypes"], dtype=F64)
    layer.forward(c["x"])
    return layer


EXERCISE = Exercise(
    name="rbf_output",
    answer=("rbf_forward",),
    title="The Euclidean RBF output units",
    section="Section II.B",
    summary="y_i = sum_j (x_j - w_ij)^2: each class's penalty, the squared distance from the "
    "F6 states to the class's prototype.",
    points=2,
    outputs=(("y", "(N, classes)"),),
    axes={"y": ("n", "class")},
    make_case=_rbf_case,
    solve=lambda c: {"y": _states(_rbf_layer(c))},
    starter='''\
import numpy as np


def rbf_output(x, prototypes):
    """The Euclidean RBF output units of LeNet-5 (Section II.B).

    Inputs:
    - x: the F6 states, shape (N, features); features = 84 in LeNet-5
    - prototypes: each class's fixed parameter vector, shape (classes, features);
      (10, 84) in LeNet-5, components -1 or +1

    Returns:
    - y: the penalties, shape (N, classes)
    """
    raise NotImplementedError("rbf_output")
''',
    hint=N_(
        "y[n, i] = sum over j of (x[n, j] - prototypes[i, j])^2, for every sample n and "
        "class i; broadcasting x[:, None, :] against prototypes[None, :, :] gives all the "
        "differences at once."
    ),
    mistakes=(
        Mistake(
            N_(
                "your values are the Euclidean distance: the penalty is its square, "
                "sum_j (x_j - w_ij)^2, with no square root."
            ),
            lambda c: {"y": np.sqrt(_states(_rbf_layer(c)))},
        ),
        Mistake(
            N_(
                "your values match sum_j (x_j - w_ij) without squaring: each difference is "
                "squared before the sum."
            ),
            lambda c: {"y": c["x"].sum(axis=1)[:, None] - c["prototypes"].sum(axis=1)[None, :]},
        ),
        Mistake(
            N_("your values are a mean over the features: the penalty is a sum."),
            lambda c: {"y": _rbf_layer(c).y / c["x"].shape[1]},
        ),
        Mistake(
            N_(
                "your values are the dot products x . w_i: the RBF unit computes a squared "
                "distance, not a similarity."
            ),
            lambda c: {
                "y": _core.dense_forward(
                    c["x"], c["prototypes"], np.zeros(c["prototypes"].shape[0])
                )
            },
        ),
    ),
)
