"""Honest checks: while a learner's function runs under an exercise's check, lenet's own answer
to that exercise is out of reach.

lenet computes each exercise's answer in more than one place: the C core's kernels
(``lenet.engine._core``, which the layer objects and the networks call), their NumPy twins
(``lenet.reference``), and a few NumPy helpers of the engine (the squashing functions of
``lenet.engine.layers.SQUASHING``, ``softmax``, a layer's ``unit_by_hand``). Each of those
functions is guarded under its kernel's name ("subsample_forward" for both
``lenet.reference.subsample_forward`` and ``lenet.engine._core.subsample_forward``), inside
the function itself: so the guard holds however the function was reached (a module attribute,
a name imported before the check, a layer object, a network).

``blocking(exercise, kernels)`` is what ``lenet.teach.exercises.check`` enters around the call
of the learner's function, and only that call: while it is open, a guarded function whose
kernel is blocked raises ``WriteItYourself``, naming the exercise and the function called. The
whole-network runs (the fused path's ``network_*`` calls, ``unit_by_hand``) compute every
exercise's answer and are blocked in every check.

Cost: outside a check ``BLOCKED`` is empty. A guarded Python function tests it for emptiness
(one truth test of a dict) before it runs; the binding tests the same dict from C. The fused
path's loops in C test nothing: only its Python entries (``network_train`` once per run of
steps) do, once per call.

This module imports nothing of the package but ``lenet._i18n`` (which imports nothing of it),
so that the oracle (``lenet.reference``), the engine and the binding can all consult it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from ._i18n import _

P = ParamSpec("P")
R = TypeVar("R")

#: kernel name -> the exercise whose check blocks it; empty outside a check. Changed in place,
#: never rebound: the binding keeps this same dict.
BLOCKED: dict[str, str] = {}

#: as a kernel name: every guarded function (the whole training step is the answer)
EVERY = "*"

#: blocked in every check: each runs a whole network (or a unit of any layer), so it holds
#: every exercise's answer
WHOLE_NETWORK = (
    "network_forward",
    "network_train",
    "network_trace",
    "network_gradients",
    "network_curvature",
    "unit_by_hand",
)

#: the refusals since the innermost check began (its learner may have caught them)
_refused: list[WriteItYourself] = []


class WriteItYourself(RuntimeError):
    """A learner's function called lenet's own answer to the exercise being checked."""

    def __init__(self, exercise: str, function: str) -> None:
        self.exercise, self.function = exercise, function
        super().__init__(
            _(
                "your function called {function}, which computes lenet's own answer to the "
                "exercise {exercise}: write this one yourself (in NumPy). While a check runs, "
                "lenet's functions for that exercise are out of reach, however they are reached "
                "(lenet.reference, the engine's kernels, the layers and networks that call them).",
                function=function,
                exercise=repr(exercise),
            )
        )


def refuse(kernel: str, function: str) -> None:
    """Raise ``WriteItYourself`` if the open check blocks ``kernel``; ``function`` is the name
    the message gives (the one the learner called)."""
    exercise = BLOCKED.get(kernel) or BLOCKED.get(EVERY)
    if exercise is not None:
        refusal = WriteItYourself(exercise, function)
        _refused.append(refusal)
        raise refusal


def guarded(kernel: str, function: str | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a Python function computing ``kernel``'s result: it refuses to run while a check
    blocks that kernel. ``function`` names it in the message (default: module.qualname)."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        name = function or f"{fn.__module__}.{fn.__qualname__}"

        @functools.wraps(fn)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            if BLOCKED:
                refuse(kernel, name)
            return fn(*args, **kwargs)

        return inner

    return wrap


@contextmanager
def blocking(exercise: str, kernels: Iterable[str]) -> Iterator[list[WriteItYourself]]:
    """While open, the guarded functions of ``kernels`` (and ``WHOLE_NETWORK``'s) raise
    ``WriteItYourself`` naming ``exercise``. Yields a list that holds, once the block closes,
    every refusal raised inside it, caught by the learner's code or not."""
    saved, saved_refused = dict(BLOCKED), list(_refused)
    BLOCKED.update(dict.fromkeys((*kernels, *WHOLE_NETWORK), exercise))
    _refused.clear()
    refused: list[WriteItYourself] = []
    try:
        yield refused
    finally:
        refused.extend(_refused)
        BLOCKED.clear()
        BLOCKED.update(saved)
        _refused[:] = saved_refused
