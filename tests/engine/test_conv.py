"""Convolution (C1, C3, C5): the C kernels against lenet.reference, and the layer's gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lenet
from lenet import reference as R
from lenet.engine import _core

from conftest import DTYPE_IDS, DTYPES, assert_close

# (batch, in_maps, out_maps, H, W, k, padding, table): table None, "I" (Table I) or "random"
SHAPES = [
    (1, 1, 6, 32, 32, 5, 0, None),  # C1, one image
    (3, 1, 6, 32, 32, 5, 0, None),  # C1, small batch
    (64, 1, 6, 32, 32, 5, 0, None),  # C1, a training batch
    (2, 6, 16, 14, 14, 5, 0, "I"),  # C3 with Table I
    (1, 6, 16, 14, 14, 5, 0, "I"),
    (2, 16, 120, 5, 5, 5, 0, None),  # C5: 1x1 output maps
    (3, 2, 3, 7, 9, 3, 1, None),  # odd, non-square input, k=3, pad 1
    (2, 3, 4, 7, 9, 5, 2, "random"),  # 'same' padding, random table
    (2, 3, 5, 6, 5, 1, 0, None),  # k = 1
    (1, 4, 2, 5, 7, 1, 2, "random"),  # k = 1 with padding: border outputs are bias only
    (2, 2, 3, 3, 4, 3, 2, None),  # padding larger than needed
    (2, 2, 3, 48, 45, 5, 1, "random"),  # maps too large for the wide layout: the plain loops
    (1, 1, 2, 50, 50, 3, 0, None),  # the same, k = 3
]


def _case(rng, shape, dtype):
    n, ci, co, h, w, k, p, table = shape
    x = rng.standard_normal((n, ci, h, w)).astype(dtype)
    weight = rng.standard_normal((co, ci, k, k)).astype(dtype)
    bias = rng.standard_normal(co).astype(dtype)
    if table == "I":
        table = R.connection_table_i()
    elif table == "random":
        table = rng.random((co, ci)) < 0.5
        table[:, 0] |= ~table.any(axis=1)  # keep one input per output map
        assert not table.all()
    ho, wo = h + 2 * p - k + 1, w + 2 * p - k + 1
    d_out = rng.standard_normal((n, co, ho, wo)).astype(dtype)
    return x, weight, bias, table, p, d_out


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s[:7])) + f"-{s[7]}")
def test_conv_forward_matches_reference(rng, shape, dtype):
    x, weight, bias, table, p, _ = _case(rng, shape, dtype)
    out = _core.conv_forward(x, weight, bias, table, p)
    expected = R.conv_forward(x, weight, bias, table, p)
    n, ci, co, h, w, k = shape[:6]
    assert out.shape == (n, co, h + 2 * p - k + 1, w + 2 * p - k + 1)
    assert_close(out, expected, dtype, what="conv forward")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s[:7])) + f"-{s[7]}")
def test_conv_backward_matches_reference(rng, shape, dtype):
    x, weight, _, table, p, d_out = _case(rng, shape, dtype)
    d_x, d_w, d_b = _core.conv_backward(x, weight, d_out, table, p)
    e_x, e_w, e_b = R.conv_backward(x, weight, d_out, table, p)
    assert_close(d_x, e_x, dtype, what="d_x")
    assert_close(d_w, e_w, dtype, what="d_weight")
    assert_close(d_b, e_b, dtype, what="d_bias")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("table_kind", ["I", "random"])
def test_unconnected_pairs_have_exactly_zero_weight_gradient(rng, dtype, table_kind):
    shape = (3, 6, 16, 14, 14, 5, 0, "I") if table_kind == "I" else (3, 4, 5, 8, 8, 3, 1, "random")
    x, weight, _, table, p, d_out = _case(rng, shape, dtype)
    # Nonzero weights on unconnected pairs must neither be used nor get gradient.
    _, d_w, _ = _core.conv_backward(x, weight, d_out, table, p)
    table = np.asarray(table, bool)
    assert np.all(d_w[~table] == 0)
    assert np.all(np.abs(d_w[table]).sum(axis=(1, 2)) > 0)  # the connected ones do get some


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_unconnected_weights_are_ignored_by_forward_and_input_gradient(rng, dtype):
    x, weight, bias, table, p, d_out = _case(rng, (2, 6, 16, 14, 14, 5, 0, "I"), dtype)
    zeroed = weight * table[:, :, None, None]
    assert np.array_equal(
        _core.conv_forward(x, weight, bias, table, p), _core.conv_forward(x, zeroed, bias, table, p)
    )
    assert np.array_equal(
        _core.conv_backward(x, weight, d_out, table, p)[0],
        _core.conv_backward(x, zeroed, d_out, table, p)[0],
    )
    # ... while without the table the same weights do change the result.
    assert not np.allclose(
        _core.conv_forward(x, weight, bias, None, p), _core.conv_forward(x, weight, bias, table, p)
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_full_table_equals_no_table(rng, dtype):
    x, weight, bias, _, p, d_out = _case(rng, (2, 3, 4, 7, 9, 3, 1, None), dtype)
    full = np.ones((4, 3), bool)
    assert np.array_equal(
        _core.conv_forward(x, weight, bias, full, p), _core.conv_forward(x, weight, bias, None, p)
    )
    for a, b in zip(
        _core.conv_backward(x, weight, d_out, full, p),
        _core.conv_backward(x, weight, d_out, None, p),
    ):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_in_place_gradient_buffers_are_written(rng, dtype):
    x, weight, _, table, p, d_out = _case(rng, (2, 3, 4, 7, 9, 3, 1, "random"), dtype)
    d_weight = np.full(weight.shape, np.nan, dtype)  # stale contents must be overwritten
    d_bias = np.full(4, np.nan, dtype)
    d_x, dw_ret, db_ret = _core.conv_backward(
        x, weight, d_out, table, p, d_weight=d_weight, d_bias=d_bias
    )
    assert dw_ret is d_weight and db_ret is d_bias
    _, e_w, e_b = R.conv_backward(x, weight, d_out, table, p)
    assert_close(d_weight, e_w, dtype, what="d_weight in place")
    assert_close(d_bias, e_b, dtype, what="d_bias in place")
    # calling again overwrites, never accumulates
    _core.conv_backward(x, weight, d_out, table, p, d_weight=d_weight, d_bias=d_bias)
    assert_close(d_weight, e_w, dtype, what="d_weight second call")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_need_input_grad_false_returns_none(rng, dtype):
    x, weight, _, table, p, d_out = _case(rng, (2, 6, 16, 14, 14, 5, 0, "I"), dtype)
    d_x, d_w, d_b = _core.conv_backward(x, weight, d_out, table, p, need_input_grad=False)
    assert d_x is None
    _, e_w, e_b = R.conv_backward(x, weight, d_out, table, p)
    assert_close(d_w, e_w, dtype)
    assert_close(d_b, e_b, dtype)


def test_padding_zero_pads(rng):
    """A 1x1 kernel with padding: the border is bias only, the inside is weight * x + bias."""
    x = rng.standard_normal((1, 1, 3, 4))
    out = _core.conv_forward(x, np.array([[[[2.0]]]]), np.array([0.5]), None, 2)
    assert out.shape == (1, 1, 7, 8)
    assert np.all(out[0, 0, :2] == 0.5) and np.all(out[0, 0, :, -2:] == 0.5)
    assert_close(out[0, 0, 2:5, 2:6], 2 * x[0, 0] + 0.5, np.float64)


def test_convolution_is_a_correlation_not_flipped():
    """a[y, x] = sum w[ky, kx] in[y + ky, x + kx] (PyTorch's conv2d), not a flipped kernel."""
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 0, 0] = 1.0
    w = np.arange(9.0).reshape(1, 1, 3, 3)
    out = _core.conv_forward(x, w, np.zeros(1))
    assert out[0, 0, 0, 0] == w[0, 0, 0, 0]


