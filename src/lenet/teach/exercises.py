"""Exercises: write the pieces of LeNet-5 in NumPy and check them against the engine.

Each exercise asks for one piece of the paper's network as a plain NumPy function: the
squashing function and its slope, S2's subsampling forward and backward, C3's convolution
through Table I, the Euclidean RBF output and its gradient, the gradient of loss (9), the
second-derivative pass of Appendix C for one layer, and one whole training step. Each has a
page, shipped in the package (``lenet/teach/exercise_pages/NAME.md``): ``describe(name)`` returns
it, with what to implement, the formulas, the shapes and a starter signature;
``starter(name)`` returns the starter code alone.

    >>> import lenet.teach.exercises
    >>> lenet.teach.exercises.names()[:3]
    ('squash', 'squash_derivative', 's2_forward')

``check(name, fn)`` runs ``fn`` on several random cases and compares its results with the
engine's (the C core, through lenet's layer classes, in float64). It prints a pass, or the
first failing case: the inputs' shapes, the wrong output, its worst element with the expected
and actual values, and a hint. The hint is specific when the result matches a known mistake
(the coefficient forgotten, max pooling, a flipped kernel, a missing connection, the factor 2
of the RBF derivative ...): each exercise also computes what those mistakes give (mostly by
feeding the engine the mistaken inputs) and names the one the learner's result matches. A result
in float32 is compared in float64 like any other, so it passes only where float32's rounding
stays within the tolerance (RTOL, ATOL; docs/exercises/README.md lists which exercises that
is); when it fails but its values are right to that precision, the hint says so.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

import numpy as np

from ..engine import _core, losses, optim, sdlm
from ..engine.layers import (
    SQUASHING,
    Convolution,
    FullConnection,
    Layer,
    RBFOutput,
    Subsampling,
)
from ..engine.lenet5 import LeNet5
from ..engine.network import Network
from ..paper import INPUT_SHAPE as PAPER_INPUT_SHAPE
from ..paper import SQUASH_A, SQUASH_S, connection_table_i, rbf_prototypes

__all__ = ["EXERCISES", "Exercise", "Mistake", "check", "describe", "names", "starter", "summary"]

#: The folder of the package that holds the exercises' pages, one NAME.md each.
PAGES = "exercise_pages"

#: Tolerances of the comparison: |actual - expected| <= ATOL * scale + RTOL * |expected|
#: elementwise, scale = max(1, max |expected|). A float64 solution differs from the engine by
#: rounding only (about 1e-15 relative); every known mistake differs by far more.
RTOL = 1e-6
ATOL = 1e-8

#: A result in a lower-precision float (float32, float16) is compared in float64 like any other,
#: and fails; when its values agree with the engine's to its own precision,
#: |actual - expected| <= rtol * max |expected| with the rtol below, the hint says so.
LOW_PRECISION_RTOL = MappingProxyType({np.dtype(np.float32): 1e-4, np.dtype(np.float16): 1e-2})

#: The paper's squashing function as the hints write it (from the engine's one table).
_PAPER_F = SQUASHING["scaled_tanh"].formula()

F64 = np.float64
Case = dict  # argument name -> value, in the order the learner's function takes them
Outputs = dict  # output name -> float64 array


@dataclass(frozen=True)
class Mistake:
    """A known wrong variant of an exercise.

    ``result(case)`` computes what a function making the mistake returns, for the outputs the
    mistake changes (a dict name -> array); ``hint`` says what went wrong and how to fix it.
    """

    hint: str
    result: Callable[[Case], Outputs]


@dataclass(frozen=True)
class Exercise:
    """One exercise: its cases, its ground truth (the engine), and its known mistakes.

    - name, title, section: how the docs and the reports name it (section of the paper)
    - summary: one sentence, what to implement
    - outputs: (name, shape in words) of each returned value, in the order returned
    - make_case(rng, i): the i-th random case, a dict of the function's arguments in order
    - solve(case): the engine's outputs, a dict name -> float64 array
    - starter: the starter code of the doc page (a signature and a docstring)
    - hint: the generic hint, when no known mistake matches
    - mistakes: known wrong variants, tried in order
    - explain(case, output, actual): a further diagnosis (a hint or None), tried last
    - unpack(result, names): the learner's result -> dict name -> value (default: a single
      value, or a tuple of values in the order of ``outputs``)
    - baseline(case): when given, the *changes* from it are compared (a training step's
      new parameters are compared by their change from the old ones)
    - returns_dict: the function returns a dict keyed by the outputs' names (else a single
      value, or a tuple of values in the order of ``outputs``)
    - axes: output name -> the names of its axes, for the reports ("n=1, map=13, r=9, c=3");
      outputs without an entry (any shape) show plain indices
    """

    name: str
    title: str
    section: str
    summary: str
    outputs: tuple[tuple[str, str], ...]
    make_case: Callable[[np.random.Generator, int], Case]
    solve: Callable[[Case], Outputs]
    starter: str
    hint: str
    mistakes: tuple[Mistake, ...] = ()
    explain: Callable[[Case, str, np.ndarray], str | None] | None = None
    unpack: Callable[[Any, list[str]], dict] | None = None
    baseline: Callable[[Case], Outputs] | None = None
    returns_dict: bool = False
    axes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


#: One notation everywhere (explain(), the tutorial, the pages, lenet.h): n the pattern of the
#: batch, map (o for a kernel's output map, i for its input map) the feature map, r and c the
#: row and column of a unit, ky and kx the row and column offsets within a kernel.
MAPS = ("n", "map", "r", "c")


# ---- engine pieces, in float64 -------------------------------------------------------------


def _states(layer: Layer) -> np.ndarray:
    """A copy of the states y of the layer's last forward."""
    assert layer.y is not None  # the engine's layers are run forward first
    return layer.y.copy()


def _f(a: np.ndarray) -> np.ndarray:
    """The paper's squashing function, from the C core."""
    return _core.activation_forward(np.asarray(a, F64), "scaled_tanh")


def _slope(a: np.ndarray) -> np.ndarray:
    return _core.activation_derivative(np.asarray(a, F64), "scaled_tanh")


def _tanh(a: np.ndarray) -> np.ndarray:
    return _core.activation_forward(np.asarray(a, F64), "tanh")


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return _core.activation_forward(np.asarray(a, F64), "sigmoid")


# ---- squash, squash_derivative (Section II.B, Appendix A) ----------------------------------

_SQUASH_SHAPES = [(7,), (2, 5), (3, 6, 4, 4), (1, 84), (2, 3, 2)]


