"""Squashing functions f(a) and their slopes f'(a): the C kernels against lenet.reference,
the paper's constants, extreme inputs, and finite differences."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lenet import reference as R
from lenet.engine import _core

from conftest import DTYPE_IDS, DTYPES, assert_close

KINDS = list(R.ACTIVATIONS)


def _inputs(dtype):
    wide = np.concatenate(
        [
            np.linspace(-6, 6, 241),
            [-50.0, -30.0, -20.0, -10.0, 10.0, 20.0, 30.0, 50.0, -1e-8, 1e-8, 0.0, -0.0],
            [-100.0, 100.0, -1e3, 1e3, -1e4, 1e4, -1e8, 1e8, -1e30, 1e30],
        ]
    )
    return wide.astype(dtype)


def test_kinds_match_the_core():
    assert tuple(_core.ACTIVATIONS) == tuple(R.ACTIVATIONS)
    assert set(KINDS) == {"identity", "scaled_tanh", "tanh", "sigmoid", "relu", "swish"}


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind", KINDS)
def test_forward_derivative_backward_match_reference(kind, dtype, rng):
    a = _inputs(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_close(
            _core.activation_forward(a, kind),
            R.activation_forward(a, kind),
            dtype,
            what=f"{kind} forward",
        )
        assert_close(
            _core.activation_derivative(a, kind),
            R.activation_derivative(a, kind),
            dtype,
            what=f"{kind} derivative",
        )
        d_x = rng.standard_normal(a.shape).astype(dtype)
        assert_close(
            _core.activation_backward(a, d_x, kind),
            R.activation_backward(a, d_x, kind),
            dtype,
            what=f"{kind} backward",
        )


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind", KINDS)
def test_backward_from_the_states_matches_the_reference(kind, dtype, rng):
    # with y = f(a), the tanh kinds and swish read f'(a) off y; the others ignore y
    a = _inputs(dtype)
    y = _core.activation_forward(a, kind)
    d_x = rng.standard_normal(a.shape).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_states = _core.activation_backward(a, d_x, kind, y)
    assert_close(from_states, R.activation_backward(a, d_x, kind), dtype, what=f"{kind} from y")
    if "tanh" not in kind and kind != "swish":
        np.testing.assert_array_equal(from_states, _core.activation_backward(a, d_x, kind))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_backward_from_the_states_checks_their_shape(dtype):
    a = np.zeros((2, 3), dtype)
    with pytest.raises(ValueError, match="y must have shape"):
        _core.activation_backward(a, a, "scaled_tanh", np.zeros((3, 2), dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind", KINDS)
def test_any_shape_is_kept(kind, dtype, rng):
    a = rng.standard_normal((2, 3, 4, 5)).astype(dtype)
    for out in (
        _core.activation_forward(a, kind),
        _core.activation_derivative(a, kind),
        _core.activation_backward(a, a, kind),
    ):
        assert out.shape == a.shape and out.dtype == dtype


def test_paper_squashing_constants():
    assert R.SQUASH_A == 1.7159
    assert R.SQUASH_S == 2.0 / 3.0
    a = np.array([1.0, -1.0, 0.0, 3.0])
    x = _core.activation_forward(a, "scaled_tanh")
    assert abs(x[0] - 1.0) < 5e-5 and abs(x[1] + 1.0) < 5e-5  # f(1) = 1, f(-1) = -1
    assert x[2] == 0.0
    assert_close(x, 1.7159 * np.tanh(2.0 / 3.0 * a), np.float64)
    # the amplitude is the asymptote
    big = _core.activation_forward(np.array([1e4, -1e4]), "scaled_tanh")
    assert_close(big, [1.7159, -1.7159], np.float64)
    # gain A S at 0, close to 1
    assert_close(
        _core.activation_derivative(np.array([0.0]), "scaled_tanh"), [1.7159 * 2 / 3], np.float64
    )


def test_scaled_tanh_equals_its_sigmoid_form():
    """A tanh(S a) = 2A sigmoid(2 S a) - A (the identity the spec asks a sigmoid form to keep)."""
    a = np.linspace(-8, 8, 101)
    lhs = _core.activation_forward(a, "scaled_tanh")
    rhs = 2 * 1.7159 * _core.activation_forward(2 * (2 / 3) * a, "sigmoid") - 1.7159
    assert np.max(np.abs(lhs - rhs)) < 1e-14


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind", ["sigmoid", "swish", "tanh", "scaled_tanh"])
def test_saturating_inputs_stay_finite_without_warnings(kind, dtype):
    a = np.array([-1e4, -1e3, -100.0, 100.0, 1e3, 1e4], dtype)
    # overflow, invalid (NaN) and division by zero raise; underflow of exp(-|a|) to 0 is the
    # intended, harmless outcome
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        for fn in (
            _core.activation_forward,
            _core.activation_derivative,
            R.activation_forward,
            R.activation_derivative,
        ):
            out = fn(a, kind)
            assert np.isfinite(out).all(), (fn, out)
        x = _core.activation_forward(a, kind)
        s = _core.activation_derivative(a, kind)
    if kind == "sigmoid":
        assert np.array_equal(x[[0, -1]], np.array([0.0, 1.0], dtype))
        assert np.all(s >= 0) and s[0] == 0 and s[-1] == 0
    if kind == "swish":
        assert x[0] == 0 and x[-1] == a[-1]
        assert s[-1] == 1 and s[0] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_derivative_matches_central_differences(kind, rng):
    a = rng.uniform(-8, 8, 400)
    a = a[np.abs(a) > 1e-3]  # away from relu's kink
    h = 1e-6
    numeric = (_core.activation_forward(a + h, kind) - _core.activation_forward(a - h, kind)) / (
        2 * h
    )
    slope = _core.activation_derivative(a, kind)
    # central differences: error ~ h^2 f''' / 6 + rounding ~ 1e-16 |f| / h
    assert np.max(np.abs(slope - numeric)) < 1e-8


def test_relu_slope_at_zero_is_zero():
    assert _core.activation_derivative(np.array([0.0]), "relu")[0] == 0.0
    assert _core.activation_derivative(np.array([1e-300]), "relu")[0] == 1.0


def test_backward_is_dx_times_slope(rng):
    a = rng.standard_normal(50)
    d_x = rng.standard_normal(50)
    for kind in KINDS:
        assert_close(
            _core.activation_backward(a, d_x, kind),
            d_x * _core.activation_derivative(a, kind),
            np.float64,
        )


@settings(max_examples=60)
@given(
    values=st.lists(st.floats(-60, 60, allow_nan=False, width=32), min_size=1, max_size=20),
    kind=st.sampled_from(KINDS),
    dtype=st.sampled_from(DTYPES),
)
def test_random_values_match_reference(values, kind, dtype):
    a = np.array(values, dtype)
    assert_close(_core.activation_forward(a, kind), R.activation_forward(a, kind), dtype)
    assert_close(_core.activation_derivative(a, kind), R.activation_derivative(a, kind), dtype)
