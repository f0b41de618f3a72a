"""A whole lenet network through the NumPy twins of ``lenet.reference``, layer by layer, in
float64: the oracle for the C core's forward and backward passes of a network (the tests
compare ``Network.forward``, ``Network.backward`` and the fused path with it).

Like ``lenet.reference`` it needs NumPy alone, and no module of the package imports it. It
reads a network's layers by their ``kind`` and parameters only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .reference import (
    _f64,
    activation_backward,
    activation_forward,
    conv_backward,
    conv_forward,
    dense_backward,
    dense_forward,
    rbf_backward,
    rbf_forward,
    subsample_backward,
    subsample_forward,
)

__all__ = ["network_backward", "network_forward"]


def _layer_forward(layer: Any, x: np.ndarray) -> np.ndarray:
    """The weighted sums a of one lenet layer object (by its ``kind``) for the input x."""
    p = layer.params
    if layer.kind == "convolution":
        return conv_forward(x, p["weight"], p["bias"], layer.connection_table, layer.padding)
    if layer.kind == "subsampling":
        sources = getattr(layer, "sources", None)
        return subsample_forward(x, p.get("coefficient"), p.get("bias"), layer.mode, sources)
    if layer.kind == "full connection":
        return dense_forward(x.reshape(x.shape[0], layer.in_features), p["weight"], p["bias"])
    if layer.kind == "euclidean rbf":
        return rbf_forward(x, layer.prototypes)
    raise TypeError(f"no reference for layer {layer.name} of kind {layer.kind!r}")


def network_forward(net: Any, x: ArrayLike) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """[(layer input, a, y = f(a)) for every layer of ``net``], in float64."""
    cache, out = [], _f64(x)
    for layer in net.layers:
        a = _layer_forward(layer, out)
        y = activation_forward(a, layer.activation)
        cache.append((out, a, y))
        out = y
    return cache


def network_backward(net: Any, x: ArrayLike, dout: ArrayLike) -> tuple[np.ndarray, dict]:
    """(dE/dx, {"C1.weight": dE/dw, ...}) for ``net`` at x, given dout = dE/d(output)."""
    cache = network_forward(net, x)
    grads, d = {}, _f64(dout)
    for layer, (inp, a, _) in zip(reversed(net.layers), reversed(cache)):
        da = activation_backward(a, d, layer.activation)
        p, name = layer.params, layer.name
        if layer.kind == "convolution":
            d, grads[name + ".weight"], grads[name + ".bias"] = conv_backward(
                inp, p["weight"], da, layer.connection_table, layer.padding
            )
        elif layer.kind == "subsampling":
            sources = getattr(layer, "sources", None)
            d, gc, gb = subsample_backward(inp, da, p.get("coefficient"), layer.mode, sources)
            if layer.mode == "paper":
                assert gc is not None and gb is not None
                grads[name + ".coefficient"], grads[name + ".bias"] = gc, gb
        elif layer.kind == "full connection":
            d, grads[name + ".weight"], grads[name + ".bias"] = dense_backward(
                inp.reshape(inp.shape[0], layer.in_features), p["weight"], da
            )
            d = d.reshape(inp.shape)
        else:
            d = rbf_backward(inp, layer.prototypes, da)
    return d, grads
