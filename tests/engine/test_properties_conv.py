"""The convolution kernels at the binding's boundary, driven by Hypothesis (the rules of the
comparison: properties.py): random shapes, connection tables, dtypes, layouts and values; maps
too large for the fast path; connection tables that leave an output map unconnected."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from lenet.engine import _core, fused

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
    raises,
    ref_conv_backward,
    ref_conv_forward,
    small_network,
    term_scale,
    values,
    working_dtype,
)

pytestmark = IGNORE_NUMPY_WARNINGS


@budget(0.75)
@given(
    data=st.data(),
    n=st.integers(0, 3),
    ci=st.integers(1, 3),
    co=st.integers(1, 3),
    k=st.integers(1, 6),
    padding=st.integers(0, 3),
    h=st.integers(0, 9),
    w=st.integers(0, 9),
    dtype=st.sampled_from([F32, F64]),
    vals=values(),
    density=st.sampled_from([None, 0.0, 0.3, 0.7, 1.0]),
)
def test_conv(data, n, ci, co, k, padding, h, w, dtype, vals, density):
    rng = vals.rng
    x = vals.array((n, ci, h, w), dtype)
    weight = vals.array((co, ci, k, k), dtype, scale=0.5)
    bias = vals.array((co,), dtype)
    table = None if density is None else rng.random((co, ci)) < density
    X, W, B = data.draw(handed(x, first=True)), data.draw(handed(weight)), data.draw(handed(bias))
    if isinstance(table, np.ndarray) and data.draw(st.booleans()):
        table = table.astype(data.draw(st.sampled_from([np.uint8, np.int32, np.float64])))
    wd = working_dtype(X)
    if k > h + 2 * padding or k > w + 2 * padding:
        raises(
            ValueError,
            "kernel is larger than the padded input",
            _core.conv_forward,
            X,
            W,
            B,
            table,
            padding,
        )
        raises(
            ValueError,
            "kernel is larger than the padded input",
            _core.conv_backward,
            X,
            W,
            np.zeros((n, co, 1, 1)),
            table,
            padding,
        )
        return
    if table is not None and not np.asarray(table, bool).any(axis=1).all():
        raises(
            ValueError,
            "connection_table must connect every output map",
            _core.conv_forward,
            X,
            W,
            B,
            table,
            padding,
        )
        raises(
            ValueError,
            "connection_table must connect every output map",
            _core.conv_backward,
            X,
            W,
            np.zeros((n, co, h + 2 * padding - k + 1, w + 2 * padding - k + 1)),
            table,
            padding,
        )
        return
    xs, ws, bs = converted(X, wd), converted(W, wd), converted(B, wd)
    fl = flags(xs, ws, bs)
    out = _core.conv_forward(X, W, B, table, padding)
    want = quiet(ref_conv_forward, xs, ws, bs, table, padding).astype(wd)
    check(
        out,
        want,
        wd,
        "conv_forward",
        spurious_nan=True,
        scale=term_scale(xs, ws, ci * k * k) + term_scale(bs),
        **fl,
    )

    d_out = vals.array(out.shape, wd)
    D = data.draw(handed(d_out))
    ds = converted(D, wd)
    fl = flags(xs, ws, ds)
    need_dx = data.draw(st.booleans())
    own = data.draw(st.booleans())  # the caller's own gradient buffers, written in place
    buffers = (
        dict(d_weight=np.full(weight.shape, 7.0, wd), d_bias=np.full(co, 7.0, wd)) if own else {}
    )
    d_x, d_w, d_b = _core.conv_backward(X, W, D, table, padding, need_input_grad=need_dx, **buffers)
    if own:
        assert d_w is buffers["d_weight"] and d_b is buffers["d_bias"]
    e_x, e_w, e_b = quiet(ref_conv_backward, xs, ws, ds, table, padding)
    if need_dx:
        check(
            d_x,
            e_x.astype(wd),
            wd,
            "conv_backward d_x",
            spurious_nan=True,
            scale=term_scale(ds, ws, co * k * k),
            **fl,
        )
    else:
        assert d_x is None
    check(
        d_w,
        e_w.astype(wd),
        wd,
        "conv_backward d_weight",
        spurious_nan=True,
        scale=term_scale(ds, xs, max(1, n) * out.shape[2] * out.shape[3]),
        **fl,
    )
    check(
        d_b,
        e_b.astype(wd),
        wd,
        "conv_backward d_bias",
        scale=term_scale(ds, max(1, n) * out.shape[2] * out.shape[3]),
        **fl,
    )
    if table is not None:  # unconnected pairs: exact zeros, whatever the values
        assert np.all(d_w[~np.asarray(table, bool)] == 0)


@budget(0.05)
@given(
    n=st.integers(1, 2),
    h=st.integers(46, 60),
    w=st.integers(46, 60),
    k=st.integers(1, 5),
    padding=st.integers(0, 2),
    dtype=st.sampled_from([F32, F64]),
    vals=values(kinds=("normal", "huge")),
    full=st.booleans(),
)
def test_conv_maps_too_large_for_the_fast_path(n, h, w, k, padding, dtype, vals, full):
    """Maps over the fast path's stack buffers (2048 values, csrc/conv.c) take the plain loops
    (finite values only: the plain loops leave padding out of the sums, where the fast path and
    the reference multiply its zeros, which differs for an infinite weight)."""
    x = vals.array((n, 2, h, w), dtype)
    weight = vals.array((3, 2, k, k), dtype, scale=0.5, plain=True)
    bias = vals.array((3,), dtype, plain=True)
    table = None if full else np.array([[1, 0], [0, 1], [1, 1]], bool)
    fl = flags(x)
    out = _core.conv_forward(x, weight, bias, table, padding)
    check(
        out,
        quiet(ref_conv_forward, x, weight, bias, table, padding).astype(dtype),
        dtype,
        "forward",
        scale=term_scale(x, weight, 2 * k * k),
        **fl,
    )
    d_out = vals.array(out.shape, dtype, plain=True)
    got = _core.conv_backward(x, weight, d_out, table, padding)
    want = quiet(ref_conv_backward, x, weight, d_out, table, padding)
    scales = [
        term_scale(d_out, weight, 3 * k * k),
        term_scale(d_out, x, n * h * w),
        term_scale(d_out, n * h * w),
    ]
    for g, e, name, s in zip(got, want, ("d_x", "d_weight", "d_bias"), scales):
        check(g, e.astype(dtype), dtype, name, scale=s, **fl)


# ---- regressions: what the properties above found -----------------------------------------------


def test_connection_tables_need_a_connection_in_every_row():
    """A row of zeros was taken: that output map was its bias alone. Refused, like the
    Convolution layer refuses it; so are NaN entries (neither connected nor not)."""
    x, w, b, d = np.zeros((1, 2, 5, 5)), np.zeros((3, 2, 3, 3)), np.zeros(3), np.zeros((1, 3, 3, 3))
    table = np.array([[1, 0], [0, 0], [1, 1]])
    for call, args in ((_core.conv_forward, (x, w, b)), (_core.conv_backward, (x, w, d))):
        raises(
            ValueError,
            r"connection_table must connect every output map .* output map\(s\) 1 "
            r"read none",
            call,
            *args,
            table,
        )
        raises(
            ValueError,
            "connection_table must hold booleans or numbers",
            call,
            *args,
            np.array([[1, 0], [np.nan, 1], [1, 1]]),
        )
    net = small_network(F64, "rbf")
    spec = [dict(d) for d in fused.layer_spec(net)]
    spec[0]["table"] = table
    raises(
        ValueError,
        r"spec\[0\] table must connect every output map",
        _core.network_plan,
        spec,
        net.parameters,
    )
