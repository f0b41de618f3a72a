"""A training run for the fault-injection tests (tests/run/test_faults.py), run as a child process.

    python train_child.py OUT [--pause-at before-rename|mid-write|log-append --on-save K]

It trains the paper's LeNet-5 on a small synthetic set (the same bits every time) into the run
folder OUT, resuming when OUT holds a checkpoint. With --pause-at, the K-th checkpoint save
(from 1) stops at that point: it writes OUT/paused and sleeps, so that the parent can kill the
process exactly there:

* ``mid-write``: half of the new checkpoint's bytes are in the temporary file;
* ``before-rename``: the temporary file is complete, the rename over the old one not done;
* ``log-append``: the checkpoint is replaced, the log line of that pass not yet written.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np

import lenet
from lenet.run import checkpoint as ckpt
from lenet.run.training import Recipe

IMAGES = 300
EPOCHS = 12


def data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.1, 1.175, (IMAGES, 1, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, IMAGES)
    return (x, y), (x[:50], y[:50])


RECIPE = Recipe(passes=EPOCHS, init="lecun98-sqrt", mu=0.5, curvature_patterns=50)


def pause(out: Path) -> None:
    (out / "paused").write_text("now")
    time.sleep(600)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--pause-at", choices=("mid-write", "before-rename", "log-append"))
    parser.add_argument("--on-save", type=int, default=2)
    args = parser.parse_args()
    out = Path(args.out)
    saves = [0]
    if args.pause_at in ("mid-write", "before-rename"):
        real_savez, real_replace = ckpt.np.savez, ckpt.os.replace

        def savez(f, **arrays):
            saves[0] += 1
            if args.pause_at == "mid-write" and saves[0] == args.on_save:
                buffer = io.BytesIO()
                real_savez(buffer, **arrays)
                f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
                f.flush()
                os.fsync(f.fileno())
                pause(out)
            real_savez(f, **arrays)

        def replace(src, dst):
            if (
                args.pause_at == "before-rename"
                and saves[0] == args.on_save
                and str(dst).endswith("checkpoint.npz")
            ):
                pause(out)
            real_replace(src, dst)

        ckpt.np.savez = savez
        ckpt.os.replace = replace
    elif args.pause_at == "log-append":
        import lenet.run.runs as runs

        real_open = open

        def guarded_open(path, mode="r", *a, **k):
            if str(path).endswith("log.jsonl") and mode == "a":
                saves[0] += 1  # one log line per finished pass, after its checkpoint
                if saves[0] == args.on_save:
                    pause(out)
            return real_open(path, mode, *a, **k)

        runs.open = guarded_open  # the module's own name lookup finds this first
    train, test = data()
    net = lenet.LeNet5(seed=0, init=RECIPE.init)
    resume = (out / "checkpoint.npz").exists()
    lenet.train(net, train, test, RECIPE, out=out, resume=resume, progress=False, echo=None)
    np.save(out / "final.npy", net.parameters)


if __name__ == "__main__":
    sys.exit(main())
