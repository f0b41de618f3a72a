"""Shared helpers for lenet's test suite.

* ``rng``: a seeded NumPy generator, fresh for every test (so tests do not depend on order).
* ``assert_close(actual, expected, dtype)``: elementwise |actual - expected| <= atol + rtol |expected|
  with tolerances per dtype; atol is scaled to the magnitude of ``expected`` (or ``scale``).
* ``threads``: a fixture that restores lenet's thread count after the test.
* ``paper_digits()``: ten 32x32 images of the digits, preprocessed as Section III.A says.
* ``reference_forward`` / ``reference_backward``: a network's pass computed layer by layer with
  ``lenet.reference`` only, as an oracle for whole-network tests.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings

import lenet
from lenet import reference as R
from lenet.layers import Convolution, FullConnection, RBFOutput, Subsampling
from lenet.prototypes import DIGIT_BITMAPS, parse_bitmap

# No example database on disk (nothing is written outside the test run), no per-example deadline
# (the first call of a kernel may wake OpenMP threads).
settings.register_profile("lenet", database=None, deadline=None)
settings.load_profile("lenet")

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

def _ref_layer_forward(layer, x):
    if isinstance(layer, Convolution):
        table = None if layer.connection_table.all() else layer.connection_table
        a = R.conv_forward(x, layer.params["weight"], layer.params["bias"], table, layer.padding)
    elif isinstance(layer, Subsampling):
        a = R.subsample_forward(x, layer.params.get("coefficient"), layer.params.get("bias"),
                                layer.mode)
    elif isinstance(layer, FullConnection):
        a = R.dense_forward(x.reshape(x.shape[0], -1), layer.params["weight"],
                            layer.params["bias"])
    elif isinstance(layer, RBFOutput):
        a = R.rbf_forward(x, layer.prototypes)
    else:  # pragma: no cover
        raise TypeError(layer)
    return a, R.activation_forward(a, layer.activation)


def reference_forward(net, x):
    """[(layer input, a, y) for every layer] computed by lenet.reference, in float64."""
    cache, out = [], np.asarray(x, dtype=np.float64)
    for layer in net.layers:
        a, y = _ref_layer_forward(layer, out)
        cache.append((out, a, y))
        out = y
    return cache


def reference_backward(net, x, dout):
    """(dx, {"C1.weight": grad, ...}) for the network, computed by lenet.reference."""
    cache = reference_forward(net, x)
    grads = {}
    d = np.asarray(dout, dtype=np.float64)
    for layer, (inp, a, _) in zip(reversed(net.layers), reversed(cache)):
        da = R.activation_backward(a, d, layer.activation)
        if isinstance(layer, Convolution):
            table = None if layer.connection_table.all() else layer.connection_table
            d, gw, gb = R.conv_backward(inp, layer.params["weight"], da, table, layer.padding)
            grads[f"{layer.name}.weight"], grads[f"{layer.name}.bias"] = gw, gb
        elif isinstance(layer, Subsampling):
            d, gc, gb = R.subsample_backward(inp, da, layer.params.get("coefficient"), layer.mode)
            if layer.mode == "paper":
                grads[f"{layer.name}.coefficient"], grads[f"{layer.name}.bias"] = gc, gb
        elif isinstance(layer, FullConnection):
            flat = inp.reshape(inp.shape[0], -1)
            d, gw, gb = R.dense_backward(flat, layer.params["weight"], da)
            d = d.reshape(inp.shape)
            grads[f"{layer.name}.weight"], grads[f"{layer.name}.bias"] = gw, gb
        else:
            d = R.rbf_backward(inp, layer.prototypes, da)
    return d, grads
