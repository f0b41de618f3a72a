"""One unit of a layer, computed by hand from a trace: the numbers that go into its weighted
sum, the sum, the bias and the squashing, beside the value the engine computed.

The arithmetic here is the layer's formula written out in NumPy on the states a trace keeps
(``net.trace(x, pre_activations=True)``), so that a learner sees where each number of a map
comes from:

* a convolution unit (C1, C3, C5; Section II.B): for each input map it is connected to (for
  C3, Table I's), the 5x5 window under the unit, the kernel, their products and their sum;
  then ``a = bias + sum of those sums`` and ``y = f(a)``;
* a subsampling unit (S2, S4): the 2x2 window, its sum, ``a = coefficient * sum + bias`` and
  ``y = f(a)``; with max pooling (the modern variant), the window's largest value;
* a full-connection unit (F6): the 120 inputs, the unit's weights, their products, their
  sum, the bias, ``y = f(a)``;
* a Euclidean RBF unit (output, Section II.B): ``y_i = sum_j (x_j - w_ij)^2`` term by term.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...engine.layers import Convolution, FullConnection, Layer, RBFOutput, Subsampling
from ...engine.network import Network
from ...engine.trace import Trace
from ...paper import SQUASH_A, SQUASH_S

__all__ = ["SQUASHING", "UnitError", "compute_unit", "squashing_formula"]

#: The squashing functions as the page writes them ({a}: the weighted sum), and in NumPy.
SQUASHING: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "scaled_tanh": (
        f"{SQUASH_A} tanh(2/3 x {{a}})",
        lambda a: SQUASH_A * np.tanh(SQUASH_S * a),
    ),
    "tanh": ("tanh({a})", np.tanh),
    "sigmoid": ("1 / (1 + exp(-{a}))", lambda a: 1.0 / (1.0 + np.exp(-a))),
    "relu": ("max(0, {a})", lambda a: np.maximum(a, 0.0)),
    "swish": ("{a} / (1 + exp(-{a}))", lambda a: a / (1.0 + np.exp(-a))),
    "identity": ("{a}", lambda a: a),
}


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
    return "f(a) = " + SQUASHING[activation][0].format(a="a")


def _squash(layer: Layer, a: float) -> tuple[str, str, float]:
    """The squashing function as a formula in a, with the number filled in, and f(a)."""
    text, fn = SQUASHING[layer.activation]
    return text.format(a="a"), text.format(a=f"{a:.4f}"), float(fn(np.float64(a)))


def _rounded(arr: np.ndarray) -> list:
    return np.round(np.asarray(arr, dtype=np.float64), 6).tolist()


def _convolution(layer: Convolution, x: np.ndarray, m: int, r: int, c: int) -> dict:
    k = layer.kernel_size
    if layer.padding:
        p = layer.padding
        x = np.pad(x, ((0, 0), (p, p), (p, p)))
    weight = np.asarray(layer.params["weight"], dtype=np.float64)
    groups: list[dict[str, Any]] = []
    for j in np.flatnonzero(layer.connection_table[m]):
        window = x[j, r : r + k, c : c + k]
        products = weight[m, j] * window
        groups.append(
            {
                "input_map": int(j),
                "window": _rounded(window),
                "kernel": _rounded(weight[m, j]),
                "products": _rounded(products),
                "sum": float(products.sum()),
            }
        )
    bias = float(layer.params["bias"][m])
    total = float(sum(float(g["sum"]) for g in groups))
    return {"groups": groups, "bias": bias, "a": bias + total}


def _subsampling(layer: Subsampling, x: np.ndarray, m: int, r: int, c: int) -> dict:
    window = x[m, 2 * r : 2 * r + 2, 2 * c : 2 * c + 2]
    if layer.mode == "max":
        return {"window": _rounded(window), "a": float(window.max())}
    total = float(window.sum())
    if layer.mode == "average":
        total /= window.size
    coefficient = float(layer.params["coefficient"][m]) if "coefficient" in layer.params else 1.0
    bias = float(layer.params["bias"][m]) if "bias" in layer.params else 0.0
    return {
        "window": _rounded(window),
        "window_sum": total,
        "coefficient": coefficient,
        "bias": bias,
        "a": coefficient * total + bias,
    }


def _full(layer: FullConnection, x: np.ndarray, i: int) -> dict:
    inputs = x.reshape(-1)
    weights = np.asarray(layer.params["weight"][i], dtype=np.float64)
    products = weights * inputs
    bias = float(layer.params["bias"][i])
    return {
        "inputs": _rounded(inputs),
        "weights": _rounded(weights),
        "products": _rounded(products),
        "sum": float(products.sum()),
        "bias": bias,
        "a": float(products.sum()) + bias,
    }


def _rbf(layer: RBFOutput, x: np.ndarray, i: int) -> dict:
    inputs = x.reshape(-1)
    prototype = np.asarray(layer.prototypes[i], dtype=np.float64)
    terms = (inputs - prototype) ** 2
    return {
        "inputs": _rounded(inputs),
        "prototype": _rounded(prototype),
        "terms": _rounded(terms),
        "a": float(terms.sum()),
    }


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
    if isinstance(layer, Convolution):
        work = _convolution(layer, x, *unit)
        kind = "convolution"
    elif isinstance(layer, Subsampling):
        work = _subsampling(layer, x, *unit)
        kind = "subsampling"
    elif isinstance(layer, RBFOutput):
        work = _rbf(layer, x, unit[0])
        kind = "rbf"
    elif isinstance(layer, FullConnection):
        work = _full(layer, x, unit[0])
        kind = "full connection"
    else:  # pragma: no cover - every layer kind of lenet is above
        raise UnitError(f"cannot compute a unit of a {type(layer).__name__}")
    squashing, filled, y = _squash(layer, work["a"])
    return {
        "layer": layer_name,
        "kind": kind,
        "unit": list(unit),
        "formula": layer.explain(),
        **work,
        "squashing": squashing,
        "squashing_filled": filled,
        "y": y,
        "engine": {
            "a": float(trace[layer_name + ".a"][0][unit]),
            "y": float(trace[layer_name][0][unit]),
        },
    }
