"""How a learner's result is compared with the engine's: read as float64 arrays of the
expected shapes, then compared elementwise within a tolerance."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import numpy as np

from ..._i18n import Text, _
from .exercise import F64, Exercise

#: Tolerances of the comparison: |actual - expected| <= ATOL * scale + RTOL * |expected|
#: elementwise, scale = max(1, max |expected|). A float64 solution differs from the engine by
#: rounding only (about 1e-15 relative); every known mistake differs by far more.
RTOL = 1e-6
ATOL = 1e-8

#: A result in a lower-precision float (float32, float16) is compared in float64 like any other,
#: and fails; when its values agree with the engine's to its own precision,
#: |actual - expected| <= rtol * max |expected| with the rtol below, the hint says so.
LOW_PRECISION_RTOL = MappingProxyType({np.dtype(np.float32): 1e-4, np.dtype(np.float16): 1e-2})


class _Wrong(Exception):
    """The learner's result cannot be compared (type, count or shape); the message says why."""


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return _(
            "an array of shape {shape} and dtype {dtype}", shape=value.shape, dtype=value.dtype
        )
    if isinstance(value, (tuple, list)):
        return _("a {kind} of {count} values", kind=type(value).__name__, count=len(value))
    return (
        f"{type(value).__name__} {value!r}"
        if value is None or np.isscalar(value)
        else type(value).__name__
    )


def _expected_shape(shape: tuple[int, ...], words: Text) -> str:
    """The expected shape, with its meaning in words when these say more than the shape."""
    return (
        str(shape)
        if words == str(shape)
        else _("{shape}, that is {words}", shape=shape, words=words)
    )


def _as_array(
    value: Any, output: str, shape: tuple[int, ...], words: Text
) -> tuple[np.ndarray, np.dtype]:
    """The learner's value for one output as float64 of the expected shape, and the dtype it
    was returned in; or _Wrong."""
    try:
        arr = np.asarray(value)
    except Exception:
        arr = None
    if arr is None or arr.dtype.kind not in "fiub":
        raise _Wrong(
            _(
                "{output} should be a NumPy array of numbers, shape {shape}; got {value}",
                output=output,
                shape=_expected_shape(shape, words),
                value=_kind(value),
            )
        )
    dtype = arr.dtype
    arr = arr.astype(F64)
    if shape == () and arr.size == 1:  # a number: a float, a 0-d or a 1-element array
        arr = arr.reshape(())
    if arr.shape != shape:
        raise _Wrong(
            _(
                "{output} has shape {shape}; expected {expected}",
                output=output,
                shape=arr.shape,
                expected=_expected_shape(shape, words),
            )
        )
    return arr, dtype


def _mismatch(
    actual: np.ndarray, expected: np.ndarray, base: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """(mask of the wrong entries, absolute errors, atol used). With ``base``, the changes from
    it are compared, with a tolerance relative to the size of the change."""
    if base is not None:
        actual, expected = actual - base, expected - base
        # a few ulps of the parameters themselves, which the subtraction leaves in the change
        atol = ATOL * float(np.max(np.abs(expected))) + 1e-13 * max(
            1.0, float(np.max(np.abs(base)))
        )
    else:
        atol = ATOL * max(1.0, float(np.max(np.abs(expected))))
    err = np.abs(actual - expected)
    bad = ~(err <= atol + RTOL * np.abs(expected))  # NaN counts as wrong
    return bad, err, atol


def _close(
    actual: np.ndarray,
    expected: np.ndarray,
    base: np.ndarray | None = None,
    rtol: float | None = None,
) -> bool:
    """Whether ``actual`` passes against ``expected``. With ``rtol`` (a lower precision's, see
    LOW_PRECISION_RTOL), the looser test |actual - expected| <= rtol * max |expected|, on the
    values themselves (not their changes from ``base``: a lower-precision parameter is rounded
    at the scale of the parameter)."""
    if actual.shape != expected.shape:
        return False
    if rtol is not None:
        scale = float(np.max(np.abs(expected), initial=0.0))
        return bool(np.all(np.abs(actual - expected) <= rtol * scale))
    return not _mismatch(actual, expected, base)[0].any()


def _unpack(ex: Exercise, result: Any) -> dict:
    names_ = [n for n, _ in ex.outputs]
    if len(names_) == 1:
        return {names_[0]: result}
    if not isinstance(result, (tuple, list)) or len(result) != len(names_):
        raise _Wrong(
            _(
                "expected a tuple of {count} values ({names}); got {value}",
                count=len(names_),
                names=", ".join(names_),
                value=_kind(result),
            )
        )
    return dict(zip(names_, result))
