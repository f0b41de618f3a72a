"""Time lenet's training and inference against PyTorch on the same CPU, in the same run.

For each thread count (default 1 and 2) it prints the median of --repeats runs of:

  paper b1    a training pass of the paper's LeNet-5 at batch 1 with SDLM (the paper's regime)
  paper b64   a training pass of the paper's LeNet-5 at batch 64 with SGD
  modern b32  a training pass of the seed's modern net (swish, max pooling) at batch 32, RMSprop
  loops       the learner's own loop, layer by layer from Python: net.forward, the loss,
              net.backward (no update), for the paper net at batch 64 and the modern at 32
  infer       inference over the 10,000 test images at batch 1,000 (images/s)
  latency     one image through the network (microseconds)

A training pass is 60,000 images. Each repeat trains on --images of them (default 4,000) and
the time is scaled up to 60,000, which the output says; the step costs the same for every
image. The achieved GFLOP/s come from the paper's counts (MACS below): forward
0.33 M multiply-adds per image for the paper net, a training step three forwards.

When torch is importable (pip install ".[bench]" in a checkout), the same networks run in PyTorch
(benchmarks/torch_lenet.py: masked C3, trainable subsampling, scaled tanh, RBF output; the
same batch sizes, optimisers and thread counts), alternating with lenet repeat by repeat, and
the ratio torch time / lenet time is printed (above 1: lenet is faster). PyTorch's SDLM step
uses lenet's step sizes (estimated once; re-estimating them costs both the same).

    python benchmarks/bench.py [--repeats 5] [--threads 1 2] [--images 4000] [--data DIR]

MNIST is read with lenet.data (--data, or the LENET_DATA variable); without it, random
images in the same ranges are used: the arithmetic does not depend on the pixel values.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time

import numpy as np

import lenet
from lenet.data import DatasetError, DatasetNotFoundError, load_mnist, preprocess
from lenet.engine import fused, losses
from lenet.engine.optim import SGD, RMSprop
from lenet.engine.sdlm import SDLM

from machine import describe

try:
    import torch

    import torch_lenet as T
except ImportError:  # the comparison is optional
    torch = None

PASS = 60_000
#: multiply-adds per image of one forward pass (the paper's counts, Table I for C3)
MACS = {
    "paper": 117_600 + 150_000 + 48_000 + 10_080 + 840,
    "modern": 117_600 + 240_000 + 48_000 + 10_080 + 840,
}


def gflops(kind: str, images_per_second: float, training: bool) -> float:
    """Achieved GFLOP/s: 2 FLOPs per multiply-add, a training step three forwards."""
    return 2 * MACS[kind] * (3 if training else 1) * images_per_second / 1e9


def load(args):
    try:
        (xtr, ytr), (xte, _) = load_mnist(args.data, download=False)
        source = "MNIST"
    except (DatasetError, DatasetNotFoundError):
        rng = np.random.default_rng(0)
        xtr = rng.integers(0, 256, (PASS, 28, 28), dtype=np.uint8)
        ytr = rng.integers(0, 10, PASS).astype(np.uint8)
        xte = xtr[:10_000]
        source = "random images (no MNIST found)"
    paper = (preprocess(xtr, "paper"), ytr.astype(np.int64), preprocess(xte, "paper"))
    modern = preprocess(xtr, "raw")
    return source, paper, modern


def learner_loop(net, images: np.ndarray, labels: np.ndarray, batch: int, loss: str) -> int:
    """The loop a learner writes: net.forward, the loss's gradient, net.backward (which fills
    every layer's parameter gradients and returns the input's), batch after batch."""
    loss_fn = losses.Loss(loss)
    for lo in range(0, len(images), batch):
        _, grad = loss_fn(net.forward(images[lo : lo + batch]), labels[lo : lo + batch])
        net.backward(grad)
    return len(images)


def alternating_medians(fns, repeats: int) -> list[float]:
    """Median seconds of each function in fns, called in turn within every repeat (after one
    warm-up call each), so that all see the same machine load."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, spent in zip(fns, times):
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--images",
        type=int,
        default=4000,
        help="training images timed per repeat (scaled to 60,000)",
    )
    parser.add_argument("--data", default=os.environ.get("LENET_DATA"))
    parser.add_argument("--no-torch", action="store_true", help="time lenet alone")
    args = parser.parse_args(argv)
    use_torch = torch is not None and not args.no_torch
    source, (x, y, x_test), x_modern = load(args)
    n = min(args.images, len(x))
    scale = PASS / n
    print(f"lenet {lenet.__version__} on {describe()}; {datetime.date.today()}; {source}")
    print(
        f"training passes timed on {n:,} images and scaled to {PASS:,}; median of "
        f"{args.repeats} repeats"
        + (f"; torch {torch.__version__}" if use_torch else "; torch not installed: no comparison")
    )
    rows = []
    for threads in args.threads:
        lenet.set_num_threads(threads)
        if use_torch:
            T.set_threads(threads)
        net = lenet.LeNet5(seed=0, init="lecun98-sqrt")
        sdlm = SDLM(net, mu=0.5)
        sdlm.start_pass(0, (x[:500], y[:500]))
        order = np.arange(n)

        def pair(name, kind, ours, theirs, per_image, training=True):
            times = alternating_medians([ours] + ([theirs] if theirs else []), args.repeats)
            rows.append(
                (threads, name, kind, times[0], times[1] if theirs else None, per_image, training)
            )

        trainer = fused.FusedTrainer(net, sdlm, 1)
        model = T.paper_model(net) if use_torch else None
        steps = T.step_sizes_from(net, sdlm.step_sizes) if use_torch else None
        pair(
            "paper, batch 1, SDLM (pass)",
            "paper",
            lambda: trainer.run(x, y, order),
            (lambda: T.train_paper_sdlm_batch1(model, x[:n], y[:n], steps)) if use_torch else None,
            n,
        )
        net64 = lenet.LeNet5(seed=0, init="lecun98-sqrt")
        sgd = SGD(net64, lr=1e-3)
        trainer64 = fused.FusedTrainer(net64, sgd, 64)
        model64 = T.paper_model(net64) if use_torch else None
        pair(
            "paper, batch 64, SGD (pass)",
            "paper",
            lambda: trainer64.run(x, y, order),
            (lambda: T.train_sgd(model64, x[:n], y[:n], 64, 1e-3)) if use_torch else None,
            n,
        )
        modern = lenet.LeNet5.modern(seed=0)
        rms = RMSprop(modern)
        trainer32 = fused.FusedTrainer(modern, rms, 32)
        model32 = T.modern_model(modern) if use_torch else None
        pair(
            "modern, batch 32, RMSprop (pass)",
            "modern",
            lambda: trainer32.run(x_modern, y, order),
            (lambda: T.train_rmsprop(model32, x_modern[:n], y[:n], 32)) if use_torch else None,
            n,
        )
        for name, kind, learner, images, batch, loss in (
            ("paper, batch 64, net.forward + net.backward", "paper", net64, x, 64, "penalty"),
            (
                "modern, batch 32, net.forward + net.backward",
                "modern",
                modern,
                x_modern,
                32,
                "cross-entropy",
            ),
        ):
            twin = (T.paper_model if kind == "paper" else T.modern_model)(learner)
            pair(
                f"{name} (pass)",
                kind,
                lambda learner=learner, images=images, batch=batch, loss=loss: learner_loop(
                    learner, images[:n], y[:n], batch, loss
                ),
                (
                    lambda twin=twin, images=images, batch=batch, loss=loss: T.forward_backward(
                        twin, images[:n], y[:n], batch, loss
                    )
                )
                if use_torch
                else None,
                n,
            )
        infer_model = T.paper_model(net) if use_torch else None
        pair(
            "inference, batch 1,000 (10,000 images)",
            "paper",
            lambda: net.infer(x_test, 1000),
            (lambda: T.infer(infer_model, x_test, 1000)) if use_torch else None,
            len(x_test),
            training=False,
        )
        one = x_test[:1]
        reps = 200
        pair(
            "single-image latency",
            "paper",
            lambda: [net.infer(one) for _ in range(reps)],
            (lambda: [T.latency_once(infer_model, one) for _ in range(reps)])
            if use_torch
            else None,
            reps,
            training=False,
        )

    print()
    print(
        f"| threads | measure | lenet | {'PyTorch | torch/lenet | ' if use_torch else ''}"
        f"lenet GFLOP/s |"
    )
    print(f"| ---: | --- | ---: | {'---: | ---: | ' if use_torch else ''}---: |")
    for threads, name, kind, ours, theirs, count, training in rows:
        rate = count / ours
        if name.endswith("(pass)"):
            show = lambda t: f"{t * scale:.2f} s"  # noqa: E731
        elif name.startswith("inference"):
            show = lambda t: f"{count / t:,.0f} img/s"  # noqa: E731
        else:
            show = lambda t: f"{t / count * 1e6:,.0f} µs"  # noqa: E731
        cells = [str(threads), name, show(ours)]
        if use_torch:
            cells += [show(theirs), f"{theirs / ours:.1f}x"]
        cells.append(f"{gflops(kind, rate, training):.1f}")
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
