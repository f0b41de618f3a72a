"""The C core compiled to WebAssembly (src/lenet/teach/studio/assets/lenet-core.wasm), run by
its JavaScript binding (lenet-core.js) under Node, against the native engine.

Python writes a case (a network's description from bundle.describe, MNIST pixels, labels),
Node runs it on the committed module (wasm_runner.js), and the native extension runs the same
case in a subprocess with LENET_CPU_LEVEL=0 and one thread (wasm_native.py). What holds, as
measured: the same answer for every one of the 10,000 test images, and every number within
float32 (float64) rounding. Against a build of the portable path alone (LENET_NO_DISPATCH=1,
as .ci/run builds it a second time, with LENET_REQUIRE_PORTABLE=1 that fails the run on any
other build) float32 is the same bits, but for tiny values (see
test_float32_is_the_portable_native_build_bit_for_bit); against a build that dispatches, the
loops chosen at load time use FMA on a CPU that has it, whatever LENET_CPU_LEVEL says. float64
is not bit for bit: its squashing functions call the C library's tanh and exp (glibc's
natively, the module's own in WebAssembly). See docs/studio.md. Without Node the tests skip,
unless LENET_REQUIRE_BROWSER=1 (CI sets it), when they fail.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from wasm_native import build

import lenet
from lenet.engine import _core
from lenet.run.recipes import RECIPES
from lenet.teach.studio.bundle import describe, encode

from conftest import DATASETS, HAVE_MNIST, MNIST_SKIP_REASON

NODE = shutil.which("node") or shutil.which("nodejs")
if os.environ.get("LENET_REQUIRE_BROWSER") == "1" and NODE is None:
    raise RuntimeError("LENET_REQUIRE_BROWSER=1 but Node (node) is not installed")
if os.environ.get("LENET_REQUIRE_PORTABLE") == "1" and _core.dispatched():
    raise RuntimeError(
        "LENET_REQUIRE_PORTABLE=1, but the native build dispatches (build with LENET_NO_DISPATCH=1)"
    )
pytestmark = [
    pytest.mark.skipif(NODE is None, reason="needs Node (apt-get install nodejs)"),
    pytest.mark.skipif(not HAVE_MNIST, reason=MNIST_SKIP_REASON),
]

HERE = Path(__file__).resolve().parent
ASSETS = Path(lenet.__file__).resolve().parent / "teach" / "studio" / "assets"
#: the largest difference allowed, relative to the largest value: a few units in the last place
ROUNDING = {"float32": 1e-5, "float64": 1e-13}
#: the smallest normal float: the native core flushes results below it to zero, the module not
FLT_MIN = float(np.finfo(np.float32).tiny)
#: below this, gradients and curvatures are compared as zero in the bit-for-bit test (see there)
TINY = 1e-24


@pytest.fixture(scope="module")
def mnist():
    from lenet.data import load_mnist

    return load_mnist(DATASETS, download=False)


def _labels(y):
    return encode(np.asarray(y, np.int32))


def run_node(tmp_path, model, dtype, ops):
    """Run `ops` in Node on the module; returns its results."""
    net = build(model, np.float32)  # "pairs": S2's maps read C1's in pairs (sources)
    recipe = RECIPES["seed" if model == "modern" else "paper"]
    case = {
        "binding": str(ASSETS / "lenet-core.js"),
        "module": str(ASSETS / "lenet-core.wasm"),
        "description": describe(net, recipe),
        "dtype": dtype,
        "model": model,
        "ops": ops,
    }
    (tmp_path / "case.json").write_text(json.dumps(case))
    subprocess.run(
        [NODE, str(HERE / "wasm_runner.js"), "case.json", "wasm.json"], cwd=tmp_path, check=True
    )
    return json.loads((tmp_path / "wasm.json").read_text())


def run_case(tmp_path, model, dtype, ops):
    """Run `ops` in Node on the module and natively; returns (wasm results, native results)."""
    wasm = run_node(tmp_path, model, dtype, ops)
    env = dict(
        os.environ,
        LENET_CPU_LEVEL="0",
        OMP_NUM_THREADS="1",
        PYTHONPATH=str(Path(lenet.__file__).resolve().parents[1]),
    )
    subprocess.run(
        [sys.executable, str(HERE / "wasm_native.py"), "case.json", "native.json"],
        cwd=tmp_path,
        check=True,
        env=env,
    )
    return wasm, json.loads((tmp_path / "native.json").read_text())


def values(text, dtype):
    return np.frombuffer(base64.b64decode(text), dtype)


def assert_rounding(wasm, native, dtype, what):
    a, b = values(wasm, dtype), values(native, dtype)
    assert a.shape == b.shape, what
    scale = float(np.abs(b).max()) or 1.0
    worst = float(np.abs(a.astype(np.float64) - b).max()) / scale
    assert worst <= ROUNDING[dtype], f"{what}: largest difference {worst:.3g} of the largest value"


@pytest.mark.parametrize("model", ["paper", "modern"])
def test_every_test_image_gets_the_native_answer(tmp_path, mnist, model):
    (_, _), (x, _) = mnist
    wasm, native = run_case(tmp_path, model, "float32", [{"op": "forward", "pixels": encode(x)}])
    a, b = (values(r["out"], np.float32).reshape(len(x), 10) for r in (wasm[0], native[0]))
    best = np.argmin if model == "paper" else np.argmax
    assert np.array_equal(best(a, axis=1), best(b, axis=1))
    assert_rounding(wasm[0]["out"], native[0]["out"], "float32", "penalties/logits")


def _ops_after_forward(mnist, steps):
    """The trace, gradients, SDLM curvature and `steps` SDLM training steps both tests compare."""
    (xt, yt), (x, y) = mnist
    return [
        {"op": "trace", "pixels": encode(x[:50])},
        {"op": "gradients", "pixels": encode(x[:8]), "labels": _labels(y[:8])},
        {"op": "curvature", "pixels": encode(xt[:100]), "labels": _labels(yt[:100]),
         "lr": 5e-4, "mu": 0.5},
        {"op": "train", "pixels": encode(xt[:steps]), "labels": _labels(yt[:steps]),
         "order": _labels(np.arange(steps)), "batch": 1, "patterns": encode(xt[1000:1100]),
         "pattern_labels": _labels(yt[1000:1100]), "lr": 5e-4, "mu": 0.5},
    ]  # fmt: skip


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("model", ["paper", "modern", "pairs"])
def test_trace_gradients_curvature_and_training_match_the_native_engine(
    tmp_path, mnist, model, dtype
):
    (xt, yt), (x, y) = mnist
    steps = 300
    ops = _ops_after_forward(mnist, steps)
    if model == "modern":
        # SDLM at batch size 1 on the modern network's raw 0..255 pixels (not its recipe)
        # amplifies last-place differences: measured 14% apart after 300 steps (3.5% after 30)
        # against a native build with FMA; left out here (the bit-for-bit test has it)
        ops.pop()
    wasm, native = run_case(tmp_path, model, dtype, ops)
    for i, (w, n) in enumerate(zip(wasm[0]["layers"], native[0]["layers"])):
        assert_rounding(w["a"], n["a"], dtype, f"layer {i} sums")
        assert_rounding(w["y"], n["y"], dtype, f"layer {i} states")
    assert wasm[1]["loss"] == pytest.approx(native[1]["loss"], rel=ROUNDING[dtype])
    assert_rounding(wasm[1]["grads"], native[1]["grads"], dtype, "parameter gradients")
    for i, (w, n) in enumerate(zip(wasm[1]["layers"], native[1]["layers"])):
        assert_rounding(w["da"], n["da"], dtype, f"layer {i} dE/da")
        assert_rounding(w["dy"], n["dy"], dtype, f"layer {i} dE/dy")
    assert_rounding(wasm[2]["curvature"], native[2]["curvature"], dtype, "curvature")
    assert_rounding(wasm[2]["steps"], native[2]["steps"], dtype, "step sizes")
    # (not the errors counted on the way: an untrained modern network's logits are nearly
    # tied, and a last-place difference can flip its answer to a pattern)
    if model == "modern":
        return
    for key in ("steps", "updates"):
        assert wasm[3][key] == native[3][key], key
    assert_rounding(
        wasm[3]["params"], native[3]["params"], dtype, f"parameters after {steps} steps"
    )


def assert_bits(wasm, native, what, below=FLT_MIN):
    """The same float32 bits, once every value below `below` in magnitude is read as 0."""
    a, b = (values(text, np.float32).copy() for text in (wasm, native))
    assert a.shape == b.shape, what
    for v in (a, b):
        v[np.abs(v) < below] = 0
    differ = np.flatnonzero(a.view(np.uint32) != b.view(np.uint32))
    assert differ.size == 0, (
        f"{what}: {differ.size} of {a.size} values differ, the first at {differ[0]}: "
        f"{a[differ[0]]!r} (module) and {b[differ[0]]!r} (native)"
    )


@pytest.mark.skipif(
    _core.dispatched(),
    reason="needs the native build of the portable path alone (LENET_NO_DISPATCH=1): the loops "
    "a dispatching build picks at load time use FMA where the CPU has it",
)
@pytest.mark.parametrize("model", ["paper", "modern", "pairs"])
def test_float32_is_the_portable_native_build_bit_for_bit(tmp_path, mnist, model):
    """Everything the page computes in float32 is the native engine's bits: the penalties
    (logits) of all 10,000 test images, every layer's sums and states, the loss, the gradients,
    the curvature and step sizes, 300 SDLM steps. Denormals are handled as the two differ: the
    native core flushes every result below FLT_MIN (1.2e-38) to zero, WebAssembly keeps it, so
    values below FLT_MIN count as 0 on both sides. A kept denormal term also changes the last
    bits of the tiny sums it enters: measured, 83 of the modern network's 61,706 gradients (all
    below 4e-32) and 154 of its curvatures (below 1.3e-29) differ; gradients and curvatures are
    therefore compared below TINY (1e-24) as 0. The paper's network needs neither: it is the
    same bits throughout (its RBF sums are added in one written-out order, csrc/rbf.c)."""
    (xt, yt), (x, y) = mnist
    steps = 300
    ops = [{"op": "forward", "pixels": encode(x)}, *_ops_after_forward(mnist, steps)]
    wasm, native = run_case(tmp_path, model, "float32", ops)
    assert_bits(wasm[0]["out"], native[0]["out"], "the 10,000 test images' outputs")
    for i, (w, n) in enumerate(zip(wasm[1]["layers"], native[1]["layers"], strict=True)):
        assert_bits(w["a"], n["a"], f"layer {i} sums")
        assert_bits(w["y"], n["y"], f"layer {i} states")
    assert wasm[2]["loss"] == native[2]["loss"]
    assert_bits(wasm[2]["grads"], native[2]["grads"], "parameter gradients", TINY)
    for i, (w, n) in enumerate(zip(wasm[2]["layers"], native[2]["layers"], strict=True)):
        assert_bits(w["da"], n["da"], f"layer {i} dE/da", TINY)
        assert_bits(w["dy"], n["dy"], f"layer {i} dE/dy", TINY)
    assert_bits(wasm[3]["curvature"], native[3]["curvature"], "curvature", TINY)
    assert_bits(wasm[3]["steps"], native[3]["steps"], "step sizes")
    for key in ("steps", "updates", "lossSum", "errors", "diverged"):
        assert wasm[4][key] == native[4][key], key
    assert_bits(wasm[4]["params"], native[4]["params"], f"parameters after {steps} steps")


def _drawings(x):
    """Drawings as the page sends them (whole grey levels, 112x112 and other sizes): MNIST test
    digits scaled up, thin strokes, a dot, a wide and a tall box, noise, and an empty pad."""
    rng = np.random.default_rng(7)
    out = [np.kron(d, np.ones((4, 4))) for d in x[:40]]  # 112x112, as the pad sends
    out += [np.kron(d, np.ones((k, k)))[: 28 * k - 3, :] for k, d in zip((2, 3, 5), x[40:43])]
    for _ in range(20):  # one random straight stroke, 1 to 6 pixels thick
        d = np.zeros((int(rng.integers(28, 200)), int(rng.integers(28, 200))))
        r0, r1 = sorted(rng.integers(0, d.shape[0], 2))
        c0, c1 = sorted(rng.integers(0, d.shape[1], 2))
        t = int(rng.integers(1, 7))
        for s in np.linspace(0, 1, 200):
            r, c = int(r0 + s * (r1 - r0)), int(c0 + s * (c1 - c0))
            d[r : r + t, c : c + t] = rng.integers(9, 256)
        out.append(d)
    dot, wide, tall = np.zeros((112, 112)), np.zeros((112, 112)), np.zeros((112, 112))
    dot[50, 60], wide[50:53, 5:100], tall[5:100, 50:53] = 255, 200, 120
    out += [dot, wide, tall, rng.integers(0, 256, (64, 90)).astype(float), np.zeros((112, 112))]
    return out


def test_a_drawing_is_made_mnist_like_as_the_native_core_makes_it(tmp_path, mnist):
    from lenet.engine import _core

    drawings = _drawings(mnist[1][0])
    ops = [
        {"op": "drawing", "drawn": encode(d.astype(np.float64)), "rows": d.shape[0],
         "cols": d.shape[1]}
        for d in drawings
    ]  # fmt: skip
    wasm = run_node(tmp_path, "paper", "float32", ops)
    for i, (d, w) in enumerate(zip(drawings, wasm)):
        native = _core.drawing_to_field(d)
        if native is None:
            assert w.get("empty"), f"drawing {i}: native finds no ink, the module does"
            continue
        centred, box, resized = native
        assert not w.get("empty"), f"drawing {i}: the module finds no ink"
        assert values(w["centred"], np.uint8).tobytes() == centred.tobytes(), f"drawing {i}"
        assert tuple(w["box"]) == box, f"drawing {i}"
        assert tuple(w["shape"]) == resized.shape, f"drawing {i}"
        assert values(w["resized"], np.float64).tobytes() == resized.tobytes(), f"drawing {i}"
