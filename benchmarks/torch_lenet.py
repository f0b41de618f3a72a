"""PyTorch twins of lenet's networks, for timing lenet against PyTorch (benchmarks/bench.py).

``paper_model(net)`` builds the paper's LeNet-5 (``lenet.LeNet5``) in PyTorch and
``modern_model(net)`` the modern variant (``lenet.LeNet5.modern``), each with a copy of the
lenet network's parameters, so both compute the same function (``max_output_difference``
checks it). The twins are ``lenet.to_torch(net)`` (``lenet.teach.pytorch``): ``F.conv2d``,
sum pooling
through ``F.avg_pool2d(divisor_override=1)``, a fixed 0/1 mask for C3's Table I and the RBF
penalties as a broadcast difference. Parameter names match lenet's (``"C1.weight"``,
``"S2.coefficient"``, ...).

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


def paper_model(net: lenet.LeNet5) -> nn.Module:
    """The paper's LeNet-5 in PyTorch (``lenet.to_torch``), with a copy of ``net``'s weights.

    C1 conv 1->6, S2 trainable subsampling, C3 conv 6->16 masked by Table I, S4, C5 conv
    16->120, F6 linear 120->84, all squashed by 1.7159 tanh(2a/3); RBF output penalties.
    """
    if net.variant != "paper" or not isinstance(net.layers[-1], lenet.RBFOutput):
        raise ValueError("paper_model needs a lenet.LeNet5() network")
    return _twin(net)


def modern_model(net: lenet.LeNet5) -> nn.Module:
    """The twin of ``LeNet5.modern(...)`` (``lenet.to_torch``): its activation (swish = SiLU,
    relu, ...), pooling (max by default), C1 padding, and a linear output of logits."""
    if net.variant != "modern":
        raise ValueError("modern_model needs a lenet.LeNet5.modern() network")
    return _twin(net)


def _twin(net: lenet.Network) -> nn.Module:
    if net.dtype != np.float32:
        raise TypeError(f"the benchmark twins compute in float32; the network is {net.dtype}")
    model = lenet.to_torch(net)
    names = [name for name, _ in model.named_parameters()]
    if names != list(net.state_dict()):  # step_sizes_from relies on the same order
        raise RuntimeError(f"parameter order differs from lenet's: {names}")
    return model


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


def forward_backward(
    model: nn.Module, images: np.ndarray, labels: np.ndarray, batch_size: int, loss: str
) -> int:
    """A learner's loop without an optimiser: forward, the loss, backward (every parameter's
    gradient and, like lenet's ``net.backward``, the input's), batch after batch."""
    x, y = _inputs(images, labels)
    loss_fn = _LOSSES[loss]
    for lo in range(0, len(x), batch_size):
        model.zero_grad(set_to_none=True)
        batch = x[lo : lo + batch_size].requires_grad_()
        loss_fn(model(batch), y[lo : lo + batch_size]).backward()
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
