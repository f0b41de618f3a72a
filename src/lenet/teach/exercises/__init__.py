"""Exercises: write the pieces of LeNet-5 in NumPy and check them against the engine.

Each exercise asks for one piece of the paper's network as a plain NumPy function: the
squashing function and its slope, S2's subsampling forward and backward, C3's convolution
through Table I, the Euclidean RBF output and its gradient, the gradient of loss (9), the
second-derivative pass of Appendix C for one layer, and one whole training step; then two
pieces of the modern network that the paper's has not, max pooling's backward pass and
softmax cross-entropy with its gradient (``GROUPS``: "paper", "modern"). Each has a page,
shipped in the package beside its code (``lenet/teach/exercises/NAME.md`` beside
``NAME.py``): ``describe(name)`` returns it, with what to implement, the formulas, the shapes
and a starter signature; ``starter(name)`` returns the starter code alone.

    >>> import lenet.teach.exercises
    >>> lenet.teach.exercises.names()[:3]
    ('squash', 'squash_derivative', 's2_forward')

``check(name, fn)`` runs ``fn`` on several random cases and compares its results with the
engine's (the C core, through lenet's layer classes, in float64). It prints a pass, or the
first failing case: the inputs' shapes, the wrong output, its worst element with the expected
and actual values, and a hint. The hint is specific when the result matches a known mistake
(the coefficient forgotten, max pooling, a flipped kernel, a missing connection, the factor 2
of the RBF derivative, a tie in max pooling broken the wrong way ...): each exercise also
computes what those mistakes give (mostly by feeding the engine the mistaken inputs) and names
the one the learner's result matches; a softmax that overflows gets a hint of its own. A result
in float32 is compared in float64 like any other, so it passes only where float32's rounding
stays within the tolerance (RTOL, ATOL; docs/exercises/README.md lists which exercises that
is); when it fails but its values are right to that precision, the hint says so. It returns
a ``CheckResult``: true when every case passes, with the points scored and the message.

The package holds one module per exercise (``squash.py`` ... ``training_step.py``,
``maxpool_backward.py``, ``softmax_cross_entropy_gradient.py``: its starter, its cases, the
engine's answer, its known mistakes and hints) and the machinery they share:
``exercise.py`` (what an exercise is), ``registry.py`` (their order, ``names``, ``starter``,
``summary``, ``describe``), ``checking.py`` (``check``), ``compare.py`` (the tolerances) and
``report.py`` (what a failing case prints); ``grading.py`` grades a learner's whole file in a
process of its own (``lenet exercises check FILE``).
"""

from __future__ import annotations

from ..._guard import WriteItYourself
from .checking import CheckResult, check
from .compare import ATOL, LOW_PRECISION_RTOL, RTOL
from .exercise import Exercise, Mistake
from .registry import EXERCISES, GROUPS, describe, names, starter, summary

__all__ = [
    "ATOL",
    "EXERCISES",
    "GROUPS",
    "LOW_PRECISION_RTOL",
    "RTOL",
    "CheckResult",
    "Exercise",
    "Mistake",
    "WriteItYourself",
    "check",
    "describe",
    "names",
    "starter",
    "summary",
]
