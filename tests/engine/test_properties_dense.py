"""The full connection's kernels at the binding's boundary, driven by Hypothesis (the rules of
the comparison: properties.py)."""

from __future__ import annotations

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
    term_scale,
    values,
    working_dtype,
)

pytestmark = IGNORE_NUMPY_WARNINGS


@budget(0.75)
@given(
    data=st.data(),
    n=st.integers(0, 4),
    f_in=st.integers(0, 9),
    f_out=st.integers(0, 6),
    dtype=st.sampled_from([F32, F64]),
    vals=values(),
)
def test_dense(data, n, f_in, f_out, dtype, vals):
    x = vals.array((n, f_in), dtype)
    weight = vals.array((f_out, f_in), dtype, scale=0.5)
    bias = vals.array((f_out,), dtype)
    X, W, B = data.draw(handed(x, first=True)), data.draw(handed(weight)), data.draw(handed(bias))
    wd = working_dtype(X)
    xs, ws, bs = converted(X, wd), converted(W, wd), converted(B, wd)
    out = _core.dense_forward(X, W, B)
    check(
        out,
        quiet(R.dense_forward, f64(xs), f64(ws), f64(bs)).astype(wd),
        wd,
        "dense_forward",
        scale=term_scale(xs, ws, f_in) + term_scale(bs),
        **flags(xs, ws, bs),
    )
    d_out = vals.array(out.shape, wd)
    D = data.draw(handed(d_out))
    ds = converted(D, wd)
    need_dx = data.draw(st.booleans())
    d_x, d_w, d_b = _core.dense_backward(X, W, D, need_input_grad=need_dx)
    e_x, e_w, e_b = quiet(R.dense_backward, f64(xs), f64(ws), f64(ds))
    fl = flags(xs, ws, ds)
    if need_dx:
        check(d_x, e_x.astype(wd), wd, "d_x", scale=term_scale(ds, ws, f_out), **fl)
    else:
        assert d_x is None
    check(d_w, e_w.astype(wd), wd, "d_weight", scale=term_scale(ds, xs, n), **fl)
    check(d_b, e_b.astype(wd), wd, "d_bias", scale=term_scale(ds, n), **fl)
