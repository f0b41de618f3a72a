"""Checks of the values a user passes in, each naming the argument as the user wrote it.

Every check takes ``name``, the argument's name as the user typed it (``passes`` in Python,
``--passes`` on the command line), and raises ``ValueError`` (``TypeError`` for a value of
the wrong kind) whose message gives that name, what was expected and what was given.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def is_whole_number(value: Any) -> bool:
    """An int or NumPy integer, but not a bool (True is not the number 1 here)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real_number(value: Any) -> bool:
    """An int or float (NumPy's too), but not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def whole_number(name: str, value: Any, minimum: int = 0) -> int:
    """``value`` as an int, which must be a whole number >= ``minimum``."""
    if not is_whole_number(value) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def real_number(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a float, which must be finite and within [low, high] (or open ends);
    TypeError when it is no real number at all."""
    if not is_real_number(value):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if (
        not math.isfinite(value)
        or (value <= low if low_open else value < low)
        or (value >= high if high_open else value > high)
    ):
        ends = ("(" if low_open else "[") + f"{low:g}, {high:g}" + (")" if high_open else "]")
        if high == math.inf:
            want = f"a number {'>' if low_open else '>='} {low:g}"
        else:
            want = f"a number in {ends}"
        raise ValueError(f"{name} must be {want}, got {value!r}")
    return float(value)


def one_of(name: str, value: Any, choices: Iterable[str]) -> str:
    """``value``, which must be one of ``choices``."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def flag(name: str, value: Any) -> bool:
    """``value``, which must be True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def positive(name: str, value: Any) -> float:
    """``value`` as a float, a finite number > 0 (learning rates, mu, eps, ...)."""
    return real_number(name, value, 0.0, low_open=True)


def fraction(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1) (momentum, the decay rates of running means)."""
    return real_number(name, value, 0.0, 1.0, high_open=True)


def labels(name: str, value: Any, n: int, classes: int) -> np.ndarray:
    """``value`` as an int64 array of n class labels, each from 0 to classes - 1."""
    arr = np.asarray(value)
    if (
        arr.shape != (n,)
        or arr.dtype.kind not in "iu"
        or (n and (int(arr.min()) < 0 or int(arr.max()) >= classes))
    ):
        raise ValueError(
            f"{name} must hold {n} integer labels in [0, {classes}), got "
            f"{arr.dtype} array of shape {arr.shape}"
        )
    return arr.astype(np.int64)
