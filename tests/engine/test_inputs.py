"""lenet.engine.inputs: the preprocessing schemes (Section III.A's "paper", "raw", "unit"),
``preprocess`` and ``Preprocessed`` (the same bits a batch at a time), on made-up images and
on the real MNIST (skipped when absent).
"""

from __future__ import annotations

import numpy as np
import pytest

from lenet.data import load_mnist
from lenet.engine import inputs

from conftest import MNIST as REAL_MNIST
from conftest import needs_mnist

SHAPES = {
    # input shape: {scheme: output shape}
    (5, 28, 28): {"paper": (5, 1, 32, 32), "raw": (5, 1, 28, 28), "unit": (5, 1, 28, 28)},
    (5, 1, 28, 28): {"paper": (5, 1, 32, 32), "raw": (5, 1, 28, 28), "unit": (5, 1, 28, 28)},
    (4, 3, 32, 32): {"paper": (4, 3, 32, 32), "raw": (4, 3, 32, 32), "unit": (4, 3, 32, 32)},
    (2, 32, 32): {"paper": (2, 1, 32, 32), "raw": (2, 1, 32, 32), "unit": (2, 1, 32, 32)},
    (0, 28, 28): {"paper": (0, 1, 32, 32), "raw": (0, 1, 28, 28), "unit": (0, 1, 28, 28)},
}
for _shape, _out in SHAPES.items():  # Figure 9's others: not padded; LeNet-1 takes 28x28 only
    _out["paper-28"] = _out["raw"]
    _out["lenet1"] = _out["raw"] if _shape[-2:] == (28, 28) else None
    _out["raw-32"] = _out["paper"]  # padded as the paper's input


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("scheme", inputs.PREPROCESSING)
@pytest.mark.parametrize("shape", list(SHAPES), ids=lambda s: "x".join(map(str, s)))
def test_preprocess_shapes_and_dtypes(shape, scheme, dtype):
    x = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    before = x.copy()
    if SHAPES[shape][scheme] is None:
        with pytest.raises(ValueError, match="LeNet-1's preprocessing takes 28x28 MNIST digits"):
            inputs.preprocess(x, scheme, dtype=dtype)
        return
    out = inputs.preprocess(x, scheme, dtype=dtype)
    assert out.shape == SHAPES[shape][scheme] and out.dtype == dtype
    np.testing.assert_array_equal(x, before)  # input untouched
    assert not np.shares_memory(out, x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_preprocess_paper_values(dtype):
    pixels = np.arange(256, dtype=np.uint8)
    images = np.resize(pixels, (2, 28, 28)).astype(np.uint8)  # every value appears
    out = inputs.preprocess(images, "paper", dtype)
    expected = -0.1 + 1.275 * images.astype(np.float64) / 255
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out[:, 0, 2:30, 2:30], expected, rtol=0, atol=tol)
    background = inputs.preprocess(np.zeros((1, 28, 28), np.uint8), "paper", dtype)
    ink = inputs.preprocess(np.full((1, 28, 28), 255, np.uint8), "paper", dtype)
    assert np.all(background == dtype(-0.1))
    assert np.all(ink[0, 0, 2:30, 2:30] == dtype(1.175))
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert np.all(ink[0, 0][border] == dtype(-0.1)) and border.sum() == 32 * 32 - 28 * 28
    # 32x32 input: the same mapping, no padding
    big = inputs.preprocess(np.full((1, 3, 32, 32), 255, np.uint8), "paper", dtype)
    assert np.all(big == dtype(1.175))


def test_raw_32_is_raw_pixels_padded_with_background():
    x = np.random.default_rng(2).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    out = inputs.preprocess(x, "raw-32")
    assert out.shape == (3, 1, 32, 32)
    np.testing.assert_array_equal(out[:, :, 2:30, 2:30], inputs.preprocess(x, "raw"))
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert np.all(out[:, 0][:, border] == 0.0)


@pytest.mark.parametrize("scheme, lo, hi", [("raw", 0.0, 255.0), ("unit", 0.0, 1.0)])
def test_preprocess_raw_and_unit(scheme, lo, hi):
    x = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    out = inputs.preprocess(x, scheme)
    assert out.min() == lo and out.max() == hi
    np.testing.assert_allclose(out[0, 0], x[0] * (hi / 255), rtol=1e-6)
    assert np.all(np.diff(out.ravel()) > 0)  # order preserved


