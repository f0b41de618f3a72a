"""The squashing functions a layer applies to its weighted sums a, written once: the names the
C core computes (``ACTIVATIONS``) and, for each, its formula as the page and ``explain()`` write
it, with the same function in NumPy for computing one unit by hand.

The C core (csrc/activation.c) is what trains and infers; the NumPy functions here only fill
in the number a learner reads beside the engine's value (``Layer.unit_by_hand``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._guard import guarded
from ...paper import SQUASH_A, SQUASH_S
from .. import _core

ACTIVATIONS: tuple[str, ...] = _core.ACTIVATIONS


@dataclass(frozen=True)
class Squashing:
    """One squashing function: ``template`` is f written with ``{a}`` for the weighted sum,
    ``function`` the same in NumPy, ``note`` where it comes from (empty for the classics)."""

    template: str
    function: Callable[[Any], Any]
    note: str = ""

    def __post_init__(self) -> None:
        # the function is an exercise's answer (squash): it refuses to run under its check
        guard = guarded("activation_forward", "lenet.engine.layers.SQUASHING[...].function")
        object.__setattr__(self, "function", guard(self.function))

    def written(self, a: str = "a") -> str:
        """f written for the weighted sum ``a`` (a name, or a number already formatted)."""
        return self.template.format(a=a)

    def formula(self) -> str:
        """f as an equation: "f(a) = 1.7159 tanh(2/3 x a)"."""
        return f"f(a) = {self.written()}"

    def text(self) -> str:
        """The line ``explain()`` shows: the formula and its note, "none: y = a" for none."""
        if self.template == "{a}":
            return "none: y = a"
        return self.formula() + (f"  ({self.note})" if self.note else "")


#: The squashing functions, by the name a layer's ``activation`` takes.
SQUASHING: dict[str, Squashing] = {
    "scaled_tanh": Squashing(
        f"{SQUASH_A} tanh(2/3 x {{a}})",
        lambda a: SQUASH_A * np.tanh(SQUASH_S * a),
        "the paper's squashing function, Appendix A",
    ),
    "tanh": Squashing("tanh({a})", np.tanh),
    "sigmoid": Squashing("1 / (1 + exp(-{a}))", lambda a: 1.0 / (1.0 + np.exp(-a))),
    "relu": Squashing(
        "max(0, {a})", lambda a: np.maximum(a, 0.0), "modern variant, not in the paper"
    ),
    "swish": Squashing(
        "{a} / (1 + exp(-{a}))",
        lambda a: a / (1.0 + np.exp(-a)),
        "modern variant, not in the paper",
    ),
    "identity": Squashing("{a}", lambda a: a),
}
assert set(SQUASHING) == set(ACTIVATIONS), "one formula for each squashing function of the core"

#: The squashing functions as the lines ``explain()`` shows (read from ``SQUASHING``).
SQUASHING_FORMULAS: dict[str, str] = {name: s.text() for name, s in SQUASHING.items()}
