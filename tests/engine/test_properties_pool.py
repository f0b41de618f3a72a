"""The subsampling kernels (the paper's, average and max pooling) at the binding's boundary,
driven by Hypothesis (the rules of the comparison: properties.py), and what the properties
found: max pooling dropped a NaN, and took gradient buffers of modes without parameters."""

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
    f64,
    flags,
    handed,
    quiet,
    raises,
    term_scale,
    values,
    working_dtype,
)

pytestmark = IGNORE_NUMPY_WARNINGS


@budget(0.75)
@given(
    data=st.data(),
    n=st.integers(0, 3),
    c=st.integers(0, 3),
    h=st.integers(0, 9),
    w=st.integers(0, 9),
    mode=st.sampled_from(["paper", "average", "max"]),
    dtype=st.sampled_from([F32, F64]),
    vals=values(),
    ties=st.booleans(),
)
def test_subsample(data, n, c, h, w, mode, dtype, vals, ties):
    x = vals.array((n, c, h, w), dtype)
    if ties:  # few distinct values: windows with equal largest values, and several NaN
        x = np.round(x / 2).astype(dtype)
    coefficient = vals.array((c,), dtype, scale=0.5)
    bias = vals.array((c,), dtype)
    X = data.draw(handed(x, first=True))
    C, B = data.draw(handed(coefficient)), data.draw(handed(bias))
    paper = mode == "paper"
    if h < 2 or w < 2:
        raises(ValueError, r"x must be at least 2x2", _core.subsample_forward, X, C, B, mode)
        raises(
            ValueError,
            r"x must be at least 2x2",
            _core.subsample_backward,
            X,
            np.zeros((n, c, h // 2, w // 2)),
            C,
            mode,
        )
        return
    wd = working_dtype(X)
    xs, cs, bs = converted(X, wd), converted(C, wd), converted(B, wd)
    if paper and data.draw(st.booleans()):
        missing = data.draw(st.sampled_from(["coefficient", "bias"]))
        raises(
            ValueError,
            f"{missing} is required",
            _core.subsample_forward,
            X,
            None if missing == "coefficient" else C,
            None if missing == "bias" else B,
            mode,
        )
    fl = flags(xs, cs, bs) if paper else flags(xs)
    out = _core.subsample_forward(X, C, B, mode)
    want = quiet(R.subsample_forward, f64(xs), f64(cs), f64(bs), mode).astype(wd)
    check(out, want, wd, "subsample_forward", scale=term_scale(xs, cs, 4) + term_scale(bs), **fl)

    d_out = vals.array(out.shape, wd)
    D = data.draw(handed(d_out))
    ds = converted(D, wd)
    fl = flags(xs, ds, cs) if paper else flags(ds)
    if not paper and data.draw(st.booleans()):
        raises(
            ValueError,
            "d_coefficient exists in the 'paper' mode only",
            _core.subsample_backward,
            X,
            D,
            C,
            mode,
            d_coefficient=np.zeros(c, wd),
        )
    own = paper and data.draw(st.booleans())
    buffers = dict(d_coefficient=np.full(c, 7.0, wd), d_bias=np.full(c, 7.0, wd)) if own else {}
    d_x, d_c, d_b = _core.subsample_backward(X, D, C, mode, **buffers)
    e_x, e_c, e_b = quiet(R.subsample_backward, f64(xs), f64(ds), f64(cs), mode)
    check(d_x, e_x.astype(wd), wd, "subsample_backward d_x", scale=term_scale(ds, cs), **fl)
    if paper:
        if own:
            assert d_c is buffers["d_coefficient"] and d_b is buffers["d_bias"]
        terms = max(1, n) * h * w
        check(d_c, e_c.astype(wd), wd, "d_coefficient", scale=term_scale(ds, xs, terms), **fl)
        check(d_b, e_b.astype(wd), wd, "d_bias", scale=term_scale(ds, terms), **fl)
    else:
        assert d_c is None and d_b is None


# ---- regressions: what the properties above found -----------------------------------------------


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("where", range(4))
def test_max_pooling_never_drops_nan(dtype, where):
    """A NaN in a 2x2 window was the window's maximum or not depending on its place (3.0 came
    out of [NaN, 1, 2, 3]). It is, as in NumPy's maximum; and the gradient goes to the first
    NaN, as np.argmax picks it."""
    window = np.array([1.0, 5.0, 2.0, 3.0])
    window[where] = np.nan
    x = np.concatenate([window.reshape(2, 2), [[0.0, 1.0], [4.0, 4.0]]], axis=1)
    x = x.astype(dtype)[None, None]  # (1, 1, 2, 4): a window with NaN, one with a tie
    out = _core.subsample_forward(x, mode="max")
    assert np.isnan(out[0, 0, 0, 0]) and out[0, 0, 0, 1] == 4
    d_x, _, _ = _core.subsample_backward(x, np.array([[[[10.0, 20.0]]]], dtype), mode="max")
    expected = np.zeros((2, 4), dtype)
    expected[where // 2, where % 2] = 10
    expected[1, 2] = 20  # the first of the tied largest
    np.testing.assert_array_equal(d_x[0, 0], expected)
    np.testing.assert_array_equal(
        d_x, R.subsample_backward(x, np.array([[[[10.0, 20.0]]]]), mode="max")[0]
    )
    two_nans = x.copy()
    two_nans[0, 0, 1, 1] = np.nan
    d_x, _, _ = _core.subsample_backward(two_nans, np.ones((1, 1, 1, 2), dtype), mode="max")
    assert d_x[0, 0, where // 2, where % 2] == 1 and d_x[0, 0, 1, 1] == (where == 3)


def test_gradient_buffers_of_modes_without_parameters_are_refused():
    """subsample_backward(..., mode="max", d_coefficient=buffer) left the buffer unwritten."""
    x, d = np.ones((1, 2, 4, 4)), np.ones((1, 2, 2, 2))
    for mode in ("average", "max"):
        raises(
            ValueError,
            "d_bias exists in the 'paper' mode only",
            _core.subsample_backward,
            x,
            d,
            None,
            mode,
            d_bias=np.zeros(2),
        )
