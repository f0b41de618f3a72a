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

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from .inputs import Preprocessed
from .losses import Loss, loss_for

if TYPE_CHECKING:  # for the type checker only: the network and optimiser are duck-typed here
    from .network import Network
    from .optim import Optimizer


class NotFusable(ValueError):
    """The network has a layer the fused path does not know, or layers with hooks."""


def layer_spec(net: Network) -> list[dict]:
    """The description of net's layers that the C core's network calls take: each layer's
    ``core_spec``, with its slice of the flat parameter buffer."""
    return _cached(net)[0]


def _cached(net: Network) -> tuple[list[dict], object]:
    """(spec, checked C plan) of net, made once and kept on the network (its layers and buffers
    never change; a copy or unpickled network makes its own)."""
    if not hasattr(net, "layers") or not hasattr(net, "parameter_offsets"):
        raise TypeError(f"net must be a lenet network, got {type(net).__name__}")
    hooked = [layer.name for layer in net.layers if layer.has_hooks]
    if hooked:  # the C loop never passes through the layer objects, so hooks would not run
        raise NotFusable(f"layers {', '.join(hooked)} have hooks, which run only layer by layer")
    cached = net.__dict__.get("_fused_spec")
    if cached is None:
        try:
            spec = _make_spec(net)
            cached = (spec, _core.network_plan(spec, net.parameters))
        except NotFusable as exc:
            cached = exc
        net.__dict__["_fused_spec"] = cached
    if isinstance(cached, NotFusable):
        raise cached
    return cached


def _make_spec(net: Network) -> list[dict]:
    offsets = net.parameter_offsets
    spec = []
    for layer in net.layers:
        d = layer.core_spec(offsets[layer.name][0])
        if d is None:
            raise NotFusable(f"layer {layer.name} ({type(layer).__name__}) has no fused kernel")
        spec.append(d)
    if len(spec) > _core.MAX_LAYERS:
        raise NotFusable(
            f"the fused path takes at most {_core.MAX_LAYERS} layers, the network has {len(spec)}"
        )
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
    layers: for inference. x is (N, C, H, W), or one image (C, H, W) or (H, W), or
    ``Preprocessed`` pixels, made into input in C as each batch is gathered.
    """
    _, plan = _cached(net)
    if isinstance(x, Preprocessed):  # pixels, made into input as each batch is gathered
        pixels = x if x.dtype == net.dtype else x.astype(net.dtype)
        return _core.network_forward(
            plan, net.parameters, pixels.pixels, batch_size, lut=pixels.lut, pad=pixels.pad
        )
    # the checks and conversion a layer gives its input, without the copy
    batch = net.layers[0]._prepare(net._batch(x), "x", "infer")
    return _core.network_forward(plan, net.parameters, batch, batch_size)


def _source(net: Network, x: ArrayLike | Preprocessed) -> dict:
    """x as the C core's calls take it: float values, or Preprocessed pixels with lut and pad."""
    if isinstance(x, Preprocessed):
        pixels = x if x.dtype == net.dtype else x.astype(net.dtype)
        return {"x": pixels.pixels, "lut": pixels.lut, "pad": pixels.pad}
    return {"x": net.layers[0]._prepare(net._batch(x), "x", "fused")}


