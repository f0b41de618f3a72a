"""Shared helpers for lenet's test suite.

* ``rng``: a seeded NumPy generator, fresh for every test (so tests do not depend on order).
* ``assert_close(actual, expected, dtype)``: elementwise |actual - expected| <= atol +
  rtol |expected|
  with tolerances per dtype; atol is scaled to the magnitude of ``expected`` (or ``scale``).
* ``threads``: a fixture that restores lenet's thread count after the test.
* ``tiny_data(n, seed)``: a small learnable two-class task in the paper's input range.
* ``paper_digits()``: ten 32x32 images of the digits, preprocessed as Section III.A says.
* ``reference_forward`` / ``reference_backward``: a network's pass computed layer by layer with
  ``lenet.reference`` only, as an oracle for whole-network tests.
* ``MNIST`` / ``needs_mnist``: the real MNIST files (beside the project, or in ``$LENET_DATA``),
  and the skip marker for tests that read them (``MNIST_SKIP_REASON`` says how to enable them).
* ``dataset_sandbox``, ``mirror_server``: the fixtures of the tests of ``lenet.data``, from
  ``dataset_files`` (its small IDX sets and writers too).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

import lenet
from lenet import reference_network
from lenet.engine.layers import Convolution, FullConnection, RBFOutput, Subsampling
from lenet.paper import DIGIT_BITMAPS, parse_bitmap
from lenet.run.boosting import BoostingSettings, train_boosted

# the fixtures of the tests of lenet.data (tests/data/), made known to every test module here
from dataset_files import dataset_sandbox, mirror_server  # noqa: F401

# The tests read lenet's messages in English, whatever the machine's locale says
# (tests/test_messages.py sets the language it tests; grading subprocesses inherit this).
os.environ["LENET_LANG"] = "en"

# No example database on disk (nothing is written outside the test run), no per-example deadline
# (the first call of a kernel may wake OpenMP threads).
settings.register_profile("lenet", database=None, deadline=None)
settings.load_profile("lenet")

#: the shared datasets folder beside the project
SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
_IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _holds_mnist(folder: Path) -> bool:
    return all(
        (folder / name).is_file() or (folder / (name + ".gz")).is_file() for name in _IDX_FILES
    )


def _find_datasets() -> Path:
    """The folder holding mnist/ that the tests read: ../shared/datasets beside the project,
    else $LENET_DATA (as the README has users set it); the former when neither holds MNIST."""
    env = os.environ.get("LENET_DATA", "")
    candidates = [SHARED_DATASETS] + ([Path(env).expanduser()] if env else [])
    return next((c for c in candidates if _holds_mnist(c / "mnist")), SHARED_DATASETS)


#: the folder holding mnist/ (give it as LENET_DATA or root/--data's parent), and MNIST itself
DATASETS = _find_datasets()
MNIST = DATASETS / "mnist"
HAVE_MNIST = _holds_mnist(MNIST)
#: the one reason given by every test skipped for want of MNIST
MNIST_SKIP_REASON = (
    "needs MNIST: put its four IDX files (.gz or not) in ../shared/datasets/mnist "
    "beside the project, or set LENET_DATA to a folder holding mnist/"
)
needs_mnist = pytest.mark.skipif(not HAVE_MNIST, reason=MNIST_SKIP_REASON)

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]

# (rtol, atol): float64 is computed with a different summation order from the reference, so
# it agrees to a few ulps of the largest magnitude; float32 accumulates in float32.
TOLERANCES = {
    np.dtype(np.float64): (1e-12, 1e-12),
    np.dtype(np.float32): (1e-5, 1e-5),
}


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240501)


@pytest.fixture(params=DTYPES, ids=DTYPE_IDS)
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture
def threads():
    """Restore lenet's thread count after the test, whatever it set."""
    before = lenet.get_num_threads()
    yield
    lenet.set_num_threads(before)


def assert_close(actual, expected, dtype, scale=None, check_dtype=True, what=""):
    """|actual - expected| <= atol * scale + rtol * |expected| elementwise.

    ``scale`` defaults to max(1, max |expected|): the absolute tolerance grows with the size of
    the numbers compared, since both sides round at that magnitude.
    """
    dtype = np.dtype(dtype)
    actual_arr = np.asarray(actual)
    expected_arr = np.asarray(expected)
    if check_dtype:
        assert actual_arr.dtype == dtype, f"{what}: dtype {actual_arr.dtype}, expected {dtype}"
    assert actual_arr.shape == expected_arr.shape, (
        f"{what}: shape {actual_arr.shape}, expected {expected_arr.shape}"
    )
    a = actual_arr.astype(np.float64)
    e = expected_arr.astype(np.float64)
    assert np.isfinite(a).all() == np.isfinite(e).all(), f"{what}: non-finite values differ"
    rtol, atol = TOLERANCES[dtype]
    if scale is None:
        scale = max(1.0, float(np.max(np.abs(e)))) if e.size else 1.0
    err = np.abs(a - e)
    bound = atol * scale + rtol * np.abs(e)
    bad = err > bound
    if bad.any():
        i = np.unravel_index(np.argmax(err - bound), err.shape)
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {err.size} entries differ beyond rtol={rtol}, "
            f"atol={atol}*{scale:.3g}; worst at {i}: actual {a[i]!r}, expected {e[i]!r}, "
            f"max abs error {err.max():.3e}"
        )