def _squash_case(rng: np.random.Generator, i: int) -> Case:
    if i == 0:  # includes f(1) = 1 and f(-1) = -1
        return {"a": np.linspace(-3.0, 3.0, 7)}
    return {"a": rng.uniform(-4.0, 4.0, _SQUASH_SHAPES[i % len(_SQUASH_SHAPES)])}


_SQUASH = Exercise(
    name="squash",
    title="The squashing function",
    section="Section II.B, Appendix A",
    summary="f(a) = A tanh(S a), A = 1.7159, S = 2/3, element-wise.",
    outputs=(("x", "the shape of a"),),
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
    hint="f(a) = A tanh(S a) with A = 1.7159 and S = 2/3 (Appendix A); check that f(1) = 1 "
    "and f(-1) = -1.",
    mistakes=(
        Mistake(
            "this is plain tanh(a): the paper scales it, f(a) = A tanh(S a), with "
            "A = 1.7159 outside and S = 2/3 inside.",
            lambda c: {"x": _tanh(c["a"])},
        ),
        Mistake(
            "this is tanh(S a) without the amplitude: multiply by A = 1.7159.",
            lambda c: {"x": _tanh(SQUASH_S * c["a"])},
        ),
        Mistake(
            "this is A tanh(a) without the slope: the argument is S a, S = 2/3.",
            lambda c: {"x": SQUASH_A * _tanh(c["a"])},
        ),
        Mistake(
            "this is A tanh(3a/2): S is 2/3, not 3/2.",
            lambda c: {"x": SQUASH_A * _tanh(1.5 * c["a"])},
        ),
        Mistake(
            "this is 2A sigmoid(S a) - A: the identity is A tanh(S a) = 2A sigmoid(2 S a) "
            "- A, with a factor 2 inside the sigmoid.",
            lambda c: {"x": 2 * SQUASH_A * _sigmoid(SQUASH_S * c["a"]) - SQUASH_A},
        ),
    ),
)

_SQUASH_DERIVATIVE = Exercise(
    name="squash_derivative",
    title="The slope of the squashing function",
    section="Section II.B, Appendix A",
    summary="f'(a) for f(a) = A tanh(S a), element-wise.",
    outputs=(("slope", "the shape of a"),),
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
    hint="differentiate f(a) = A tanh(S a) with the chain rule, using "
    "d tanh(u)/du = 1 - tanh(u)^2; f'(0) should be A S = 1.1439.",
    mistakes=(
        Mistake(
            "this is A (1 - tanh(S a)^2): the chain rule brings out the inner slope S as well.",
            lambda c: {"slope": SQUASH_A * _core.activation_derivative(SQUASH_S * c["a"], "tanh")},
        ),
        Mistake(
            "this is 1 - f(a)^2: 1 - tanh(u)^2 is the slope of plain tanh, but f has the "
            "amplitude A outside the tanh and the slope S inside it.",
            lambda c: {"slope": 1 - _f(c["a"]) ** 2},
        ),
        Mistake(
            "this is A S (1 - tanh(a)^2): the tanh inside the slope is still of S a.",
            lambda c: {"slope": SQUASH_A * SQUASH_S * _core.activation_derivative(c["a"], "tanh")},
        ),
        Mistake(
            "this is S (1 - tanh(S a)^2): the amplitude A multiplies the slope too.",
            lambda c: {"slope": SQUASH_S * _core.activation_derivative(SQUASH_S * c["a"], "tanh")},
        ),
        Mistake(
            "this is 1 - tanh(S a)^2: both A and the chain rule's S are missing.",
            lambda c: {"slope": _core.activation_derivative(SQUASH_S * c["a"], "tanh")},
        ),
        Mistake("this is f(a) itself, not its slope.", lambda c: {"slope": _f(c["a"])}),
    ),
)


# ---- s2_forward, s2_backward (Section II.B) ------------------------------------------------

_S2_SHAPES = [(6, 28, 28), (16, 10, 10), (3, 4, 6), (1, 2, 2), (5, 8, 4)]


