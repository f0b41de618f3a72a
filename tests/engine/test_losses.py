"""Losses (Section II.C): equation (8), equation (9) and softmax cross-entropy, in lenet.losses
and lenet.engine._core, against lenet.reference and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lenet import reference as R
from lenet.engine import _core, losses

from conftest import DTYPE_IDS, DTYPES, assert_close

J = 3.0  # eq. (9)'s constant, for the tests that need one


def _losses(j=J):
    """(name, lenet.losses function, _core function, reference function), each (out, labels)."""
    return [
        ("rbf_penalty", losses.rbf_penalty, _core.loss_rbf_penalty, R.loss_rbf_penalty),
        (
            "rbf_discriminative",
            lambda y, l: losses.rbf_discriminative(y, l, j),
            lambda y, l: _core.loss_rbf_discriminative(y, l, j),
            lambda y, l: R.loss_rbf_discriminative(y, l, j),
        ),
        (
            "softmax_cross_entropy",
            losses.softmax_cross_entropy,
            _core.loss_softmax_cross_entropy,
            R.loss_softmax_cross_entropy,
        ),
    ]


LOSS_IDS = [name for name, *_ in _losses()]


def _batch(rng, n, classes, dtype, low=0.0, high=20.0):
    out = rng.uniform(low, high, (n, classes)).astype(dtype)
    labels = rng.integers(0, classes, n)
    return out, labels


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("index", range(3), ids=LOSS_IDS)
@pytest.mark.parametrize("n,classes", [(1, 10), (64, 10), (5, 3), (3, 1)])
def test_loss_matches_reference(rng, index, n, classes, dtype):
    name, api, core, ref = _losses()[index]
    out, labels = _batch(rng, n, classes, dtype)
    e_value, e_grad = ref(out, labels)
    for fn in (api, core):
        value, grad = fn(out, labels)
        assert isinstance(value, float)
        # the per-sample terms are summed in double whatever the dtype of `out`
        assert_close(value, e_value, np.float64, check_dtype=False, what=f"{name} value")
        assert_close(grad, e_grad, dtype, what=f"{name} gradient")
        assert grad.shape == out.shape


@pytest.mark.parametrize("index", range(3), ids=LOSS_IDS)
def test_gradient_matches_finite_differences(rng, index):
    name, api, _, _ = _losses()[index]
    out, labels = _batch(rng, 4, 10, np.float64, -3.0, 3.0)
    value, grad = api(out, labels)
    h = 1e-6
    numeric = np.zeros_like(out)
    for idx in np.ndindex(out.shape):
        plus, minus = out.copy(), out.copy()
        plus[idx] += h
        minus[idx] -= h
        numeric[idx] = (api(plus, labels)[0] - api(minus, labels)[0]) / (2 * h)
    # central differences: truncation ~ h^2, rounding ~ 1e-16 |E| / h ~ 1e-9
    assert np.max(np.abs(grad - numeric)) < 1e-8, name


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("index", range(3), ids=LOSS_IDS)
def test_large_magnitudes_stay_finite(index, dtype):
    name, api, _, ref = _losses()[index]
    out = np.array([[1e4, -1e4, 0.0, 5.0], [-1e4, -1e4, 1e4, 1e4], [1e4, 1e4, 1e4, 1e4]], dtype)
    labels = np.array([1, 2, 0])
    value, grad = api(out, labels)
    assert np.isfinite(value) and np.isfinite(grad).all(), name
    e_value, e_grad = ref(out, labels)
    assert_close(value, e_value, np.float64, check_dtype=False)
    assert_close(grad, e_grad, dtype)


def test_equation_8_is_the_mean_correct_penalty():
    y = np.array([[3.0, 1.0, 2.0], [4.0, 5.0, 6.0]])
    value, grad = losses.rbf_penalty(y, np.array([2, 0]))
    assert value == (2.0 + 4.0) / 2
    assert np.array_equal(grad, [[0, 0, 0.5], [0.5, 0, 0]])


def test_equation_9_by_hand():
    y = np.array([[1.0, 2.0, 0.5]])
    j = 1.5
    value, grad = losses.rbf_discriminative(y, np.array([1]), j)
    denominator = np.exp(-j) + np.exp(-y).sum()
    assert value == pytest.approx(2.0 + np.log(denominator), rel=1e-14)
    expected = -np.exp(-y) / denominator
    expected[0, 1] += 1
    assert_close(grad, expected, np.float64)
    # the gradient's row sum is the rubbish class's share, in (0, 1/N)
    assert grad.sum() == pytest.approx(np.exp(-j) / denominator, rel=1e-12)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_equation_9_approaches_8_plus_log_sum_exp_for_large_j(rng, dtype):
    y, labels = _batch(rng, 8, 10, dtype, 0.0, 5.0)
    e8, g8 = losses.rbf_penalty(y, labels)
    y64 = y.astype(np.float64)
    lse = np.log(np.exp(-y64).sum(axis=1))  # log sum_i e^-y_i, fine for y in [0, 5]
    softmax = np.exp(-y64) / np.exp(-y64).sum(axis=1, keepdims=True)
    sums = np.exp(-y64).sum(axis=1)
    gaps = []
    for j in (2.0, 10.0, 50.0):
        e9, g9 = losses.rbf_discriminative(y, labels, j)
        gap = e9 - (e8 + lse.mean())
        # exactly: mean of log(e^-j + S) - log(S) = log1p(e^-j / S), S = sum_i e^-y_i
        assert abs(gap - np.log1p(np.exp(-j) / sums).mean()) < 1e-13
        gaps.append(gap)
    assert gaps[0] > gaps[1] > 1e-6 and abs(gaps[2]) < 1e-13
    assert_close(g9, g8 - softmax / len(labels), dtype)


def test_equation_9_with_all_penalties_large_is_equation_8_minus_j():
    """Penalties far above j: the rubbish class dominates, wrong classes are no longer pushed."""
    y = np.full((3, 10), 1e3)
    y[:, 4] = 900.0
    labels = np.array([4, 0, 9])
    e8, g8 = losses.rbf_penalty(y, labels)
    e9, g9 = losses.rbf_discriminative(y, labels, 2.0)
    assert e9 == pytest.approx(e8 - 2.0, rel=1e-14)
    assert np.array_equal(g9, g8)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_equation_9_bounds(rng, dtype):
    y, labels = _batch(rng, 16, 10, dtype, -5.0, 30.0)
    e8, _ = losses.rbf_penalty(y, labels)
    e9, g9 = losses.rbf_discriminative(y, labels, J)
    assert e9 >= e8 - J  # log(e^-j + ...) >= -j
    rows = g9.astype(np.float64).sum(axis=1) * len(labels)
    assert np.all(rows > 0) and np.all(rows < 1 + 1e-6)


def test_softmax_cross_entropy_rows_and_shift_invariance(rng):
    z, labels = _batch(rng, 6, 10, np.float64, -10.0, 10.0)
    value, grad = losses.softmax_cross_entropy(z, labels)
    assert np.max(np.abs(grad.sum(axis=1))) < 1e-16 * 10
    shifted_value, shifted_grad = losses.softmax_cross_entropy(z + 1000.0, labels)
    assert shifted_value == pytest.approx(value, rel=1e-12)
    assert_close(shifted_grad, grad, np.float64)
    assert value > 0


@pytest.mark.parametrize("index", range(3), ids=LOSS_IDS)
@pytest.mark.parametrize("labels", [[0, 10], [-1, 3], [2, 99]])
def test_labels_out_of_range(index, labels):
    _, api, _, _ = _losses()[index]
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        api(np.zeros((2, 10)), np.array(labels))


@pytest.mark.parametrize("index", range(3), ids=LOSS_IDS)
def test_labels_must_be_integers_of_the_batch_length(index):
    _, api, _, _ = _losses()[index]
    with pytest.raises(TypeError, match="labels must be integers.*non-integral"):
        api(np.zeros((2, 10)), np.array([0.0, 1.5]))
    with pytest.raises(TypeError, match="labels must be integers"):
        api(np.zeros((2, 10)), np.array([True, False]))
    # whole numbers stored as floats are class indices all the same
    assert (
        api(np.zeros((2, 10)), np.array([0.0, 1.0]))[0]
        == api(np.zeros((2, 10)), np.array([0, 1]))[0]
    )
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\).*got shape \(3,\)"):
        api(np.zeros((2, 10)), np.array([0, 1, 2]))


@pytest.mark.parametrize("index", range(3), ids=LOSS_IDS)
def test_empty_batch(index):
    _, api, _, _ = _losses()[index]
    with pytest.raises(ValueError, match="out must hold at least one sample"):
        api(np.zeros((0, 10)), np.zeros(0, int))


@pytest.mark.parametrize("j", [0.0, -1.0, float("nan"), float("inf")])
def test_j_must_be_positive_and_finite(j):
    with pytest.raises(ValueError, match="j must be a finite positive constant"):
        losses.rbf_discriminative(np.zeros((2, 10)), np.array([0, 1]), j)
    with pytest.raises(ValueError, match="j must be"):
        _core.loss_rbf_discriminative(np.zeros((2, 10)), np.array([0, 1]), j)


def test_j_must_be_a_number():
    with pytest.raises(TypeError, match="j must be a real number"):
        losses.rbf_discriminative(np.zeros((2, 10)), np.array([0, 1]), "three")


@pytest.mark.parametrize("index", range(3), ids=LOSS_IDS)
def test_output_must_be_two_dimensional_and_real(index):
    _, api, _, _ = _losses()[index]
    with pytest.raises(ValueError, match=r"out must have 2 dimensions.*got shape \(10,\)"):
        api(np.zeros(10), np.array([0]))
    with pytest.raises(TypeError, match="out must hold real numbers.*complex"):
        api(np.zeros((1, 10), complex), np.array([0]))


@settings(max_examples=60)
@given(
    n=st.integers(1, 6),
    classes=st.integers(1, 12),
    dtype=st.sampled_from(DTYPES),
    index=st.integers(0, 2),
    scale=st.sampled_from([1.0, 30.0, 1e3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_batches_match_reference(n, classes, dtype, index, scale, seed):
    rng = np.random.default_rng(seed)
    _, api, _, ref = _losses()[index]
    out, labels = _batch(rng, n, classes, dtype, -scale, scale)
    value, grad = api(out, labels)
    e_value, e_grad = ref(out, labels)
    assert_close(value, e_value, np.float64, check_dtype=False)
    assert_close(grad, e_grad, dtype)
