"""The slope f'(a) of the squashing function (Section II.B, Appendix A): the cases are
``squash``'s, all in float64 (1 - tanh^2 in float32 loses the digits where tanh is near +-1).
"""

from __future__ import annotations

import numpy as np

from ..._i18n import N_
from ...engine import _core
from ...paper import SQUASH_A, SQUASH_S
from .exercise import F64, Case, Exercise, Mistake, _f, _slope
from .squash import _SLOPE_TYPED, _by_size_of_a, _squash_case, _typed_constants


def _slope_explain(c: Case, output: str, actual: np.ndarray) -> str | None:
    a = np.asarray(c["a"], F64)
    return _typed_constants(
        actual, lambda g, s: g * (1 - np.tanh(s * a) ** 2), "{g} (1 - tanh({s} a)^2)", _SLOPE_TYPED
    ) or _by_size_of_a(
        c,
        actual,
        _slope(a),
        N_(
            "f'(a) = A S (1 - tanh(S a)^2) for every a: it falls fast as |a| grows but is not 0 "
            "(f'(6) = 0.0015, f'(12) = 5.1e-7)"
        ),
    )


EXERCISE = Exercise(
    name="squash_derivative",
    answer=("activation_derivative", "activation_backward"),
    title="The slope of the squashing function",
    section="Section II.B, Appendix A",
    summary="f'(a) for f(a) = A tanh(S a), element-wise.",
    points=1,
    outputs=(("slope", N_("the shape of a")),),
    make_case=_squash_case,
    solve=lambda c: {"slope": _slope(c["a"])},
    starter='''\
import numpy as np


def squash_derivative(a):
    """The slope f'(a) of the squashing function f(a) = A tanh(S a) (Appendix A).

    Inputs:
    - a: weighted sums, a NumPy array of any shape

    Returns:
    - slope: f'(a), an array of the same shape as a
    """
    raise NotImplementedError("squash_derivative")
''',
    hint=N_(
        "differentiate f(a) = A tanh(S a) with the chain rule, using "
        "d tanh(u)/du = 1 - tanh(u)^2; f'(0) should be A S = 1.1439333 (with S = 2/3 exactly)."
    ),
    mistakes=(
        Mistake(
            N_("this is A (1 - tanh(S a)^2): the chain rule brings out the inner slope S as well."),
            lambda c: {"slope": SQUASH_A * _core.activation_derivative(SQUASH_S * c["a"], "tanh")},
        ),
        Mistake(
            N_(
                "this is 1 - f(a)^2: 1 - tanh(u)^2 is the slope of plain tanh, but f has the "
                "amplitude A outside the tanh and the slope S inside it."
            ),
            lambda c: {"slope": 1 - _f(c["a"]) ** 2},
        ),
        Mistake(
            N_("this is A S (1 - tanh(a)^2): the tanh inside the slope is still of S a."),
            lambda c: {"slope": SQUASH_A * SQUASH_S * _core.activation_derivative(c["a"], "tanh")},
        ),
        Mistake(
            N_("this is S (1 - tanh(S a)^2): the amplitude A multiplies the slope too."),
            lambda c: {"slope": SQUASH_S * _core.activation_derivative(SQUASH_S * c["a"], "tanh")},
        ),
        Mistake(
            N_("this is 1 - tanh(S a)^2: both A and the chain rule's S are missing."),
            lambda c: {"slope": _core.activation_derivative(SQUASH_S * c["a"], "tanh")},
        ),
        Mistake(N_("this is f(a) itself, not its slope."), lambda c: {"slope": _f(c["a"])}),
    ),
    explain=_slope_explain,
)
