"""S2's subsampling, forward (Section II.B): its cases and the engine's layer (shared with
``s2_backward``), and the known mistakes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._i18n import N_
from ...engine import _core
from ...engine.layers import Subsampling
from .exercise import F64, MAPS, PAPER_F, Case, Exercise, Mistake, _f, _states, _tanh

# (maps, H, W): LeNet-5's S2 and S4, then odd and 1-sized maps (3x5, 1x1, 1x4 windows),
# non-square, an odd count of maps and a single map
_S2_SHAPES = [(6, 28, 28), (16, 10, 10), (3, 6, 10), (1, 2, 2), (5, 2, 8)]


def _s2_case(rng: np.random.Generator, i: int, backward: bool = False) -> Case:
    maps, h, w = _S2_SHAPES[i % len(_S2_SHAPES)]
    n = 1 if i % len(_S2_SHAPES) == 2 else int(rng.integers(1, 4))
    # every other map (in turn, so that a single map has both kinds) has a large coefficient
    # and bias: its weighted sums reach |a| = 30 and more, deep in f's saturation
    large = (np.arange(maps) + i) % 2 == 1
    case = {
        # S2 reads C1's states, which f keeps within +-1.7159
        "x": rng.uniform(-1.7159, 1.7159, (n, maps, h, w)),
        "coefficient": np.where(
            large,
            rng.choice([-1.0, 1.0], maps) * rng.uniform(2.5, 6.0, maps),
            rng.uniform(-0.8, 0.8, maps),
        ),
        "bias": np.where(large, rng.uniform(-3.0, 3.0, maps), rng.uniform(-0.5, 0.5, maps)),
    }
    if backward:
        case["dy"] = rng.standard_normal((n, maps, h // 2, w // 2))
    return case


def _s2_layer(c: Case) -> Subsampling:
    """The engine's S2 layer with the case's parameters, after a forward pass on x."""
    layer = Subsampling(c["x"].shape[1], "paper", dtype=F64, name="S2")
    layer.params["coefficient"][...] = c["coefficient"]
    layer.params["bias"][...] = c["bias"]
    layer.forward(c["x"])
    return layer


def _s2_sums(c: Case, coefficient: Any = None, bias: Any = None, mode: str = "paper") -> np.ndarray:
    """The engine's weighted sums a, with the given coefficient and bias (the case's if None)."""
    coefficient = c["coefficient"] if coefficient is None else coefficient
    bias = c["bias"] if bias is None else bias
    return _core.subsample_forward(c["x"], coefficient, bias, mode)


def _per_map(v: np.ndarray) -> np.ndarray:
    return v[None, :, None, None]


EXERCISE = Exercise(
    name="s2_forward",
    answer=("subsample_forward",),
    title="S2 subsampling, forward",
    section="Section II.B",
    summary="a = coefficient * (sum of each non-overlapping 2x2 window) + bias, per map; y = f(a).",
    points=2,
    outputs=(("y", "(N, maps, H/2, W/2)"),),
    axes={"y": MAPS},
    make_case=_s2_case,
    solve=lambda c: {"y": _states(_s2_layer(c))},
    starter='''\
import numpy as np


def s2_forward(x, coefficient, bias):
    """Forward pass of a subsampling layer, S2 or S4 (Section II.B).

    Inputs:
    - x: input maps, shape (N, maps, H, W), H and W even
    - coefficient: one trainable coefficient per map, shape (maps,)
    - bias: one trainable bias per map, shape (maps,)

    Returns:
    - y: the states y = f(a), shape (N, maps, H // 2, W // 2)
    """
    raise NotImplementedError("s2_forward")
''',
    hint=N_(
        "for each map m and each non-overlapping 2x2 window (stride 2): add the four inputs, "
        "multiply by coefficient[m], add bias[m], then squash with {f}. Window (r, c) "
        "covers rows 2r, 2r+1 and columns 2c, 2c+1.",
        f=PAPER_F,
    ),
    mistakes=(
        Mistake(
            N_(
                "your values match f(sum + bias): the window sum is multiplied by the map's "
                "trainable coefficient."
            ),
            lambda c: {"y": _f(_s2_sums(c, coefficient=np.ones_like(c["coefficient"])))},
        ),
        Mistake(
            N_(
                "your values match the window's mean: the paper adds the four inputs, it does "
                "not average them (a factor 4)."
            ),
            lambda c: {"y": _f(_s2_sums(c, coefficient=c["coefficient"] / 4))},
        ),
        Mistake(
            N_(
                "your values match max pooling: the paper's unit adds the four inputs, "
                "it does not take their maximum."
            ),
            lambda c: {
                "y": _f(_per_map(c["coefficient"]) * _s2_sums(c, mode="max") + _per_map(c["bias"]))
            },
        ),
        Mistake(
            N_(
                "your values match plain max pooling: the paper's unit is "
                "f(coefficient * (sum of the window) + bias)."
            ),
            lambda c: {"y": _s2_sums(c, mode="max")},
        ),
        Mistake(
            N_("your values are the weighted sums a: the layer's states are y = f(a), squashed."),
            lambda c: {"y": _s2_sums(c)},
        ),
        Mistake(
            N_("your values match f(coefficient * sum): the map's bias is missing."),
            lambda c: {"y": _f(_s2_sums(c, bias=np.zeros_like(c["bias"])))},
        ),
        Mistake(
            N_(
                "your values match f(coefficient * (sum + bias)): the bias is added after "
                "the multiplication, not before."
            ),
            lambda c: {"y": _f(_s2_sums(c, bias=c["coefficient"] * c["bias"]))},
        ),
        Mistake(
            N_("your values match tanh(a): the squashing function is {f}.", f=PAPER_F),
            lambda c: {"y": _tanh(_s2_sums(c))},
        ),
    ),
)
