"""The Euclidean RBF output (Section II.B, Figure 3): kernels against lenet.reference, the fixed
+-1 prototypes (7x12 digit bitmaps), and the RBFOutput layer."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lenet
from lenet import reference as R
from lenet.engine import _core
from lenet.paper import BITMAP_COLUMNS, BITMAP_ROWS, DIGIT_BITMAPS, parse_bitmap

from conftest import DTYPE_IDS, DTYPES, assert_close

# Smallest Hamming distance between two prototypes: measured 11 (digits 0 and 6). Each unit
# of Hamming distance adds 4 to the penalty gap between two classes at a prototype.
MIN_HAMMING = 8


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize(
    "shape",
    [(1, 84, 10), (64, 84, 10), (3, 5, 2), (2, 1, 1), (4, 13, 7)],
    ids=lambda s: "x".join(map(str, s)),
)
def test_rbf_matches_reference(rng, shape, dtype):
    n, f, k = shape
    x = rng.standard_normal((n, f)).astype(dtype)
    protos = rng.choice([-1.0, 1.0], (k, f)).astype(dtype)
    d_out = rng.standard_normal((n, k)).astype(dtype)
    y = _core.rbf_forward(x, protos)
    assert y.shape == (n, k)
    assert_close(y, R.rbf_forward(x, protos), dtype, what="forward")
    assert_close(
        _core.rbf_backward(x, protos, d_out),
        R.rbf_backward(x, protos, d_out),
        dtype,
        what="backward",
    )


def test_rbf_penalty_is_squared_distance_and_zero_at_the_prototype():
    protos = lenet.rbf_prototypes()
    y = _core.rbf_forward(protos, protos)
    assert np.all(np.diag(y) == 0)
    hamming = (protos[:, None, :] != protos[None, :, :]).sum(axis=2)
    assert np.array_equal(y, 4.0 * hamming)  # (+1 - -1)^2 = 4 per differing component


def test_prototypes_shape_and_values():
    p = lenet.rbf_prototypes()
    assert p.shape == (10, 84) and p.dtype == np.float64
    assert set(np.unique(p)) == {-1.0, 1.0}
    assert lenet.rbf_prototypes(np.float32).dtype == np.float32
    p[0, 0] = 7.0  # a new array each call
    assert lenet.rbf_prototypes()[0, 0] != 7.0


def test_prototypes_are_distinct_and_far_apart():
    p = lenet.rbf_prototypes()
    distances = {(i, j): int((p[i] != p[j]).sum()) for i, j in itertools.combinations(range(10), 2)}
    closest = min(distances, key=distances.get)
    assert len({row.tobytes() for row in p}) == 10
    assert distances[closest] >= MIN_HAMMING, (
        f"digits {closest} differ in only {distances[closest]} of 84 pixels"
    )
    # no prototype is (nearly) all ink or all background
    ink = (p > 0).sum(axis=1)
    assert np.all(ink >= 10) and np.all(ink <= 74)


def test_prototypes_are_the_drawn_bitmaps():
    p = lenet.rbf_prototypes()
    assert len(DIGIT_BITMAPS) == 10
    assert (BITMAP_ROWS, BITMAP_COLUMNS) == (12, 7)
    for digit, drawing in enumerate(DIGIT_BITMAPS):
        rows = [line.strip() for line in drawing.strip().splitlines()]
        assert len(rows) == 12, digit
        assert all(len(r) == 7 and set(r) <= {"#", "."} for r in rows), digit
        bitmap = np.array([[1.0 if ch == "#" else -1.0 for ch in r] for r in rows])
        assert np.array_equal(p[digit].reshape(12, 7), bitmap)
        assert np.array_equal(parse_bitmap(drawing), bitmap)


@pytest.mark.parametrize(
    "bad", ["#.\n.#", "\n".join(["#######"] * 11), "\n".join(["###x###"] * 12)]
)
def test_parse_bitmap_rejects_bad_drawings(bad):
    with pytest.raises(ValueError, match="bitmap"):
        parse_bitmap(bad)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_rbf_output_layer(rng, dtype):
    layer = lenet.RBFOutput(dtype=dtype)
    assert layer.params == {} and layer.grads == {} and layer.num_parameters() == 0
    assert layer.prototypes.shape == (10, 84) and layer.prototypes.dtype == dtype
    assert np.array_equal(layer.prototypes, lenet.rbf_prototypes(dtype))
    assert not layer.prototypes.flags.writeable
    with pytest.raises(ValueError):
        layer.prototypes[0, 0] = 0.5
    assert layer.activation == "identity"
    x = rng.standard_normal((5, 84)).astype(dtype)
    y = layer.forward(x)
    assert_close(y, R.rbf_forward(x, layer.prototypes), dtype)
    d_y = rng.standard_normal((5, 10)).astype(dtype)
    assert_close(layer.backward(d_y), R.rbf_backward(x, layer.prototypes, d_y), dtype)


def test_rbf_output_custom_prototypes_are_copied(rng):
    protos = rng.choice([-1.0, 1.0], (3, 6))
    layer = lenet.RBFOutput(protos, dtype=np.float64)
    protos[0, 0] = 99.0
    assert layer.prototypes[0, 0] != 99.0
    assert layer.forward(np.zeros((1, 6))).shape == (1, 3)


def test_rbf_output_gradcheck(rng):
    layer = lenet.RBFOutput(dtype=np.float64)
    x = rng.uniform(-1.7, 1.7, (3, 84))
    err = lenet.gradcheck(layer, x, details=True)
    assert err[0] < 1e-6
    assert set(err[1]) == {"input"}  # no parameters to check


@settings(max_examples=60)
@given(
    n=st.integers(1, 4),
    f=st.integers(1, 30),
    k=st.integers(1, 12),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_rbf_random_shapes_match_reference(n, f, k, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (n, f)).astype(dtype)
    protos = rng.choice([-1.0, 1.0], (k, f)).astype(dtype)
    d_out = rng.standard_normal((n, k)).astype(dtype)
    assert_close(_core.rbf_forward(x, protos), R.rbf_forward(x, protos), dtype)
    assert_close(_core.rbf_backward(x, protos, d_out), R.rbf_backward(x, protos, d_out), dtype)
