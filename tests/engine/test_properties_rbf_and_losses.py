"""The RBF output's kernels and the losses at the binding's boundary, driven by Hypothesis (the
rules of the comparison: properties.py): random shapes, dtypes, layouts, values and labels."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from lenet import reference as R
from lenet.engine import _core

from properties import (
    ERRORS,
    F32,
    F64,
    IGNORE_NUMPY_WARNINGS,
    budget,
    check,
    check_scalar,
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


# ---- RBF output ---------------------------------------------------------------------------------


@budget(0.75)
@given(
    data=st.data(),
    n=st.integers(0, 4),
    f=st.integers(0, 9),
    classes=st.integers(0, 5),
    dtype=st.sampled_from([F32, F64]),
    vals=values(),
)
def test_rbf(data, n, f, classes, dtype, vals):
    x = vals.array((n, f), dtype)
    protos = (
        np.sign(vals.array((classes, f), dtype, plain=True))
        if data.draw(st.booleans())
        else vals.array((classes, f), dtype)
    )
    X, P = data.draw(handed(x, first=True)), data.draw(handed(protos))
    wd = working_dtype(X)
    xs, ps = converted(X, wd), converted(P, wd)
    fl = flags(xs, ps)
    out = _core.rbf_forward(X, P)
    check(
        out,
        quiet(R.rbf_forward, f64(xs), f64(ps)).astype(wd),
        wd,
        "rbf_forward",
        scale=term_scale(xs, xs, f) + term_scale(ps, ps, f),
        **fl,
    )
    d_out = vals.array(out.shape, wd)
    D = data.draw(handed(d_out))
    ds = converted(D, wd)
    check(
        _core.rbf_backward(X, P, D),
        quiet(R.rbf_backward, f64(xs), f64(ps), f64(ds)).astype(wd),
        wd,
        "rbf_backward",
        scale=term_scale(ds, xs, classes) + term_scale(ds, ps, classes),
        **flags(xs, ps, ds),
    )


# ---- losses -------------------------------------------------------------------------------------

LOSSES = {
    "penalty": (_core.loss_rbf_penalty, R.loss_rbf_penalty),
    "discriminative": (_core.loss_rbf_discriminative, R.loss_rbf_discriminative),
    "cross-entropy": (_core.loss_softmax_cross_entropy, R.loss_softmax_cross_entropy),
}


@budget(0.75)
@given(
    data=st.data(),
    n=st.integers(0, 4),
    classes=st.integers(0, 6),
    which=st.sampled_from(sorted(LOSSES)),
    dtype=st.sampled_from([F32, F64]),
    vals=values(),
    label_form=st.sampled_from(["int64", "int32", "uint8", "float", "list", "bad"]),
    j=st.one_of(st.floats(0.01, 50), st.sampled_from([0.0, -1.0, np.nan, np.inf, "1", None])),
)
def test_losses(data, n, classes, which, dtype, vals, label_form, j):
    core, ref = LOSSES[which]
    extra = (j,) if which == "discriminative" else ()
    y = vals.array((n, classes), dtype, scale=3.0)
    bad = None
    Y = data.draw(handed(y, first=True))
    labels = vals.rng.integers(0, max(classes, 1), n)
    if label_form == "bad":
        bad = data.draw(st.sampled_from(["negative", "too large", "fraction", "nan", "shape"]))
        given_labels = {
            "negative": labels - 100,
            "too large": labels + classes,
            "fraction": labels + 0.5,
            "nan": labels + np.nan,
            "shape": np.append(labels, 0),
        }[bad]
    else:
        given_labels = {
            "int64": labels,
            "int32": labels.astype(np.int32),
            "uint8": labels.astype(np.uint8),
            "float": labels.astype(float),
            "list": labels.tolist(),
        }[label_form]
    call = lambda: core(Y, given_labels, *extra)  # noqa: E731
    if which == "discriminative" and not (isinstance(j, float) and np.isfinite(j) and j > 0):
        raises(ERRORS, "j must be", call)
        return
    if n == 0:
        raises(ValueError, "out must hold at least one sample", call)
        return
    if classes == 0:
        raises(ValueError, "out must have at least one class", call)
        return
    if label_form == "bad":
        raises(ERRORS, "labels", call)
        return
    wd = working_dtype(Y)
    ys = converted(Y, wd)
    loss, grad = call()
    want_loss, want_grad = quiet(ref, f64(ys), labels, *extra)
    fl = flags(ys)
    check_scalar(loss, want_loss, wd, f"{which} loss", huge=fl["huge"])
    check(grad, want_grad.astype(wd), wd, f"{which} gradient", **fl)
