"""What the property tests of the binding's boundary share (tests/engine/test_properties_*.py).

Those tests drive, with Hypothesis, every public kernel wrapper of lenet.engine._core and
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
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import lenet
from lenet import reference as R
from lenet.engine.layers import Convolution, FullConnection, RBFOutput, Subsampling

from conftest import TOLERANCES, assert_close

BASE_EXAMPLES = int(os.environ.get("LENET_HYPOTHESIS_EXAMPLES", "200"))
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
#: the size of a "huge" value in each dtype: within its range, and its square is not
HUGE = {F32: 3e38, F64: 1e300}
#: above this, a value counts as huge (ordinary values here stay below 100)
HUGE_FROM = 1e20
ERRORS = (ValueError, TypeError)
#: each test module's pytestmark: huge values overflow and NaN and Inf are invalid in NumPy's
#: arithmetic too (the reference's results rounded to float32, squares in backward_second): the
#: checks expect it
IGNORE_NUMPY_WARNINGS = [
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


# ---- a small network of every layer kind, for the fused path ------------------------------------

IN_SHAPE = (2, 8, 8)


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
