"""Full connection (F6, the modern output layer): C kernels against lenet.reference; the
FullConnection layer's shapes and gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lenet
from lenet import reference as R
from lenet.engine import _core

from conftest import DTYPE_IDS, DTYPES, assert_close

SHAPES = [
    (1, 120, 84),
    (64, 120, 84),
    (64, 84, 10),
    (1, 400, 120),
    (3, 7, 5),
    (5, 1, 1),
    (2, 33, 65),
    (1, 31, 1),
]


def _case(rng, shape, dtype):
    n, fi, fo = shape
    return (
        rng.standard_normal((n, fi)).astype(dtype),
        rng.standard_normal((fo, fi)).astype(dtype),
        rng.standard_normal(fo).astype(dtype),
        rng.standard_normal((n, fo)).astype(dtype),
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_dense_matches_reference(rng, shape, dtype):
    x, weight, bias, d_out = _case(rng, shape, dtype)
    out = _core.dense_forward(x, weight, bias)
    assert out.shape == (shape[0], shape[2])
    assert_close(out, R.dense_forward(x, weight, bias), dtype, what="forward")
    for got, want, name in zip(
        _core.dense_backward(x, weight, d_out),
        R.dense_backward(x, weight, d_out),
        ("d_x", "d_weight", "d_bias"),
    ):
        assert_close(got, want, dtype, what=name)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_dense_in_place_outputs_and_no_input_grad(rng, dtype):
    x, weight, _, d_out = _case(rng, (4, 9, 5), dtype)
    d_w = np.full(weight.shape, np.nan, dtype)
    d_b = np.full(5, np.nan, dtype)
    d_x, rw, rb = _core.dense_backward(
        x, weight, d_out, need_input_grad=False, d_weight=d_w, d_bias=d_b
    )
    assert d_x is None and rw is d_w and rb is d_b
    _, e_w, e_b = R.dense_backward(x, weight, d_out)
    assert_close(d_w, e_w, dtype)
    assert_close(d_b, e_b, dtype)


def test_dense_weight_layout_is_out_by_in():
    """weight[o, i] multiplies input i into output o (PyTorch's nn.Linear layout)."""
    weight = np.zeros((2, 3))
    weight[1, 2] = 5.0
    out = _core.dense_forward(np.array([[0.0, 0.0, 1.0]]), weight, np.zeros(2))
    assert np.array_equal(out, [[0.0, 5.0]])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_full_connection_accepts_c5_shaped_input(rng, dtype):
    layer = lenet.FullConnection(120, 84, dtype=dtype)
    layer.init_parameters(rng)
    x4 = rng.standard_normal((3, 120, 1, 1)).astype(dtype)
    y4 = layer.forward(x4)
    assert y4.shape == (3, 84) and y4.dtype == dtype
    dy = rng.standard_normal((3, 84)).astype(dtype)
    dx4 = layer.backward(dy)
    g4 = {k: v.copy() for k, v in layer.grads.items()}
    assert dx4.shape == (3, 120, 1, 1)
    y2 = layer.forward(x4.reshape(3, 120))
    dx2 = layer.backward(dy)
    assert np.array_equal(y4, y2)
    assert dx2.shape == (3, 120)
    assert np.array_equal(dx4.reshape(3, 120), dx2)
    for k in g4:
        assert np.array_equal(g4[k], layer.grads[k])
    # against the reference, through the squashing function
    a = R.dense_forward(x4.reshape(3, 120), layer.params["weight"], layer.params["bias"])
    assert_close(y4, R.activation_forward(a, "scaled_tanh"), dtype)
    e_x, e_w, e_b = R.dense_backward(
        x4.reshape(3, 120), layer.params["weight"], R.activation_backward(a, dy, "scaled_tanh")
    )
    assert_close(dx4.reshape(3, 120), e_x, dtype)
    assert_close(layer.grads["weight"], e_w, dtype)
    assert_close(layer.grads["bias"], e_b, dtype)


def test_full_connection_parameter_layout():
    layer = lenet.FullConnection(120, 84)
    assert layer.params["weight"].shape == (84, 120)
    assert layer.params["bias"].shape == (84,)
    assert layer.num_parameters() == 10164


@pytest.mark.parametrize("activation", ["scaled_tanh", "swish", "sigmoid", "tanh", "identity"])
@pytest.mark.parametrize("in_shape", [(2, 120), (3, 120, 1, 1), (1, 120)])
def test_full_connection_gradcheck(rng, activation, in_shape):
    layer = lenet.FullConnection(120, 84, activation=activation, dtype=np.float64)
    layer.init_parameters(rng)
    layer.params["weight"][...] *= 20  # bring the sums into the curved part of f
    x = rng.standard_normal(in_shape)
    assert lenet.gradcheck(layer, x, samples=40) < 1e-6


@settings(max_examples=60)
@given(
    n=st.integers(1, 5),
    fi=st.integers(1, 40),
    fo=st.integers(1, 40),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_dense_random_shapes_match_reference(n, fi, fo, dtype, seed):
    x, weight, bias, d_out = _case(np.random.default_rng(seed), (n, fi, fo), dtype)
    assert_close(_core.dense_forward(x, weight, bias), R.dense_forward(x, weight, bias), dtype)
    for got, want in zip(
        _core.dense_backward(x, weight, d_out), R.dense_backward(x, weight, d_out)
    ):
        assert_close(got, want, dtype)