@pytest.mark.parametrize(
    "args, error, words",
    [
        ((np.zeros((1, 28, 28), np.uint8), "Paper"), ValueError, "scheme"),
        ((np.zeros((1, 28, 28), np.uint8), "keras"), ValueError, "scheme"),
        ((np.zeros((1, 28, 28), np.float32), "paper"), TypeError, "uint8"),
        ((np.zeros((1, 28, 28), np.int64), "raw"), TypeError, "uint8"),
        ((np.zeros((28, 28), np.uint8), "paper"), ValueError, "(N, H, W)"),
        ((np.zeros((1, 1, 1, 28, 28), np.uint8), "paper"), ValueError, "(N, H, W)"),
    ],
)
def test_preprocess_rejects(args, error, words):
    with pytest.raises(error) as info:
        inputs.preprocess(*args)
    assert words in str(info.value)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("scheme", inputs.PREPROCESSING)
@pytest.mark.parametrize("shape", list(SHAPES), ids=lambda s: "x".join(map(str, s)))
def test_preprocessed_gives_the_bits_of_preprocess(shape, scheme, dtype):
    if SHAPES[shape][scheme] is None:
        pytest.skip("LeNet-1's preprocessing takes 28x28 digits only (tested above)")
    x = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    expected = inputs.preprocess(x, scheme, dtype)
    lazy = inputs.Preprocessed(x, scheme, dtype)
    assert lazy.shape == expected.shape and len(lazy) == len(expected) and lazy.ndim == 4
    assert np.array_equal(np.asarray(lazy), expected) and np.asarray(lazy).dtype == dtype
    picks = np.array([len(x) - 1, 0, 0]) if len(x) else np.array([], np.int64)
    assert np.array_equal(lazy[picks], expected[picks])
    assert np.array_equal(np.asarray(lazy[1:3]), expected[1:3])  # a slice stays lazy
    assert isinstance(lazy[1:3], inputs.Preprocessed)
    if len(x):
        assert np.array_equal(lazy[-1], expected[-1])
    # the table and padding the C gather uses make the same values
    assert lazy.lut.dtype == dtype and lazy.lut.shape == (256,)
    if len(x):
        p = lazy.pad
        assert np.array_equal(
            expected[:, :, p : expected.shape[2] - p, p : expected.shape[3] - p],
            lazy.lut[lazy.pixels],
        )
    assert lazy.nbytes * np.dtype(dtype).itemsize <= expected.nbytes or not len(x)


def test_preprocessed_changes_dtype_without_copying_pixels():
    x = np.random.default_rng(2).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    lazy = inputs.Preprocessed(x).astype(np.float64)
    assert lazy.dtype == np.float64 and np.array_equal(
        np.asarray(lazy), inputs.preprocess(x, dtype="float64")
    )
    assert np.shares_memory(lazy.pixels, inputs.Preprocessed(x).pixels)


def test_preprocessed_refuses_other_indices():
    lazy = inputs.Preprocessed(np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(IndexError, match="slice, an integer or indices"):
        lazy[0, 0]


@pytest.mark.parametrize(
    "args, error, words",
    [
        ((np.zeros((1, 28, 28), np.uint8), "Paper"), ValueError, "scheme"),
        ((np.zeros((1, 28, 28), np.float32), "paper"), TypeError, "uint8"),
        ((np.zeros((28, 28), np.uint8), "paper"), ValueError, "(N, H, W)"),
        ((np.zeros((1, 28, 28), np.uint8), "paper", np.int32), TypeError, "float32 or float64"),
    ],
)
def test_preprocessed_rejects_what_preprocess_rejects(args, error, words):
    with pytest.raises(error) as info:
        inputs.Preprocessed(*args)
    assert words in str(info.value)


def test_preprocess_rejects_integer_output_dtype():
    with pytest.raises(TypeError, match="float32 or float64"):
        inputs.preprocess(np.zeros((1, 28, 28), np.uint8), "paper", dtype=np.int32)


@needs_mnist
def test_real_mnist_preprocessed_as_the_paper_says():
    _, (x_test, _) = load_mnist(REAL_MNIST, download=False)
    x = inputs.preprocess(x_test[:1000])
    assert x.shape == (1000, 1, 32, 32) and x.dtype == np.float32
    assert np.all(x[:, :, :2] == np.float32(-0.1)) and np.all(x[:, :, :, -2:] == np.float32(-0.1))
    assert abs(float(x.mean())) < 0.2 and 0.2 < float(x.std()) < 1.0
