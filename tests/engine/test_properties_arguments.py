"""Arguments of the wrong kind at every kernel wrapper, driven by Hypothesis (the rules of the
comparison: properties.py): non-real dtypes, changed shapes, float64 values too large for a
float32 call, empty arrays with axes too long for an int; and the layers' one-pass check of
their input's values (_core.value_range)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lenet import reference as R
from lenet.engine import _core

from properties import (
    F32,
    F64,
    IGNORE_NUMPY_WARNINGS,
    budget,
    check,
    check_scalar,
    quiet,
    raises,
)

pytestmark = IGNORE_NUMPY_WARNINGS


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


# ---- regressions: what the properties above found -----------------------------------------------


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