@pytest.mark.parametrize("activation", ["scaled_tanh", "swish"])
@pytest.mark.parametrize(
    "config",
    [
        dict(in_maps=6, out_maps=16, kernel_size=5, padding=0, table="I", hw=(14, 14), n=2),
        dict(in_maps=2, out_maps=3, kernel_size=3, padding=1, table="random", hw=(7, 9), n=2),
        dict(in_maps=1, out_maps=2, kernel_size=5, padding=2, table=None, hw=(6, 5), n=3),
    ],
    ids=["table-I", "random-table-pad1", "pad2"],
)
def test_convolution_layer_gradcheck(rng, config, activation):
    table = config["table"]
    if table == "I":
        table = R.connection_table_i()
    elif table == "random":
        table = np.array([[1, 0], [0, 1], [1, 1]], bool)
    layer = lenet.Convolution(
        config["in_maps"],
        config["out_maps"],
        config["kernel_size"],
        padding=config["padding"],
        connection_table=table,
        activation=activation,
        dtype=np.float64,
    )
    layer.init_parameters(rng)
    layer.params["weight"][...] *= 4  # out of the near-linear range of the squashing function
    x = rng.standard_normal((config["n"], config["in_maps"], *config["hw"]))
    err = lenet.gradcheck(layer, x, samples=40, seed=1)
    assert err < 1e-6
    # the layer's stored gradient keeps the table's zeros
    if table is not None:
        assert np.all(layer.grads["weight"][~np.asarray(table, bool)] == 0)


