"""PyTorch twins of lenet's networks, for timing lenet against PyTorch (benchmarks/bench.py).

``paper_model(net)`` builds the paper's LeNet-5 (``lenet.LeNet5``) in PyTorch and
``modern_model(net)`` the modern variant (``lenet.LeNet5.modern``), each with a copy of the
lenet network's parameters, so both compute the same function (``max_output_difference``
checks it). The twins are written as a PyTorch user would write them: ``F.conv2d``, sum
pooling through ``F.avg_pool2d(divisor_override=1)``, a fixed 0/1 mask for C3's Table I and
the RBF penalties as a broadcast difference. Parameter names match lenet's
(``"C1.weight"``, ``"S2.coefficient"``, ...).

The training-pass functions (``train_paper_sdlm_batch1``, ``train_sgd``, ``train_rmsprop``)
and ``infer`` / ``latency_once`` are the PyTorch side of the benchmark: each takes NumPy
arrays, as lenet does, converts them once, runs the pass and returns the number of images
processed.

    python benchmarks/torch_lenet.py     # self-check: outputs, one training step, a rough timing
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import lenet
from lenet.reference import SQUASH_A, SQUASH_S

Activation = Callable[[torch.Tensor], torch.Tensor]


def _scaled_tanh(a: torch.Tensor) -> torch.Tensor:
    # the paper's squashing function f(a) = 1.7159 tanh(2a/3) (Appendix A)
    return SQUASH_A * torch.tanh(SQUASH_S * a)


def _identity(a: torch.Tensor) -> torch.Tensor:
    return a


#: lenet's activation names -> the PyTorch function computing the same thing
ACTIVATIONS: dict[str, Activation] = {
    "identity": _identity,
    "scaled_tanh": _scaled_tanh,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": F.relu,
    "swish": F.silu,  # swish(a) = a sigmoid(a) = SiLU
}


def _tensor(arr: np.ndarray) -> torch.Tensor:
    """A float32 tensor holding a copy of arr (lenet's arrays are views into its flat buffer)."""
    return torch.tensor(np.asarray(arr, dtype=np.float32))


# -- layers ---------------------------------------------------------------------------------------
class Conv(nn.Module):
    """C1/C3/C5: F.conv2d (lenet's convolution is the same cross-correlation), then f.

    A partial connection table (C3's Table I) becomes a fixed 0/1 mask multiplied into the
    weight inside forward: unconnected weights then neither act nor get a gradient.
    """

    def __init__(self, layer: lenet.Convolution) -> None:
        super().__init__()
        self.weight = nn.Parameter(_tensor(layer.params["weight"]))
        self.bias = nn.Parameter(_tensor(layer.params["bias"]))
        self.padding = layer.padding
        self.act = ACTIVATIONS[layer.activation]
        table = layer.connection_table  # (out_maps, in_maps), like the weight's first two axes
        if table.all():
            self.mask = None
        else:
            self.register_buffer("mask", torch.tensor(table[:, :, None, None], dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight if self.mask is None else self.weight * self.mask
        return self.act(F.conv2d(x, w, self.bias, padding=self.padding))


class Subsample(nn.Module):
    """S2/S4. "paper": coefficient[c] * (sum of the 2x2 window) + bias[c], then f;
    "max" / "average": plain 2x2 pooling (then f, the identity in the modern variant)."""

    def __init__(self, layer: lenet.Subsampling) -> None:
        super().__init__()
        self.mode = layer.mode
        self.act = ACTIVATIONS[layer.activation]
        if self.mode == "paper":
            self.coefficient = nn.Parameter(_tensor(layer.params["coefficient"]))
            self.bias = nn.Parameter(_tensor(layer.params["bias"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "max":
            a = F.max_pool2d(x, 2)
        elif self.mode == "average":
            a = F.avg_pool2d(x, 2)
        else:
            # divisor_override=1 turns average pooling into sum pooling, exactly the paper's
            # window sum; one fused multiply-add applies the per-map coefficient and bias
            s = F.avg_pool2d(x, 2, divisor_override=1)
            a = torch.addcmul(self.bias[:, None, None], s, self.coefficient[:, None, None])
        return self.act(a)


class Dense(nn.Module):
    """F6 (and the modern variant's output): F.linear on the flattened input, then f."""

    def __init__(self, layer: lenet.FullConnection) -> None:
        super().__init__()
        self.weight = nn.Parameter(_tensor(layer.params["weight"]))
        self.bias = nn.Parameter(_tensor(layer.params["bias"]))
        self.act = ACTIVATIONS[layer.activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(F.linear(x.flatten(1), self.weight, self.bias))


class RBF(nn.Module):
    """Euclidean RBF output: y[n,i] = sum_j (x[n,j] - prototypes[i,j])^2, fixed prototypes.

    The broadcast difference (N, 10, 84) is tiny and, unlike |x|^2 - 2 x.p + |p|^2, does not
    lose float32 digits to cancellation.
    """

    def __init__(self, layer: lenet.RBFOutput) -> None:
        super().__init__()
        self.register_buffer("prototypes", _tensor(layer.prototypes))  # not trainable

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x[:, None, :] - self.prototypes).square().sum(dim=2)


_TWINS: dict[type, type[nn.Module]] = {
    lenet.Convolution: Conv,
    lenet.Subsampling: Subsample,
    lenet.FullConnection: Dense,
    lenet.RBFOutput: RBF,
}


def _twin(net: lenet.Network) -> nn.Sequential:
    """One PyTorch module per lenet layer, under the same names (so "C1.weight" etc. match)."""
    if net.dtype != np.float32:
        raise TypeError(f"the twins compute in float32; the network is {net.dtype}")
    model = nn.Sequential(
        OrderedDict((layer.name, _TWINS[type(layer)](layer)) for layer in net.layers)
    )
    names = [name for name, _ in model.named_parameters()]
    if names != list(net.state_dict()):  # step_sizes_from relies on the same order
        raise RuntimeError(f"parameter order differs from lenet's: {names}")
    return model


def paper_model(net: lenet.LeNet5) -> nn.Module:
    """The paper's LeNet-5 in PyTorch, with a copy of ``net``'s parameters (float32).

    C1 conv 1->6, S2 trainable subsampling, C3 conv 6->16 masked by Table I, S4, C5 conv
    16->120, F6 linear 120->84, all squashed by 1.7159 tanh(2a/3); RBF output penalties.
    """
    if getattr(net, "variant", None) != "paper" or not isinstance(net.layers[-1], lenet.RBFOutput):
        raise ValueError("paper_model needs a lenet.LeNet5() network")
    return _twin(net)


def modern_model(net: lenet.LeNet5) -> nn.Module:
    """The twin of ``LeNet5.modern(...)``: its activation (swish = SiLU, relu, ...), pooling
    (max by default), C1 padding, and a linear output layer of logits; parameters copied."""
    if getattr(net, "variant", None) != "modern":
        raise ValueError("modern_model needs a lenet.LeNet5.modern() network")
    return _twin(net)


def state_of(model: nn.Module) -> OrderedDict[str, np.ndarray]:
    """The model's parameters as NumPy copies, keyed and ordered like ``net.state_dict()``."""
    return OrderedDict((name, p.detach().numpy().copy()) for name, p in model.named_parameters())


def max_output_difference(net: lenet.Network, model: nn.Module, x: np.ndarray) -> float:
    """max |net.forward(x) - model(x)| over a batch x (N, C, H, W)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    ours = net.forward(x)
    with torch.inference_mode():
        theirs = model(torch.from_numpy(x)).numpy()
    return float(np.max(np.abs(ours - theirs)))


def step_sizes_from(net: lenet.Network, flat: np.ndarray) -> dict[str, torch.Tensor]:
    """Split a flat per-parameter array (like ``lenet.sdlm.SDLM(net).step_sizes``, laid out
    as ``net.parameters``) into tensors named and shaped like ``net.state_dict()``."""
    flat = np.asarray(flat, dtype=np.float32)
    if flat.shape != net.parameters.shape:
        raise ValueError(f"flat must have shape {net.parameters.shape}, got {flat.shape}")
    out, offset = {}, 0
    for name, arr in net.state_dict().items():
        out[name] = torch.tensor(flat[offset : offset + arr.size].reshape(arr.shape))
        offset += arr.size
    return out


# -- training passes and inference ----------------------------------------------------------------
def _inputs(images: np.ndarray, labels: np.ndarray | None = None):
    # from_numpy shares memory: no copy for float32 C-contiguous images
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    if labels is None:
        return x
    return x, torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))


def rbf_penalty(out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Equation (8): the batch mean of the correct class's RBF penalty
    (lenet.losses.rbf_penalty)."""
    return out.gather(1, labels[:, None]).mean()


_LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "penalty": rbf_penalty,
    "cross-entropy": F.cross_entropy,
}


def train_paper_sdlm_batch1(
    model: nn.Module, images: np.ndarray, labels: np.ndarray, step_sizes: Mapping[str, torch.Tensor]
) -> int:
    """One SDLM pass as the paper trains: one image at a time, loss (8), and
    w_k <- w_k - eps_k dE/dw_k with the pass's fixed step sizes eps_k (``step_sizes_from``)."""
    x, y = _inputs(images, labels)
    params = [(p, step_sizes[name]) for name, p in model.named_parameters()]
    for i in range(len(x)):
        for p, _ in params:
            p.grad = None  # cheaper than zeroing: backward then writes instead of adding
        rbf_penalty(model(x[i : i + 1]), y[i : i + 1]).backward()
        with torch.no_grad():
            for p, eps in params:
                p.addcmul_(eps, p.grad, value=-1.0)  # in place, no temporary
    return len(x)


def _train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    loss: str,
) -> int:
    x, y = _inputs(images, labels)
    loss_fn = _LOSSES[loss]
    for lo in range(0, len(x), batch_size):  # the last batch may be smaller, as in lenet
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x[lo : lo + batch_size]), y[lo : lo + batch_size]).backward()
        optimizer.step()
    return len(x)


def train_sgd(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    lr: float,
    momentum: float = 0.0,
    loss: str = "penalty",
) -> int:
    """One pass of torch.optim.SGD; loss "penalty" (equation (8), the paper net) or
    "cross-entropy" (logits, the modern net)."""
    # foreach: the multi-tensor update, PyTorch's fast path on CPU
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, foreach=True)
    return _train(model, opt, images, labels, batch_size, loss)


def train_rmsprop(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    lr: float = 0.001,
    rho: float = 0.9,
    eps: float = 1e-7,
) -> int:
    """One pass of torch.optim.RMSprop with softmax cross-entropy (the modern net).

    PyTorch divides by sqrt(v) + eps, lenet (like Keras) by sqrt(v + eps): the trajectories
    differ slightly, the arithmetic cost is the same.
    """
    opt = torch.optim.RMSprop(model.parameters(), lr=lr, alpha=rho, eps=eps, foreach=True)
    return _train(model, opt, images, labels, batch_size, "cross-entropy")


def infer(model: nn.Module, images: np.ndarray, batch_size: int) -> np.ndarray:
    """The model's outputs (N, 10) for every image, batch by batch, without autograd."""
    x = _inputs(images)
    with torch.inference_mode():
        outs = [model(x[lo : lo + batch_size]) for lo in range(0, len(x), batch_size)]
        return torch.cat(outs).numpy() if outs else np.zeros((0, 10), np.float32)


def latency_once(model: nn.Module, image: np.ndarray) -> np.ndarray:
    """The output (1, 10) for one image (1, C, H, W): what a single request costs."""
    with torch.inference_mode():
        return model(_inputs(image)).numpy()


def set_threads(n: int) -> None:
    """Run PyTorch's intra-op work on n threads (and its inter-op pool, while that can still
    be set: PyTorch allows it once, before any parallel work has started)."""
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:
        pass


# -- self-check -----------------------------------------------------------------------------------
def _max_param_difference(net: lenet.Network, model: nn.Module) -> float:
    theirs = state_of(model)
    return max(float(np.max(np.abs(v - theirs[k]))) for k, v in net.state_dict().items())


def _self_check() -> bool:
    rng = np.random.default_rng(1)
    n = 16
    paper_x = rng.uniform(-0.1, 1.175, (n, 1, 32, 32)).astype(np.float32)  # the paper's pixel range
    modern_x = rng.uniform(0.0, 1.0, (n, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, n)
    ok = True

    def report(what: str, diff: float, scale: float = 1.0) -> None:
        # float32 keeps ~7 digits: judge a difference against the size of the values compared
        nonlocal ok
        good = diff <= 1e-6 * max(1.0, scale)
        ok &= good
        print(f"{what:<44} {diff:9.3g}  {'ok' if good else 'TOO LARGE'}")

    net = lenet.LeNet5(seed=0)
    model = paper_model(net)
    scale = float(np.abs(net.forward(paper_x)).max())  # RBF penalties reach ~100
    report(
        f"paper output difference (outputs up to {scale:.0f})",
        max_output_difference(net, model, paper_x),
        scale,
    )
    modern = lenet.LeNet5.modern(seed=0)
    modern_twin = modern_model(modern)
    report("modern output difference", max_output_difference(modern, modern_twin, modern_x))

    # one SGD step, batch 1, lr 0.01, penalty loss: lenet's Python path against torch's
    x1, y1 = paper_x[:1], labels[:1]
    _, grad = lenet.losses.rbf_penalty(net.forward(x1), y1)
    net.backward(grad)
    net.parameters -= 0.01 * net.gradients
    train_sgd(model, x1, y1, batch_size=1, lr=0.01)
    report("paper SGD step: parameter difference", _max_param_difference(net, model))

    # one SGD step of batch 8 with cross-entropy on the modern net
    _, grad = lenet.losses.softmax_cross_entropy(modern.forward(modern_x[:8]), labels[:8])
    modern.backward(grad)
    modern.parameters -= 0.01 * modern.gradients
    train_sgd(modern_twin, modern_x[:8], labels[:8], batch_size=8, lr=0.01, loss="cross-entropy")
    report("modern SGD step: parameter difference", _max_param_difference(modern, modern_twin))

    # one SDLM step with lenet's own step sizes. (Over many steps on random images the two
    # drift apart: rounding differences grow as fast as between lenet in float32 and float64.)
    net = lenet.LeNet5(seed=0)
    model = paper_model(net)
    sdlm = lenet.sdlm.SDLM(net)
    sdlm.start_pass(0, (paper_x, labels))
    steps = step_sizes_from(net, sdlm.step_sizes)
    _, grad = lenet.losses.rbf_penalty(net.forward(x1), y1)
    net.backward(grad)
    sdlm.step()
    train_paper_sdlm_batch1(model, x1, y1, steps)
    report("paper SDLM step: parameter difference", _max_param_difference(net, model))
    c3 = model.C3.weight.detach().numpy()
    report(
        "C3 unconnected weights after the steps", float(np.abs(c3[~net.C3.connection_table]).max())
    )

    # rough timing: 200 images of the paper's batch-1 SDLM pass on one thread, best of 3
    set_threads(1)
    images = rng.uniform(-0.1, 1.175, (200, 1, 32, 32)).astype(np.float32)
    digits = rng.integers(0, 10, 200)
    train_paper_sdlm_batch1(model, images[:50], digits[:50], steps)  # warm-up (oneDNN set-up)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        done = train_paper_sdlm_batch1(model, images, digits, steps)
        best = min(best, time.perf_counter() - start)
    print(
        f"torch {torch.__version__}, 1 thread: SDLM batch 1 training, {done / best:,.0f} images/s"
    )
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if _self_check() else 1)
