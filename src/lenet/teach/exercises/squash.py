"""The squashing function f(a) = A tanh(S a) (Section II.B, Appendix A): its cases (shared
with ``squash_derivative``), the engine's answer, and the known mistakes; and the diagnoses
both share: a constant rounded (S = 0.6667, A = 1.716 ...), values right only for small |a|,
an exponential that overflows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..._i18n import N_, Message, _
from ...paper import SQUASH_A, SQUASH_S
from .compare import _close, _mismatch
from .exercise import F64, Case, Exercise, Mistake, _f, _sigmoid, _tanh

# odd, 1-sized and non-square shapes; the first case is the 13 values below
_SQUASH_SHAPES = [(13,), (2, 5), (3, 6, 4, 4), (1, 84), (2, 1, 3)]
#: the first case: f(0) = 0, f(+-1) = +-1, then saturation and |a| where e^(2 S a) overflows
_FIRST = np.array([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, -700.0, -30.0, -6.0, 6.0, 30.0, 700.0])


def _squash_values(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Weighted sums from every region of f, mixed in one array: the working range |a| < 4,
    saturation (4 to 20, where f' is small but not 0), and large |a| (20 to 1000, where
    e^(2 S a) overflows from 532 on)."""
    size = int(np.prod(shape))
    region = rng.permutation(np.arange(size) % 3)  # each region in every array of 3 or more
    sign = rng.choice([-1.0, 1.0], size)
    a = np.where(region == 0, rng.uniform(-4.0, 4.0, size), 0.0)
    a = np.where(region == 1, sign * rng.uniform(4.0, 20.0, size), a)
    a = np.where(region == 2, sign * np.exp(rng.uniform(np.log(20.0), np.log(1000.0), size)), a)
    return a.reshape(shape)


def _squash_case(rng: np.random.Generator, i: int, float32: bool = False) -> Case:
    """The i-th case; with ``float32``, cases 3 and 5 (of every 5) hold float32 weighted sums
    (the network's default precision), which f in float32 still gets right to the tolerance."""
    a = _FIRST.copy() if i == 0 else _squash_values(rng, _SQUASH_SHAPES[i % len(_SQUASH_SHAPES)])
    return {"a": a.astype(np.float32) if float32 and i % 5 in (2, 4) else a}


# ---- diagnoses shared with squash_derivative ---------------------------------------------------

#: values a learner may type in for A, S and their product A S, rounded; the first of A's and
#: S's is the paper's
_A_TYPED = (SQUASH_A, 1.716, 1.72, 1.7, 1.71)
_S_TYPED = (SQUASH_S, 0.6667, 0.667, 0.67, 0.66667, 0.6666, 0.666, 0.66, 0.7, 0.6)
_AS_TYPED = (1.1439, 1.144, 1.14, 1.1, 1.14393)


def _off(name: str, right: str | Message, typed: float, exact: float) -> Message:
    return N_(
        "{name} is {right}; {typed} is off by {error}",
        name=name,
        right=right,
        typed=f"{typed:g}",
        error=f"{abs(typed - exact):.1e}",
    )


def _s_part(s: float) -> list[Message]:
    return [] if s == SQUASH_S else [_off("S", N_("2/3 exactly (write 2 / 3)"), s, SQUASH_S)]


def _a_part(a: float) -> list[Message]:
    return [] if a == SQUASH_A else [_off("A", N_("1.7159 (Appendix A)"), a, SQUASH_A)]


def _shown(s: float) -> str:
    return "2/3" if s == SQUASH_S else f"{s:g}"


#: (gain, S, the gain as typed, what is wrong) for f(a) = gain tanh(S a): every typed-in pair
#: but the paper's
_F_TYPED = [(g, s, f"{g:g}", _a_part(g) + _s_part(s)) for g in _A_TYPED for s in _S_TYPED][1:]
#: the same for f'(a) = gain (1 - tanh(S a)^2): gain = A S with the S inside, or A S typed in
_SLOPE_TYPED = (
    [
        (g * s, s, f"{g:g} x {_shown(s)}", _a_part(g) + _s_part(s))
        for g in _A_TYPED
        for s in _S_TYPED
    ][1:]
    + [
        (
            p,
            s,
            f"{p:g}",
            [_off("A S", "1.7159 x 2/3 = 1.143933...", p, SQUASH_A * SQUASH_S)] + _s_part(s),
        )
        for p in _AS_TYPED
        for s in _S_TYPED
    ]
    + [(SQUASH_A * SQUASH_S, s, "1.7159 x 2/3", _s_part(s)) for s in _S_TYPED[1:]]
)


def _typed_constants(
    actual: np.ndarray,
    formula: Callable[[float, float], np.ndarray],
    words: str,
    typed: list[tuple[float, float, str, list[Message]]],
) -> str | None:
    """The hint for values that match ``formula(gain, s)`` with a constant typed in rounded
    (S = 0.6667, A = 1.716, A S = 1.1439 ...); ``words`` writes the formula with {g} and {s}."""
    for gain, s, shown, wrong in typed:
        if _close(actual, np.asarray(formula(gain, s), F64)):
            return _(
                "your values match {formula}: {wrong}. The checker compares to a relative "
                "1e-06, far below the error of a rounded constant.",
                formula=words.format(g=shown, s=_shown(s)),
                wrong="; ".join(str(w) for w in wrong),
            )
    return None


def _by_size_of_a(c: Case, actual: np.ndarray, expected: np.ndarray, rule: Message) -> str | None:
    """Values that are NaN or inf for large |a|, or right only for the smaller |a|: the hint
    names the |a| from which they go wrong, with the ``rule`` that holds for every a."""
    size = np.abs(np.asarray(c["a"], F64))
    bad = _mismatch(actual, expected)[0]
    if not bad.any() or bad.all():
        return None
    first = float(size[bad].min())
    if not np.all(np.isfinite(actual[bad])):
        return _(
            "your values hold NaN or inf (the first at |a| = {first}): an exponential such as "
            "e^(2 S a) overflows to inf for large |a| (from |a| = 532 in float64, 66.5 in "
            "float32), and inf / inf is NaN. np.tanh(S a) stays finite for every a; {rule}.",
            first=f"{float(size[~np.isfinite(actual)].min()):.4g}",
            rule=rule,
        )
    below = size[size < first]
    if below.size == 0 or below.max() < 1.0:
        return None
    return _(
        "your values are right for every |a| below {below} and wrong for {count} values from "
        "|a| = {first} on: {rule}.",
        below=f"{float(below.max()):.4g}",
        count=int(bad.sum()),
        first=f"{first:.4g}",
        rule=rule,
    )


def _squash_explain(c: Case, output: str, actual: np.ndarray) -> str | None:
    a = np.asarray(c["a"], F64)
    return _typed_constants(
        actual, lambda g, s: g * np.tanh(s * a), "{g} tanh({s} a)", _F_TYPED
    ) or _by_size_of_a(
        c,
        actual,
        _f(a),
        N_("f(a) = A tanh(S a) holds for every a, and f approaches +-A without reaching it"),
    )


EXERCISE = Exercise(
    name="squash",
    answer=("activation_forward",),
    title="The squashing function",
    section="Section II.B, Appendix A",
    summary="f(a) = A tanh(S a), A = 1.7159, S = 2/3, element-wise.",
    points=1,
    outputs=(("x", N_("the shape of a")),),
    make_case=lambda rng, i: _squash_case(rng, i, float32=True),
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
    explain=_squash_explain,
)
