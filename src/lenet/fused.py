"""The fused path: a whole network per call into the C core (csrc/network.c).

The layer objects run one kernel per Python call, which is what a learner wants when looking
inside the network, but at the paper's batch size of one the Python overhead per layer per
image costs more than the arithmetic. The fused path hands the C core a description of the
layers (``layer_spec``) and lets it run forward, loss, backward and the optimiser's update for
a whole run of images without coming back to Python. It calls the same kernels in the same
order on the same flat buffers (``net.parameters``, ``net.gradients``, the optimiser's state),
so it gives the same bits as the per-layer path for the same thread count, and whatever the
layer objects show afterwards is exactly what was trained.

Covered: networks of ``Convolution``, ``Subsampling``, ``FullConnection`` and ``RBFOutput``
layers (LeNet5 and LeNet5.modern, or any stack of them) with the optimisers of lenet.optim.
The layers' caches (``layer.a``, ``layer.y``) are not filled; use ``net.forward`` or
``net.trace`` to look inside.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from .layers import Convolution, FullConnection, RBFOutput, Subsampling
from .model import Network
from .optim import Optimizer


class NotFusable(ValueError):
    """The network has a layer the fused path does not know."""


def _offset(net: Network, arr: np.ndarray | None) -> int | None:
    if arr is None:
        return None
    return (arr.__array_interface__["data"][0] - net.parameters.__array_interface__["data"][0]) \
        // net.parameters.itemsize


def layer_spec(net: Network) -> list[dict]:
    """The description of net's layers that the C core's network calls take (made once per
    network, then kept: a network's layers and buffers never change)."""
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lenet network, got {type(net).__name__}")
    cached = net.__dict__.get("_fused_spec")
    if cached is not None and cached[0] == net.parameters.__array_interface__["data"][0]:
        if isinstance(cached[1], NotFusable):
            raise cached[1]
        return cached[1]
    try:
        spec = _make_spec(net)
    except NotFusable as exc:
        spec = exc
    net.__dict__["_fused_spec"] = (net.parameters.__array_interface__["data"][0], spec)
    if isinstance(spec, NotFusable):
        raise spec
    return spec


def _make_spec(net: Network) -> list[dict]:
    spec, shape = [], tuple(net.input_shape)
    for layer, out_shape in zip(net.layers, net._shapes):
        d = {"activation": layer.activation, "mode": "paper", "k": 0, "pad": 0, "table": None,
             "weight": None, "bias": None, "prototypes": None}
        if isinstance(layer, Convolution):
            d.update(kind="conv", k=layer.kernel_size, pad=layer.padding,
                     table=layer._table_for_core, weight=_offset(net, layer.params["weight"]),
                     bias=_offset(net, layer.params["bias"]), in_shape=shape, out_shape=out_shape)
        elif isinstance(layer, Subsampling):
            d.update(kind="subsample", mode=layer.mode, in_shape=shape, out_shape=out_shape,
                     weight=_offset(net, layer.params.get("coefficient")),
                     bias=_offset(net, layer.params.get("bias")))
        elif isinstance(layer, FullConnection):
            d.update(kind="dense", in_shape=(layer.in_features, 1, 1),
                     out_shape=(layer.out_features, 1, 1),
                     weight=_offset(net, layer.params["weight"]),
                     bias=_offset(net, layer.params["bias"]))
        elif type(layer) is RBFOutput:
            classes, features = layer.prototypes.shape
            d.update(kind="rbf", in_shape=(features, 1, 1), out_shape=(classes, 1, 1),
                     prototypes=layer.prototypes)
        else:
            raise NotFusable(f"layer {layer.name} ({type(layer).__name__}) has no fused kernel")
        spec.append(d)
        shape = tuple(out_shape)
    if len(spec) > 16:
        raise NotFusable(f"the fused path takes at most 16 layers, the network has {len(spec)}")
    return spec


def supports(net: Network) -> bool:
    """True when every layer of net has a fused kernel."""
    try:
        layer_spec(net)
    except NotFusable:
        return False
    return True


def forward(net: Network, x: ArrayLike, batch_size: int = 256) -> np.ndarray:
    """net's output for the batch x, all layers in one C call per `batch_size` images.

    The same numbers as ``net.forward(x)`` (the same kernels), but nothing is cached in the
    layers: for inference. x is (N, C, H, W), or one image (C, H, W) or (H, W).
    """
    batch = net._batch(x)
    arr = np.asarray(batch)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"x must hold real numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=net.dtype)
    if not np.isfinite(arr).all():
        raise ValueError("x contains non-finite values (NaN or Inf)")
    return _core.network_forward(layer_spec(net), net.parameters, arr, batch_size)


class FusedTrainer:
    """Training steps of `net` by `optimizer`, run in C.

    ``run(images, labels, order)`` takes the samples images[order], ``batch_size`` at a time
    (the last step may be smaller), and for each step runs forward, the loss, backward and the
    optimiser's update, exactly as the per-layer loop would::

        out = net.forward(x); loss, grad = <loss>(out, labels); net.backward(grad); optimizer.step()

    The workspace is allocated once, here.
    """

    def __init__(self, net: Network, optimizer: Optimizer, batch_size: int,
                 loss: str = "penalty", j: float = 1.0) -> None:
        if optimizer.net is not net:
            raise ValueError("optimizer must update this network")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or not 1 <= batch_size <= 65536:
            raise ValueError(f"batch_size must be an integer from 1 to 65536, got {batch_size!r}")
        self.net, self.optimizer = net, optimizer
        self.batch_size, self.loss, self.j = int(batch_size), loss, float(j)
        if type(optimizer).step is not Optimizer.step or optimizer.name not in _core.OPTIMIZER_KINDS:
            raise NotFusable(f"optimizer {type(optimizer).__name__} has its own step(), which the "
                             f"fused path cannot run")
        self.spec = layer_spec(net)
        self._workspace = _core.network_workspace(self.spec, net.parameters, self.batch_size)

    def run(self, images: np.ndarray, labels: np.ndarray, order: np.ndarray,
            loss_sum: float = 0.0) -> tuple[int, float, int, bool]:
        """Train on images[order]; returns (steps done, loss_sum + sum of loss x samples over
        them, misclassified samples, diverged). When a step's loss is not finite the steps
        stop before its update and diverged is True."""
        steps, loss_sum, errors, diverged, step = _core.network_train(
            self.spec, self.net.parameters, self.net.gradients, self.optimizer.core_state(),
            images, labels, order, self.batch_size, self.loss, self.j, self._workspace, loss_sum)
        self.optimizer.steps = step
        return steps, loss_sum, errors, diverged
