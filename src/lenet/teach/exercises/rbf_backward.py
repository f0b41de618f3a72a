"""The gradient of the RBF output units (Section II.B); the cases are ``rbf_output``'s, with
dE/dy.
"""

from __future__ import annotations

import numpy as np

from ..._i18n import N_
from ...engine import _core
from .exercise import Case, Exercise, Mistake, Outputs
from .rbf_output import _rbf_case, _rbf_layer


def _rbf_backward_solve(c: Case) -> Outputs:
    return {"dx": _rbf_layer(c).backward(c["dy"]).copy()}


EXERCISE = Exercise(
    name="rbf_backward",
    answer=("rbf_backward",),
    title="The gradient of the RBF output units",
    section="Section II.B",
    summary="Given dE/dy, dE/dx_j = sum_i 2 (x_j - w_ij) dE/dy_i (the prototypes are fixed).",
    points=2,
    outputs=(("dx", "(N, features)"),),
    axes={"dx": ("n", "j")},
    make_case=lambda rng, i: _rbf_case(rng, i, backward=True),
    solve=_rbf_backward_solve,
    starter='''\
import numpy as np


def rbf_backward(x, prototypes, dy):
    """Backward pass of the Euclidean RBF output units (Section II.B).

    The forward pass is y[n, i] = sum_j (x[n, j] - prototypes[i, j])^2.

    Inputs:
    - x: the F6 states, shape (N, features)
    - prototypes: the fixed parameter vectors, shape (classes, features)
    - dy: dE/dy, the gradient of the loss with respect to the penalties,
      shape (N, classes)

    Returns:
    - dx: dE/dx, shape (N, features)
    """
    raise NotImplementedError("rbf_backward")
''',
    hint=N_(
        "dy_i/dx_j = 2 (x_j - w_ij); every class's penalty depends on every x_j, so dE/dx_j "
        "sums 2 (x_j - w_ij) dE/dy_i over the classes i."
    ),
    mistakes=(
        Mistake(
            N_(
                "your values are half the gradient: the derivative of (x_j - w_ij)^2 is "
                "2 (x_j - w_ij); the factor 2 is missing."
            ),
            lambda c: {"dx": _rbf_backward_solve(c)["dx"] / 2},
        ),
        Mistake(
            N_(
                "your values have the wrong sign: the derivative of (x_j - w_ij)^2 with "
                "respect to x_j is 2 (x_j - w_ij), not 2 (w_ij - x_j)."
            ),
            lambda c: {"dx": -_rbf_backward_solve(c)["dx"]},
        ),
        Mistake(
            N_(
                "your values ignore dy: each class's term 2 (x_j - w_ij) is weighted by "
                "dE/dy_i (the chain rule)."
            ),
            lambda c: {"dx": _core.rbf_backward(c["x"], c["prototypes"], np.ones_like(c["dy"]))},
        ),
    ),
)
