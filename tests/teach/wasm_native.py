"""The native engine's side of tests/teach/test_wasm_core.py: ``python wasm_native.py CASE OUT``
runs a case's operations (see wasm_runner.js) with the compiled extension and writes the same
results. The test runs it in a subprocess with LENET_CPU_LEVEL=0 (the portable tiles)."""

import base64
import json
import sys

import numpy as np

import lenet
from lenet.engine import _core, fused, sdlm
from lenet.engine.inputs import Preprocessed
from lenet.engine.lenet5 import LeNet5


def b64(arr):
    return base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode()


def u8(text):
    return np.frombuffer(base64.b64decode(text), np.uint8)


def ints(text):
    return np.frombuffer(base64.b64decode(text), np.int32)


def build(model, dtype):
    """The network a case names: LeNet-5 ("paper"), its modern variant ("modern"), or "pairs":
    LeNet-5 with 4 C1 maps, an S2 of 8 maps reading them in pairs (Subsampling's sources) and a
    C3 reading those 8 through a table (for the paper's preprocessing, 32x32)."""
    if model == "paper":
        return LeNet5(dtype=dtype)
    if model == "modern":
        return LeNet5.modern(dtype=dtype)
    rng = np.random.default_rng(0)
    table = rng.random((16, 8)) < 0.4
    table[np.arange(16), np.arange(16) % 8] = True
    net = lenet.Network(
        [
            lenet.Convolution(1, 4, 5, name="C1", dtype=dtype),
            lenet.Subsampling(4, name="S2", dtype=dtype, sources=lenet.paper.LENET4_S2_SOURCES),
            lenet.Convolution(8, 16, 5, connection_table=table, name="C3", dtype=dtype),
            lenet.Subsampling(16, name="S4", dtype=dtype),
            lenet.Convolution(16, 120, 5, name="C5", dtype=dtype),
            lenet.FullConnection(120, 84, name="F6", dtype=dtype),
            lenet.RBFOutput(name="output", dtype=dtype),
        ],
        input_shape=(1, 32, 32),
        dtype=dtype,
    )
    for layer in net.layers:
        layer.init_parameters(rng)
    return net


def network(case):
    d = case["description"]
    dt = np.dtype(case["dtype"])
    net = build(case["model"], dt)
    net.parameters[:] = np.frombuffer(base64.b64decode(d["parameters"]), np.float32)
    return net, d["input"]["preprocessing"], d["input"]["pixels"]


def run(case):
    net, scheme, shape = network(case)
    images = lambda text: Preprocessed(u8(text).reshape(-1, *shape), scheme, net.dtype)  # noqa: E731
    results = []
    for op in case["ops"]:
        x = images(op["pixels"])
        labels = ints(op["labels"]) if "labels" in op else None
        if op["op"] == "forward":
            r = {"out": b64(fused.forward(net, x))}
        elif op["op"] == "trace":
            r = {"layers": [{"a": b64(a), "y": b64(y)} for a, y in fused.trace(net, x)]}
        elif op["op"] == "gradients":
            loss, layers = fused.gradients(net, x, labels)
            r = {
                "loss": loss,
                "grads": b64(net.gradients),
                "layers": [{"da": b64(a), "dy": b64(y)} for a, y in layers],
            }
        elif op["op"] == "curvature":
            h = sdlm.estimate_curvature(net, x[np.arange(len(x))], labels).copy()
            steps = _core.sdlm_step_sizes(
                h, net.parameter_mask.astype(net.dtype), op["lr"], op["mu"], np.empty_like(h)
            )
            r = {"curvature": b64(h), "steps": b64(steps)}
        else:  # train: SDLM's pass start on the patterns, then the steps, as lenet.train runs them
            opt = sdlm.SDLM(net, (op["lr"],), mu=op["mu"])
            patterns = images(op["patterns"])
            opt.start_pass(0, (patterns[np.arange(len(patterns))], ints(op["pattern_labels"])))
            trainer = fused.FusedTrainer(net, opt, op["batch"])
            steps, loss_sum, errors, diverged = trainer.run(x, labels, ints(op["order"]))
            r = {
                "steps": steps,
                "lossSum": loss_sum,
                "errors": errors,
                "diverged": diverged,
                "params": b64(net.parameters),
                "updates": opt.updates,
            }
        results.append(r)
    return results


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        case = json.load(f)
    with open(sys.argv[2], "w") as f:
        json.dump(run(case), f)
