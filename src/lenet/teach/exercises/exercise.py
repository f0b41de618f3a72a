"""What an exercise is: its cases, its ground truth (the engine), its known mistakes; and the
engine's pieces the exercises compute their answers with, in float64."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..._i18n import Text
from ...engine import _core
from ...engine.layers import SQUASHING, Layer

F64 = np.float64
#: The paper's squashing function as the hints write it (from the engine's one table).
PAPER_F = SQUASHING["scaled_tanh"].formula()
Case = dict  # argument name -> value, in the order the learner's function takes them
Outputs = dict  # output name -> float64 array


@dataclass(frozen=True)
class Mistake:
    """A known wrong variant of an exercise.

    ``result(case)`` computes what a function making the mistake returns, for the outputs the
    mistake changes (a dict name -> array); ``hint`` says what went wrong and how to fix it
    (``N_("...")``: translated when shown, ``lenet._i18n``).
    """

    hint: Text
    result: Callable[[Case], Outputs]


@dataclass(frozen=True)
class Exercise:
    """One exercise: its cases, its ground truth (the engine), and its known mistakes.

    - name, title, section: how the docs and the reports name it (section of the paper)
    - points: what a right answer scores in a gradebook (all or nothing; see ``check``)
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
    - answer: the names of lenet's kernels that compute this exercise's outputs ("*" for
      every one): while the learner's function runs under ``check`` they refuse to run
      (``lenet._guard``: their C function, their ``lenet.reference`` twin, and the layers and
      networks that reach them), and so do the whole-network runs in every check
    """

    name: str
    title: str
    section: str
    summary: str
    points: int
    outputs: tuple[tuple[str, Text], ...]
    make_case: Callable[[np.random.Generator, int], Case]
    solve: Callable[[Case], Outputs]
    starter: str
    hint: Text
    mistakes: tuple[Mistake, ...] = ()
    explain: Callable[[Case, str, np.ndarray], str | None] | None = None
    unpack: Callable[[Any, list[str]], dict] | None = None
    baseline: Callable[[Case], Outputs] | None = None
    returns_dict: bool = False
    axes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    answer: tuple[str, ...] = ()


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
