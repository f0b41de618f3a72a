"""The squashing functions at the binding's boundary, driven by Hypothesis (the rules of the
comparison: properties.py), and what the properties found: relu, the sigmoid and swish lost
or mangled NaN."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lenet import reference as R
from lenet.engine import _core

from properties import (
    F32,
    F64,
    IGNORE_NUMPY_WARNINGS,
    budget,
    check,
    converted,
    flags,
    handed,
    quiet,
    term_scale,
    values,
    working_dtype,
)

pytestmark = IGNORE_NUMPY_WARNINGS


@budget(1.0)
@given(
    data=st.data(),
    shape=st.lists(st.integers(0, 5), max_size=4).map(tuple),
    kind=st.sampled_from(_core.ACTIVATIONS),
    dtype=st.sampled_from([F32, F64]),
    vals=values(),
)
def test_activation(data, shape, kind, dtype, vals):
    a = vals.array(shape, dtype, scale=4.0)
    A = data.draw(handed(a, first=True))
    wd = working_dtype(A)
    as_ = converted(A, wd)
    fl = flags(as_)
    out = _core.activation_forward(A, kind)
    check(out, quiet(R.activation_forward, as_, kind), wd, f"{kind} forward", **fl)
    check(
        _core.activation_derivative(A, kind),
        quiet(R.activation_derivative, as_, kind),
        wd,
        f"{kind} derivative",
        **fl,
    )
    d_x = vals.array(shape, wd)
    DX = data.draw(handed(d_x))
    ds = converted(DX, wd)
    want = quiet(R.activation_backward, as_, ds, kind).astype(wd)
    # the slope is right to a few ulps of 1 (1 - tanh^2 cancels): scaled by the largest d_x
    check(
        _core.activation_backward(A, DX, kind),
        want,
        wd,
        f"{kind} backward",
        scale=term_scale(ds),
        **flags(as_, ds),
    )


# ---- regressions: what the properties above found -----------------------------------------------


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_relu_passes_nan_through(dtype):
    """relu(NaN) was 0: a NaN turned into a plausible number. It is NaN, as max(NaN, 0) in NumPy
    (and relu(-0.0) stays +0.0)."""
    a = np.array([np.nan, -1.0, -0.0, 0.0, 2.0, np.inf, -np.inf], dtype)
    out = _core.activation_forward(a, "relu")
    assert np.isnan(out[0]) and out[1:].tolist() == [0, 0, 0, 2, np.inf, 0]
    assert not np.signbit(out[2])
    slope = _core.activation_derivative(a, "relu")  # (a > 0), as the reference: 0 at NaN
    assert slope.tolist() == [0, 0, 0, 0, 1, 1, 0]


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_sigmoid_and_swish_of_nan(dtype):
    """float32's exp for the sigmoid converted a NaN to int (undefined behaviour); NaN in, NaN
    out, for every squashing function and slope."""
    a = np.array([np.nan, 1.0], dtype)
    for kind in _core.ACTIVATIONS:
        assert np.isnan(_core.activation_forward(a, kind)[0]), kind
        if kind not in ("identity", "relu"):
            assert np.isnan(_core.activation_derivative(a, kind)[0]), kind
