"""What ``check`` prints about a failing case: its inputs, the worst wrong values, and the
hint (a known mistake the result matches, else the exercise's own)."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from ..._guard import WriteItYourself
from ..._i18n import _, pad
from .compare import LOW_PRECISION_RTOL, RTOL, _close
from .exercise import F64, Case, Exercise


def _not_yet_message(ex: Exercise, fn: Callable[..., Any]) -> str:
    own = getattr(fn, "__name__", ex.name)
    return _(
        "{name}: not implemented yet: {function} raises NotImplementedError. Replace the "
        "`raise NotImplementedError` line with your code (describe({quoted}) has the "
        "formulas and shapes), then run the check again.",
        name=ex.name,
        function=own,
        quoted=repr(ex.name),
    )


def _describe_case(case: Case) -> str:
    parts = []
    for key, value in case.items():
        if isinstance(value, dict):
            parts.append(_("{key} (dict of {count} arrays)", key=key, count=len(value)))
        elif isinstance(value, np.ndarray) and value.dtype.kind in "iu" and value.size <= 10:
            parts.append(f"{key} {value.tolist()}")
        elif isinstance(value, np.ndarray) and value.dtype in (np.float32, np.float16):
            parts.append(f"{key} {value.shape} {value.dtype}")
        elif isinstance(value, np.ndarray):
            parts.append(f"{key} {value.shape}")
        elif isinstance(value, float):
            parts.append(f"{key} {value:.6g}")
        else:
            parts.append(f"{key} {value!r}")
    return ", ".join(parts)


def _index_text(index: tuple[int, ...], axes: tuple[str, ...] | None) -> str:
    """An element's index, with the axis names when known: "n=1, map=13, r=9, c=3"."""
    if axes is None or len(axes) != len(index):
        return str(index)
    return ", ".join(f"{name}={i}" for name, i in zip(axes, index))


def _exception_report(exc: Exception) -> str:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # [0] is the call in _run_case
    # the innermost line of the learner's code, not of NumPy's internals
    own = [f for f in frames if f"{os.sep}numpy{os.sep}" not in f.filename] or frames
    where = (
        "\n    "
        + _(
            "at line {line} of {function} ({file})",
            line=own[-1].lineno,
            function=own[-1].name,
            file=own[-1].filename,
        )
        if own
        else ""
    )
    return "  " + _("your function raised {error}", error=last) + where


def _refusal_report(refusal: WriteItYourself) -> str:
    """The failure of a function that called lenet's own answer to the exercise."""
    return f"  {refusal}"


def _values_report(
    output: str,
    actual: np.ndarray,
    expected: np.ndarray,
    bad: np.ndarray,
    err: np.ndarray,
    atol: float,
    base: np.ndarray | None,
    axes: tuple[str, ...] | None = None,
) -> str:
    what = (
        _("{output} (compared by its change from the old value)", output=output)
        if base is not None
        else output
    )
    lines = [
        "  "
        + _(
            "{output}: {wrong} of {count} values wrong (tolerance: rtol {rtol}, atol {atol})",
            output=what,
            wrong=int(bad.sum()),
            count=bad.size,
            rtol=f"{RTOL:g}",
            atol=f"{atol:.3g}",
        )
    ]
    if actual.ndim == 0:
        lines.append(
            "    "
            + _(
                "expected {expected}, got {actual}",
                expected=f"{expected.item():.10g}",
                actual=f"{actual.item():.10g}",
            )
        )
        return "\n".join(lines)
    worst = np.unravel_index(
        np.argmax(np.where(bad, np.nan_to_num(err, nan=np.inf), -1.0)), bad.shape
    )
    others = [tuple(int(i) for i in idx) for idx in np.argwhere(bad)[:4]]
    shown = [tuple(int(i) for i in worst)] + [i for i in others if i != tuple(worst)][:3]
    index = _("index")
    width = max(len(_index_text(i, axes)) for i in shown) + 2
    if base is not None:  # what is compared: the changes, expected and actual
        expected, actual = expected - base, actual - base
        left, right = _("expected change"), _("your change")
    else:
        left, right = _("expected"), _("actual")
    lines.append(f"    {pad(index, width, left=True)}{pad(left, 18)}  {pad(right, 18)}")
    for n, idx in enumerate(shown):
        mark = "   " + _("<- worst") if n == 0 else ""
        lines.append(
            f"    {_index_text(idx, axes).ljust(width)}{expected[idx]:>18.10g}  "
            f"{actual[idx]:>18.10g}{mark}"
        )
    return "\n".join(lines)


def _diagnose(
    ex: Exercise,
    case: Case,
    output: str,
    actual: np.ndarray,
    expected: np.ndarray,
    base: np.ndarray | None,
    dtype: np.dtype | None = None,
) -> str:
    """The hint for a wrong output: that it is right to its lower precision (``dtype``, the
    dtype the learner returned it in), else the hint of the first known mistake whose result
    matches the learner's, else the exercise's own diagnosis or its generic hint. For a
    lower-precision result, the mistakes are matched to that precision, and the hint adds
    that the checker compares in float64."""
    rtol = LOW_PRECISION_RTOL.get(np.dtype(dtype)) if dtype is not None else None
    if rtol is not None:
        if _close(actual, expected, rtol=rtol):
            return _(
                "your values are right to {dtype} precision; compute in float64 (the "
                "checker compares in float64)",
                dtype=dtype,
            )
        also = " " + _(
            "Your values are also {dtype}: compute in float64 (the checker compares in float64).",
            dtype=dtype,
        )
    else:
        also = ""
    for mistake in ex.mistakes:
        try:
            wrong = mistake.result(case).get(output)
        except Exception:  # a mistake that cannot be computed for this case does not apply
            continue
        if wrong is None:
            continue
        wrong = np.asarray(wrong, F64)
        # the mistake must give something else than the right answer, and match the learner's
        if _close(actual, wrong, base, rtol) and not _close(wrong, expected, base, rtol):
            return str(mistake.hint) + also
    if ex.explain is not None:
        hint = ex.explain(case, output, actual)
        if hint:
            return hint + also
    return str(ex.hint) + also
