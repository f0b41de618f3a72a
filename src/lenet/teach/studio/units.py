"""One unit of a layer, computed by hand from a trace: the numbers that go into its weighted
sum, the sum, the bias and the squashing, beside the value the engine computed.

The arithmetic is the layer's own (``Layer.unit_by_hand``: each kind writes its formula out in
NumPy, in its file of lenet.engine.layers); this module finds the layer and its input in a
trace (``net.trace(x, pre_activations=True)``), checks the unit asked for, and puts the
engine's values beside the hand-made ones, so that a learner sees where each number of a map
comes from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engine.layers import SQUASHING, Layer
from ...engine.network import Network
from ...engine.trace import Trace

__all__ = ["UnitError", "compute_unit", "squashing_formula"]


class UnitError(ValueError):
    """A unit that the layer does not have: the message gives the valid ranges."""


def _input_of(net: Network, trace: Trace, layer: Layer) -> np.ndarray:
    names = [lay.name for lay in net.layers]
    i = names.index(layer.name)
    return np.asarray(trace["input" if i == 0 else names[i - 1]][0], dtype=np.float64)


def _index(layer: Layer, shape: tuple[int, ...], index: Any) -> tuple[int, ...]:
    """The unit's index into the layer's output of one image, checked."""
    if not isinstance(index, (list, tuple)) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in index
    ):
        raise UnitError(f"unit must be a list of whole numbers (map, row, column), got {index!r}")
    if len(shape) == 3 and shape[1] * shape[2] == 1 and len(index) == 1:  # C5: one unit a map
        index = (index[0], 0, 0)
    if len(index) != len(shape) or not all(0 <= i < n for i, n in zip(index, shape)):
        ranges = " x ".join(f"0..{n - 1}" for n in shape)
        axes = "map, row, column" if len(shape) == 3 else "unit"
        raise UnitError(f"{layer.name} has units {ranges} ({axes}), got {list(index)}")
    return tuple(index)


def squashing_formula(activation: str) -> str:
    """The squashing function as the page writes it: "f(a) = 1.7159 tanh(2/3 x a)"."""
    if activation == "identity":
        return "no squashing"
    return SQUASHING[activation].formula()


def compute_unit(net: Network, trace: Trace, layer_name: str, index: Any) -> dict[str, Any]:
    """The unit `index` of layer `layer_name` for the first image of `trace` (made with
    ``pre_activations=True``), computed by hand, with the engine's values beside it."""
    names = [lay.name for lay in net.layers]
    if layer_name not in names:
        raise UnitError(f"layer must be one of {', '.join(names)}, got {layer_name!r}")
    layer = net.layers[names.index(layer_name)]
    if layer_name + ".a" not in trace:
        raise UnitError("the trace must hold the weighted sums: net.trace(x, pre_activations=True)")
    shape = trace[layer_name].shape[1:]
    unit = _index(layer, shape, index)
    x = _input_of(net, trace, layer)
    work = layer.unit_by_hand(x, unit)
    return {
        "layer": layer_name,
        "kind": work.pop("kind"),
        "unit": list(unit),
        "formula": layer.explain(),
        **work,
        "engine": {
            "a": float(trace[layer_name + ".a"][0][unit]),
            "y": float(trace[layer_name][0][unit]),
        },
    }
