"""The squashing function f(a) = A tanh(S a) (Section II.B, Appendix A): its cases (shared
with ``squash_derivative``), the engine's answer, and the known mistakes.
"""

from __future__ import annotations

import numpy as np

from ..._i18n import N_
from ...paper import SQUASH_A, SQUASH_S
from .exercise import Case, Exercise, Mistake, _f, _sigmoid, _tanh

_SQUASH_SHAPES = [(7,), (2, 5), (3, 6, 4, 4), (1, 84), (2, 3, 2)]


def _squash_case(rng: np.random.Generator, i: int) -> Case:
    if i == 0:  # includes f(1) = 1 and f(-1) = -1
        return {"a": np.linspace(-3.0, 3.0, 7)}
    return {"a": rng.uniform(-4.0, 4.0, _SQUASH_SHAPES[i % len(_SQUASH_SHAPES)])}


EXERCISE = Exercise(
    name="squash",
    answer=("activation_forward",),
    title="The squashing function",
    section="Section II.B, Appendix A",
    summary="f(a) = A tanh(S a), A = 1.7159, S = 2/3, element-wise.",
    points=1,
    outputs=(("x", N_("the shape of a")),),
    make_case=_squash_case,
    solve=lambda c: {"x": _f(c["a"])},
    starter='''\
import numpy as np


def squash(a):
    """The squashing function of LeNet-5 (Section II.B, Appendix A): x = f(a).

    Inputs:
    - a: weighted sums, a NumPy array of any shape

    Returns:
    - x: the states f(a), an array of the same shape as a
    """
    raise NotImplementedError("squash")
''',
    hint=N_(
        "f(a) = A tanh(S a) with A = 1.7159 and S = 2/3 (Appendix A); check that f(1) = 1 "
        "and f(-1) = -1."
    ),
    mistakes=(
        Mistake(
            N_(
                "this is plain tanh(a): the paper scales it, f(a) = A tanh(S a), with "
                "A = 1.7159 outside and S = 2/3 inside."
            ),
            lambda c: {"x": _tanh(c["a"])},
        ),
        Mistake(
            N_("this is tanh(S a) without the amplitude: multiply by A = 1.7159."),
            lambda c: {"x": _tanh(SQUASH_S * c["a"])},
        ),
        Mistake(
            N_("this is A tanh(a) without the slope: the argument is S a, S = 2/3."),
            lambda c: {"x": SQUASH_A * _tanh(c["a"])},
        ),
        Mistake(
            N_("this is A tanh(3a/2): S is 2/3, not 3/2."),
            lambda c: {"x": SQUASH_A * _tanh(1.5 * c["a"])},
        ),
        Mistake(
            N_(
                "this is 2A sigmoid(S a) - A: the identity is A tanh(S a) = 2A sigmoid(2 S a) "
                "- A, with a factor 2 inside the sigmoid."
            ),
            lambda c: {"x": 2 * SQUASH_A * _sigmoid(SQUASH_S * c["a"]) - SQUASH_A},
        ),
    ),
)
