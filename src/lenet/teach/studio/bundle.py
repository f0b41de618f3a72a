"""A network described for the C core in WebAssembly (``assets/lenet-core.js``).

``describe(net, recipe)`` gives a JSON-ready dict: the layers as the C core's whole-network
calls take them (``lenet.engine.fused.layer_spec``, with the C enums' codes), their names,
shapes, connection tables and prototypes, the flat parameters (float32, base64), the input's
preprocessing (the 256-value table ``lut`` and the padding of ``lenet.engine.inputs.Preprocessed``),
the loss the recipe trains with, and what an optimiser needs (the mask of trainable values).
Python owns every rule; the JavaScript binding only carries these numbers into the module.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from ...engine import _core, fused
from ...engine.inputs import Preprocessed
from ...engine.losses import loss_for
from ...engine.network import Network
from ...run.recipes import Recipe

__all__ = ["FORMAT", "describe", "encode"]

#: The version of the description's layout; lenet-core.js reads this one.
FORMAT = 1


def encode(values: np.ndarray) -> str:
    """Little-endian bytes of an array, base64 (what the binding decodes into a typed array)."""
    arr = np.ascontiguousarray(values)
    return base64.b64encode(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()).decode()


def _layer(name: str, d: dict[str, Any]) -> dict[str, Any]:
    table = d["table"]
    protos = d["prototypes"]
    return {
        "name": name,
        "kind": int(d["kind"]),
        "activation": _core.ACTIVATIONS.index(d["activation"]),
        "activation_name": d["activation"],
        "mode": _core.SUBSAMPLING_MODES.index(d["mode"]),
        "in_shape": [int(v) for v in d["in_shape"]],
        "out_shape": [int(v) for v in d["out_shape"]],
        "out_maps": int(d["out_shape"][0]),
        "k": int(d["k"]),
        "pad": int(d["pad"]),
        "table": None if table is None else encode(np.asarray(table, np.uint8)),
        "weight": d["weight"],
        "bias": d["bias"],
        "prototypes": None if protos is None else encode(np.asarray(protos, np.float32)),
    }


def describe(net: Network, recipe: Recipe) -> dict[str, Any]:
    """``net`` and what ``recipe`` says about its input and training, for lenet-core.js.

    The parameters travel as float32 (a float64 network's are rounded); the preprocessing
    table as float64, which the binding rounds to the type it computes in, as
    ``Preprocessed`` does. Raises ``lenet.engine.fused.NotFusable`` for a network the C core
    cannot run whole."""
    spec = fused.layer_spec(net)
    # MNIST's 28x28 pixels, made into the network's input as the recipe's preprocessing says
    pixels = Preprocessed(np.zeros((1, net.input_shape[0], 28, 28), np.uint8), recipe.preprocessing)
    if pixels.shape[1:] != tuple(net.input_shape):
        raise ValueError(
            f"28x28 pixels preprocessed as {recipe.preprocessing!r} make inputs of "
            f"{pixels.shape[1:]}, the network takes {tuple(net.input_shape)}"
        )
    loss = loss_for(net, recipe.loss, recipe.j if recipe.loss == "discriminative" else None)
    lut64 = Preprocessed(pixels.pixels, recipe.preprocessing, np.float64).lut
    return {
        "format": FORMAT,
        "dtype": net.dtype.name,
        "layers": [_layer(layer.name, d) for layer, d in zip(net.layers, spec)],
        "n_parameters": int(net.parameters.size),
        "parameters": encode(net.parameters.astype(np.float32)),
        "mask": encode(net.parameter_mask.astype(np.uint8)),
        "input": {
            "shape": [int(v) for v in net.input_shape],
            "pixels": [int(v) for v in pixels.pixels.shape[1:]],
            "preprocessing": recipe.preprocessing,
            "lut": encode(lut64),
            "pad": int(pixels.pad),
        },
        "output": "penalties" if spec[-1]["kind"] == _core.LAYER_RBF else "logits",
        "loss": loss.name,
        "j": float(loss.j),
        "optimizer": {"kind": recipe.optimizer, "mu": recipe.mu, "lr": recipe.lr},
    }