def _s2_case(rng: np.random.Generator, i: int, backward: bool = False) -> Case:
    maps, h, w = _S2_SHAPES[i % len(_S2_SHAPES)]
    n = int(rng.integers(1, 4))
    case = {
        # S2 reads C1's states, which f keeps within +-1.7159
        "x": rng.uniform(-1.7159, 1.7159, (n, maps, h, w)),
        "coefficient": rng.uniform(-0.8, 0.8, maps),
        "bias": rng.uniform(-0.5, 0.5, maps),
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


_S2_FORWARD = Exercise(
    name="s2_forward",
    title="S2 subsampling, forward",
    section="Section II.B",
    summary="a = coefficient * (sum of each non-overlapping 2x2 window) + bias, per map; y = f(a).",
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
    hint="for each map m and each non-overlapping 2x2 window (stride 2): add the four inputs, "
    f"multiply by coefficient[m], add bias[m], then squash with {_PAPER_F}. Window (r, c) "
    "covers rows 2r, 2r+1 and columns 2c, 2c+1.",
    mistakes=(
        Mistake(
            "your values match f(sum + bias): the window sum is multiplied by the map's "
            "trainable coefficient.",
            lambda c: {"y": _f(_s2_sums(c, coefficient=np.ones_like(c["coefficient"])))},
        ),
        Mistake(
            "your values match the window's mean: the paper adds the four inputs, it does "
            "not average them (a factor 4).",
            lambda c: {"y": _f(_s2_sums(c, coefficient=c["coefficient"] / 4))},
        ),
        Mistake(
            "your values match max pooling: the paper's unit adds the four inputs, "
            "it does not take their maximum.",
            lambda c: {
                "y": _f(_per_map(c["coefficient"]) * _s2_sums(c, mode="max") + _per_map(c["bias"]))
            },
        ),
        Mistake(
            "your values match plain max pooling: the paper's unit is "
            "f(coefficient * (sum of the window) + bias).",
            lambda c: {"y": _s2_sums(c, mode="max")},
        ),
        Mistake(
            "your values are the weighted sums a: the layer's states are y = f(a), squashed.",
            lambda c: {"y": _s2_sums(c)},
        ),
        Mistake(
            "your values match f(coefficient * sum): the map's bias is missing.",
            lambda c: {"y": _f(_s2_sums(c, bias=np.zeros_like(c["bias"])))},
        ),
        Mistake(
            "your values match f(coefficient * (sum + bias)): the bias is added after "
            "the multiplication, not before.",
            lambda c: {"y": _f(_s2_sums(c, bias=c["coefficient"] * c["bias"]))},
        ),
        Mistake(
            f"your values match tanh(a): the squashing function is {_PAPER_F}.",
            lambda c: {"y": _tanh(_s2_sums(c))},
        ),
    ),
)


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


_S2_BACKWARD = Exercise(
    name="s2_backward",
    title="S2 subsampling, backward",
    section="Section II.B",
    summary="Given dE/dy, the gradients of the subsampling unit with respect to x, the "
    "coefficients and the biases, through the squashing function.",
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
    hint="recompute a in the forward way, then da = dy * f'(a); each of a window's four inputs "
    "gets coefficient[m] * da, dcoefficient[m] sums da * (window sum) and dbias[m] sums "
    "da, over the batch and all positions.",
    mistakes=(
        Mistake(
            "your values match a gradient without the squashing function's slope: "
            "da = dy * f'(a) comes first, and everything else is built from da.",
            lambda c: _s2_backward_with(c, c["dy"]),
        ),
        Mistake(
            "your values match da = dy * f'(y): the slope is taken at the weighted sum "
            "a, not at the state y = f(a).",
            lambda c: _s2_backward_with(c, c["dy"] * _slope(_f(_s2_sums(c)))),
        ),
        Mistake(
            "your values match da = dy * (1 - y^2), the slope of plain tanh; for "
            "f(a) = A tanh(S a), f'(a) = A S (1 - tanh(S a)^2).",
            lambda c: _s2_backward_with(c, c["dy"] * (1 - _f(_s2_sums(c)) ** 2)),
        ),
        Mistake(
            "your dx misses the coefficient: each input of the window contributed "
            "coefficient[m] * x to a, so it receives coefficient[m] * da.",
            lambda c: {
                "dx": _s2_backward_with(
                    c, c["dy"] * _slope(_s2_sums(c)), np.ones_like(c["coefficient"])
                )["dx"]
            },
        ),
        Mistake(
            "your values match a unit that averages its window: the paper adds the four "
            "inputs (no factor 1/4, in the forward pass or the backward).",
            _s2_backward_averaged,
        ),
        Mistake(
            "your values are averaged over the batch: the parameter gradients are sums "
            "over the batch (and over the positions of the map).",
            _s2_backward_batch_mean,
        ),
    ),
)


# ---- c3_forward (Section II.B, Table I) -----------------------------------------------------

_C3_SIZES = [(14, 14), (14, 14), (9, 11), (14, 14), (6, 5)]


def _c3_case(rng: np.random.Generator, i: int) -> Case:
    h, w = _C3_SIZES[i % len(_C3_SIZES)]
    n = int(rng.integers(1, 4))
    if i < 2:
        table = connection_table_i()
    else:  # another table, so that a Table I written into the code is caught
        table = rng.random((16, 6)) < 0.5
        table[np.arange(16), rng.integers(0, 6, 16)] = True  # every C3 map reads some map
    return {
        "x": rng.uniform(-1.7159, 1.7159, (n, 6, h, w)),
        # nonzero weights for the unconnected pairs too: they must have no effect
        "weight": rng.uniform(-0.3, 0.3, (16, 6, 5, 5)),
        "bias": rng.uniform(-0.3, 0.3, 16),
        "connection_table": table,
    }


def _c3_sums(c: Case, weight: Any = None, bias: Any = None, table: Any = "case") -> np.ndarray:
    weight = c["weight"] if weight is None else weight
    bias = c["bias"] if bias is None else bias
    table = c["connection_table"] if isinstance(table, str) else table
    return _core.conv_forward(c["x"], weight, bias, table)


def _c3_solve(c: Case) -> Outputs:
    layer = Convolution(6, 16, 5, connection_table=c["connection_table"], dtype=F64, name="C3")
    layer.params["weight"][...] = c["weight"]  # the layer leaves unconnected pairs out
    layer.params["bias"][...] = c["bias"]
    return {"y": layer.forward(c["x"]).copy()}


def _maps(row: np.ndarray) -> str:
    return " ".join(str(i) for i in np.flatnonzero(row)) or "none"


def _c3_connections(c: Case, output: str, actual: np.ndarray) -> str | None:
    """Which C3 map is wrong, and does it read one S2 map too few or too many?"""
    table = c["connection_table"]
    expected = _c3_solve(c)["y"]
    for o in range(table.shape[0]):
        if _close(actual[:, o], expected[:, o]):
            continue
        for i in range(table.shape[1]):
            row = table[o].copy()
            row[i] = not row[i]
            if not row.any():
                continue
            states = _f(
                _core.conv_forward(
                    c["x"], c["weight"][o : o + 1], c["bias"][o : o + 1], row[None, :]
                )
            )[:, 0]
            if _close(actual[:, o], states):
                what = "is missing" if table[o, i] else "should not be read"
                return (
                    f"C3 map {o} should read S2 maps {_maps(table[o])}; your values match "
                    f"reading {_maps(row)}: S2 map {i} {what}. connection_table[o, i] is "
                    f"True exactly when C3 map o reads S2 map i."
                )
        return None
    return None


_C3_FORWARD = Exercise(
    name="c3_forward",
    title="C3 convolution with the connection table",
    section="Section II.B, Table I",
    summary="5x5 convolution from 6 S2 maps to 16 C3 maps, each C3 map reading only the S2 maps "
    "its row of Table I names; y = f(a).",
    outputs=(("y", "(N, 16, H-4, W-4)"),),
    axes={"y": MAPS},
    make_case=_c3_case,
    solve=_c3_solve,
    starter='''\
import numpy as np


def c3_forward(x, weight, bias, connection_table):
    """Forward pass of C3: a convolution wired by a connection table (Section II.B, Table I).

    Inputs:
    - x: the S2 maps, shape (N, 6, H, W); 14x14 in LeNet-5
    - weight: the kernels, shape (16, 6, 5, 5); weight[o, i] is the kernel C3 map o
      applies to S2 map i. Where connection_table[o, i] is False the kernel is not part
      of the network: its values must have no effect.
    - bias: one bias per C3 map, shape (16,)
    - connection_table: booleans, shape (16, 6); True where C3 map o reads S2 map i
      (Table I in LeNet-5)

    Returns:
    - y: the states y = f(a), shape (N, 16, H - 4, W - 4)
    """
    raise NotImplementedError("c3_forward")
''',
    hint="a[n, o, r, c] = bias[o] + the sum, over the S2 maps i that C3 map o reads and over "
    "ky, kx in 0..4, of weight[o, i, ky, kx] * x[n, i, r + ky, c + kx]; then y = f(a). "
    "The kernel is not flipped (a cross-correlation, as the engine computes it).",
    mistakes=(
        Mistake(
            "your values match a convolution that ignores the connection table: every C3 "
            "map must read only the S2 maps that connection_table[o] marks True (the "
            "other kernels hold values here that are not part of the network).",
            lambda c: {"y": _f(_c3_sums(c, table=None))},
        ),
        Mistake(
            "your values match a flipped kernel (the textbook convolution): the engine "
            "correlates, weight[o, i, ky, kx] multiplies x[n, i, r + ky, c + kx].",
            lambda c: {"y": _f(_c3_sums(c, weight=c["weight"][:, :, ::-1, ::-1]))},
        ),
        Mistake(
            "your values match a transposed kernel: weight[o, i, ky, kx] has the row "
            "offset ky before the column offset kx; it multiplies x[n, i, r + ky, c + kx].",
            lambda c: {"y": _f(_c3_sums(c, weight=c["weight"].transpose(0, 1, 3, 2)))},
        ),
        Mistake(
            "your values are the weighted sums a: C3's states are y = f(a), squashed.",
            lambda c: {"y": _c3_sums(c)},
        ),
        Mistake(
            "your values match f(a) without the bias: each C3 map adds its bias[o].",
            lambda c: {"y": _f(_c3_sums(c, bias=np.zeros(16)))},
        ),
        Mistake(
            f"your values match tanh(a): the squashing function is {_PAPER_F}.",
            lambda c: {"y": _tanh(_c3_sums(c))},
        ),
    ),
    explain=_c3_connections,
)


# ---- rbf_output, rbf_backward (Section II.B) ------------------------------------------------

_RBF_SHAPES = [(10, 84), (10, 84), (3, 5), (10, 84), (7, 12)]


def _rbf_case(rng: np.random.Generator, i: int, backward: bool = False) -> Case:
    classes, features = _RBF_SHAPES[i % len(_RBF_SHAPES)]
    n = int(rng.integers(1, 5))
    prototypes = (
        rbf_prototypes(F64) if i == 0 else rng.choice([-1.0, 1.0], (classes, features))
    )  # +-1 components, as the paper's
    case = {"x": rng.uniform(-1.7159, 1.7159, (n, features)), "prototypes": prototypes}
    if backward:
        case["dy"] = rng.standard_normal((n, classes))
    return case


def _rbf_layer(c: Case) -> RBFOutput:
    layer = RBFOutput(prototypes=c["prototypes"], dtype=F64)
    layer.forward(c["x"])
    return layer


_RBF_OUTPUT = Exercise(
    name="rbf_output",
    title="The Euclidean RBF output units",
    section="Section II.B",
    summary="y_i = sum_j (x_j - w_ij)^2: each class's penalty, the squared distance from the "
    "F6 states to the class's prototype.",
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
    hint="y[n, i] = sum over j of (x[n, j] - prototypes[i, j])^2, for every sample n and "
    "class i; broadcasting x[:, None, :] against prototypes[None, :, :] gives all the "
    "differences at once.",
    mistakes=(
        Mistake(
            "your values are the Euclidean distance: the penalty is its square, "
            "sum_j (x_j - w_ij)^2, with no square root.",
            lambda c: {"y": np.sqrt(_states(_rbf_layer(c)))},
        ),
        Mistake(
            "your values match sum_j (x_j - w_ij) without squaring: each difference is "
            "squared before the sum.",
            lambda c: {"y": c["x"].sum(axis=1)[:, None] - c["prototypes"].sum(axis=1)[None, :]},
        ),
        Mistake(
            "your values are a mean over the features: the penalty is a sum.",
            lambda c: {"y": _rbf_layer(c).y / c["x"].shape[1]},
        ),
        Mistake(
            "your values are the dot products x . w_i: the RBF unit computes a squared "
            "distance, not a similarity.",
            lambda c: {
                "y": _core.dense_forward(
                    c["x"], c["prototypes"], np.zeros(c["prototypes"].shape[0])
                )
            },
        ),
    ),
)


def _rbf_backward_solve(c: Case) -> Outputs:
    return {"dx": _rbf_layer(c).backward(c["dy"]).copy()}


_RBF_BACKWARD = Exercise(
    name="rbf_backward",
    title="The gradient of the RBF output units",
    section="Section II.B",
    summary="Given dE/dy, dE/dx_j = sum_i 2 (x_j - w_ij) dE/dy_i (the prototypes are fixed).",
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
    hint="dy_i/dx_j = 2 (x_j - w_ij); every class's penalty depends on every x_j, so dE/dx_j "
    "sums 2 (x_j - w_ij) dE/dy_i over the classes i.",
    mistakes=(
        Mistake(
            "your values are half the gradient: the derivative of (x_j - w_ij)^2 is "
            "2 (x_j - w_ij); the factor 2 is missing.",
            lambda c: {"dx": _rbf_backward_solve(c)["dx"] / 2},
        ),
        Mistake(
            "your values have the wrong sign: the derivative of (x_j - w_ij)^2 with "
            "respect to x_j is 2 (x_j - w_ij), not 2 (w_ij - x_j).",
            lambda c: {"dx": -_rbf_backward_solve(c)["dx"]},
        ),
        Mistake(
            "your values ignore dy: each class's term 2 (x_j - w_ij) is weighted by "
            "dE/dy_i (the chain rule).",
            lambda c: {"dx": _core.rbf_backward(c["x"], c["prototypes"], np.ones_like(c["dy"]))},
        ),
    ),
)


# ---- loss9_gradient (Section II.C, equation (9)) -------------------------------------------

_LOSS9_J = [1.0, 5.0, 0.5, 10.0, 2.0]


def _loss9_case(rng: np.random.Generator, i: int) -> Case:
    n = int(rng.integers(1, 6))
    # penalties: small ones, where every term of the sum counts, and in case 3 large ones,
    # where the constant e^-j dominates (84 squared differences can reach a few hundred)
    low, high = (20.0, 300.0) if i % 5 == 3 else (0.0, 8.0)
    return {
        "y": rng.uniform(low, high, (n, 10)),
        "labels": rng.integers(0, 10, n),
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


_LOSS9 = Exercise(
    name="loss9_gradient",
    title="Loss (9) and its gradient",
    section="Section II.C, equation (9)",
    summary="E = (1/N) sum_n (y[n, D_n] + log(e^-j + sum_i e^-y[n, i])) and dE/dy.",
    outputs=(("E", "a number"), ("dy", "(N, classes)")),
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
    hint="E is the batch mean of y[n, D_n] + log(e^-j + sum_i e^-y[n, i]); its gradient is "
    "dE/dy[n, i] = ([i = D_n] - e^-y[n, i] / (e^-j + sum_k e^-y[n, k])) / N.",
    mistakes=(
        Mistake(
            "your values are N times too large: E is the mean over the batch (1/P in "
            "equation (9)), and so is its gradient.",
            lambda c: {k: v * c["y"].shape[0] for k, v in _loss9(**c).items()},
        ),
        Mistake(
            "your values match the loss without the constant term e^-j: equation (9)'s "
            "log is of e^-j + sum_i e^-y_i.",
            lambda c: _loss9(c["y"], c["labels"], 1e6),
        ),  # e^-1e6 is exactly 0
        Mistake(
            "your values match e^+j instead of e^-j in the log.",
            # log(e^j + sum e^-y) = (2j + y) rewritten: the engine's loss at y + 2j
            lambda c: _loss9(c["y"] + 2 * c["j"], c["labels"], c["j"]),
        ),
        Mistake(
            "your gradient has the wrong sign on its second term: d/dy_i of "
            "log(e^-j + sum_k e^-y_k) is -e^-y_i / (e^-j + sum_k e^-y_k).",
            lambda c: {"dy": 2 * _one_hot(c) / c["y"].shape[0] - _loss9(**c)["dy"]},
        ),
        Mistake(
            "your values miss the correct class's penalty y[n, D_n]: equation (9) is "
            "equation (8)'s penalty plus the log term.",
            _loss9_without_correct,
        ),
    ),
)


# ---- sdlm_second_derivatives (Appendix C) --------------------------------------------------

_SDLM_SHAPES = [(120, 84), (5, 3), (12, 7), (120, 84), (1, 4)]


def _sdlm_case(rng: np.random.Generator, i: int) -> Case:
    fan_in, out = _SDLM_SHAPES[i % len(_SDLM_SHAPES)]
    n = int(rng.integers(1, 4))
    limit = 2.4 / np.sqrt(fan_in)  # keeps a in f's working range
    return {
        "x": rng.uniform(-1.7159, 1.7159, (n, fan_in)),
        "weight": rng.uniform(-limit, limit, (out, fan_in)),
        "bias": rng.uniform(-limit, limit, out),
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


_SDLM = Exercise(
    name="sdlm_second_derivatives",
    title="The second-derivative pass of SDLM, for one layer",
    section="Appendix C",
    summary="Back-propagate diagonal second derivatives (Gauss-Newton) through a full "
    "connection like F6: d2E/da2, d2E/dx2, d2E/dw2 and d2E/db2.",
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
    hint="the rules are back-propagation's with squares: h_a = f'(a)^2 h_y; "
    "h_x[n, i] = sum_k weight[k, i]^2 h_a[n, k]; h_weight[k, i] = sum_n x[n, i]^2 "
    "h_a[n, k]; h_bias[k] = sum_n h_a[n, k].",
    mistakes=(
        Mistake(
            "your values match h_a = f'(a) h_y: the Gauss-Newton rule multiplies by the "
            "square of the slope, f'(a)^2.",
            lambda c: _sdlm_with(c, _sdlm_h_a(c, power=1)),
        ),
        Mistake(
            "your values match h_a = h_y: the squared slope f'(a)^2 of the squashing "
            "function is missing.",
            lambda c: _sdlm_with(c, c["h_y"]),
        ),
        Mistake(
            "your values match h_a = f'(y)^2 h_y: the slope is taken at the weighted sum "
            "a, not at the state y = f(a).",
            lambda c: _sdlm_with(c, c["h_y"] * _slope(_sdlm_states(c)) ** 2),
        ),
        Mistake(
            "your values match h_a = (1 - y^2)^2 h_y, with the slope of plain tanh; for "
            "f(a) = A tanh(S a), f'(a) = A S (1 - tanh(S a)^2).",
            lambda c: _sdlm_with(c, c["h_y"] * (1 - _sdlm_states(c) ** 2) ** 2),
        ),
        Mistake(
            "your values match back-propagation without squares: the second derivatives "
            "go through the squared weights and squared inputs.",
            lambda c: _sdlm_with(c, _sdlm_h_a(c, power=1), False, False),
        ),
        Mistake(
            "your h_x uses the weights, not their squares: "
            "h_x[n, i] = sum_k weight[k, i]^2 h_a[n, k].",
            lambda c: {"h_x": _sdlm_with(c, _sdlm_h_a(c), square_w=False)["h_x"]},
        ),
        Mistake(
            "your h_weight uses the inputs, not their squares: "
            "h_weight[k, i] = sum_n x[n, i]^2 h_a[n, k].",
            lambda c: {"h_weight": _sdlm_with(c, _sdlm_h_a(c), square_x=False)["h_weight"]},
        ),
        Mistake(
            "your values are averaged over the batch: here h_weight and h_bias are sums "
            "over the batch (the network divides by the number of patterns later).",
            _sdlm_batch_mean,
        ),
    ),
)


# ---- training_step (Sections II.B, II.C; Appendix C) ---------------------------------------


def _training_case(rng: np.random.Generator, i: int) -> Case:
    # Parameters drawn as LeNet5 draws them, with the +-2.4/sqrt(F_i) range so that every
    # layer's gradient is large enough to check.
    net = LeNet5(seed=int(rng.integers(2**31)), dtype=F64, init="lecun98-sqrt")
    image = np.full(PAPER_INPUT_SHAPE, -0.1)  # background -0.1, ink 1.175 (Section III.A)
    ink = rng.random((20, 20)) < 0.35
    image[0, 6:26, 6:26][ink] = 1.175
    return {
        "params": dict(net.state_dict()),
        "image": image,
        "label": int(rng.integers(0, 10)),
        "lr": float(rng.uniform(5e-4, 5e-3)),
        "prototypes": rbf_prototypes(F64),
        "connection_table": connection_table_i(),
    }


def _paper_network(full_c3: bool = False) -> Network:
    if not full_c3:
        return LeNet5(dtype=F64)
    layers = [
        Convolution(1, 6, 5, name="C1", dtype=F64),
        Subsampling(6, "paper", name="S2", dtype=F64),
        Convolution(6, 16, 5, name="C3", dtype=F64),  # every S2 map: Table I ignored
        Subsampling(16, "paper", name="S4", dtype=F64),
        Convolution(16, 120, 5, name="C5", dtype=F64),
        FullConnection(120, 84, name="F6", dtype=F64),
        RBFOutput(name="output", dtype=F64),
    ]
    return Network(layers, PAPER_INPUT_SHAPE, F64)


def _training_solve(c: Case, full_c3: bool = False, grad_scale: float = 1.0) -> Outputs:
    """The engine's step: forward, loss (8), backward, then plain SGD (momentum 0)."""
    net = _paper_network(full_c3)
    net.load_state_dict(c["params"])
    out = net.forward(c["image"][None])
    _, d_out = losses.rbf_penalty(out, np.array([c["label"]]))
    net.backward(d_out * grad_scale)
    optim.SGD(net, lr=c["lr"]).step()
    new = net.state_dict()
    return {key: new[key] for key in _TRAINING_KEYS}


#: the parameters in the order they are compared: from the output down, so that the first
#: wrong one is the one nearest to where the backward pass first goes wrong
_TRAINING_KEYS = (
    "F6.bias",
    "F6.weight",
    "C5.bias",
    "C5.weight",
    "S4.bias",
    "S4.coefficient",
    "C3.bias",
    "C3.weight",
    "S2.bias",
    "S2.coefficient",
    "C1.bias",
    "C1.weight",
)
_TRAINING_SHAPES = {
    "F6.bias": "(84,)",
    "F6.weight": "(84, 120)",
    "C5.bias": "(120,)",
    "C5.weight": "(120, 16, 5, 5)",
    "S4.bias": "(16,)",
    "S4.coefficient": "(16,)",
    "C3.bias": "(16,)",
    "C3.weight": "(16, 6, 5, 5)",
    "S2.bias": "(6,)",
    "S2.coefficient": "(6,)",
    "C1.bias": "(6,)",
    "C1.weight": "(6, 1, 5, 5)",
}


_KERNEL = ("o", "i", "ky", "kx")
_TRAINING_AXES = {
    "F6.bias": ("o",),
    "F6.weight": ("o", "i"),
    "C5.bias": ("map",),
    "C5.weight": _KERNEL,
    "S4.bias": ("map",),
    "S4.coefficient": ("map",),
    "C3.bias": ("map",),
    "C3.weight": _KERNEL,
    "S2.bias": ("map",),
    "S2.coefficient": ("map",),
    "C1.bias": ("map",),
    "C1.weight": _KERNEL,
}


def _unpack_parameters(result: Any, names: list[str]) -> dict:
    if not isinstance(result, Mapping):
        raise _Wrong(
            f"expected a dict of the new parameters (keys like 'C1.weight'), got {_kind(result)}"
        )
    missing = [k for k in reversed(names) if k not in result]
    extra = [str(k) for k in result if k not in names]
    if missing or extra:
        raise _Wrong(
            "the dict's keys differ from the parameters' keys: "
            + (f"missing {missing}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unexpected {extra}" if extra else "")
        )
    return {k: result[k] for k in names}


def _training_step_ascent(c: Case) -> Outputs:
    return _training_solve(c, grad_scale=-1.0)


def _training_old_parameters(c: Case) -> Outputs:
    return {k: c["params"][k] for k in _TRAINING_KEYS}


_TRAINING_STEP = Exercise(
    name="training_step",
    title="One training step by hand",
    section="Sections II.B and II.C, Appendix C",
    summary="Forward one image through LeNet-5, take loss (8), back-propagate, and return the "
    "parameters after one gradient-descent step w <- w - lr dE/dw.",
    outputs=tuple((k, _TRAINING_SHAPES[k]) for k in _TRAINING_KEYS),
    axes=_TRAINING_AXES,
    make_case=_training_case,
    solve=_training_solve,
    starter='''\
import numpy as np


def training_step(params, image, label, lr, prototypes, connection_table):
    """One step of plain gradient descent on LeNet-5 for one image, with loss (8).

    Forward: C1 (5x5 convolution), S2 (subsampling), C3 (5x5 convolution wired by
    connection_table), S4 (subsampling), C5 (5x5 convolution), F6 (full connection),
    each followed by f(a) = 1.7159 tanh(2a/3); then the RBF output y_i = sum_j
    (x_j - prototypes[i, j])^2 (Section II.B). Loss (8): E = y[label] (Section II.C).
    Backward: dE/dw for every parameter. Update: w <- w - lr * dE/dw.

    Inputs:
    - params: dict of the parameters, as LeNet5(dtype=np.float64).state_dict() has them:
      "C1.weight" (6, 1, 5, 5), "C1.bias" (6,), "S2.coefficient" (6,), "S2.bias" (6,),
      "C3.weight" (16, 6, 5, 5), "C3.bias" (16,), "S4.coefficient" (16,), "S4.bias" (16,),
      "C5.weight" (120, 16, 5, 5), "C5.bias" (120,), "F6.weight" (84, 120), "F6.bias" (84,).
      C3's weights for unconnected map pairs are 0.
    - image: one input image, shape (1, 32, 32)
    - label: the correct class, an int in 0..9
    - lr: the learning rate, a float
    - prototypes: the RBF units' fixed parameter vectors, shape (10, 84)
    - connection_table: C3's Table I, booleans, shape (16, 6)

    Returns:
    - new_params: a new dict with the same keys and shapes, after the step; C3's
      unconnected weights stay 0
    """
    raise NotImplementedError("training_step")
''',
    hint="build it from the earlier exercises and check each piece on its own first "
    "(c3_forward, s2_forward, s2_backward, rbf_output, rbf_backward). The parameters are "
    "compared from the output down, F6 first, so the first wrong one is nearest to "
    "where your backward pass first goes wrong; if F6 is already wrong, check the "
    "forward pass and the loss's gradient dE/dy = 1 for the label's class, 0 elsewhere.",
    mistakes=(
        Mistake(
            "your parameters did not change: did you apply w <- w - lr * dE/dw and "
            "return the new values?",
            _training_old_parameters,
        ),
        Mistake(
            "your step is half the right one: the RBF penalty's derivative is "
            "2 (x_j - w_ij), and the factor 2 is missing.",
            lambda c: _training_solve(c, grad_scale=0.5),
        ),
        Mistake(
            "your step goes uphill: gradient descent subtracts, w <- w - lr * dE/dw.",
            _training_step_ascent,
        ),
        Mistake(
            "your step moves C3's unconnected weights: Table I's gaps are not part of "
            "the network, their gradient is 0 and they must stay 0 (use the connection "
            "table in C3's backward pass too).",
            lambda c: {"C3.weight": _training_solve(c, full_c3=True)["C3.weight"]},
        ),
    ),
    unpack=_unpack_parameters,
    baseline=_training_old_parameters,
    returns_dict=True,
)


_ALL = (
    _SQUASH,
    _SQUASH_DERIVATIVE,
    _S2_FORWARD,
    _S2_BACKWARD,
    _C3_FORWARD,
    _RBF_OUTPUT,
    _RBF_BACKWARD,
    _LOSS9,
    _SDLM,
    _TRAINING_STEP,
)

#: name -> Exercise, in the order the docs present them
EXERCISES: Mapping[str, Exercise] = MappingProxyType({ex.name: ex for ex in _ALL})


# ---- public API ---------------------------------------------------------------------------


def names() -> tuple[str, ...]:
    """The exercises' names, in the order the docs present them."""
    return tuple(EXERCISES)


def _exercise(name: str) -> Exercise:
    try:
        return EXERCISES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown exercise {name!r}; the exercises are: {', '.join(EXERCISES)}"
        ) from None


def starter(name: str) -> str:
    """The starter code of exercise ``name``: a signature and a docstring, the text of its page."""
    return _exercise(name).starter


def summary(name: str) -> str:
    """A few lines on exercise ``name``: its title, the paper's section, what to implement,
    what it returns."""
    ex = _exercise(name)
    returns = ", ".join(f"{out} {shape}" for out, shape in ex.outputs[:4])
    if len(ex.outputs) > 4:
        returns += f", ... ({len(ex.outputs)} arrays)"
    if ex.returns_dict:
        returns = f"a dict with keys {returns}"
    return f"{ex.name}: {ex.title} ({ex.section})\n{ex.summary}\nReturns: {returns}"


def describe(name: str) -> str:
    """The page of exercise ``name`` as text (Markdown): what to implement, the formulas with
    the paper's section, the shapes, the starter code and the call that checks it. The pages
    ship inside the package (``lenet/teach/exercise_pages/NAME.md``)."""
    ex = _exercise(name)
    return resources.files(__package__).joinpath(PAGES).joinpath(f"{ex.name}.md").read_text("utf-8")


def check(
    name: str, fn: Callable[..., Any], *, cases: int = 5, seed: int = 0, verbose: bool = True
) -> bool:
    """Run ``fn`` on ``cases`` random cases of exercise ``name`` and compare it with the engine.

    Inputs:
    - name: the exercise (see ``names()``)
    - fn: the learner's function, called with the arguments of the exercise's starter
      signature (NumPy arrays in float64; copies, so it may change them)
    - cases: how many random cases to try (shapes and batch sizes vary between cases)
    - seed: the cases are a function of the seed alone
    - verbose: print "name: pass (5 cases)", or a report on the first failing case: its
      inputs, the output that is wrong, its worst elements (expected and actual), and a hint

    Returns True if every case passes. A function that raises NotImplementedError (the starter
    as handed out) is reported as "not implemented yet". A wrong type or shape, NaN, or another
    exception raised by ``fn`` is a failure, reported and never raised. So is a result outside
    the tolerance because it is in float32 or float16; when its values are right to that
    precision (``LOW_PRECISION_RTOL``), the hint says to compute in float64.
    """
    ex = _exercise(name)
    if not callable(fn):
        raise TypeError(f"fn must be a function, got {_kind(fn)}")
    if isinstance(cases, bool) or not isinstance(cases, (int, np.integer)) or cases < 1:
        raise ValueError(f"cases must be a positive integer, got {cases!r}")
    for i in range(int(cases)):
        case = ex.make_case(np.random.default_rng((int(seed), i)), i)
        try:
            report = _run_case(ex, fn, case)
        except _NotYet:
            if verbose:
                print(_not_yet_message(ex, fn))
            return False
        if report is not None:
            if verbose:
                print(
                    f"{ex.name}: FAIL on case {i + 1} of {cases}\n"
                    f"  inputs: {_describe_case(case)}\n{report}"
                )
            return False
    if verbose:
        print(f"{ex.name}: pass ({cases} case{'s' if cases != 1 else ''})")
    return True


# ---- checking machinery -------------------------------------------------------------------


class _Wrong(Exception):
    """The learner's result cannot be compared (type, count or shape); the message says why."""


class _NotYet(Exception):
    """The learner's function raised NotImplementedError: the starter, not yet written."""


def _not_yet_message(ex: Exercise, fn: Callable[..., Any]) -> str:
    own = getattr(fn, "__name__", ex.name)
    return (
        f"{ex.name}: not implemented yet: {own} raises NotImplementedError. Replace the "
        f"`raise NotImplementedError` line with your code (describe({ex.name!r}) has the "
        f"formulas and shapes), then run the check again."
    )


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    return (
        f"{type(value).__name__} {value!r}"
        if value is None or np.isscalar(value)
        else type(value).__name__
    )


def _copy(value: Any) -> Any:
    """A private copy of an argument, so that the learner's function cannot change the case."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


def _describe_case(case: Case) -> str:
    parts = []
    for key, value in case.items():
        if isinstance(value, dict):
            parts.append(f"{key} (dict of {len(value)} arrays)")
        elif isinstance(value, np.ndarray) and value.dtype.kind in "iu" and value.size <= 10:
            parts.append(f"{key} {value.tolist()}")
        elif isinstance(value, np.ndarray):
            parts.append(f"{key} {value.shape}")
        elif isinstance(value, float):
            parts.append(f"{key} {value:.6g}")
        else:
            parts.append(f"{key} {value!r}")
    return ", ".join(parts)


def _expected_shape(shape: tuple[int, ...], words: str) -> str:
    """The expected shape, with its meaning in words when these say more than the shape."""
    return str(shape) if words == str(shape) else f"{shape}, that is {words}"


def _as_array(
    value: Any, output: str, shape: tuple[int, ...], words: str
) -> tuple[np.ndarray, np.dtype]:
    """The learner's value for one output as float64 of the expected shape, and the dtype it
    was returned in; or _Wrong."""
    try:
        arr = np.asarray(value)
    except Exception:
        arr = None
    if arr is None or arr.dtype.kind not in "fiub":
        raise _Wrong(
            f"{output} should be a NumPy array of numbers, shape "
            f"{_expected_shape(shape, words)}; got {_kind(value)}"
        )
    dtype = arr.dtype
    arr = arr.astype(F64)
    if shape == () and arr.size == 1:  # a number: a float, a 0-d or a 1-element array
        arr = arr.reshape(())
    if arr.shape != shape:
        raise _Wrong(f"{output} has shape {arr.shape}; expected {_expected_shape(shape, words)}")
    return arr, dtype


def _mismatch(
    actual: np.ndarray, expected: np.ndarray, base: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """(mask of the wrong entries, absolute errors, atol used). With ``base``, the changes from
    it are compared, with a tolerance relative to the size of the change."""
    if base is not None:
        actual, expected = actual - base, expected - base
        # a few ulps of the parameters themselves, which the subtraction leaves in the change
        atol = ATOL * float(np.max(np.abs(expected))) + 1e-13 * max(
            1.0, float(np.max(np.abs(base)))
        )
    else:
        atol = ATOL * max(1.0, float(np.max(np.abs(expected))))
    err = np.abs(actual - expected)
    bad = ~(err <= atol + RTOL * np.abs(expected))  # NaN counts as wrong
    return bad, err, atol


def _close(
    actual: np.ndarray,
    expected: np.ndarray,
    base: np.ndarray | None = None,
    rtol: float | None = None,
) -> bool:
    """Whether ``actual`` passes against ``expected``. With ``rtol`` (a lower precision's, see
    LOW_PRECISION_RTOL), the looser test |actual - expected| <= rtol * max |expected|, on the
    values themselves (not their changes from ``base``: a lower-precision parameter is rounded
    at the scale of the parameter)."""
    if actual.shape != expected.shape:
        return False
    if rtol is not None:
        scale = float(np.max(np.abs(expected), initial=0.0))
        return bool(np.all(np.abs(actual - expected) <= rtol * scale))
    return not _mismatch(actual, expected, base)[0].any()


def _run_case(ex: Exercise, fn: Callable[..., Any], case: Case) -> str | None:
    """None if fn passes the case, else the lines of the report (without the header)."""
    try:
        result = fn(*(_copy(v) for v in case.values()))
    except NotImplementedError:
        raise _NotYet from None
    except Exception as exc:
        return _exception_report(exc)
    if result is None:
        return "  your function returned None: did you forget `return`?"
    expected = ex.solve(case)
    base = ex.baseline(case) if ex.baseline else None
    shapes = dict(ex.outputs)
    try:
        given = ex.unpack(result, list(expected)) if ex.unpack else _unpack(ex, result)
        actual, dtypes = {}, {}
        for k in expected:
            if given[k] is None:
                raise _Wrong(f"{k} is None: did you forget to compute it, or to return it?")
            actual[k], dtypes[k] = _as_array(given[k], k, expected[k].shape, shapes[k])
    except _Wrong as refused:
        return f"  {refused}"
    wrong: dict[str, tuple] = {}
    for output, exp in expected.items():
        b = None if base is None else base[output]
        bad, err, atol = _mismatch(actual[output], exp, b)
        if bad.any():
            wrong[output] = (bad, err, atol, b)
    if not wrong:
        return None
    output = next(iter(wrong))  # the first wrong one, in the order the outputs are compared
    bad, err, atol, b = wrong[output]
    exp = expected[output]
    hint = _diagnose(ex, case, output, actual[output], exp, b, dtypes[output])
    report = (
        _values_report(output, actual[output], exp, bad, err, atol, b, ex.axes.get(output))
        + f"\n  hint: {hint}"
    )
    if len(expected) > 1:
        right = [k for k in expected if k not in wrong]
        report = (
            f"  right: {', '.join(right) if right else 'none'}; wrong: "
            f"{', '.join(wrong)}\n" + report
        )
    return report


def _index_text(index: tuple[int, ...], axes: tuple[str, ...] | None) -> str:
    """An element's index, with the axis names when known: "n=1, map=13, r=9, c=3"."""
    if axes is None or len(axes) != len(index):
        return str(index)
    return ", ".join(f"{name}={i}" for name, i in zip(axes, index))


def _unpack(ex: Exercise, result: Any) -> dict:
    names_ = [n for n, _ in ex.outputs]
    if len(names_) == 1:
        return {names_[0]: result}
    if not isinstance(result, (tuple, list)) or len(result) != len(names_):
        raise _Wrong(
            f"expected a tuple of {len(names_)} values ({', '.join(names_)}); got {_kind(result)}"
        )
    return dict(zip(names_, result))


def _exception_report(exc: Exception) -> str:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # [0] is the call in _run_case
    # the innermost line of the learner's code, not of NumPy's internals
    own = [f for f in frames if f"{os.sep}numpy{os.sep}" not in f.filename] or frames
    where = f"\n    at line {own[-1].lineno} of {own[-1].name} ({own[-1].filename})" if own else ""
    return f"  your function raised {last}{where}"


def _values_report(
    output: str,
    actual: np.ndarray,
    expected: np.ndarray,
    bad: np.ndarray,
    err: np.ndarray,
    atol: float,
    base: np.ndarray | None,
    axes: tuple[str, ...] | None = None,
) -> str:
    what = f"{output} (compared by its change from the old value)" if base is not None else output
    lines = [
        f"  {what}: {int(bad.sum())} of {bad.size} values wrong "
        f"(tolerance: rtol {RTOL:g}, atol {atol:.3g})"
    ]
    if actual.ndim == 0:
        lines.append(f"    expected {expected.item():.10g}, got {actual.item():.10g}")
        return "\n".join(lines)
    worst = np.unravel_index(
        np.argmax(np.where(bad, np.nan_to_num(err, nan=np.inf), -1.0)), bad.shape
    )
    others = [tuple(int(i) for i in idx) for idx in np.argwhere(bad)[:4]]
    shown = [tuple(int(i) for i in worst)] + [i for i in others if i != tuple(worst)][:3]
    width = max(len(_index_text(i, axes)) for i in shown) + 2
    if base is not None:  # what is compared: the changes, expected and actual
        expected, actual = expected - base, actual - base
        lines.append(f"    {'index'.ljust(width)}{'expected change':>18}  {'your change':>18}")
    else:
        lines.append(f"    {'index'.ljust(width)}{'expected':>18}  {'actual':>18}")
    for n, idx in enumerate(shown):
        mark = "   <- worst" if n == 0 else ""
        lines.append(
            f"    {_index_text(idx, axes).ljust(width)}{expected[idx]:>18.10g}  "
            f"{actual[idx]:>18.10g}{mark}"
        )
    return "\n".join(lines)


def _diagnose(
    ex: Exercise,
    case: Case,
    output: str,
    actual: np.ndarray,
    expected: np.ndarray,
    base: np.ndarray | None,
    dtype: np.dtype | None = None,
) -> str:
    """The hint for a wrong output: that it is right to its lower precision (``dtype``, the
    dtype the learner returned it in), else the hint of the first known mistake whose result
    matches the learner's, else the exercise's own diagnosis or its generic hint. For a
    lower-precision result, the mistakes are matched to that precision, and the hint adds
    that the checker compares in float64."""
    rtol = LOW_PRECISION_RTOL.get(np.dtype(dtype)) if dtype is not None else None
    if rtol is not None:
        if _close(actual, expected, rtol=rtol):
            return (
                f"your values are right to {dtype} precision; compute in float64 (the "
                f"checker compares in float64)"
            )
        also = (
            f" Your values are also {dtype}: compute in float64 (the checker compares in float64)."
        )
    else:
        also = ""
    for mistake in ex.mistakes:
        try:
            wrong = mistake.result(case).get(output)
        except Exception:  # a mistake that cannot be computed for this case does not apply
            continue
        if wrong is None:
            continue
        wrong = np.asarray(wrong, F64)
        # the mistake must give something else than the right answer, and match the learner's
        if _close(actual, wrong, base, rtol) and not _close(wrong, expected, base, rtol):
            return mistake.hint + also
    if ex.explain is not None:
        hint = ex.explain(case, output, actual)
        if hint:
            return hint + also
    return ex.hint + also
