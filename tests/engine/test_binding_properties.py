"""The binding's boundary, driven by Hypothesis: every public kernel wrapper of
lenet.engine._core and
every layer and network, called with random shapes (empty batches, batch 1, kernels larger
than their input, random connection tables), dtypes (float32, float64, others that are
converted or refused), memory layouts (strided, Fortran-ordered, misaligned, read-only, plain
lists) and values (ordinary, huge, NaN, Inf).

Every call must either give lenet.reference's answer or raise a ValueError or TypeError whose
message names the argument; never crash, hang or return a silently wrong result. Each test
knows in advance which of the two a call must do.

What "lenet.reference's answer" means at the edges (docs/architecture.md, "Values at the
edges", says the same for readers of the library):

* Ordinary values: ``assert_close`` with conftest's tolerances.
* NaN and Inf: the layers and networks refuse them in their input and output gradient. The
  kernel wrappers compute IEEE results and never lose a non-finite value: where the reference
  gives NaN the kernel gives NaN, where it gives an infinity the same infinity, and where it
  is finite the kernel agrees with it. Two exceptions, both 0 x Inf = NaN: a convolution may
  give NaN where an infinite value meets a zero of its fast path's layout that the reference
  never multiplies, and a float32 kernel may give NaN for the reference's Inf where a factor
  that is tiny in float64 is 0 in float32 (tanh's slope near saturation).
* Huge values (1e300 in float64, 3e38 in float32): nothing crashes, and an infinity of the
  reference is never lost. Float64 kernels agree with the reference to the tolerance scaled by
  the size of the terms. A float32 kernel adds in float32, so a sum of terms near 3.4e38 may
  overflow to Inf (or NaN, from Inf - Inf) where the reference, which adds in float64 and
  rounds once, stays finite; what is computed from the overflowed value then differs too, so
  only the shapes, dtypes and non-finite values of such results are compared.
* Empty batches: every kernel wrapper, layer and network returns empty results of the right
  shape (and parameter gradients of exact zeros, the sum over no samples); the losses, a mean
  over the batch, and anything that needs a loss refuse them with a ValueError.

Budget: each test runs its share of LENET_HYPOTHESIS_EXAMPLES examples (default 200: 150 to
200 for the kernel tests, 40 for the whole networks; about 1,900 in all), e.g.
LENET_HYPOTHESIS_EXAMPLES=4000 for a run twenty times as long.
"""

from __future__ import annotations

import os
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import lenet
from lenet import reference as R
from lenet.engine import _core, fused
from lenet.engine.layers import Convolution, FullConnection, RBFOutput, Subsampling
from lenet.engine.optim import SGD, Adam, RMSprop
from lenet.engine.sdlm import backward_second

from conftest import TOLERANCES, assert_close

BASE_EXAMPLES = int(os.environ.get("LENET_HYPOTHESIS_EXAMPLES", "200"))
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
#: the size of a "huge" value in each dtype: within its range, and its square is not
HUGE = {F32: 3e38, F64: 1e300}
#: above this, a value counts as huge (ordinary values here stay below 100)
HUGE_FROM = 1e20
ERRORS = (ValueError, TypeError)
# huge values overflow and NaN and Inf are invalid in NumPy's arithmetic too (the reference's
# results rounded to float32, squares in backward_second): the checks expect it
pytestmark = [
    pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
]


def budget(share: float):
    """Hypothesis settings for a test that runs `share` of the base budget."""
    return settings(
        max_examples=max(1, round(BASE_EXAMPLES * share)),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        deadline=None,
    )


# ---- values -------------------------------------------------------------------------------------


class Values:
    """How one example fills its arrays: "normal" values, or normal ones with a share of
    "huge" values or "special" ones (NaN, +Inf, -Inf)."""

    def __init__(self, kind: str, share: float, seed: int) -> None:
        self.kind, self.share = kind, share
        self.rng = np.random.default_rng(seed)

    def __repr__(self) -> str:
        return f"Values({self.kind!r}, share={self.share})"

    def array(self, shape, dtype, scale=2.0, plain=False) -> np.ndarray:
        """An array of `shape` in `dtype`; `plain` keeps it ordinary whatever the kind."""
        dtype = np.dtype(dtype)
        a = np.asarray(self.rng.standard_normal(shape) * scale)
        if not plain and self.kind != "normal" and a.size:
            hit = self.rng.random(shape) < self.share
            count = int(hit.sum())
            if self.kind == "huge":
                a[hit] = (
                    self.rng.choice([-1.0, 1.0], count)
                    * HUGE[dtype]
                    * self.rng.uniform(0.5, 1.0, count)
                )
            else:
                a[hit] = self.rng.choice([np.nan, np.inf, -np.inf], count)
        return np.asarray(a.astype(dtype))


@st.composite
def values(draw, kinds=("normal", "normal", "huge", "special")):
    return Values(
        draw(st.sampled_from(kinds)),
        draw(st.sampled_from([0.02, 0.2, 1.0])),
        draw(st.integers(0, 2**32 - 1)),
    )


def flags(*arrays) -> dict:
    """What the comparison may allow, from the inputs a call was given (as converted)."""
    special = huge = False
    for a in arrays:
        if a is None:
            continue
        a = np.asarray(a, dtype=np.float64)
        finite = np.isfinite(a)
        special |= not finite.all()
        huge |= bool(np.any(np.abs(a[finite]) > HUGE_FROM))
    return {"special": special, "huge": huge}


