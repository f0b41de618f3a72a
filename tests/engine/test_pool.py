"""Subsampling (S2, S4): the paper's trainable sum, average and max pooling, against
lenet.reference; odd sizes, ties, and the Subsampling layer's gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lenet
from lenet import reference as R
from lenet.engine import _core

from conftest import DTYPE_IDS, DTYPES, assert_close

MODES = ["paper", "average", "max"]
SHAPES = [
    (1, 6, 28, 28),
    (64, 6, 28, 28),
    (3, 16, 10, 10),
    (2, 3, 7, 9),
    (1, 2, 5, 2),
    (2, 1, 2, 3),
    (4, 2, 3, 3),
]


def _case(rng, shape, dtype):
    n, c, h, w = shape
    x = rng.standard_normal(shape).astype(dtype)
    coefficient = rng.uniform(-0.6, 0.6, c).astype(dtype)
    bias = rng.uniform(-0.6, 0.6, c).astype(dtype)
    d_out = rng.standard_normal((n, c, h // 2, w // 2)).astype(dtype)
    return x, coefficient, bias, d_out


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_subsample_matches_reference(rng, shape, mode, dtype):
    x, coefficient, bias, d_out = _case(rng, shape, dtype)
    out = _core.subsample_forward(x, coefficient, bias, mode)
    n, c, h, w = shape
    assert out.shape == (n, c, h // 2, w // 2)
    assert_close(out, R.subsample_forward(x, coefficient, bias, mode), dtype, what="forward")
    d_x, d_c, d_b = _core.subsample_backward(x, d_out, coefficient, mode)
    e_x, e_c, e_b = R.subsample_backward(x, d_out, coefficient, mode)
    assert_close(d_x, e_x, dtype, what="d_x")
    if mode == "paper":
        assert_close(d_c, e_c, dtype, what="d_coefficient")
        assert_close(d_b, e_b, dtype, what="d_bias")
    else:
        assert d_c is None and d_b is None


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_paper_mode_sums_the_window(dtype):
    """The paper's unit adds the four inputs (not their mean): coefficient * sum + bias."""
    x = np.arange(16, dtype=dtype).reshape(1, 1, 4, 4)
    out = _core.subsample_forward(x, np.array([2.0], dtype), np.array([0.5], dtype), "paper")
    window_sums = np.array([[0 + 1 + 4 + 5, 2 + 3 + 6 + 7], [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]])
    assert np.array_equal(out[0, 0], (2 * window_sums + 0.5).astype(dtype))
    avg = _core.subsample_forward(x, mode="average")
    assert np.array_equal(avg[0, 0], (window_sums / 4).astype(dtype))
    mx = _core.subsample_forward(x, mode="max")
    assert np.array_equal(mx[0, 0], np.array([[5, 7], [13, 15]], dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("mode", MODES)
def test_odd_last_row_and_column_get_zero_gradient(rng, mode, dtype):
    x, coefficient, bias, d_out = _case(rng, (2, 3, 7, 9), dtype)
    d_x, _, _ = _core.subsample_backward(x, d_out, coefficient, mode)
    assert np.all(d_x[:, :, 6, :] == 0)
    assert np.all(d_x[:, :, :, 8] == 0)
    # changing the dropped row/column does not change the forward output
    y = x.copy()
    y[:, :, 6, :] = 100
    y[:, :, :, 8] = -100
    assert np.array_equal(
        _core.subsample_forward(x, coefficient, bias, mode),
        _core.subsample_forward(y, coefficient, bias, mode),
    )
    if mode != "max":  # every input inside a window gets some gradient
        assert np.all(d_x[:, :, :6, :8] != 0)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize(
    "window,winner",
    [
        ([[1.0, 1.0], [1.0, 1.0]], (0, 0)),  # four-way tie: the first
        ([[0.0, 2.0], [2.0, 2.0]], (0, 1)),  # three-way tie after the first
        ([[0.0, 1.0], [3.0, 3.0]], (1, 0)),  # tie in the second row
        ([[3.0, 0.0], [0.0, 3.0]], (0, 0)),  # tie between the first and the last
        ([[0.0, 0.0], [-1.0, 0.0]], (0, 0)),
        ([[-5.0, -4.0], [-3.0, -2.0]], (1, 1)),  # no tie: the largest
        ([[-0.0, 0.0], [0.0, 0.0]], (0, 0)),  # signed zeros compare equal
    ],
)
def test_max_ties_go_to_the_first_in_row_major_order(window, winner, dtype):
    x = np.array(window, dtype).reshape(1, 1, 2, 2)
    out = _core.subsample_forward(x, mode="max")
    assert out[0, 0, 0, 0] == np.max(x)
    d_x, _, _ = _core.subsample_backward(x, np.array([[[[3.5]]]], dtype), mode="max")
    expected = np.zeros((2, 2), dtype)
    expected[winner] = 3.5
    assert np.array_equal(d_x[0, 0], expected)
    assert np.array_equal(
        d_x, R.subsample_backward(x, np.array([[[[3.5]]]]), mode="max")[0].astype(dtype)
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_max_ties_on_many_windows(rng, dtype):
    x = rng.integers(0, 2, (3, 4, 8, 10)).astype(dtype)  # lots of ties
    d_out = rng.standard_normal((3, 4, 4, 5)).astype(dtype)
    d_x, _, _ = _core.subsample_backward(x, d_out, mode="max")
    e_x, _, _ = R.subsample_backward(x, d_out, mode="max")
    assert np.array_equal(d_x, e_x)
    # exactly one input per window gets the window's gradient
    windows = d_x.reshape(3, 4, 4, 2, 5, 2).transpose(0, 1, 2, 4, 3, 5).reshape(3, 4, 4, 5, 4)
    assert np.all((windows != 0).sum(axis=-1) == 1)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_in_place_parameter_gradients(rng, dtype):
    x, coefficient, _, d_out = _case(rng, (2, 3, 6, 6), dtype)
    d_c = np.full(3, np.nan, dtype)
    d_b = np.full(3, np.nan, dtype)
    _, rc, rb = _core.subsample_backward(
        x, d_out, coefficient, "paper", d_coefficient=d_c, d_bias=d_b
    )
    assert rc is d_c and rb is d_b
    _, e_c, e_b = R.subsample_backward(x, d_out, coefficient, "paper")
    assert_close(d_c, e_c, dtype)
    assert_close(d_b, e_b, dtype)


@pytest.mark.parametrize(
    "mode,activation",
    [
        ("paper", "scaled_tanh"),
        ("average", "scaled_tanh"),
        ("average", "identity"),
        ("paper", "swish"),
    ],
)
def test_subsampling_layer_gradcheck(rng, mode, activation):
    layer = lenet.Subsampling(3, mode, activation=activation, dtype=np.float64)
    layer.init_parameters(rng)
    x = rng.standard_normal((2, 3, 7, 6))
    assert lenet.gradcheck(layer, x) < 1e-6


@pytest.mark.parametrize("activation", ["identity", "swish"])
def test_max_subsampling_layer_gradcheck_without_ties(rng, activation):
    layer = lenet.Subsampling(3, "max", activation=activation, dtype=np.float64)
    assert layer.params == {}
    x = rng.standard_normal((2, 3, 6, 7))
    # tie-free: within every window the values differ by far more than the step eps = 1e-6
    windows = x[:, :, :6, :6].reshape(2, 3, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5)
    values = np.sort(windows.reshape(2, 3, 3, 3, 4), axis=-1)
    assert np.diff(values, axis=-1).min() > 1e-4
    assert lenet.gradcheck(layer, x) < 1e-6


def test_subsampling_layer_parameters():
    paper = lenet.Subsampling(6, "paper", dtype=np.float64)
    assert set(paper.params) == {"coefficient", "bias"}
    assert paper.params["coefficient"].shape == (6,) and paper.num_parameters() == 12
    for mode in ("average", "max"):
        layer = lenet.Subsampling(6, mode)
        assert layer.params == {} and layer.num_parameters() == 0


@settings(max_examples=60)
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 4),
    h=st.integers(2, 9),
    w=st.integers(2, 9),
    mode=st.sampled_from(MODES),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_subsample_random_shapes_match_reference(n, c, h, w, mode, dtype, seed):
    rng = np.random.default_rng(seed)
    x, coefficient, bias, d_out = _case(rng, (n, c, h, w), dtype)
    assert_close(
        _core.subsample_forward(x, coefficient, bias, mode),
        R.subsample_forward(x, coefficient, bias, mode),
        dtype,
    )
    got = _core.subsample_backward(x, d_out, coefficient, mode)
    want = R.subsample_backward(x, d_out, coefficient, mode)
    for g, e in zip(got, want):
        if e is None:
            assert g is None
        else:
            assert_close(g, e, dtype)
