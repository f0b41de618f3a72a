"""A whole lenet network through the NumPy twins of ``lenet.reference``, layer by layer, in
float64: the oracle for the C core's forward and backward passes of a network (the tests
compare ``Network.forward``, ``Network.backward`` and the fused path with it), and the
independent scorer of Figure 9's networks.

* ``network_forward(net, x)``, ``network_backward(net, x, dout)`` read a network's layer
  objects by their ``kind`` and parameters only.
* ``figure9_forward(model, state, x)`` needs no network object at all: it runs one of Figure
  9's networks (``ARCHITECTURES``) from its parameters alone (a state dict, as a checkpoint
  holds them) and ``lenet.paper``'s tables; ``reference_input(images, scheme)`` makes its
  input from MNIST's uint8 digits as the paper describes it, and ``checkpoint_penalties(path,
  images)`` reads a checkpoint with ``np.load`` and does both. So a test error measured with
  them shares no code with the training path (benchmarks/figure9_study.py scores that way).
* ``network_errors(net, x, labels)`` counts a network object's wrong answers by
  ``network_forward``, 500 images at a time (the scorer of the road and SDLM studies).
* ``boosted_answer(folder, images)`` scores a boosted run folder (``lenet train --model
  boosted-lenet4``) the same way: each of its three nets by ``checkpoint_penalties``, combined
  by the rule and threshold its ``boosting.json`` records.

Like ``lenet.reference`` it needs NumPy alone, and no module of the package imports it.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .paper import (
    LENET1_DIGIT_SIZE,
    LENET1_H3,
    LENET4_C3,
    LENET4_S2_SOURCES,
    MNIST_PADDING,
    TABLE_I,
    connection_table,
    rbf_prototypes,
)
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

__all__ = [
    "ARCHITECTURES",
    "boosted_answer",
    "checkpoint_penalties",
    "figure9_forward",
    "network_backward",
    "network_errors",
    "network_forward",
    "penalty_gap",
    "reference_input",
]


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


# ---- Figure 9's networks from their parameters alone -----------------------------------------

# the layers of a Figure 9 network: "conv" (5x5 convolution), "sub" (2x2 windows summed, times
# a coefficient, plus a bias), "full" (full connection), each squashed; "rbf" (squared distances
# to fixed prototypes: LeNet-5's bitmaps, or for the others their +-1 place codes, "code")
_CODE = ("code", "rbf")
_FC = ("output", "full")
#: model -> (the input scheme it reads, its layers (name, kind) in order), as Section II.B
#: (LeNet-5), Section III.C.7 (LeNet-1) and Figure 9 (LeNet-4, the fully connected nets) say
ARCHITECTURES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "paper": (
        "paper",
        (("C1", "conv"), ("S2", "sub"), ("C3", "conv"), ("S4", "sub"), ("C5", "conv"),
         ("F6", "full"), ("output", "rbf")),
    ),
    "lenet1": (
        "lenet1",
        (("H1", "conv"), ("H2", "sub"), ("H3", "conv"), ("H4", "sub"), _FC, _CODE),
    ),
    "lenet4": (
        "paper",
        (("C1", "conv"), ("S2", "sub"), ("C3", "conv"), ("S4", "sub"), ("F5", "full"), _FC,
         _CODE),
    ),
    "fc-300": ("paper-28", (("H1", "full"), _FC, _CODE)),
    "fc-1000": ("paper-28", (("H1", "full"), _FC, _CODE)),
    "fc-300-100": ("paper-28", (("H1", "full"), ("H2", "full"), _FC, _CODE)),
    "fc-500-150": ("paper-28", (("H1", "full"), ("H2", "full"), _FC, _CODE)),
}  # fmt: skip
#: (model, layer) -> the input maps each output map reads, where a layer is not fully wired
_TABLES = {("paper", "C3"): TABLE_I, ("lenet1", "H3"): LENET1_H3, ("lenet4", "C3"): LENET4_C3}
#: (model, layer) -> the input map each output map of a subsampling layer reads (LeNet-4's S2:
#: two maps per C1 map)
_SOURCES = {("lenet4", "S2"): LENET4_S2_SOURCES}


#: each kind of layer's parameters
_PARAMS = {
    "conv": ("weight", "bias"),
    "sub": ("coefficient", "bias"),
    "full": ("weight", "bias"),
    "rbf": (),
}


def _check_model(model: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    if model not in ARCHITECTURES:
        raise ValueError(f"no reference for model {model!r}; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[model]


def _param(state: Any, key: str) -> np.ndarray:
    if key not in state:
        raise ValueError(f"the parameters hold no {key!r}")
    return _f64(state[key])


def figure9_forward(model: str, state: Any, x: ArrayLike) -> np.ndarray:
    """The output penalties (N, 10) of Figure 9's network ``model`` (a key of
    ``ARCHITECTURES``) with parameters ``state`` ({"C1.weight": ..., as a checkpoint holds
    them}) for the input x (N, 1, H, W) made by ``reference_input``; the smallest wins.

    The wiring comes from ``lenet.paper`` (Table I, LeNet-1's H3, LeNet-4's S2 pairs and C3),
    every size from the parameters' shapes; every unit but the RBF ones is squashed by
    f(a) = 1.7159 tanh(2a/3). Computed in float64."""
    _, layers = _check_model(model)
    names = {f"{name}.{p}" for name, kind in layers for p in _PARAMS[kind]}
    extra = sorted(set(state) - names)
    if extra:
        raise ValueError(f"the parameters of {model} hold keys it has no use for: {extra}")
    out = _f64(x)
    for name, kind in layers:
        if kind == "rbf":  # LeNet-5's bitmaps; the others' +1/-1 place codes
            prototypes = rbf_prototypes() if model == "paper" else 2.0 * np.eye(10) - 1.0
            return rbf_forward(out.reshape(len(out), -1), prototypes)
        if kind == "conv":
            w = _param(state, name + ".weight")
            reads = _TABLES.get((model, name))
            table = None if reads is None else connection_table(reads, w.shape[1])
            a = conv_forward(out, w, _param(state, name + ".bias"), table)
        elif kind == "sub":
            coefficient, bias = _param(state, name + ".coefficient"), _param(state, name + ".bias")
            a = subsample_forward(out, coefficient, bias, "paper", _SOURCES.get((model, name)))
        else:
            w = _param(state, name + ".weight")
            a = dense_forward(out.reshape(len(out), -1), w, _param(state, name + ".bias"))
        out = activation_forward(a, "scaled_tanh")
    raise AssertionError(f"{model}'s layers end in no RBF units")


@functools.cache  # made once: reference_input is called a chunk at a time
def _shrink_weights(size: int = 28) -> np.ndarray:
    """(size, size) whole numbers: [i, k] is 4 x the length of source pixel k that output pixel
    i covers when the image shrinks by LENET1_DIGIT_SIZE / 20 = 4/5 about its centre (MNIST's
    digits fill 20 of 28 pixels). Output pixel i covers the source interval from
    1.25 (i - c) + c to 1.25 (i + 1 - c) + c, c = size / 2: in quarter pixels from 5i - c to
    5i + 5 - c, whole numbers; so the shrunk image is exact in integers, and its values (each
    a multiple of 1/25 of a pixel value) round without a tie."""
    assert LENET1_DIGIT_SIZE * 5 == 20 * 4 and size % 2 == 0  # the quarter-pixel grid
    weights = np.zeros((size, size), dtype=np.int64)
    for i in range(size):
        lo, hi = 5 * i - size // 2, 5 * i + 5 - size // 2
        for k in range(size):
            weights[i, k] = max(0, min(hi, 4 * k + 4) - max(lo, 4 * k))
    return weights


def reference_input(images: ArrayLike, scheme: str) -> np.ndarray:
    """MNIST's uint8 digits (N, 28, 28) -> float64 network input (N, 1, H, W), as the paper
    describes it (Section III.A): pixel p -> -0.1 + 1.275 p / 255 (background -0.1, ink
    1.175), and

    * ``"paper"``: padded by 2 background pixels to 32x32 (LeNet-5, LeNet-4);
    * ``"paper-28"``: 28x28 as it is (the fully connected nets);
    * ``"lenet1"``: the digit down-sampled to 16x16 and centred in 28x28 (LeNet-1): each
      pixel the average of the source pixels under it, weighted by the area it covers, then
      rounded to a whole pixel value.
    """
    p = np.asarray(images)
    if p.dtype != np.uint8 or p.ndim != 3 or p.shape[1:] != (28, 28):
        raise ValueError(f"images must be uint8 (N, 28, 28), got {p.dtype} {p.shape}")
    if scheme not in ("paper", "paper-28", "lenet1"):
        raise ValueError(f"no reference for the input scheme {scheme!r}")
    if scheme == "lenet1":
        a = _shrink_weights(28)
        total = a @ p.astype(np.int64) @ a.T  # 25 x the value
        p = (2 * total + 25) // 50  # rounded to the nearest whole value (never a tie)
    x = -0.1 + 1.275 * p.astype(np.float64) / 255.0
    if scheme == "paper":
        x = np.pad(x, ((0, 0), (MNIST_PADDING,) * 2, (MNIST_PADDING,) * 2), constant_values=-0.1)
    return x[:, None]


def checkpoint_penalties(path: str | os.PathLike, images: ArrayLike) -> tuple[str, np.ndarray]:
    """(model, penalties (N, 10)) of the network a lenet checkpoint holds, for MNIST's uint8
    digits ``images`` (N, 28, 28): the file read by ``np.load`` (its parameters and its
    config's model and preprocessing), the input made by ``reference_input``, the network run
    by ``figure9_forward``, 500 images at a time."""
    file = os.fspath(path)
    if os.path.isdir(file):
        file = os.path.join(file, "checkpoint.npz")
    with np.load(file, allow_pickle=False) as archive:
        config = json.loads(str(archive["meta/config"]))
        state = {k: archive[k] for k in archive.files if "/" not in k}
    model = config.get("model", "paper")
    scheme, _ = _check_model(model)
    if config.get("preprocessing", scheme) != scheme:
        raise ValueError(
            f"{file}: its {model} network was trained on preprocessing "
            f"{config['preprocessing']!r}, the reference makes {scheme!r}"
        )
    images = np.asarray(images)
    out = [
        figure9_forward(model, state, reference_input(images[lo : lo + 500], scheme))
        for lo in range(0, len(images), 500)
    ]
    return model, np.concatenate(out) if out else np.zeros((0, 10))


def network_errors(net: Any, x: ArrayLike, labels: ArrayLike) -> int:
    """How many of the inputs x (prepared as ``net`` reads them) ``net`` answers wrongly, by
    ``network_forward``, 500 at a time: the answer is the smallest penalty of an RBF output,
    the largest output otherwise."""
    rbf = net.layers[-1].kind == "euclidean rbf"
    x, labels = np.asarray(x), np.asarray(labels)
    wrong = 0
    for lo in range(0, len(labels), 500):
        out = network_forward(net, x[lo : lo + 500])[-1][2]
        answer = out.argmin(axis=1) if rbf else out.argmax(axis=1)
        wrong += int(np.sum(answer != labels[lo : lo + 500]))
    return wrong


# ---- boosted LeNet-4 from its run folder ------------------------------------------------------


def penalty_gap(penalties: ArrayLike) -> np.ndarray:
    """(N,) the second smallest penalty minus the smallest, per row: how sure the answer is."""
    p = np.partition(_f64(penalties), 1, axis=1)
    return p[:, 1] - p[:, 0]


def boosted_answer(folder: str | os.PathLike, images: ArrayLike) -> dict[str, Any]:
    """A boosted run folder's answers for MNIST's uint8 digits ``images`` (N, 28, 28), as the
    paper combines three nets: net 1's penalties on every image; where their gap (second
    smallest minus smallest) reaches the threshold ``boosting.json`` records, net 1's answer
    stands, elsewhere the answer is the smallest sum of the three nets' penalties (nets 2 and 3
    run on those images only). Each net is read from its folder (``net1/``, ``net2/``,
    ``net3/``) by ``checkpoint_penalties``. Returns {"model": the nets' model, "threshold",
    "classes" (N,), "full" (N,) bool: where all three ran, "net1": net 1's penalties (N, 10),
    "cost": 1 + 2 x the share of ``full``, against one net}."""
    with open(os.path.join(folder, "boosting.json")) as f:
        threshold = json.load(f).get("threshold")
    if threshold is None:
        raise ValueError(f"{folder}: the boosted run is not finished (no threshold recorded)")
    images = np.asarray(images)
    model, net1 = checkpoint_penalties(os.path.join(folder, "net1"), images)
    full = penalty_gap(net1) < threshold if len(net1) else np.zeros(0, bool)
    summed = net1[full].copy()
    for name in ("net2", "net3"):
        other, penalties = checkpoint_penalties(os.path.join(folder, name), images[full])
        if other != model:
            raise ValueError(f"{folder}: net 1 is a {model}, {name} a {other}")
        summed += penalties
    classes = np.argmin(net1, axis=1)
    classes[full] = np.argmin(summed, axis=1)
    cost = 1.0 + 2.0 * float(np.mean(full)) if len(full) else 1.0
    return {
        "model": model,
        "threshold": float(threshold),
        "classes": classes,
        "full": full,
        "net1": net1,
        "cost": cost,
    }
