"""The native side of tests/teach/test_wasm_trainer.py and benchmarks/wasm_training.py:
``python wasm_trainer_native.py CASE OUT`` trains as ``lenet train`` does (the recipe's
optimiser, SDLM's pass begun on the given curvature patterns, then the fused C loop over the
given order, a chunk at a time) on the case of wasm_trainer_runner.js, and writes the same
results. The test runs it in a subprocess with LENET_CPU_LEVEL=0; the benchmark with the CPU's
own level and one thread."""

import base64
import json
import sys
import time

import numpy as np

from lenet.engine.fused import FusedTrainer
from lenet.engine.inputs import Preprocessed
from lenet.engine.lenet5 import LeNet5
from lenet.engine.sdlm import SDLM
from lenet.run.recipes import RECIPES, make_optimizer
from lenet.run.session import recipe_loss


def b64(arr):
    return base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode()


def decode(text, dtype):
    return np.frombuffer(base64.b64decode(text), dtype)


def train(case, net, recipe, x, y):
    """One timed run: returns (optimizer, the running sums, seconds)."""
    settings = case["settings"]
    order = decode(settings["orders"][0], np.int32).astype(np.int64)
    opt = make_optimizer(net, recipe)
    if isinstance(opt, SDLM):
        sample = decode(settings["samples"][0], np.int32)
        opt.start_pass(0, (x[sample], y[sample]))
    else:
        opt.start_pass(0)
    trainer = FusedTrainer(net, opt, recipe.batch_size, recipe_loss(net, recipe))
    batch, chunk = recipe.batch_size, max(case["chunk"] // recipe.batch_size, 1) * recipe.batch_size
    loss_sum, errors, seen = 0.0, 0, 0
    started = time.perf_counter()
    for lo in range(0, case["patterns"], chunk):
        positions = order[lo : min(lo + chunk, case["patterns"])]
        steps, loss_sum, wrong, diverged = trainer.run(x, y, positions, loss_sum)
        assert not diverged
        errors += wrong
        seen += min(steps * batch, len(positions))
    return opt, (loss_sum, errors, seen), time.perf_counter() - started


def run(case):
    d = case["description"]
    recipe = RECIPES[case["recipe"]]
    make = LeNet5 if recipe.model == "paper" else LeNet5.modern
    start = decode(d["parameters"], np.float32)
    x = Preprocessed(
        decode(case["pixels"], np.uint8).reshape(-1, *d["input"]["pixels"]),
        recipe.preprocessing,
        np.float32,
    )
    y = decode(case["labels"], np.int32).astype(np.int64)
    seconds = []
    for _ in range(case.get("repeats", 1)):
        net = make(dtype=np.float32)
        net.parameters[:] = start
        opt, (loss_sum, errors, seen), s = train(case, net, recipe, x, y)
        seconds.append(s)
    return {
        "params": b64(net.parameters),
        "updates": opt.updates,
        "lossSum": loss_sum,
        "errors": errors,
        "seen": seen,
        "stepSizes": b64(opt.step_sizes) if isinstance(opt, SDLM) else None,
        "seconds": seconds,
    }


if __name__ == "__main__":
    if len(sys.argv) > 3:  # the benchmark: one thread
        import lenet

        lenet.set_num_threads(int(sys.argv[3]))
    with open(sys.argv[1]) as f:
        case = json.load(f)
    with open(sys.argv[2], "w") as f:
        json.dump(run(case), f)