def _per_layer(net: Network, work: np.ndarray, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(a, y) of each layer, shaped (n, *out_shape), from a workspace of a batch of n."""
    x_at, a_at = _core.network_layout(_cached(net)[1], net.parameters, n)
    out = []
    for l, d in enumerate(layer_spec(net)):
        size = n * int(np.prod(d["out_shape"]))
        shape = (n, *d["out_shape"])
        a = work[a_at[l] : a_at[l] + size].reshape(shape)
        y = work[x_at[l + 1] : x_at[l + 1] + size].reshape(shape)
        out.append((a, y))
    return out


def trace(net: Network, x: ArrayLike | Preprocessed) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every layer's weighted sums and states (a, y) for the batch x, in one call (what the
    layers' caches hold after ``net.forward(x)``, the same bits; a fully connected layer's
    (n, features, 1, 1) as the C core keeps it)."""
    src = _source(net, x)
    work = _core.network_trace(_cached(net)[1], net.parameters, **src)
    return _per_layer(net, work, len(src["x"]))


def gradients(
    net: Network, x: ArrayLike | Preprocessed, labels: ArrayLike, loss: Loss | None = None
) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
    """Forward, the loss, backward, no update: returns (loss, [(dE/da, dE/dy) per layer]) and
    leaves dE/d(parameters) in ``net.gradients``."""
    loss = loss_for(net) if loss is None else loss
    src = _source(net, x)
    e, _, d_work = _core.network_gradients(
        _cached(net)[1],
        net.parameters,
        net.gradients,
        labels=labels,
        loss=loss.name,
        j=loss.j,
        **src,
    )
    return e, _per_layer(net, d_work, len(src["x"]))


def curvature(
    net: Network, x: ArrayLike | Preprocessed, labels: ArrayLike, h_out: np.ndarray | None = None
) -> np.ndarray:
    """SDLM's curvature estimate in one call (lenet_network_curvature), written into
    ``net.curvature`` and returned: lenet.engine.sdlm.estimate_curvature uses it."""
    return _core.network_curvature(
        _cached(net)[1],
        net.parameters,
        net.curvature,
        labels=labels,
        h_out=h_out,
        **_source(net, x),
    )


class FusedTrainer:
    """Training steps of `net` by `optimizer`, run in C.

    ``run(images, labels, order)`` takes the samples images[order], ``batch_size`` at a time
    (the last step may be smaller), and for each step runs forward, the loss, backward and the
    optimiser's update, exactly as the per-layer loop would::

        out = net.forward(x); loss, grad = <loss>(out, labels); net.backward(grad); optimizer.step()

    The workspace is allocated once, here.
    """

    def __init__(
        self, net: Network, optimizer: Optimizer, batch_size: int, loss: Loss | None = None
    ) -> None:
        if optimizer.net is not net:
            raise ValueError("optimizer must update this network")
        # the network's default loss (lenet.losses.loss_for), checked against its output layer
        self.loss = (
            loss_for(net)
            if loss is None
            else loss_for(net, loss.name, loss.j if loss.name == "discriminative" else None)
        )
        self.net, self.optimizer = net, optimizer
        if not optimizer.runs_in_core:
            raise NotFusable(
                f"optimizer {type(optimizer).__name__} has its own step(), which the "
                f"fused path cannot run"
            )
        _, self._plan = _cached(net)
        self._workspace = _core.network_workspace(self._plan, net.parameters, batch_size)
        self.batch_size = int(batch_size)

    def run(
        self,
        images: np.ndarray | Preprocessed,
        labels: np.ndarray,
        order: np.ndarray,
        loss_sum: float = 0.0,
    ) -> tuple[int, float, int, bool]:
        """Train on images[order]; returns (steps done, loss_sum + sum of loss x samples over
        them, misclassified samples, diverged). When a step's loss is not finite the steps
        stop before its update and diverged is True. ``images`` may be ``Preprocessed``
        pixels: each is then scaled and padded as its batch is gathered."""
        values, lut, pad = images, None, 0
        if isinstance(images, Preprocessed):
            if images.dtype != self.net.dtype:
                raise ValueError(
                    f"images are preprocessed to {images.dtype.name}, the network computes in "
                    f"{self.net.dtype.name}: use images.astype({self.net.dtype.name!r})"
                )
            values, lut, pad = images.pixels, images.lut, images.pad
        steps, loss_sum, errors, diverged, updates = _core.network_train(
            self._plan,
            self.net.parameters,
            self.net.gradients,
            self.optimizer.core_state(),
            values,
            labels,
            order,
            self.batch_size,
            self.loss.name,
            self.loss.j,
            self._workspace,
            loss_sum,
            lut,
            pad,
        )
        self.optimizer.updates = updates
        return steps, loss_sum, errors, diverged
