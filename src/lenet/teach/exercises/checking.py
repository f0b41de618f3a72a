"""``check``: run the learner's function on an exercise's random cases and compare each
result with the engine's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._guard import blocking
from ..._i18n import _
from .compare import _as_array, _kind, _mismatch, _unpack, _Wrong
from .exercise import Case, Exercise
from .registry import _exercise
from .report import (
    _describe_case,
    _diagnose,
    _exception_report,
    _not_yet_message,
    _refusal_report,
    _values_report,
)


@dataclass(frozen=True)
class CheckResult:
    """What ``check`` found: true when every case passed, false otherwise.

    - name: the exercise
    - score, max_score: the points it earns, ``max_score`` (the exercise's ``points``) when
      every case passes and 0 otherwise (all or nothing: docs/exercises/README.md says why)
    - passed, cases: how many of the cases passed, of how many tried
    - message: what ``check`` prints (a pass, "not implemented yet", or the first failing case)
    """

    name: str
    score: int
    max_score: int
    passed: int
    cases: int
    message: str

    def __bool__(self) -> bool:
        return self.cases > 0 and self.passed == self.cases

    def __repr__(self) -> str:  # short: a notebook shows it under the printed message
        return (
            f"<CheckResult {self.name}: {self.score}/{self.max_score} points, "
            f"{self.passed} of {self.cases} cases passed>"
        )


def check(
    name: str, fn: Callable[..., Any], *, cases: int = 5, seed: int = 0, verbose: bool = True
) -> CheckResult:
    """Run ``fn`` on ``cases`` random cases of exercise ``name`` and compare it with the engine.

    Inputs:
    - name: the exercise (see ``names()``)
    - fn: the learner's function, called with the arguments of the exercise's starter
      signature (NumPy arrays in float64; copies, so it may change them)
    - cases: how many random cases to try (shapes and batch sizes vary between cases)
    - seed: the cases are a function of the seed alone
    - verbose: print "name: pass (5 cases)", or a report on the first failing case: its
      inputs, the output that is wrong, its worst elements (expected and actual), and a hint

    Returns a ``CheckResult``, true if every case passes (``ok = check(...)``, ``if check(...)``
    and ``assert check(...)`` read it so), with the score, the cases passed and the message. A
    function that raises NotImplementedError (the starter as handed out) is reported as "not
    implemented yet". A wrong type or shape, NaN, or another exception raised by ``fn`` is a
    failure, reported and never raised. So is a result outside the tolerance because it is in
    float32 or float16; when its values are right to that precision (``LOW_PRECISION_RTOL``),
    the hint says to compute in float64. The cases after the first failing one still run, to
    count those that pass; the message reports the first.
    """
    ex = _exercise(name)
    if not callable(fn):
        raise TypeError(f"fn must be a function, got {_kind(fn)}")
    if isinstance(cases, bool) or not isinstance(cases, (int, np.integer)) or cases < 1:
        raise ValueError(f"cases must be a positive integer, got {cases!r}")
    cases = int(cases)
    passed, message = 0, None
    for i in range(cases):
        case = ex.make_case(np.random.default_rng((int(seed), i)), i)
        try:
            report = _run_case(ex, fn, case)
        except _NotYet:  # the starter, or a function left unfinished: the rest is not tried
            message = message or _not_yet_message(ex, fn)
            break
        if report is None:
            passed += 1
        elif message is None:  # the first failing case is the one reported
            message = (
                _("{name}: FAIL on case {case} of {count}", name=ex.name, case=i + 1, count=cases)
                + "\n  "
                + _("inputs: {inputs}", inputs=_describe_case(case))
                + f"\n{report}"
            )
    if message is None:
        message = (
            _("{name}: pass ({count} cases)", name=ex.name, count=cases)
            if cases != 1
            else _("{name}: pass (1 case)", name=ex.name)
        )
    if verbose:
        print(message)
    score = ex.points if passed == cases else 0
    return CheckResult(ex.name, score, ex.points, passed, cases, message)


class _NotYet(Exception):
    """The learner's function raised NotImplementedError: the starter, not yet written."""


def _copy(value: Any) -> Any:
    """A private copy of an argument, so that the learner's function cannot change the case."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


def _widened(value: Any) -> Any:
    """A case's float32 arrays in float64 (exactly), for the engine and the known mistakes."""
    if isinstance(value, np.ndarray) and value.dtype == np.float32:
        return value.astype(np.float64)
    if isinstance(value, dict):
        return {k: _widened(v) for k, v in value.items()}
    return value


def _run_case(ex: Exercise, fn: Callable[..., Any], case: Case) -> str | None:
    """None if fn passes the case, else the lines of the report (without the header). The
    learner's function gets the case as drawn (a few cases are in float32), the engine and
    the known mistakes its float64 copy."""
    try:  # lenet's own answer is out of reach while fn runs, and only then (lenet._guard)
        with blocking(ex.name, ex.answer) as refused:
            result = fn(*(_copy(v) for v in case.values()))
    except NotImplementedError:
        raise _NotYet from None
    except Exception as exc:
        return _refusal_report(refused[0]) if refused else _exception_report(exc)
    if refused:  # fn caught the refusal: whatever it returned, it reached for lenet's answer
        return _refusal_report(refused[0])
    if result is None:
        return "  " + _("your function returned None: did you forget `return`?")
    case = _widened(case)
    expected = ex.solve(case)
    base = ex.baseline(case) if ex.baseline else None
    shapes = dict(ex.outputs)
    try:
        given = ex.unpack(result, list(expected)) if ex.unpack else _unpack(ex, result)
        actual, dtypes = {}, {}
        for k in expected:
            if given[k] is None:
                raise _Wrong(
                    _("{output} is None: did you forget to compute it, or to return it?", output=k)
                )
            actual[k], dtypes[k] = _as_array(given[k], k, expected[k].shape, shapes[k])
    except _Wrong as refused:
        return f"  {refused}"
    wrong: dict[str, tuple] = {}
    for output, exp in expected.items():
        b = None if base is None else base[output]
        bad, err, atol = _mismatch(actual[output], exp, b)
        if bad.any():
            wrong[output] = (bad, err, atol, b)
    if not wrong:
        return None
    output = next(iter(wrong))  # the first wrong one, in the order the outputs are compared
    bad, err, atol, b = wrong[output]
    exp = expected[output]
    hint = _diagnose(ex, case, output, actual[output], exp, b, dtypes[output])
    report = (
        _values_report(output, actual[output], exp, bad, err, atol, b, ex.axes.get(output))
        + "\n  "
        + _("hint: {hint}", hint=hint)
    )
    if len(expected) > 1:
        right = [k for k in expected if k not in wrong]
        report = (
            "  "
            + _(
                "right: {right}; wrong: {wrong}",
                right=", ".join(right) if right else _("none"),
                wrong=", ".join(wrong),
            )
            + "\n"
            + report
        )
    return report
