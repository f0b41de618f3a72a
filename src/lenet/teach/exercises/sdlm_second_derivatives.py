"""The second-derivative pass of SDLM through one full connection (Appendix C): the cases,
the engine's pass, and the known mistakes.
"""

from __future__ import annotations

import numpy as np

from ..._i18n import N_
from ...engine import _core, sdlm
from ...engine.layers import FullConnection
from .exercise import F64, Case, Exercise, Mistake, Outputs, _f, _slope

# (in, out): F6's, then small ones, a single output unit and a single input
_SDLM_SHAPES = [(120, 84), (5, 3), (12, 1), (120, 84), (1, 4)]


def _sdlm_case(rng: np.random.Generator, i: int) -> Case:
    fan_in, out = _SDLM_SHAPES[i % len(_SDLM_SHAPES)]
    n = 1 if i % len(_SDLM_SHAPES) == 2 else int(rng.integers(1, 4))
    # +-2.4/sqrt(fan_in) keeps a in f's working range; every other unit (in turn) has
    # weights four times larger, which saturate it (|a| of 15 and more, where f'(a)^2 is tiny)
    limit = 2.4 / np.sqrt(fan_in) * np.where((np.arange(out) + i) % 2 == 1, 4.0, 1.0)
    return {
        "x": rng.uniform(-1.7159, 1.7159, (n, fan_in)),
        "weight": rng.uniform(-1.0, 1.0, (out, fan_in)) * limit[:, None],
        "bias": rng.uniform(-1.0, 1.0, out) * limit,
        # second derivatives of a Gauss-Newton pass are never negative (2 at the RBF output)
        "h_y": rng.uniform(0.0, 2.0, (n, out)),
    }


def _sdlm_layer(c: Case) -> FullConnection:
    out, fan_in = c["weight"].shape
    layer = FullConnection(fan_in, out, dtype=F64, name="F6")
    layer.params["weight"][...] = c["weight"]
    layer.params["bias"][...] = c["bias"]
    layer.forward(c["x"])
    return layer


def _sdlm_solve(c: Case) -> Outputs:
    layer = _sdlm_layer(c)
    h_x = sdlm.backward_second(layer, c["h_y"])
    return {
        "h_x": h_x.copy(),
        "h_weight": layer.curvature["weight"].copy(),
        "h_bias": layer.curvature["bias"].copy(),
    }


def _sdlm_with(c: Case, h_a: np.ndarray, square_x: bool = True, square_w: bool = True) -> Outputs:
    """The engine's second-derivative rules from a given d2E/da2 (the mistake's), with the
    inputs and weights squared or not."""
    x = c["x"] ** 2 if square_x else c["x"]
    w = c["weight"] ** 2 if square_w else c["weight"]
    h_x, h_weight, h_bias = _core.dense_backward(x, w, h_a)
    return {"h_x": h_x, "h_weight": h_weight, "h_bias": h_bias}


def _sdlm_h_a(c: Case, power: int = 2) -> np.ndarray:
    a = _core.dense_forward(c["x"], c["weight"], c["bias"])
    return c["h_y"] * _slope(a) ** power


def _sdlm_states(c: Case) -> np.ndarray:
    """The layer's states y = f(a)."""
    return _f(_core.dense_forward(c["x"], c["weight"], c["bias"]))


def _sdlm_batch_mean(c: Case) -> Outputs:
    right = _sdlm_solve(c)
    n = c["x"].shape[0]
    return {"h_weight": right["h_weight"] / n, "h_bias": right["h_bias"] / n}


EXERCISE = Exercise(
    name="sdlm_second_derivatives",
    answer=("dense_backward", "conv_backward"),
    title="The second-derivative pass of SDLM, for one layer",
    section="Appendix C",
    summary="Back-propagate diagonal second derivatives (Gauss-Newton) through a full "
    "connection like F6: d2E/da2, d2E/dx2, d2E/dw2 and d2E/db2.",
    points=3,
    outputs=(("h_x", "(N, in)"), ("h_weight", "(out, in)"), ("h_bias", "(out,)")),
    axes={"h_x": ("n", "i"), "h_weight": ("o", "i"), "h_bias": ("o",)},
    make_case=_sdlm_case,
    solve=_sdlm_solve,
    starter='''\
import numpy as np


def sdlm_second_derivatives(x, weight, bias, h_y):
    """Gauss-Newton second derivatives through one full connection layer (Appendix C).

    The forward pass is a = x @ weight.T + bias, y = f(a), as in F6.

    Inputs:
    - x: the layer's inputs, shape (N, in)
    - weight: shape (out, in)
    - bias: shape (out,)
    - h_y: d2E/dy2, the diagonal second derivatives with respect to the states y,
      shape (N, out)

    Returns a tuple (h_x, h_weight, h_bias):
    - h_x: d2E/dx2 for the inputs, shape (N, in)
    - h_weight: d2E/dw2 for each weight, summed over the batch, shape (out, in)
    - h_bias: d2E/db2 for each bias, summed over the batch, shape (out,)
    """
    raise NotImplementedError("sdlm_second_derivatives")
''',
    hint=N_(
        "the rules are back-propagation's with squares: h_a = f'(a)^2 h_y; "
        "h_x[n, i] = sum_k weight[k, i]^2 h_a[n, k]; h_weight[k, i] = sum_n x[n, i]^2 "
        "h_a[n, k]; h_bias[k] = sum_n h_a[n, k]."
    ),
    mistakes=(
        Mistake(
            N_(
                "your values match h_a = f'(a) h_y: the Gauss-Newton rule multiplies by the "
                "square of the slope, f'(a)^2."
            ),
            lambda c: _sdlm_with(c, _sdlm_h_a(c, power=1)),
        ),
        Mistake(
            N_(
                "your values match h_a = h_y: the squared slope f'(a)^2 of the squashing "
                "function is missing."
            ),
            lambda c: _sdlm_with(c, c["h_y"]),
        ),
        Mistake(
            N_(
                "your values match h_a = f'(y)^2 h_y: the slope is taken at the weighted sum "
                "a, not at the state y = f(a)."
            ),
            lambda c: _sdlm_with(c, c["h_y"] * _slope(_sdlm_states(c)) ** 2),
        ),
        Mistake(
            N_(
                "your values match h_a = (1 - y^2)^2 h_y, with the slope of plain tanh; for "
                "f(a) = A tanh(S a), f'(a) = A S (1 - tanh(S a)^2)."
            ),
            lambda c: _sdlm_with(c, c["h_y"] * (1 - _sdlm_states(c) ** 2) ** 2),
        ),
        Mistake(
            N_(
                "your values match back-propagation without squares: the second derivatives "
                "go through the squared weights and squared inputs."
            ),
            lambda c: _sdlm_with(c, _sdlm_h_a(c, power=1), False, False),
        ),
        Mistake(
            N_(
                "your h_x uses the weights, not their squares: "
                "h_x[n, i] = sum_k weight[k, i]^2 h_a[n, k]."
            ),
            lambda c: {"h_x": _sdlm_with(c, _sdlm_h_a(c), square_w=False)["h_x"]},
        ),
        Mistake(
            N_(
                "your h_weight uses the inputs, not their squares: "
                "h_weight[k, i] = sum_n x[n, i]^2 h_a[n, k]."
            ),
            lambda c: {"h_weight": _sdlm_with(c, _sdlm_h_a(c), square_x=False)["h_weight"]},
        ),
        Mistake(
            N_(
                "your values are averaged over the batch: here h_weight and h_bias are sums "
                "over the batch (the network divides by the number of patterns later)."
            ),
            _sdlm_batch_mean,
        ),
    ),
)