def check(
    actual,
    expected,
    dtype,
    what,
    *,
    special=False,
    huge=False,
    spurious_nan=False,
    scale=None,
    float32_sums=True,
) -> None:
    """actual (the binding's) against expected (the reference's, in `dtype`), by the rules of the
    module docstring. A NaN or infinity of the reference is never lost; where the reference is
    finite the binding agrees, or is NaN (`spurious_nan`: 0 x Inf at a structural zero, with
    special inputs only), or is not finite (with huge inputs only). With huge inputs the
    tolerance is scaled by `scale`, the size of the terms; a float32 kernel that adds in float32
    (`float32_sums`) may overflow, after which its finite results are not compared."""
    dtype = np.dtype(dtype)
    actual = np.asarray(actual)
    with np.errstate(over="ignore"):  # the reference's float64 rounded once to float32
        expected = np.asarray(expected).astype(dtype)
    assert actual.dtype == dtype, f"{what}: dtype {actual.dtype}, expected {dtype}"
    assert actual.shape == expected.shape, (
        f"{what}: shape {actual.shape}, expected {expected.shape}"
    )
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    a_nan, e_nan = np.isnan(a), np.isnan(e)
    a_fin, e_fin = np.isfinite(a), np.isfinite(e)
    spurious = spurious_nan and special
    # float32 rounds a factor that is tiny in float64 (a slope near saturation, Adam's
    # 1 - beta1 for beta1 below 1e-45) to 0, and 0 x Inf is NaN where the reference has Inf
    inf_to_nan = special and dtype == F32
    overflow = huge and dtype == F32 and float32_sums
    if overflow:  # the float64 sum of the reference went past float32's range; rounded in
        # float32 the kernel's may stay just below it
        lost = ~e_fin & a_fin & (np.abs(a) < np.finfo(np.float32).max / 2)
    elif huge:
        lost = ~e_fin & a_fin
    else:
        lost = (e_nan & ~a_nan) | (np.isinf(e) & (a != e) & ~((spurious | inf_to_nan) & a_nan))
    if lost.any():
        i = tuple(np.argwhere(lost)[0])
        raise AssertionError(
            f"{what}: {int(lost.sum())} non-finite value(s) of the reference "
            f"lost, e.g. at {i}: {a[i]!r} for {e[i]!r}"
        )
    allowed = ~a_fin if huge else (a_nan if spurious else np.zeros(a.shape, bool))
    extra = e_fin & ~a_fin & ~allowed
    if extra.any():
        i = tuple(np.argwhere(extra)[0])
        raise AssertionError(
            f"{what}: {int(extra.sum())} non-finite value(s) where the "
            f"reference is finite, e.g. at {i}: {a[i]!r} for {e[i]!r}"
        )
    both = e_fin & a_fin
    if overflow or not both.any():
        return
    size = max(1.0, float(np.max(np.abs(e[both]))))
    if huge and scale is not None:
        size = max(size, min(float(scale), float(np.finfo(np.float64).max)))
    assert_close(a[both], e[both], dtype, scale=size, check_dtype=False, what=what)


def check_scalar(actual, expected, dtype, what, huge=False) -> None:
    """A loss: NaN for NaN, the same infinity, or close."""
    if np.isnan(expected):
        assert np.isnan(actual), f"{what}: {actual!r}, expected NaN"
    elif np.isinf(expected):
        assert actual == expected or (huge and not np.isfinite(actual)), (
            f"{what}: {actual!r}, expected {expected!r}"
        )
    else:
        assert np.isfinite(actual), f"{what}: {actual!r}, expected {expected!r}"
        rtol, atol = TOLERANCES[np.dtype(dtype)]
        assert abs(actual - expected) <= atol * max(1.0, abs(expected)) + rtol * abs(expected), (
            f"{what}: {actual!r}, expected {expected!r}"
        )


def term_scale(*factors) -> float:
    """The size of one term of a sum of products of these arrays' values, times the count: a
    bound on what the rounding of a float32 or float64 sum can be compared against."""
    s = 1.0
    for f in factors:
        if isinstance(f, (int, float)):
            s *= f
        else:
            f = np.asarray(f, dtype=np.float64)
            f = f[np.isfinite(f)]
            s *= max(1.0, float(np.max(np.abs(f)))) if f.size else 1.0
    return s


# ---- how an array is handed to the binding ------------------------------------------------------

LAYOUTS = (
    "contiguous",
    "contiguous",
    "strided",
    "fortran",
    "misaligned",
    "readonly",
    "list",
    "float16",
    "int",
    "bool-like",
)


def present(arr: np.ndarray, layout: str):
    """arr as the caller hands it over: a view with other strides, another memory order, a
    misaligned or read-only buffer, a list, or another dtype the binding converts."""
    if layout == "strided" and arr.ndim:
        big = np.empty(arr.shape[:-1] + (2 * arr.shape[-1],), arr.dtype)
        view = big[..., ::2]
        view[...] = arr
        return view
    if layout == "fortran" and arr.ndim:  # (asfortranarray makes a 0-d array 1-d)
        return np.asfortranarray(arr)
    if layout == "misaligned" and arr.dtype.itemsize > 1:
        raw = np.empty(arr.nbytes + 1, np.uint8)[1:]
        view = raw.view(arr.dtype).reshape(arr.shape)
        view[...] = arr
        return view
    if layout == "readonly":
        view = arr.copy()
        view.flags.writeable = False
        return view
    if layout == "list" and arr.size:  # (an empty list has lost its shape)
        return arr.tolist()
    finite = np.isfinite(arr).all() and not np.any(np.abs(arr) > HUGE_FROM)
    if layout == "float16" and finite:
        return arr.astype(np.float16)
    if layout == "int" and finite:
        return np.round(arr).astype(np.int64)
    if layout == "bool-like" and finite:
        return arr > 0
    return arr


def working_dtype(first) -> np.dtype:
    """The dtype a call computes in: its first array's, if float32 or float64, else float64."""
    return F32 if np.asarray(first).dtype == F32 else F64


def converted(value, dtype):
    """What the binding hands to C for `value`: its values in the working dtype."""
    return None if value is None else np.asarray(value).astype(dtype)


@st.composite
def handed(draw, arr, first=False):
    """One of LAYOUTS for arr (the first array of a call keeps a float dtype mostly, since it
    sets the working dtype)."""
    layouts = LAYOUTS[:7] if first else LAYOUTS
    return present(arr, draw(st.sampled_from(layouts)))


def f64(a):
    return None if a is None else np.asarray(a, dtype=np.float64)


# ---- the reference, with connection tables taken literally --------------------------------------
# lenet.reference zeroes the weights of unconnected map pairs and multiplies them anyway, so an
# infinite or NaN input of an unconnected map would reach outputs that do not read it (0 x Inf
# is NaN). An unconnected pair is no term at all (lenet.h, conv.c): these run the reference on
# each output map with only the input maps it reads.


def ref_conv_forward(x, weight, bias, table, padding):
    x, weight, bias = f64(x), f64(weight), f64(bias)
    if table is None:
        return R.conv_forward(x, weight, bias, None, padding)
    maps = [
        R.conv_forward(x[:, row], weight[o : o + 1][:, row], bias[o : o + 1], None, padding)
        for o, row in enumerate(np.asarray(table, bool))
    ]
    k = weight.shape[2]
    shape = (x.shape[0], 0, x.shape[2] + 2 * padding - k + 1, x.shape[3] + 2 * padding - k + 1)
    return np.concatenate(maps, axis=1) if maps else np.zeros(shape)


def ref_conv_backward(x, weight, d_out, table, padding):
    x, weight, d_out = f64(x), f64(weight), f64(d_out)
    if table is None:
        return R.conv_backward(x, weight, d_out, None, padding)
    d_x, d_w, d_b = np.zeros(x.shape), np.zeros(weight.shape), np.zeros(weight.shape[0])
    for o, row in enumerate(np.asarray(table, bool)):
        gx, gw, gb = R.conv_backward(
            x[:, row], weight[o : o + 1][:, row], d_out[:, o : o + 1], None, padding
        )
        d_x[:, row] += gx
        d_w[o, row] = gw[0]
        d_b[o] = gb[0]
    return d_x, d_w, d_b


def raises(exc, name, call, *args, **kwargs):
    """call(*args, **kwargs) must raise exc with a message naming `name`."""
    with pytest.raises(exc) as info:
        call(*args, **kwargs)
    assert re.search(name, str(info.value)), f"{info.value!r} does not name {name!r}"
    return info.value


