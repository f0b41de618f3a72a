"""lenet's networks as PyTorch modules, and back (needs torch: ``pip install torch``).

``to_torch(net)`` builds a ``torch.nn.Module`` that computes what ``net.forward`` computes, with
a copy of its weights, in its dtype: one submodule per lenet layer under the same name, so
that the parameters are named as in ``net.state_dict()`` ("C1.weight", "S2.coefficient", ...).
``from_torch(module_or_state_dict, like=net)`` reads the weights back into a new network built
like ``net``. The modules are written as a PyTorch user writes them:

* ``Conv``: ``F.conv2d`` (lenet's convolution is the same cross-correlation), then f; a
  partial connection table (C3's Table I) is a fixed 0/1 mask multiplied into the weight, so
  unconnected weights neither act nor get a gradient;
* ``Subsample``: the paper's unit is sum pooling (``F.avg_pool2d(divisor_override=1)``) times a
  trainable coefficient plus a bias, then f; or plain max or average pooling;
* ``Dense``: ``F.linear`` on the flattened input, then f;
* ``RBF``: the squared distance of F6's states to each fixed prototype, a broadcast difference.

This module imports torch: ``lenet.to_torch`` and ``lenet.from_torch`` import it only when they
are called, so that lenet itself does not need torch.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..engine.layers import Convolution, FullConnection, Layer, RBFOutput, Subsampling
from ..engine.network import Network
from ..paper import SQUASH_A, SQUASH_S

__all__ = ["Conv", "Dense", "RBF", "Subsample", "from_torch", "to_torch"]

Activation = Callable[[torch.Tensor], torch.Tensor]


def _scaled_tanh(a: torch.Tensor) -> torch.Tensor:
    # the paper's squashing function f(a) = 1.7159 tanh(2a/3) (Appendix A)
    return SQUASH_A * torch.tanh(SQUASH_S * a)


def _identity(a: torch.Tensor) -> torch.Tensor:
    return a


#: lenet's squashing names -> the PyTorch function computing the same thing
ACTIVATIONS: dict[str, Activation] = {
    "identity": _identity,
    "scaled_tanh": _scaled_tanh,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": F.relu,
    "swish": F.silu,  # swish(a) = a sigmoid(a) = SiLU
}


def _tensor(arr: np.ndarray) -> torch.Tensor:
    """A tensor holding a copy of arr (lenet's arrays are views into its flat buffer)."""
    return torch.tensor(np.array(arr))


class Conv(nn.Module):
    """C1, C3, C5: a[n,o,r,c] = bias[o] + sum over connected i, ky, kx of
    weight[o,i,ky,kx] x[n,i,r+ky,c+kx]; y = f(a)."""

    mask: torch.Tensor | None

    def __init__(self, layer: Convolution) -> None:
        super().__init__()
        self.weight = nn.Parameter(_tensor(layer.params["weight"]))
        self.bias = nn.Parameter(_tensor(layer.params["bias"]))
        self.padding = layer.padding
        self.act = ACTIVATIONS[layer.activation]
        table = layer.connection_table  # (out_maps, in_maps), like the weight's first two axes
        if table.all():
            self.mask = None
        else:
            mask = torch.tensor(table[:, :, None, None], dtype=self.weight.dtype)
            self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight if self.mask is None else self.weight * self.mask
        return self.act(F.conv2d(x, w, self.bias, padding=self.padding))


class Subsample(nn.Module):
    """S2, S4. "paper": a = coefficient[m] * (sum of the 2x2 window) + bias[m], y = f(a);
    "max" / "average": plain 2x2 pooling (then f, the identity in the modern variant). With
    the layer's sources, output map m reads input map sources[m]."""

    def __init__(self, layer: Subsampling) -> None:
        super().__init__()
        self.mode = layer.mode
        self.sources = None if layer.sources is None else list(layer.sources)
        self.act = ACTIVATIONS[layer.activation]
        if self.mode == "paper":
            self.coefficient = nn.Parameter(_tensor(layer.params["coefficient"]))
            self.bias = nn.Parameter(_tensor(layer.params["bias"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.sources is not None:  # each output map's input map (a gather: autograd adds)
            x = x[:, self.sources]
        if self.mode == "max":
            a = F.max_pool2d(x, 2)
        elif self.mode == "average":
            a = F.avg_pool2d(x, 2)
        else:
            # divisor_override=1 turns average pooling into sum pooling: the paper's window sum
            s = F.avg_pool2d(x, 2, divisor_override=1)
            a = torch.addcmul(self.bias[:, None, None], s, self.coefficient[:, None, None])
        return self.act(a)


class Dense(nn.Module):
    """F6 (and the modern variant's output): a = W x + b on the flattened input; y = f(a)."""

    def __init__(self, layer: FullConnection) -> None:
        super().__init__()
        self.weight = nn.Parameter(_tensor(layer.params["weight"]))
        self.bias = nn.Parameter(_tensor(layer.params["bias"]))
        self.act = ACTIVATIONS[layer.activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(F.linear(x.flatten(1), self.weight, self.bias))


class RBF(nn.Module):
    """The Euclidean RBF output: y[n,i] = sum_j (x[n,j] - prototypes[i,j])^2, fixed prototypes
    (a buffer, not a parameter). The broadcast difference does not lose digits to the
    cancellation in |x|^2 - 2 x.p + |p|^2."""

    prototypes: torch.Tensor

    def __init__(self, layer: RBFOutput) -> None:
        super().__init__()
        self.register_buffer("prototypes", _tensor(layer.prototypes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x[:, None, :] - self.prototypes).square().sum(dim=2)


#: the PyTorch module of each kind of lenet layer (a subclass takes its base class's)
MODULES: dict[type, type[nn.Module]] = {
    Convolution: Conv,
    Subsampling: Subsample,
    FullConnection: Dense,
    RBFOutput: RBF,
}


def _module_for(layer: Layer) -> nn.Module:
    for cls in type(layer).__mro__:
        if cls in MODULES:
            return MODULES[cls](layer)
    raise TypeError(
        f"layer {layer.name} ({type(layer).__name__}) has no PyTorch twin: to_torch knows "
        f"{', '.join(c.__name__ for c in MODULES)}"
    )


def to_torch(net: Network) -> nn.Sequential:
    """A ``torch.nn.Module`` computing ``net.forward``, with a copy of ``net``'s weights, in
    ``net``'s dtype: one submodule per layer, named as the layer, so that its
    ``state_dict()`` keys are ``net.state_dict()``'s (the RBF prototypes and C3's mask are
    buffers, not parameters). It takes (N, C, H, W) tensors."""
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lenet network, got {type(net).__name__}")
    return nn.Sequential(OrderedDict((layer.name, _module_for(layer)) for layer in net.layers))


def from_torch(source: nn.Module | Mapping[str, Any], like: Network) -> Network:
    """A new network built as ``like`` (a copy of it), with the weights of ``source``: a
    module made by ``to_torch`` (and trained, say) or its ``state_dict()``.

    Buffers (the prototypes, C3's mask) are not read: they are fixed. Every parameter key of
    ``like`` must be there, none other, each of its shape (ValueError naming the key); C3's
    weights for unconnected pairs are taken as 0, as the module's mask makes them act.
    """
    if not isinstance(like, Network):
        raise TypeError(f"like must be a lenet network, got {type(like).__name__}")
    if isinstance(source, nn.Module):
        state: Mapping[str, Any] = dict(source.named_parameters())
    elif isinstance(source, Mapping):
        buffers = {"prototypes", "mask"}
        state = {k: v for k, v in source.items() if k.rsplit(".", 1)[-1] not in buffers}
    else:
        raise TypeError(
            f"source must be a torch.nn.Module or its state_dict(), got {type(source).__name__}"
        )
    wanted = like.state_dict()
    for key in state:
        if key not in wanted:
            raise ValueError(
                f"the state dict's key {key!r} is not a parameter of the network (its keys: "
                f"{', '.join(wanted)})"
            )
    arrays = {}
    masks = {
        f"{layer.name}.{name}": m
        for layer in like.layers
        for name, m in layer.parameter_mask().items()
    }
    for key, target in wanted.items():
        if key not in state:
            raise ValueError(f"the state dict has no {key!r}, which the network needs")
        value = state[key]
        arr = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        if arr.shape != target.shape:
            raise ValueError(
                f"the state dict's {key!r} has shape {tuple(arr.shape)}; the network's is "
                f"{tuple(target.shape)}"
            )
        arrays[key] = np.where(masks[key], arr, 0)  # unconnected pairs: not part of the net
    net = copy.deepcopy(like)
    net.load_state_dict(arrays)
    return net
