"""Shared helpers for lenet's test suite.

* ``rng``: a seeded NumPy generator, fresh for every test (so tests do not depend on order).
* ``assert_close(actual, expected, dtype)``: elementwise |actual - expected| <= atol + rtol |expected|
  with tolerances per dtype; atol is scaled to the magnitude of ``expected`` (or ``scale``).
* ``threads``: a fixture that restores lenet's thread count after the test.
* ``paper_digits()``: ten 32x32 images of the digits, preprocessed as Section III.A says.
* ``reference_forward`` / ``reference_backward``: a network's pass computed layer by layer with
  ``lenet.reference`` only, as an oracle for whole-network tests.
* ``MNIST`` / ``needs_mnist``: the real MNIST files beside the project, and the skip marker for
  tests that read them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

import lenet
from lenet import reference as R
from lenet.prototypes import DIGIT_BITMAPS, parse_bitmap

# No example database on disk (nothing is written outside the test run), no per-example deadline
# (the first call of a kernel may wake OpenMP threads).
settings.register_profile("lenet", database=None, deadline=None)
settings.load_profile("lenet")

#: the shared datasets folder beside the project (tests that need real data skip without it)
SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
MNIST = SHARED_DATASETS / "mnist"
needs_mnist = pytest.mark.skipif(not MNIST.is_dir(), reason="MNIST is not in ../shared/datasets")

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
        f"{what}: shape {actual_arr.shape}, expected {expected_arr.shape}")
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
            f"max abs error {err.max():.3e}")


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

reference_forward = R.network_forward  # [(layer input, a, y) for every layer], float64
reference_backward = R.network_backward  # (dx, {"C1.weight": grad, ...}), float64