def quiet(call, *args, **kwargs):
    """The reference's IEEE arithmetic on NaN and Inf warns; the answer is what counts."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return call(*args, **kwargs)


# ---- convolution --------------------------------------------------------------------------------


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


# ---- subsampling --------------------------------------------------------------------------------


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


# ---- full connection ----------------------------------------------------------------------------


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


# ---- squashing functions ------------------------------------------------------------------------


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


# ---- optimiser updates --------------------------------------------------------------------------

OPTIMIZERS = {
    "sdlm": ({}, ("state1",)),
    "sgd": ({"beta1": (0.0, 0.99)}, ("state1", "mask")),
    "rmsprop": ({"beta1": (0.0, 0.99), "eps": (1e-8, 1e-3)}, ("state1", "mask")),
    "adam": (
        {"beta1": (0.0, 0.99), "beta2": (0.0, 0.999), "eps": (1e-8, 1e-3)},
        ("state1", "state2", "mask"),
    ),
}


def ref_update(kind, params, grads, opt):
    p, g = f64(params), f64(grads)
    if kind == "sdlm":
        return R.sdlm_update(p, g, f64(opt["state1"])), {}
    if kind == "sgd":
        w, v = R.sgd_update(p, g, f64(opt["state1"]), f64(opt["mask"]), opt["lr"], opt["beta1"])
        return w, {"state1": v}
    if kind == "rmsprop":
        w, s = R.rmsprop_update(
            p, g, f64(opt["state1"]), f64(opt["mask"]), opt["lr"], opt["beta1"], opt["eps"]
        )
        return w, {"state1": s}
    w, m, v = R.adam_update(
        p,
        g,
        f64(opt["state1"]),
        f64(opt["state2"]),
        f64(opt["mask"]),
        opt["lr"],
        opt["beta1"],
        opt["beta2"],
        opt["eps"],
        opt["updates"] + 1,
    )
    return w, {"state1": m, "state2": v}


@budget(0.75)
@given(
    data=st.data(),
    kind=st.sampled_from(sorted(OPTIMIZERS)),
    size=st.integers(0, 30),
    dtype=st.sampled_from([F32, F64]),
    vals=values(),
    broken=st.sampled_from(
        [None] * 6
        + [
            "lr",
            "updates",
            "buffer dtype",
            "buffer shape",
            "buffer layout",
            "overlap",
            "params",
            "kind",
        ]
    ),
)
def test_optimizer_step(data, kind, size, dtype, vals, broken):
    settings_, buffers = OPTIMIZERS[kind]
    params = vals.array((size,), dtype)
    grads = vals.array((size,), dtype)
    opt = {
        "kind": kind,
        "lr": data.draw(st.floats(1e-4, 1.0)),
        "updates": data.draw(st.integers(0, 10**6)),
    }
    for name, (lo, hi) in settings_.items():
        # (no values that float32 rounds to 0, where the float64 reference would not: times
        # an infinite state that gives NaN for Inf, or for a finite reference value)
        opt[name] = data.draw(st.one_of(st.just(lo), st.floats(max(lo, 1e-6), hi)))
    for name in buffers:
        if name == "mask":
            opt[name] = (vals.rng.random(size) < 0.8).astype(dtype)
        elif kind == "sdlm":
            opt[name] = np.abs(vals.array((size,), dtype, scale=0.01))
        else:
            opt[name] = np.abs(vals.array((size,), dtype, scale=0.1))
    before = {name: opt[name].copy() for name in buffers}
    start = params.copy()
    if broken is not None:
        name = data.draw(st.sampled_from(buffers))
        if broken == "lr":
            opt["lr"] = data.draw(st.sampled_from([0.0, -1.0, np.nan, np.inf, "0.1", True]))
            raises(ERRORS, "lr must be", _core.optimizer_step, opt, params, grads)
        elif broken == "updates":
            opt["updates"] = data.draw(st.sampled_from([-1, 2**62, 2**63, 10**30, 1.0, True]))
            raises(ValueError, "updates must be a count", _core.optimizer_step, opt, params, grads)
        elif broken == "buffer dtype":
            opt[name] = opt[name].astype(F64 if dtype == F32 else F32)
            raises(TypeError, f"{name} must have dtype", _core.optimizer_step, opt, params, grads)
        elif broken == "buffer shape":
            opt[name] = np.zeros(size + 1, dtype)
            raises(ValueError, f"{name} must have shape", _core.optimizer_step, opt, params, grads)
        elif broken == "buffer layout":
            opt[name] = present(opt[name], "strided") if size > 1 else opt[name].tolist()
            raises(ERRORS, name, _core.optimizer_step, opt, params, grads)
        elif broken == "overlap":  # state or mask in the memory of the params updated
            assume(size > 0)
            opt[name] = params
            raises(ValueError, "must not share memory", _core.optimizer_step, opt, params, grads)
        elif broken == "params":
            raises(
                TypeError,
                "params must be a 1-D float32 or float64",
                _core.optimizer_step,
                opt,
                params.astype(np.float16),
                grads,
            )
        else:
            opt["kind"] = "adagrad"
            raises(
                ValueError,
                "optimizer kind must be one of",
                _core.optimizer_step,
                opt,
                params,
                grads,
            )
        assert np.array_equal(params, start, equal_nan=True)  # nothing written
        return
    want, state = quiet(ref_update, kind, start, grads, {**opt, **before})
    fl = flags(start, grads, *before.values())
    assert _core.optimizer_step(opt, params, grads) == opt["updates"] + 1
    check(params, want.astype(dtype), dtype, f"{kind} params", **fl)
    for name, value in state.items():
        check(opt[name], value.astype(dtype), dtype, f"{kind} {name}", **fl)


# ---- arguments of the wrong kind ----------------------------------------------------------------


def _kernel_calls(rng):
    """Each wrapper with valid float64 arguments: name -> (function, args, kwargs)."""
    x4 = rng.standard_normal((2, 2, 6, 6))
    return {
        "conv_forward": (
            _core.conv_forward,
            {"x": x4, "weight": rng.standard_normal((3, 2, 3, 3)), "bias": np.zeros(3)},
        ),
        "conv_backward": (
            _core.conv_backward,
            {"x": x4, "weight": rng.standard_normal((3, 2, 3, 3)), "d_out": np.ones((2, 3, 4, 4))},
        ),
        "subsample_forward": (
            _core.subsample_forward,
            {"x": x4, "coefficient": np.ones(2), "bias": np.zeros(2)},
        ),
        "subsample_backward": (
            _core.subsample_backward,
            {"x": x4, "d_out": np.ones((2, 2, 3, 3)), "coefficient": np.ones(2)},
        ),
        "dense_forward": (
            _core.dense_forward,
            {"x": np.ones((2, 4)), "weight": np.ones((3, 4)), "bias": np.zeros(3)},
        ),
        "dense_backward": (
            _core.dense_backward,
            {"x": np.ones((2, 4)), "weight": np.ones((3, 4)), "d_out": np.ones((2, 3))},
        ),
        "activation_forward": (_core.activation_forward, {"a": np.ones((2, 3)), "kind": "tanh"}),
        "activation_derivative": (_core.activation_derivative, {"a": np.ones(3), "kind": "relu"}),
        "activation_backward": (
            _core.activation_backward,
            {"a": np.ones(3), "d_x": np.ones(3), "kind": "swish"},
        ),
        "rbf_forward": (_core.rbf_forward, {"x": np.ones((2, 4)), "prototypes": np.ones((3, 4))}),
        "rbf_backward": (
            _core.rbf_backward,
            {"x": np.ones((2, 4)), "prototypes": np.ones((3, 4)), "d_out": np.ones((2, 3))},
        ),
        "loss_rbf_penalty": (
            _core.loss_rbf_penalty,
            {"out": np.ones((2, 3)), "labels": np.array([0, 2])},
        ),
        "loss_rbf_discriminative": (
            _core.loss_rbf_discriminative,
            {"out": np.ones((2, 3)), "labels": np.array([0, 2]), "j": 1.0},
        ),
        "loss_softmax_cross_entropy": (
            _core.loss_softmax_cross_entropy,
            {"out": np.ones((2, 3)), "labels": np.array([1, 1])},
        ),
    }


ARRAY_ARGUMENTS = [
    (call, arg)
    for call, (_, kwargs) in _kernel_calls(np.random.default_rng(0)).items()
    for arg, value in kwargs.items()
    if isinstance(value, np.ndarray)
]
NON_REAL = {
    "complex": lambda a: a.astype(complex),
    "object": lambda a: a.astype(object),
    "string": lambda a: a.astype(str),
    "datetime": lambda a: np.zeros(a.shape, "datetime64[s]"),
    "bytes": lambda a: np.zeros(a.shape, "S3"),
    "structured": lambda a: np.zeros(a.shape, [("v", float)]),
}


@budget(0.5)
@given(
    which=st.sampled_from(ARRAY_ARGUMENTS),
    bad=st.sampled_from(sorted(NON_REAL)),
    first_float32=st.booleans(),
)
def test_non_real_dtypes_are_refused_by_name(which, bad, first_float32):
    call, arg = which
    function, kwargs = _kernel_calls(np.random.default_rng(1))[call]
    if first_float32:  # the other arguments are converted to float32
        first = next(iter(kwargs))
        kwargs[first] = kwargs[first].astype(np.float32)
    kwargs[arg] = NON_REAL[bad](kwargs[arg])
    pattern = "labels" if arg == "labels" else rf"\b{arg} must"
    raises(TypeError, pattern, function, **kwargs)


REFERENCES = {name: getattr(R, name) for name in _kernel_calls(np.random.default_rng(0))}


@budget(0.75)
@given(
    which=st.sampled_from(ARRAY_ARGUMENTS),
    seed=st.integers(0, 2**32 - 1),
    change=st.sampled_from(["fewer axes", "more axes", "one size", "empty"]),
)
def test_changed_shapes_give_an_error_naming_an_argument_or_the_right_answer(which, seed, change):
    """One argument with an axis fewer or more, one size changed, or an empty axis: a
    ValueError naming one of the arguments, or, when the shapes still agree, the reference's
    answer."""
    call, arg = which
    rng = np.random.default_rng(seed)
    function, kwargs = _kernel_calls(rng)[call]
    value = kwargs[arg]
    if change == "fewer axes":
        assume(value.ndim)
        kwargs[arg] = value[..., 0]
    elif change == "more axes":
        kwargs[arg] = value[..., None]
    else:
        assume(value.ndim)
        shape = list(value.shape)
        axis = int(rng.integers(0, value.ndim))
        shape[axis] = 0 if change == "empty" else shape[axis] + int(rng.choice([-1, 1, 2]))
        kwargs[arg] = rng.integers(0, 3, shape) if arg == "labels" else rng.standard_normal(shape)
    try:
        got = function(**kwargs)
    except ValueError as exc:
        named = [a for a in kwargs if re.search(rf"\b{a}\b", str(exc))]
        assert named or re.search("kernel is larger|2x2", str(exc)), str(exc)
        return
    want = quiet(REFERENCES[call], *kwargs.values())
    got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
    for g, e in zip(got, want):
        if isinstance(g, float):
            check_scalar(g, e, F64, call)
        elif g is not None:
            check(g, np.asarray(e, dtype=np.float64), F64, f"{call} with {arg} changed")


def test_narrowing_to_float32_refuses_values_too_large():
    """A float64 array given to a float32 call is rounded to float32: a finite value that float32
    cannot hold is refused, not turned into Inf."""
    x = np.ones((2, 3), np.float32)
    weight = np.ones((4, 3))
    weight[1, 2] = 1e300
    raises(
        ValueError,
        r"weight holds 1 value\(s\) too large for float32",
        _core.dense_forward,
        x,
        weight,
        np.zeros(4),
    )
    weight[1, 2] = np.inf  # Inf itself is a value like any other
    assert np.isinf(_core.dense_forward(x, weight, np.zeros(4))[:, 1]).all()
    raises(
        ValueError, "d_out holds", _core.rbf_backward, x, np.zeros((2, 3)), np.full((2, 2), -1e40)
    )


@pytest.mark.parametrize(
    "call,args",
    [
        ("conv_backward", lambda z: (z((0, 1, 2**31, 1)), z((1, 1, 1, 1)), z((0, 1, 2**31, 1)))),
        ("conv_forward", lambda z: (z((0, 2**31, 2, 2)), z((1, 2**31, 1, 1)), z((1,)))),
        ("dense_backward", lambda z: (z((0, 2**31)), z((0, 2**31)), z((0, 0)))),
        ("rbf_forward", lambda z: (z((0, 2**31)), z((0, 2**31)))),
        ("subsample_backward", lambda z: (z((0, 1, 2, 2**31)), z((0, 1, 1, 2**30)), None, "max")),
    ],
)
def test_empty_arrays_with_axes_too_long_for_an_int(call, args):
    """An empty array may still have an axis of 2**31 or more, which the core (taking sizes as
    int) cannot be told: a clear ValueError, not an OverflowError from the conversion."""

    def zeros(shape):
        return np.lib.stride_tricks.as_strided(np.zeros(1), shape, [0] * len(shape))

    raises(
        ValueError,
        "axis of 2147483648|more than the 2\\*\\*31 - 1",
        getattr(_core, call),
        *args(zeros),
    )


# ---- threads ------------------------------------------------------------------------------------


@budget(0.5)
@given(
    n=st.one_of(
        st.integers(-(2**70), 2**70),
        st.integers(-3, 10),
        st.integers(0, 20).map(np.int64),
        st.integers(0, 20).map(np.uint8),
        st.floats(allow_nan=True),
        st.booleans(),
        st.none(),
        st.text(max_size=3),
        st.just(np.float64(2.0)),
        st.just(2 + 0j),
        st.just([2]),
    )
)
def test_set_num_threads(n):
    """1 to max_threads() is taken; anything else is refused and changes nothing."""
    before = lenet.get_num_threads()
    limit = _core.max_threads()
    integral = isinstance(n, (int, np.integer)) and not isinstance(n, bool)
    try:
        if integral and 1 <= n <= limit:
            _core.set_num_threads(n)
            assert lenet.get_num_threads() == (n if lenet.openmp_enabled() else 1)
            return
        exc = ValueError if integral else TypeError
        raises(exc, r"n must be (a|an integer) number of threads", _core.set_num_threads, n)
        assert lenet.get_num_threads() == before
    finally:
        _core.set_num_threads(before)


# ---- layers -------------------------------------------------------------------------------------


def ref_layer_forward(layer, x):
    """(a, y) of `layer` for the input x, by lenet.reference, in float64."""
    x = f64(x)
    p = {k: f64(v) for k, v in layer.params.items()}
    if isinstance(layer, Convolution):
        a = ref_conv_forward(x, p["weight"], p["bias"], layer._table_for_core, layer.padding)
    elif isinstance(layer, Subsampling):
        a = R.subsample_forward(x, p.get("coefficient"), p.get("bias"), layer.mode)
    elif isinstance(layer, FullConnection):
        a = R.dense_forward(x.reshape(x.shape[0], layer.in_features), p["weight"], p["bias"])
    else:
        a = R.rbf_forward(x, f64(layer.prototypes))
    return a, R.activation_forward(a, layer.activation)


def ref_layer_backward(layer, x, a, dy):
    """(dx, {name: gradient}) of `layer` at its input x and sums a, for dy, by the reference."""
    x, a, dy = f64(x), f64(a), f64(dy)
    p = {k: f64(v) for k, v in layer.params.items()}
    da = R.activation_backward(a, dy, layer.activation)
    if isinstance(layer, Convolution):
        dx, dw, db = ref_conv_backward(x, p["weight"], da, layer._table_for_core, layer.padding)
        return dx, {"weight": dw, "bias": db}
    if isinstance(layer, Subsampling):
        dx, dc, db = R.subsample_backward(x, da, p.get("coefficient"), layer.mode)
        return dx, ({"coefficient": dc, "bias": db} if layer.mode == "paper" else {})
    if isinstance(layer, FullConnection):
        dx, dw, db = R.dense_backward(x.reshape(x.shape[0], layer.in_features), p["weight"], da)
        return dx.reshape(x.shape), {"weight": dw, "bias": db}
    return R.rbf_backward(x, f64(layer.prototypes), da), {}


def check_layer(layer, x, fl, what, dy=None, dx=None):
    """The layer's last forward (its sums layer.a and states layer.y for the input x) and, with
    dy, its backward (dx and layer.grads) against the reference, at the layer's own cached input
    and sums: so each layer is checked on its own (and max pooling's ties are decided alike)."""
    dtype = layer.dtype
    e_a, _ = quiet(ref_layer_forward, layer, x)
    check(layer.a, e_a.astype(dtype), dtype, f"{what} a", spurious_nan=True, **fl)
    e_y = quiet(R.activation_forward, f64(layer.a), layer.activation).astype(dtype)
    check(layer.y, e_y, dtype, f"{what} y")
    if dy is None:
        return
    e_dx, e_grads = quiet(ref_layer_backward, layer, layer._x.reshape(np.shape(x)), layer.a, dy)
    check(dx, e_dx.astype(dtype), dtype, f"{what} dx", spurious_nan=True, **fl)
    for name, e in e_grads.items():
        check(layer.grads[name], e.astype(dtype), dtype, f"{what} d{name}", spurious_nan=True, **fl)


def _layer_input(data, vals, shape, dtype):
    """The input as a caller might pass it, and its values in the layer's dtype (None when the
    layer must refuse it)."""
    x = vals.array(shape, dtype, scale=1.5)
    layout = data.draw(st.sampled_from(LAYOUTS + ("float64", "float32")))
    with np.errstate(over="ignore"):
        X = x.astype(layout) if layout in ("float64", "float32") else present(x, layout)
        xs = np.asarray(X).astype(dtype)
    return X, xs


@budget(0.5)
@given(
    data=st.data(),
    kind=st.sampled_from(["conv", "paper", "average", "max", "dense", "rbf"]),
    n=st.integers(0, 3),
    maps=st.integers(1, 3),
    out_maps=st.integers(1, 3),
    k=st.integers(1, 5),
    padding=st.integers(0, 2),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    activation=st.sampled_from(_core.ACTIVATIONS),
    dtype=st.sampled_from([F32, F64]),
    vals=values(),
    table_density=st.sampled_from([None, 0.2, 0.6]),
)
def test_layers(
    data, kind, n, maps, out_maps, k, padding, h, w, activation, dtype, vals, table_density
):
    rng = vals.rng
    if kind == "conv":
        table = None if table_density is None else rng.random((out_maps, maps)) < table_density
        if table is not None and not table.any(axis=1).all():
            raises(
                ValueError,
                "connection_table: every output map needs",
                Convolution,
                maps,
                out_maps,
                k,
                padding,
                table,
            )
            table[:, 0] = True
        layer = Convolution(maps, out_maps, k, padding, table, activation, dtype, name="C")
        shape = (n, maps, h, w)
    elif kind == "dense":
        layer = FullConnection(maps * h, out_maps, activation, dtype, name="F")
        shape = data.draw(st.sampled_from([(n, maps * h), (n, maps, h), (n, h, maps, 1)]))
    elif kind == "rbf":
        protos = np.sign(rng.standard_normal((out_maps + 1, maps * h)))
        layer = RBFOutput(protos, dtype, name="R")
        shape = (n, maps * h)
    else:
        layer = Subsampling(maps, kind, activation, dtype, name="S")
        shape = (n, maps, h, w)
    layer.init_parameters(rng, data.draw(st.sampled_from(["lecun98", "lecun98-sqrt", "glorot"])))
    X, xs = _layer_input(data, vals, shape, dtype)
    where = f"{layer.name}.forward"
    if not np.isfinite(xs).all():
        raises(ValueError, rf"{where}: x contains \d+ non-finite", layer.forward, X)
        return
    too_small = (kind == "conv" and (k > h + 2 * padding or k > w + 2 * padding)) or (
        kind in ("paper", "average", "max") and (h < 2 or w < 2)
    )
    if too_small:
        raises(ValueError, "kernel is larger than the padded input|at least 2x2", layer.forward, X)
        return
    y = layer.forward(X)
    assert y.dtype == dtype and y.flags.c_contiguous and y is layer.y
    check_layer(layer, xs, flags(xs), kind)
    dy = vals.array(y.shape, dtype)
    if not np.isfinite(dy).all():
        raises(
            ValueError, rf"{layer.name}.backward: dy contains \d+ non-finite", layer.backward, dy
        )
        return
    bad = data.draw(st.sampled_from([None, None, None, "shape", "dtype"]))
    if bad == "shape":
        raises(
            ValueError,
            "dy must have the forward output's shape",
            layer.backward,
            np.zeros(y.shape + (1,)),
        )
    elif bad == "dtype":
        raises(TypeError, "dy must hold real numbers", layer.backward, dy.astype(complex))
    DY = data.draw(handed(dy))
    dx = layer.backward(DY)
    assert dx.shape == np.shape(X) and dx.dtype == dtype
    ds = np.asarray(DY).astype(dtype)
    check_layer(layer, xs, flags(xs, ds), kind, ds, dx)
    # backward_second checks its h_y as backward checks dy
    h_y = np.abs(vals.array(y.shape, dtype, plain=True))
    assert np.shape(backward_second(layer, h_y)) == np.shape(X)
    if h_y.size:
        h_y.flat[0] = np.nan
        raises(
            ValueError,
            rf"{layer.name}.backward_second: h_y contains 1 non-finite",
            backward_second,
            layer,
            h_y,
        )
    raises(TypeError, "h_y must hold real numbers", backward_second, layer, h_y.astype(complex))


# ---- whole networks -----------------------------------------------------------------------------

NETWORKS = {}


def network(variant, dtype):
    """One network per variant and dtype for the whole module: the tests only read it (trace
    leaves its gradients as they were, backward overwrites them)."""
    key = (variant, dtype)
    if key not in NETWORKS:
        if variant == "paper":
            net = lenet.LeNet5(seed=1, dtype=dtype)
        else:
            _, activation, pooling, size, channels = variant.split("-")
            net = lenet.LeNet5.modern(
                int(channels),
                int(size),
                seed=1,
                dtype=dtype,
                activation=activation,
                pooling=pooling,
            )
        NETWORKS[key] = net
    return NETWORKS[key]


VARIANTS = [
    "paper",
    "modern-swish-max-28-1",
    "modern-relu-average-32-3",
    "modern-scaled_tanh-paper-28-2",
    "modern-sigmoid-max-32-1",
]


class Recorder:
    """Backward hooks that keep every layer's (dy, dx)."""

    def __init__(self, net):
        self.seen = {}
        self.handles = [layer.register_backward_hook(self) for layer in net.layers]

    def __call__(self, layer, dy, dx):
        self.seen[layer.name] = (dy.copy(), dx.copy())

    def remove(self):
        for handle in self.handles:
            handle.remove()


@budget(0.2)
@given(
    data=st.data(),
    variant=st.sampled_from(VARIANTS),
    n=st.sampled_from([0, 1, 1, 2, 3]),
    dtype=st.sampled_from([F32, F64]),
    vals=values(),
    single=st.booleans(),
)
def test_networks(data, variant, n, dtype, vals, single):
    net = network(variant, dtype)
    c, h, w = net.input_shape
    shape = (c, h, w) if single else (n, c, h, w)
    if single and c == 1 and data.draw(st.booleans()):
        shape = (h, w)
    X, xs = _layer_input(data, vals, shape, dtype)
    xs = xs.reshape((-1, c, h, w))
    n = xs.shape[0]
    if not np.isfinite(xs).all():
        for call in (net.forward, net.infer, net.trace, net.predict):
            raises(ValueError, r"x contains \d+ non-finite", call, X)
        return
    broken = data.draw(st.sampled_from([None] * 4 + ["shape", "dtype", "ragged"]))
    if broken == "shape":
        raises(
            ValueError,
            rf"x must have shape \(N, {c}, {h}, {w}\)",
            net.forward,
            np.zeros((n, c, h + 1, w)),
        )
    elif broken == "dtype":
        raises(TypeError, "x must hold real numbers", net.infer, np.zeros(shape, complex))
    elif broken == "ragged":
        raises(ERRORS, "x must", net.forward, [[0.0] * w, [0.0] * (w - 1)])

    fl = flags(xs)
    out = net.forward(X)
    assert out.shape == (n, 10) and out.dtype == dtype
    # forward, layer by layer: each layer against the reference at its own input
    x_in = xs
    for layer in net.layers:
        check_layer(layer, x_in, fl, f"{variant} {layer.name}")
        x_in = layer.y
    # the fused path gives the same bits
    np.testing.assert_array_equal(net.infer(X, batch_size=data.draw(st.integers(1, 4))), out)

    dout = vals.array(out.shape, dtype, plain=True)
    recorder = Recorder(net)
    try:
        dx = net.backward(dout)
    finally:
        recorder.remove()
    assert dx.shape == xs.shape and dx.dtype == dtype
    if n == 0:
        assert not net.gradients.any()  # a sum over no samples
    x_in = xs
    for layer in net.layers:
        dy, dx_layer = recorder.seen[layer.name]
        check_layer(layer, x_in, fl, f"{variant} {layer.name}", dy, dx_layer)
        x_in = layer.y

    # trace: the same states, and gradients of the loss that leave net.gradients alone
    kept = net.gradients.copy()
    if n == 0:
        raises(ValueError, "x holds no image", net.trace, X, np.zeros(0, int))
        assert len(net.trace(X)) == len(net.layers) + 1
        return
    labels = vals.rng.integers(0, 10, n)
    trace = net.trace(X, labels if n > 1 or not single else int(labels[0]))
    np.testing.assert_array_equal(trace["output"], out)
    np.testing.assert_array_equal(net.gradients, kept)
    rbf = isinstance(net.layers[-1], RBFOutput)
    loss, grad = (_core.loss_rbf_penalty if rbf else _core.loss_softmax_cross_entropy)(out, labels)
    assert trace.loss == loss or (np.isnan(loss) and np.isnan(trace.loss))
    if np.isfinite(grad).all():  # (backward refuses a NaN that overflowed logits give)
        np.testing.assert_array_equal(trace.state_gradients["input"], net.backward(grad))


# ---- the fused path: plans, forward, training ---------------------------------------------------

IN_SHAPE = (2, 8, 8)
SPEC_JUNK = [None, True, 1.5, -1, 0, 2**40, "3", (1, 2), [1, 2, 3, 4], np.float64(2.0)]


def small_network(dtype, variant):
    """A four-layer network of every kind ("rbf": sparse convolution, the paper's subsampling,
    full connection, RBF output) or three ("logits": padded ReLU convolution, max pooling,
    linear output), on (2, 8, 8) inputs."""
    if variant == "rbf":
        layers = [
            Convolution(
                2,
                3,
                3,
                connection_table=np.array([[1, 0], [0, 1], [1, 1]], bool),
                name="C",
                dtype=dtype,
            ),
            Subsampling(3, "paper", name="S", dtype=dtype),
            FullConnection(27, 6, name="F", dtype=dtype),
            RBFOutput(np.sign(np.arange(24.0).reshape(4, 6) % 3 - 0.5), dtype, name="out"),
        ]
    else:
        layers = [
            Convolution(2, 2, 3, padding=1, activation="relu", name="C", dtype=dtype),
            Subsampling(2, "max", activation="identity", name="S", dtype=dtype),
            FullConnection(32, 5, activation="identity", name="out", dtype=dtype),
        ]
    net = lenet.Network(layers, IN_SHAPE, dtype)
    rng = np.random.default_rng(0)
    for layer in net.layers:
        layer.init_parameters(rng)
    return net


@budget(0.5)
@given(
    dtype=st.sampled_from([F32, F64]),
    variant=st.sampled_from(["rbf", "logits"]),
    layer=st.integers(0, 3),
    key=st.sampled_from(
        [
            "kind",
            "activation",
            "mode",
            "in_shape",
            "out_shape",
            "k",
            "pad",
            "table",
            "weight",
            "bias",
            "prototypes",
            "missing",
            "extra",
        ]
    ),
    junk=st.sampled_from(SPEC_JUNK),
)
def test_network_plan_refuses_broken_specs(dtype, variant, layer, key, junk):
    """One value of a network description replaced by junk: refused with an error naming the
    layer's place in the spec, or -- when the kernels can still run it safely (a value the layer
    does not use, an offset that still fits) -- planned and run."""
    net = small_network(dtype, variant)
    spec = [dict(d) for d in fused.layer_spec(net)]
    layer %= len(spec)
    if key == "missing":
        del spec[layer]["pad"]
    elif key == "extra":
        spec[layer]["stride"] = 1
    else:
        old = spec[layer][key]
        assume(not (type(old) is int and type(junk) is int and old == junk))
        spec[layer][key] = junk
    try:
        plan = _core.network_plan(spec, net.parameters)
    except ERRORS as exc:
        assert re.search(r"\bspec\b|spec\[\d+\]|last layer", str(exc)), str(exc)
        return
    x = np.random.default_rng(1).standard_normal((2,) + IN_SHAPE).astype(dtype)
    out = _core.network_forward(plan, net.parameters, x)
    assert out.shape[0] == 2 and out.dtype == dtype


@budget(0.5)
@given(
    data=st.data(),
    dtype=st.sampled_from([F32, F64]),
    variant=st.sampled_from(["rbf", "logits"]),
    n=st.integers(0, 6),
    batch=st.one_of(st.integers(1, 8), st.sampled_from([0, -1, 65537, 2.0, True, None])),
    count=st.integers(0, 9),
    vals=values(),
    optimizer=st.sampled_from(["sgd", "adam", "rmsprop"]),
    broken=st.sampled_from(
        [None] * 6 + ["order", "labels", "workspace", "loss", "overlap", "plan"]
    ),
)
def test_network_forward_and_train(data, dtype, variant, n, batch, count, vals, optimizer, broken):
    """network_forward gives the per-layer path's bits (for finite input; the fused kernels
    compute through NaN and Inf, the layers refuse them); network_train runs ceil(count / batch)
    steps unless a loss stops being finite; every bad argument is refused before any step."""
    net = small_network(dtype, variant)
    plan = fused._cached(net)[1]
    images = vals.array((n,) + IN_SHAPE, dtype)
    X = data.draw(handed(images))
    xs = converted(X, dtype)
    batch_ok = type(batch) is int and 1 <= batch <= 65536
    if not batch_ok:
        raises(
            ValueError,
            "batch_size must be an integer",
            _core.network_forward,
            plan,
            net.parameters,
            X,
            batch,
        )
        raises(
            ValueError,
            "batch_size must be an integer",
            _core.network_workspace,
            plan,
            net.parameters,
            batch,
        )
        return
    out = _core.network_forward(plan, net.parameters, X, batch)
    classes = 4 if variant == "rbf" else 5
    assert out.shape == (n, classes) and out.dtype == dtype
    if np.isfinite(xs).all():
        np.testing.assert_array_equal(out, net.forward(xs))

    labels = vals.rng.integers(0, classes, n)
    order = vals.rng.integers(0, n, count) if n else np.zeros(0, np.int64)
    loss = "penalty" if variant == "rbf" else "cross-entropy"
    opt = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}[optimizer](net, lr=0.01)
    workspace = _core.network_workspace(plan, net.parameters, batch)
    args = dict(
        spec=plan,
        params=net.parameters,
        grads=net.gradients,
        optimizer=opt.core_state(),
        images=X,
        labels=labels,
        order=order,
        batch_size=batch,
        loss=loss,
        workspace=workspace,
    )
    start = net.parameters.copy()
    if broken == "order":
        bad = data.draw(
            st.sampled_from(
                [order + n, order - n - 1, order + 0.5, order.reshape(-1, 1), order.astype(complex)]
            )
        )
        assume(bad.size)
        args["order"] = bad
        raises(ERRORS, "order must", _core.network_train, **args)
    elif broken == "labels":
        assume(n)
        args["labels"] = data.draw(
            st.sampled_from([labels + classes, labels[:-1], labels.astype(complex), labels - 0.5])
        )
        raises(ERRORS, "labels must", _core.network_train, **args)
    elif broken == "workspace":
        other = F32 if dtype == F64 else F64
        args["workspace"] = data.draw(
            st.sampled_from(
                [
                    workspace[:-1],
                    workspace.astype(other),
                    workspace.tolist(),
                    np.repeat(workspace, 2)[::2],
                ]
            )
        )
        raises(ValueError, "workspace must be", _core.network_train, **args)
    elif broken == "loss":
        args["loss"] = "cross-entropy" if variant == "rbf" else "penalty"
        raises(ValueError, "does not fit a network", _core.network_train, **args)
    elif broken == "overlap":
        size = n * int(np.prod(IN_SHAPE))
        target = data.draw(st.sampled_from(["images", "workspace", "grads"]))
        if target == "images":
            assume(0 < size <= net.parameters.size)
            args["images"] = net.parameters[:size].reshape((n,) + IN_SHAPE)
            raises(
                ValueError, "params must not share memory with images", _core.network_train, **args
            )
        elif target == "workspace":
            assume(size)
            args["workspace"] = np.zeros(workspace.size + size, dtype)
            args["images"] = args["workspace"][-size:].reshape((n,) + IN_SHAPE)
            raises(
                ValueError,
                "workspace must not share memory with images",
                _core.network_train,
                **args,
            )
        else:
            args["grads"] = net.parameters
            raises(ValueError, "must not share memory", _core.network_train, **args)
    elif broken == "plan":
        other = net.parameters.astype(F32 if dtype == F64 else F64)
        raises(ValueError, "spec was planned for", _core.network_forward, plan, other, xs)
        args["params"] = np.zeros(net.parameters.size + 1, dtype)
        args["grads"] = np.zeros(net.parameters.size + 1, dtype)
        raises(ValueError, "spec was planned for", _core.network_train, **args)
    if broken is not None:
        np.testing.assert_array_equal(net.parameters, start)  # refused before any step
        return
    steps, loss_sum, errors, diverged, updates = _core.network_train(**args)
    planned = -(-order.size // batch)
    assert updates == steps  # one update per step, from 0
    if diverged:  # a step's loss was not finite: it stopped before that step's update
        assert steps < planned
    else:
        assert steps == planned and np.isfinite(loss_sum) and 0 <= errors <= order.size
    if not flags(xs)["special"] and not flags(xs)["huge"]:
        assert not diverged
    if steps == 0:
        np.testing.assert_array_equal(net.parameters, start)


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


def test_optimizer_step_count_is_bounded():
    """An update count past a long long raised OverflowError; at its limit, adding one in C
    would overflow. Refused from 2**62 on."""
    params, grads = np.zeros(3), np.ones(3)
    opt = {"kind": "sgd", "lr": 0.1, "state1": np.zeros(3), "mask": np.ones(3)}
    for updates in (2**62, 2**63, 10**30):
        raises(
            ValueError,
            "updates must be a count from 0 to 2\\*\\*62 - 1",
            _core.optimizer_step,
            {**opt, "updates": updates},
            params,
            grads,
        )
    assert _core.optimizer_step({**opt, "updates": 2**62 - 2}, params, grads) == 2**62 - 1


@pytest.mark.parametrize(
    "key,value,pattern",
    [
        ("k", 3.7, r"spec\[0\] k must be an integer from 1 to"),
        ("k", 2**40, r"spec\[0\] k must be an integer"),
        ("pad", 2**40, r"spec\[0\] pad must be an integer from 0 to"),
        ("pad", True, r"spec\[0\] pad must be an integer"),
        ("weight", 0.9, r"spec\[0\]: weight offset must be an integer"),
        ("in_shape", (2, 8.5, 8), r"spec\[0\] in_shape must be an integer"),
        ("in_shape", 8, r"spec\[0\] in_shape must be 3 positive sizes"),
        (
            "out_shape",
            (3, 2**31, 6),
            r"spec\[0\] out_shape must be an integer from 1 to 2147483647",
        ),
    ],
)
def test_plans_refuse_numbers_they_used_to_truncate_or_overflow(key, value, pattern):
    """Floats in a network description were truncated by int() (k = 3.7 ran a 3x3 kernel), and
    sizes beyond an int raised OverflowError; both are ValueErrors naming the place now."""
    net = small_network(F64, "rbf")
    spec = [dict(d) for d in fused.layer_spec(net)]
    spec[0][key] = value
    raises(ValueError, pattern, _core.network_plan, spec, net.parameters)


def test_training_refuses_fractional_order_and_shared_memory():
    """order = [0.5, 1.7] was truncated to [0, 1]; images in the parameters' memory (which the
    steps overwrite) were taken."""
    net = small_network(F64, "logits")
    plan = fused._cached(net)[1]
    opt = SGD(net, lr=0.01)
    args = dict(
        spec=plan,
        params=net.parameters,
        grads=net.gradients,
        optimizer=opt.core_state(),
        images=np.zeros((2,) + IN_SHAPE),
        labels=[0, 1],
        order=[0, 1],
        batch_size=1,
        loss="cross-entropy",
    )
    raises(
        TypeError,
        "order must be integers .* non-integral",
        _core.network_train,
        **{**args, "order": [0.5, 1.7]},
    )
    assert _core.network_train(**{**args, "order": [0.0, 1.0]})[0] == 2  # whole numbers do
    shared = net.parameters[:128].reshape((1,) + IN_SHAPE)
    raises(
        ValueError,
        "params must not share memory with images",
        _core.network_train,
        **{**args, "images": shared, "labels": [0], "order": [0]},
    )
    rbf = small_network(F64, "rbf")
    spec = [dict(d) for d in fused.layer_spec(rbf)]
    spec[-1]["prototypes"] = rbf.gradients[:24].reshape(4, 6)  # read while grads are written
    raises(
        ValueError,
        r"grads must not share memory with spec\[3\] prototypes",
        _core.network_train,
        **{
            **args,
            "spec": _core.network_plan(spec, rbf.parameters),
            "params": rbf.parameters,
            "grads": rbf.gradients,
            "optimizer": SGD(rbf, lr=0.01).core_state(),
            "loss": "penalty",
        },
    )


def test_optimizer_descriptions_with_unknown_keys_are_refused():
    """{"momentum": 0.9} (SGD's setting is beta1) was ignored: SGD ran without momentum."""
    params, grads = np.zeros(3), np.ones(3)
    opt = {"kind": "sgd", "lr": 0.1, "state1": np.zeros(3), "mask": np.ones(3), "momentum": 0.9}
    raises(
        ValueError,
        r"optimizer has unknown key\(s\) 'momentum'",
        _core.optimizer_step,
        opt,
        params,
        grads,
    )
    assert not params.any()
    net = small_network(F64, "logits")
    state = SGD(net, lr=0.01).core_state()
    args = dict(
        spec=fused._cached(net)[1],
        params=net.parameters,
        grads=net.gradients,
        optimizer=state,
        images=np.zeros((1,) + IN_SHAPE),
        labels=[0],
        order=[0],
        batch_size=1,
        loss="cross-entropy",
    )
    raises(
        ValueError,
        "unknown key",
        _core.network_train,
        **{**args, "optimizer": {**state, "rh0": 0.9}},
    )
    raises(TypeError, "loss_sum must be a real number", _core.network_train, **args, loss_sum="0")
    assert _core.network_train(**args, loss_sum=np.float32(2))[1] > 2


@pytest.mark.parametrize("dtype", [F32, F64])
def test_value_range_is_one_pass_of_min_max_and_finiteness(dtype):
    """_core.value_range (the layers' input check): NumPy's min and max over the finite values,
    and whether all are finite; read-only and non-contiguous arrays too."""
    x = np.array([[3.0, -2.0, 0.5], [7.0, 1.0, -4.0]], dtype)
    assert _core.value_range(x) == (-4.0, 7.0, True)
    x.flags.writeable = False
    assert _core.value_range(x[:, 1:]) == (-4.0, 1.0, True)
    for bad in (np.nan, np.inf, -np.inf):
        y = np.array([1.0, bad, -1.0], dtype)
        assert _core.value_range(y) == (-1.0, 1.0, False)
    assert _core.value_range(np.zeros((0, 3), dtype)) == (0.0, 0.0, True)
    raw = np.zeros(4 * dtype.itemsize + 1, np.uint8)[1:].view(dtype)  # misaligned
    raw[:] = [2.0, -3.0, 5.0, 0.0]
    assert not raw.flags.aligned and _core.value_range(raw) == (-3.0, 5.0, True)
    with pytest.raises(TypeError, match="arr must be a float32 or float64"):
        _core.value_range(np.arange(3))