def test_gradcheck_detects_a_wrong_gradient(rng, monkeypatch):
    layer = lenet.Convolution(2, 3, 3, padding=1, dtype=np.float64)
    layer.init_parameters(rng)
    x = rng.standard_normal((2, 2, 5, 5))
    real = _core.conv_backward

    def broken(*args, **kwargs):
        d_x, d_w, d_b = real(*args, **kwargs)
        d_w *= 1.01
        return d_x, d_w, d_b

    monkeypatch.setattr(_core, "conv_backward", broken)
    assert lenet.gradcheck(layer, x, samples=20) > 1e-3


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_conv_random_shapes_match_reference(data):
    n = data.draw(st.integers(1, 3), label="n")
    ci = data.draw(st.integers(1, 4), label="in_maps")
    co = data.draw(st.integers(1, 4), label="out_maps")
    k = data.draw(st.sampled_from([1, 2, 3, 5]), label="k")
    p = data.draw(st.integers(0, 2), label="padding")
    h = data.draw(st.integers(max(1, k - 2 * p), 9), label="h")
    w = data.draw(st.integers(max(1, k - 2 * p), 9), label="w")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    use_table = data.draw(st.booleans(), label="table")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, ci, h, w)).astype(dtype)
    weight = rng.standard_normal((co, ci, k, k)).astype(dtype)
    bias = rng.standard_normal(co).astype(dtype)
    table = (rng.random((co, ci)) < 0.6) if use_table else None
    if table is not None:  # every output map reads some input map (an empty row is refused)
        table[np.arange(co), rng.integers(0, ci, co)] = True
    out = _core.conv_forward(x, weight, bias, table, p)
    assert_close(out, R.conv_forward(x, weight, bias, table, p), dtype, what="forward")
    d_out = rng.standard_normal(out.shape).astype(dtype)
    for got, want, name in zip(
        _core.conv_backward(x, weight, d_out, table, p),
        R.conv_backward(x, weight, d_out, table, p),
        ("d_x", "d_weight", "d_bias"),
    ):
        assert_close(got, want, dtype, what=name)
    if table is not None:
        assert np.all(_core.conv_backward(x, weight, d_out, table, p)[1][~table] == 0)
