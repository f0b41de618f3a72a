"""What a layer says about itself to a learner: ``explain()`` (its formula, shapes, parameters
and place in the paper), the same as HTML for a notebook, and one of its units computed by hand
for the studio (``unit_by_hand``). ``Layer`` inherits it; each kind fills in its formula, its
shapes and its weighted sum by hand."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..._guard import guarded
from .. import display
from .squashing import SQUASHING

#: Where the paper describes each of LeNet-5's layers (see the paper notes' section names).
PAPER_PLACES = {
    "C1": "Section II.B (C1), Figure 2",
    "S2": "Section II.B (S2), Figure 2",
    "C3": "Section II.B (C3), Table I, Figure 2",
    "S4": "Section II.B (S4), Figure 2",
    "C5": "Section II.B (C5), Figure 2",
    "F6": "Section II.B (F6), Figure 2; squashing function: Appendix A",
    "output": "Section II.B (output layer), Figure 3; its losses: Section II.C, equations (8) "
    "and (9)",
}


def format_shape(shape: tuple) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def rounded(arr: Any) -> list:
    """An array as nested lists of float64 rounded to 6 decimals (the studio's JSON)."""
    return np.round(np.asarray(arr, dtype=np.float64), 6).tolist()


class Explained:
    """The explaining part of a layer. Subclasses define ``formula()`` and ``_sum_by_hand``,
    and may refine ``_shape_text``, ``_parameter_text`` and ``_departures``."""

    name: str
    kind: str
    section: str
    activation: str
    input_shape: tuple[int, ...] | None

    if TYPE_CHECKING:  # what Layer provides

        def param_shapes(self) -> dict[str, tuple[int, ...]]: ...
        def parameter_mask(self) -> dict[str, np.ndarray]: ...
        def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]: ...
        def connections(self, input_shape: tuple[int, ...]) -> int: ...

    def formula(self) -> str:
        """What the layer computes, as the paper writes it (weighted sums a, then states y)."""
        raise NotImplementedError

    def explanation(self) -> list[tuple[str, str]]:
        """What ``explain()`` says, as (what, text) rows: "computes" (the formula),
        "squashing", "input" and "output" (or "shapes"), "parameters", "connections", "in the
        paper". A text may run over several lines (the formulas)."""
        rows = [("computes", self.formula())]
        if self._squashing_text():
            rows.append(("squashing", self._squashing_text()))
        if self.input_shape is not None:
            out = self.output_shape(self.input_shape)
            rows.append(("input", f"(N, {', '.join(map(str, self.input_shape))})"))
            rows.append(("output", f"(N, {', '.join(map(str, out))})"))
        else:
            rows.append(("shapes", self._shape_text()))
        rows.append(("parameters", self._parameter_text()))
        if self.input_shape is not None:
            rows.append(("connections", f"{self.connections(self.input_shape):,} per image"))
        rows.append(("in the paper", self.paper_place()))
        return rows

    def title(self) -> str:
        """The layer's name and kind: "C3: convolution layer"."""
        kind = "Euclidean RBF" if self.kind == "euclidean rbf" else self.kind
        return f"{self.name}: {kind} layer"

    def explain(self) -> str:
        """A short text for a learner: what the layer computes (the formula), its input and
        output shapes, its parameters, and where in the paper it is described."""
        lines = [self.title()]
        for what, text in self.explanation():
            first, *more = text.splitlines()
            lines.append(f"  {what:12} {first}")
            lines += [f"{'':15}{line}" for line in more]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """``explain()`` as HTML, for a notebook (lenet.engine.display)."""
        return display.definitions(self.title(), self.explanation())

    def paper_place(self) -> str:
        """The section, table and figure of the paper that describe this layer (and how this
        layer departs from the paper's, for the modern variant)."""
        place = PAPER_PLACES.get(self.name, self.section)
        departures = self._departures()
        if not departures:
            return place
        return f"not as the paper builds it ({', '.join(departures)}); the paper's: {place}"

    def _departures(self) -> list[str]:
        """How this layer differs from the paper's unit of the same kind."""
        if self.activation in ("scaled_tanh", "identity"):
            return []
        return [f"{self.activation} squashing"]

    def _squashing_text(self) -> str:
        """The "squashing" row of ``explain()`` ("" for none: the RBF output has no f)."""
        return SQUASHING[self.activation].text()

    def _shape_text(self) -> str:
        return "see output_shape()"

    def _parameter_text(self) -> str:
        if not self.param_shapes():
            return "none"
        masks = self.parameter_mask()
        lines = []
        for name, shape in self.param_shapes().items():
            trainable, stored = int(masks[name].sum()), math.prod(shape)
            note = (
                ""
                if trainable == stored
                else f" ({stored - trainable:,} fixed at 0 by the connection table)"
            )
            lines.append(f"{name} {format_shape(shape)}: {trainable:,} trainable{note}")
        return "\n".join(lines)

    # -- one unit by hand (the studio) -----------------------------------------------------------
    @guarded("unit_by_hand")  # any layer's unit: out of reach in every check
    def unit_by_hand(self, x: np.ndarray, index: tuple[int, ...]) -> dict[str, Any]:
        """The unit ``index`` of this layer's output for one sample's input ``x``, computed by
        hand in float64: the numbers of its weighted sum (the kind's ``_sum_by_hand``: its
        "kind", the numbers, and "a"), then the squashing as a formula in a
        ("squashing"), with the number filled in ("squashing_filled"), and its value "y"."""
        work = self._sum_by_hand(np.asarray(x, dtype=np.float64), index)
        squashing = SQUASHING[self.activation]
        a = work["a"]
        return {
            **work,
            "squashing": squashing.written("a"),
            "squashing_filled": squashing.written(f"{a:.4f}"),
            "y": float(squashing.function(np.float64(a))),
        }

    def _sum_by_hand(self, x: np.ndarray, index: tuple[int, ...]) -> dict[str, Any]:
        """The kind's weighted sum of unit ``index`` written out, ending with its "a"."""
        raise NotImplementedError(f"cannot compute a unit of a {type(self).__name__} by hand")
