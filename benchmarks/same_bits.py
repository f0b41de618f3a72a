"""The parameters after two passes of the paper's recipe, fused and layer by layer, with and
without distortions, as SHA-256 digests: run it on two checkouts to see that a change kept the
bits (a reorganisation must; the four training paths must agree with each other too).

    python benchmarks/same_bits.py --data DIR [--images 10000]

Trains on the first ``--images`` MNIST training images on one thread; prints one line per path.
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import replace

import numpy as np

import lenet
from lenet.data import load_mnist, preprocess
from lenet.run.training import network_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder holding mnist/ (or the IDX files)")
    parser.add_argument("--images", type=int, default=10_000, help="training images used")
    args = parser.parse_args()
    (x, y), _ = load_mnist(root=args.data, download=False)
    x, y = preprocess(x[: args.images]), y[: args.images]
    lenet.set_num_threads(1)
    for distort in (False, True):
        for fused in (True, False):
            recipe = replace(lenet.RECIPES["paper"], passes=2, distort=distort)
            net = network_for(recipe, (1, 32, 32))
            lenet.train(net, (x, y), None, recipe, progress=False, echo=None, fused=fused)
            digest = hashlib.sha256(np.ascontiguousarray(net.parameters).tobytes()).hexdigest()
            print(f"distort={distort!s:5} fused={fused!s:5} {digest}", flush=True)


if __name__ == "__main__":
    main()
