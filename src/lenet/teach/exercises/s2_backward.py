"""S2's subsampling, backward (Section II.B): the gradients for x, the coefficients and the
biases; the cases are ``s2_forward``'s, with dE/dy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._i18n import N_
from ...engine import _core
from .exercise import MAPS, Case, Exercise, Mistake, Outputs, _f, _slope
from .s2_forward import _s2_case, _s2_layer, _s2_sums


def _s2_backward_solve(c: Case) -> Outputs:
    layer = _s2_layer(c)
    dx = layer.backward(c["dy"])
    return {
        "dx": dx.copy(),
        "dcoefficient": layer.grads["coefficient"].copy(),
        "dbias": layer.grads["bias"].copy(),
    }


def _s2_backward_with(
    c: Case, da: np.ndarray, coefficient: Any = None, scale: float = 1.0
) -> Outputs:
    """The engine's gradients of the subsampling unit for a given dE/da (the mistake's)."""
    coefficient = c["coefficient"] if coefficient is None else coefficient
    dx, dcoefficient, dbias = _core.subsample_backward(c["x"], da, coefficient, "paper")
    return {"dx": dx, "dcoefficient": dcoefficient * scale, "dbias": dbias}


def _s2_backward_averaged(c: Case) -> Outputs:
    a = _s2_sums(c, coefficient=c["coefficient"] / 4)
    return _s2_backward_with(c, c["dy"] * _slope(a), c["coefficient"] / 4, scale=0.25)


def _s2_backward_batch_mean(c: Case) -> Outputs:
    right = _s2_backward_solve(c)
    n = c["x"].shape[0]
    return {"dcoefficient": right["dcoefficient"] / n, "dbias": right["dbias"] / n}


EXERCISE = Exercise(
    name="s2_backward",
    answer=("subsample_backward",),
    title="S2 subsampling, backward",
    section="Section II.B",
    summary="Given dE/dy, the gradients of the subsampling unit with respect to x, the "
    "coefficients and the biases, through the squashing function.",
    points=3,
    outputs=(("dx", "(N, maps, H, W)"), ("dcoefficient", "(maps,)"), ("dbias", "(maps,)")),
    axes={"dx": MAPS, "dcoefficient": ("map",), "dbias": ("map",)},
    make_case=lambda rng, i: _s2_case(rng, i, backward=True),
    solve=_s2_backward_solve,
    starter='''\
import numpy as np


def s2_backward(x, coefficient, bias, dy):
    """Backward pass of a subsampling layer, S2 or S4 (Section II.B).

    The forward pass is a = coefficient[m] * (sum of a 2x2 window) + bias[m], y = f(a).

    Inputs:
    - x: input maps, shape (N, maps, H, W), H and W even
    - coefficient: one trainable coefficient per map, shape (maps,)
    - bias: one trainable bias per map, shape (maps,)
    - dy: dE/dy, the gradient of the loss with respect to the states y,
      shape (N, maps, H // 2, W // 2)

    Returns a tuple (dx, dcoefficient, dbias):
    - dx: dE/dx, shape (N, maps, H, W)
    - dcoefficient: dE/dcoefficient, summed over the batch, shape (maps,)
    - dbias: dE/dbias, summed over the batch, shape (maps,)
    """
    raise NotImplementedError("s2_backward")
''',
    hint=N_(
        "recompute a in the forward way, then da = dy * f'(a); each of a window's four inputs "
        "gets coefficient[m] * da, dcoefficient[m] sums da * (window sum) and dbias[m] sums "
        "da, over the batch and all positions."
    ),
    mistakes=(
        Mistake(
            N_(
                "your values match a gradient without the squashing function's slope: "
                "da = dy * f'(a) comes first, and everything else is built from da."
            ),
            lambda c: _s2_backward_with(c, c["dy"]),
        ),
        Mistake(
            N_(
                "your values match da = dy * f'(y): the slope is taken at the weighted sum "
                "a, not at the state y = f(a)."
            ),
            lambda c: _s2_backward_with(c, c["dy"] * _slope(_f(_s2_sums(c)))),
        ),
        Mistake(
            N_(
                "your values match da = dy * (1 - y^2), the slope of plain tanh; for "
                "f(a) = A tanh(S a), f'(a) = A S (1 - tanh(S a)^2)."
            ),
            lambda c: _s2_backward_with(c, c["dy"] * (1 - _f(_s2_sums(c)) ** 2)),
        ),
        Mistake(
            N_(
                "your dx misses the coefficient: each input of the window contributed "
                "coefficient[m] * x to a, so it receives coefficient[m] * da."
            ),
            lambda c: {
                "dx": _s2_backward_with(
                    c, c["dy"] * _slope(_s2_sums(c)), np.ones_like(c["coefficient"])
                )["dx"]
            },
        ),
        Mistake(
            N_(
                "your values match a unit that averages its window: the paper adds the four "
                "inputs (no factor 1/4, in the forward pass or the backward)."
            ),
            _s2_backward_averaged,
        ),
        Mistake(
            N_(
                "your values are averaged over the batch: the parameter gradients are sums "
                "over the batch (and over the positions of the map)."
            ),
            _s2_backward_batch_mean,
        ),
    ),
)