def tiny_data(n=48, seed=0):
    """n images in the paper's range whose class (0 or 1) is the brighter of two halves: a
    learnable task for short training runs."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.1, 0.3, (n, 1, 32, 32)).astype(np.float32)
    y = rng.integers(0, 2, n)
    x[y == 0, :, :16] += 0.8
    x[y == 1, :, 16:] += 0.8
    return x, y


def paper_digits(dtype=np.float64) -> np.ndarray:
    """(10, 1, 32, 32): each prototype bitmap (12x7) drawn 2x larger (24x14), centred in a
    32x32 field, background -0.1 and ink 1.175 (Section III.A's normalisation)."""
    images = np.full((10, 1, 32, 32), -0.1)
    for d, drawing in enumerate(DIGIT_BITMAPS):
        ink = np.kron(parse_bitmap(drawing), np.ones((2, 2))) > 0
        field = images[d, 0, 4:28, 9:23]
        field[ink] = 1.175
    return images.astype(dtype)


# ---- a whole network computed with lenet.reference only --------------------------------------

reference_forward = (
    reference_network.network_forward
)  # [(layer input, a, y) for every layer], float64
reference_backward = reference_network.network_backward  # (dx, {"C1.weight": grad, ...}), float64


class StopAfter:
    """Stands in for the Ctrl-C catcher: 'requested' turns True at the k-th look."""

    def __init__(self, k):
        self.k = k

    def __call__(self):
        return self

    def __enter__(self):
        self.looks = 0
        return self

    def __exit__(self, *exc):
        return False

    @property
    def requested(self):
        self.looks += 1
        return self.looks > self.k


# ---- one small random case of each kind of layer (test_layers.py, test_sdlm.py) --------------

#: The kinds of layer, with the settings that change how they compute.
LAYER_CASES = [
    "convolution",
    "convolution, table, padded",
    "subsampling",
    "average pooling",
    "max pooling",
    "subsampling, sources",
    "average pooling, sources",
    "max pooling, sources",
    "full connection",
    "linear full connection",
    "rbf output",
]

#: The input map each output map reads in the layer cases with sources: of the 3 input maps one
#: is read three times, one once, one not at all (LeNet-4's S2 reads each of its 4 maps twice).
CASE_SOURCES = (2, 0, 2, 2)


def layer_case(case: str, seed: int = 0, dtype=np.float64):
    """(layer, x): a small layer of the kind ``case`` names, its parameters drawn from ``seed``,
    and a batch of 2 inputs for it (standard normal)."""
    rng = np.random.default_rng(seed)
    if case == "convolution":
        layer, shape = Convolution(2, 3, 3, activation="swish", dtype=dtype, name="C"), (2, 5, 4)
    elif case == "convolution, table, padded":
        table = rng.random((4, 3)) < 0.5
        table[:, 0], table[0] = True, [True, False, True]  # every map fed, not every pair
        layer = Convolution(3, 4, 3, 1, table, dtype=dtype, name="C")
        shape = (3, 5, 6)
    elif case.removesuffix(", sources") in ("subsampling", "average pooling", "max pooling"):
        kind = case.removesuffix(", sources")
        mode = {"subsampling": "paper", "average pooling": "average", "max pooling": "max"}[kind]
        activation = {"paper": "scaled_tanh", "average": "sigmoid", "max": "identity"}[mode]
        sources = CASE_SOURCES if case.endswith("sources") else None
        layer = Subsampling(3, mode, activation, dtype, name="S", sources=sources)
        shape = (3, 6, 4)
    elif case in ("full connection", "linear full connection"):
        activation = "scaled_tanh" if case == "full connection" else "identity"
        layer, shape = FullConnection(12, 5, activation, dtype, name="F"), (3, 2, 2)
    else:
        layer, shape = RBFOutput(np.sign(rng.standard_normal((4, 6))), dtype), (6,)
    layer.init_parameters(rng, "lecun98-sqrt")
    return layer, rng.standard_normal((2, *shape)).astype(dtype)


# ---- boosting on a tiny budget (tests/run/test_boosting.py, test_boosted_reference.py) --------

#: a pass on 1,500 images per net, 200 patterns for nets 2 and 3, LeNet-1 standing in for LeNet-4
BOOSTING_TINY = BoostingSettings(
    model="lenet1", images=1500, validation=500, patterns=200, candidates=5000, passes=1
)


def run_boosted(out, settings=BOOSTING_TINY, resume=False):
    """Train (or resume) a boosted run into ``out`` on the shared MNIST, quietly."""
    return train_boosted(out, settings, resume=resume, data=DATASETS, progress=False, echo=None)


@pytest.fixture(scope="session")
def boosted_run(tmp_path_factory):
    """(folder, record) of one tiny boosted run, made once for every test that reads it (a
    test that trains or resumes makes its own folder)."""
    out = tmp_path_factory.mktemp("boosted") / "run"
    return out, run_boosted(out)


# ---- made-up records of the results files (benchmarks/results/*.jsonl) -----------------------


def figure9_record(network: str, seed: int, errors: int, **fields) -> dict:
    """A made-up record of the Figure 9 study (``errors`` of the 10,000 test images wrong);
    ``fields`` change the others."""
    return {
        "study": "figure9",
        "network": network,
        "seed": seed,
        "distort": False,
        "passes": 20,
        "images": 60_000,
        "test_errors": errors,
        "test_error": errors / 10_000,
        "train_error": 0.01,
        "train_seconds": 100.0,
        "parameters": 1000,
        "multiply_adds": 2000,
        "lenet_version": "0.1.0",
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "date": "2026-01-01T00:00:00Z",
        "cpu": "a CPU",
        "command": "lenet train",
        **fields,
    }


def write_jsonl(path: Path, records: list[dict], end: str = "") -> None:
    """``records`` as a results file: one JSON object per line (then ``end``)."""
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + end)
