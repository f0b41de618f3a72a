"""Time one forward+backward pass of the paper's LeNet-5 through the C core.

For batch sizes 1 and 64 and for 1 and 2 threads, prints the median (and spread) of repeated
timings of net.forward(x) followed by net.backward(dout), in float32, and the same step done
by the plain NumPy reference (lenet.reference) measured in the same run, as a baseline.

    python benchmarks/bench_engine.py [--repeats 7] [--batches 1 64] [--threads 1 2]

Inputs are random images in the paper's pixel range (-0.1 .. 1.175): the arithmetic does not
depend on the values, so no dataset is needed.
"""

from __future__ import annotations

import argparse

import numpy as np

import lenet
from lenet import reference_network as ref

from machine import describe, median_seconds


def reference_step(net: lenet.LeNet5, x: np.ndarray, dout: np.ndarray) -> None:
    """The same forward+backward as net.forward/net.backward, in plain NumPy."""
    ref.network_backward(net, x, dout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    print(
        f"lenet {lenet.__version__}, OpenMP {'on' if lenet.openmp_enabled() else 'off'}, "
        f"{describe()}, "
        f"numpy {np.__version__}"
    )
    print(f"forward+backward of LeNet5() in float32, median of {args.repeats} runs")
    print(
        f"{'batch':>5} {'threads':>7} {'lenet ms':>10} {'(min-max)':>17} {'img/s':>9} "
        f"{'numpy ref ms':>13} {'speed-up':>9}"
    )
    net = lenet.LeNet5(seed=0)
    rng = np.random.default_rng(0)
    saved = lenet.get_num_threads()
    try:
        for batch in args.batches:
            x = rng.uniform(-0.1, 1.175, (batch, 1, 32, 32)).astype(np.float32)
            dout = rng.standard_normal((batch, 10)).astype(np.float32)

            def step():
                net.forward(x)
                net.backward(dout)

            base, _, _ = median_seconds(lambda: reference_step(net, x, dout), args.repeats, 0.2)
            for threads in args.threads:
                lenet.set_num_threads(threads)
                med, lo, hi = median_seconds(step, args.repeats, 0.2)
                print(
                    f"{batch:5d} {threads:7d} {med * 1e3:10.3f} "
                    f"{f'({lo * 1e3:.3f}-{hi * 1e3:.3f})':>17} {batch / med:9.0f} "
                    f"{base * 1e3:13.3f} {base / med:8.1f}x"
                )
    finally:
        lenet.set_num_threads(saved)


if __name__ == "__main__":
    main()
