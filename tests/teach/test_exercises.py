"""lenet.teach.exercises: every checker accepts a correct NumPy solution, rejects plausible
wrong ones
with the hint that names the mistake, and reports bad results and exceptions without raising;
every exercise has its page in the package, beside its module (lenet/teach/exercises/NAME.md),
whose Python blocks run.

The solutions below are plain NumPy, written from the paper's formulas; they do not call the
engine (lenet.engine._core, the layer classes) or lenet.reference. Those of the modern
network's exercises, and their wrong ones, are in modern_solutions.py beside this file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import lenet.teach.exercises as ex

import modern_solutions

#: the exercises' pages, as the installed package holds them: NAME.md beside NAME.py
PAGES = Path(ex.__file__).resolve().parent
#: the docs' index of the exercises
DOCS = Path(__file__).resolve().parents[2] / "docs" / "exercises"
A, S = 1.7159, 2.0 / 3.0


# ---- correct solutions ----------------------------------------------------------------------


def squash(a):
    return A * np.tanh(S * a)


def squash_derivative(a):
    return A * S * (1.0 - np.tanh(S * a) ** 2)


def _window_sum(x):
    return x[:, :, 0::2, 0::2] + x[:, :, 0::2, 1::2] + x[:, :, 1::2, 0::2] + x[:, :, 1::2, 1::2]


def _maps(v):
    """(maps,) -> broadcastable against (N, maps, H, W)."""
    return v[None, :, None, None]


def s2_forward(x, coefficient, bias):
    return squash(_maps(coefficient) * _window_sum(x) + _maps(bias))


def s2_backward(x, coefficient, bias, dy):
    s = _window_sum(x)
    da = dy * squash_derivative(_maps(coefficient) * s + _maps(bias))
    # every input of a window receives coefficient * da of its unit
    dx = np.repeat(np.repeat(_maps(coefficient) * da, 2, axis=2), 2, axis=3)
    return dx, (da * s).sum(axis=(0, 2, 3)), da.sum(axis=(0, 2, 3))


def _correlate(x, weight, table):
    """a[n, o] = sum over connected i, ky, kx of weight[o, i, ky, kx] x[n, i, r + ky, c + kx]."""
    w = weight * table[:, :, None, None]
    k = w.shape[2]
    ho, wo = x.shape[2] - k + 1, x.shape[3] - k + 1
    a = np.zeros((x.shape[0], w.shape[0], ho, wo), np.result_type(x, w))
    for ky in range(k):
        for kx in range(k):
            a += np.einsum("oi,nihw->nohw", w[:, :, ky, kx], x[:, :, ky : ky + ho, kx : kx + wo])
    return a


def _correlate_backward(x, weight, da, table):
    w = weight * table[:, :, None, None]
    k = w.shape[2]
    ho, wo = da.shape[2], da.shape[3]
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for ky in range(k):
        for kx in range(k):
            patch = x[:, :, ky : ky + ho, kx : kx + wo]
            dw[:, :, ky, kx] = np.einsum("nohw,nihw->oi", da, patch)
            dx[:, :, ky : ky + ho, kx : kx + wo] += np.einsum("oi,nohw->nihw", w[:, :, ky, kx], da)
    return dx, dw * table[:, :, None, None], da.sum(axis=(0, 2, 3))


def c3_forward(x, weight, bias, connection_table):
    return squash(_correlate(x, weight, connection_table) + _maps(bias))


def rbf_output(x, prototypes):
    return ((x[:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=2)


def rbf_backward(x, prototypes, dy):
    return 2.0 * np.einsum("ni,nij->nj", dy, x[:, None, :] - prototypes[None, :, :])


def loss9_gradient(y, labels, j):
    n = y.shape[0]
    e = np.exp(-y)
    denominator = np.exp(-j) + e.sum(axis=1)
    loss = np.mean(y[np.arange(n), labels] + np.log(denominator))
    one_hot = np.eye(y.shape[1])[labels]
    return loss, (one_hot - e / denominator[:, None]) / n


def sdlm_second_derivatives(x, weight, bias, h_y):
    h_a = h_y * squash_derivative(x @ weight.T + bias) ** 2
    return h_a @ weight**2, h_a.T @ x**2, h_a.sum(axis=0)


def make_training_step(rbf_factor=2.0, mask_c3=True, sign=1.0, squash_derivative=squash_derivative):
    """A training step by hand; the arguments switch on known mistakes for the tests (and
    ``squash_derivative`` is the slope it uses)."""

    def s2_backward_with(x, coefficient, bias, dy):
        s = _window_sum(x)
        da = dy * squash_derivative(_maps(coefficient) * s + _maps(bias))
        dx = np.repeat(np.repeat(_maps(coefficient) * da, 2, axis=2), 2, axis=3)
        return dx, (da * s).sum(axis=(0, 2, 3)), da.sum(axis=(0, 2, 3))

    def training_step(params, image, label, lr, prototypes, connection_table):
        p = params
        one_map, table = np.ones((6, 1), bool), connection_table
        x0 = image[None]
        a1 = _correlate(x0, p["C1.weight"], one_map) + _maps(p["C1.bias"])
        y1 = squash(a1)
        y2 = s2_forward(y1, p["S2.coefficient"], p["S2.bias"])
        a3 = _correlate(y2, p["C3.weight"], table) + _maps(p["C3.bias"])
        y3 = squash(a3)
        y4 = s2_forward(y3, p["S4.coefficient"], p["S4.bias"])
        a5 = _correlate(y4, p["C5.weight"], np.ones((120, 16), bool)) + _maps(p["C5.bias"])
        y5 = squash(a5)
        f5 = y5.reshape(1, 120)
        a6 = f5 @ p["F6.weight"].T + p["F6.bias"]
        y6 = squash(a6)
        # loss (8): E = y[label], so dE/dy is 1 for the label's class
        d_out = np.zeros((1, 10))
        d_out[0, label] = 1.0
        dy6 = rbf_factor / 2 * rbf_backward(y6, prototypes, d_out)
        da6 = dy6 * squash_derivative(a6)
        g = {"F6.weight": da6.T @ f5, "F6.bias": da6.sum(axis=0)}
        da5 = (da6 @ p["F6.weight"]).reshape(y5.shape) * squash_derivative(a5)
        dy4, g["C5.weight"], g["C5.bias"] = _correlate_backward(
            y4, p["C5.weight"], da5, np.ones((120, 16), bool)
        )
        dy3, g["S4.coefficient"], g["S4.bias"] = s2_backward_with(
            y3, p["S4.coefficient"], p["S4.bias"], dy4
        )
        da3 = dy3 * squash_derivative(a3)
        dy2, g["C3.weight"], g["C3.bias"] = _correlate_backward(
            y2, p["C3.weight"], da3, table if mask_c3 else np.ones((16, 6), bool)
        )
        dy1, g["S2.coefficient"], g["S2.bias"] = s2_backward_with(
            y1, p["S2.coefficient"], p["S2.bias"], dy2
        )
        da1 = dy1 * squash_derivative(a1)
        _, g["C1.weight"], g["C1.bias"] = _correlate_backward(x0, p["C1.weight"], da1, one_map)
        return {k: p[k] - sign * lr * g[k] for k in p}

    return training_step


SOLUTIONS = {
    "squash": squash,
    "squash_derivative": squash_derivative,
    "s2_forward": s2_forward,
    "s2_backward": s2_backward,
    "c3_forward": c3_forward,
    "rbf_output": rbf_output,
    "rbf_backward": rbf_backward,
    "loss9_gradient": loss9_gradient,
    "sdlm_second_derivatives": sdlm_second_derivatives,
    "training_step": make_training_step(),
    **modern_solutions.SOLUTIONS,
}


# ---- plausible wrong solutions, and the words of the hint each must get ---------------------


def _s2_with(window, coefficient_used=True, squashed=True):
    def s2(x, coefficient, bias):
        c = _maps(coefficient) if coefficient_used else 1.0
        a = c * window(x) + _maps(bias)
        return squash(a) if squashed else a

    return s2


def _window_max(x):
    return np.maximum(
        np.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2]),
        np.maximum(x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2]),
    )


def _s2_backward_without_slope(x, coefficient, bias, dy):
    s = _window_sum(x)
    dx = np.repeat(np.repeat(_maps(coefficient) * dy, 2, axis=2), 2, axis=3)
    return dx, (dy * s).sum(axis=(0, 2, 3)), dy.sum(axis=(0, 2, 3))


def _s2_backward_dx_without_coefficient(x, coefficient, bias, dy):
    _, dc, db = s2_backward(x, coefficient, bias, dy)
    da = dy * squash_derivative(_maps(coefficient) * _window_sum(x) + _maps(bias))
    return np.repeat(np.repeat(da, 2, axis=2), 2, axis=3), dc, db


def _s2_backward_batch_mean(x, coefficient, bias, dy):
    dx, dc, db = s2_backward(x, coefficient, bias, dy)
    return dx, dc / x.shape[0], db / x.shape[0]


def _c3_ignoring_table(x, weight, bias, connection_table):
    return c3_forward(x, weight, bias, np.ones_like(connection_table))


def _c3_flipped(x, weight, bias, connection_table):
    return c3_forward(x, weight[:, :, ::-1, ::-1], bias, connection_table)


def _c3_transposed(x, weight, bias, connection_table):
    return c3_forward(x, weight.transpose(0, 1, 3, 2), bias, connection_table)


def _c3_skipping_last_map(x, weight, bias, connection_table):
    table = connection_table.copy()
    table[:, -1] = False  # an off-by-one loop over the S2 maps
    return c3_forward(x, weight, bias, table)


def _loss9_without_rubbish(y, labels, j):
    n = y.shape[0]
    e = np.exp(-y)
    loss = np.mean(y[np.arange(n), labels] + np.log(e.sum(axis=1)))
    return loss, (np.eye(y.shape[1])[labels] - e / e.sum(axis=1, keepdims=True)) / n


def _loss9_summed(y, labels, j):
    loss, grad = loss9_gradient(y, labels, j)
    return loss * y.shape[0], grad * y.shape[0]


def _sdlm_slope_not_squared(x, weight, bias, h_y):
    h_a = h_y * squash_derivative(x @ weight.T + bias)
    return h_a @ weight**2, h_a.T @ x**2, h_a.sum(axis=0)


def _sdlm_slope_at_y(x, weight, bias, h_y):
    h_a = h_y * squash_derivative(squash(x @ weight.T + bias)) ** 2
    return h_a @ weight**2, h_a.T @ x**2, h_a.sum(axis=0)


def _sdlm_plain_tanh_slope(x, weight, bias, h_y):
    h_a = h_y * (1 - squash(x @ weight.T + bias) ** 2) ** 2
    return h_a @ weight**2, h_a.T @ x**2, h_a.sum(axis=0)


def _training_step_unchanged(params, image, label, lr, prototypes, connection_table):
    return dict(params)


def _sdlm_weights_not_squared(x, weight, bias, h_y):
    h_x, h_w, h_b = sdlm_second_derivatives(x, weight, bias, h_y)
    h_a = h_y * squash_derivative(x @ weight.T + bias) ** 2
    return h_a @ weight, h_w, h_b


WRONG = [
    ("squash", np.tanh, "plain tanh"),
    ("squash", lambda a: A * np.tanh(a), "without the slope"),
    ("squash_derivative", lambda a: 1 - squash(a) ** 2, "1 - f(a)^2"),
    ("squash_derivative", lambda a: A * (1 - np.tanh(S * a) ** 2), "inner slope S"),
    ("s2_forward", _s2_with(lambda x: _window_sum(x) / 4), "does not average"),
    ("s2_forward", _s2_with(_window_max), "maximum"),
    ("s2_forward", _s2_with(_window_sum, coefficient_used=False), "trainable coefficient"),
    ("s2_forward", _s2_with(_window_sum, squashed=False), "weighted sums a"),
    ("s2_backward", _s2_backward_without_slope, "slope"),
    ("s2_backward", _s2_backward_dx_without_coefficient, "dx misses the coefficient"),
    ("s2_backward", _s2_backward_batch_mean, "averaged over the batch"),
    ("c3_forward", _c3_ignoring_table, "ignores the connection table"),
    ("c3_forward", _c3_flipped, "flipped kernel"),
    ("c3_forward", _c3_transposed, "transposed kernel"),
    ("c3_forward", _c3_skipping_last_map, "S2 map 5 is missing"),
    (
        "c3_forward",
        lambda x, w, b, t: np.tanh(_correlate(x, w, t) + _maps(b)),
        "match tanh(a): the squashing function is f(a) = 1.7159 tanh(2/3 x a)",
    ),
    ("rbf_output", lambda x, p: np.sqrt(rbf_output(x, p)), "Euclidean distance"),
    ("rbf_output", lambda x, p: x @ p.T, "dot products"),
    ("rbf_backward", lambda x, p, dy: rbf_backward(x, p, dy) / 2, "factor 2"),
    ("rbf_backward", lambda x, p, dy: -rbf_backward(x, p, dy), "wrong sign"),
    ("loss9_gradient", _loss9_without_rubbish, "without the constant term e^-j"),
    ("loss9_gradient", _loss9_summed, "N times too large"),
    ("sdlm_second_derivatives", _sdlm_slope_not_squared, "square of the slope"),
    ("sdlm_second_derivatives", _sdlm_weights_not_squared, "h_x uses the weights"),
    ("sdlm_second_derivatives", _sdlm_slope_at_y, "slope is taken at the weighted sum a"),
    ("sdlm_second_derivatives", _sdlm_plain_tanh_slope, "slope of plain tanh"),
    ("training_step", make_training_step(rbf_factor=1.0), "factor 2 is missing"),
    ("training_step", make_training_step(mask_c3=False), "unconnected weights"),
    ("training_step", make_training_step(sign=-1.0), "uphill"),
    ("training_step", _training_step_unchanged, "your parameters did not change"),
    *modern_solutions.WRONG,
]


def _wrong_id(item):
    return f"{item[0]}-{item[2].replace(' ', '_')}"


# ---- the checkers -----------------------------------------------------------------------------


def test_every_exercise_has_a_solution_and_a_wrong_one():
    assert set(SOLUTIONS) == set(ex.names())
    assert {name for name, _, _ in WRONG} == set(ex.names())
    assert len(ex.names()) >= 6


@pytest.mark.parametrize("name", ex.names())
def test_correct_solution_passes(name, capsys):
    assert ex.check(name, SOLUTIONS[name])
    assert capsys.readouterr().out == f"{name}: pass (5 cases)\n"


@pytest.mark.parametrize("name, wrong, hint", WRONG, ids=[_wrong_id(w) for w in WRONG])
def test_wrong_solution_fails_with_its_hint(name, wrong, hint, capsys):
    assert not ex.check(name, wrong)
    out = capsys.readouterr().out
    assert out.startswith(f"{name}: FAIL on case ")
    assert "values wrong" in out
    assert "hint: " in out
    assert hint in out, out


def test_unknown_mistake_gets_the_generic_hint(capsys):
    def s2_bias_subtracted(x, coefficient, bias):
        return squash(_maps(coefficient) * _window_sum(x) - _maps(bias))

    assert not ex.check("s2_forward", s2_bias_subtracted)
    out = capsys.readouterr().out
    assert "hint: " + ex.EXERCISES["s2_forward"].hint in out


def test_report_names_the_output_the_index_and_the_values(capsys):
    assert not ex.check("s2_backward", _s2_backward_batch_mean)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[1].startswith("  inputs: x (")  # the case's shapes
    assert "dcoefficient: " in out and "values wrong" in out
    worst = next(line for line in lines if line.endswith("<- worst"))
    index, expected, actual = re.match(r"\s+(map=\d+)\s+(\S+)\s+(\S+)", worst).groups()
    assert float(expected) != float(actual)
    assert "  right: dx; wrong: dcoefficient, dbias" in out


def test_indices_are_printed_with_their_axis_names(capsys):
    assert not ex.check("c3_forward", _c3_flipped)
    worst = next(line for line in capsys.readouterr().out.splitlines() if "<- worst" in line)
    assert re.match(r"\s+n=\d+, map=\d+, r=\d+, c=\d+\s", worst), worst
    assert not ex.check("training_step", make_training_step(mask_c3=False), cases=1)
    out = capsys.readouterr().out
    assert "wrong: C3.weight\n" in out
    assert re.search(r"\n    o=\d+, i=\d+, ky=\d, kx=\d\s+\S+\s+\S+   <- worst", out), out


def test_multi_output_reports_say_which_outputs_are_right(capsys):
    assert not ex.check("s2_backward", _s2_backward_dx_without_coefficient)
    out = capsys.readouterr().out
    assert "  right: dcoefficient, dbias; wrong: dx\n" in out
    assert not ex.check(
        "s2_backward",
        lambda x, c, b, dy: (s2_backward(x, c, b, dy)[0], None, s2_backward(x, c, b, dy)[2]),
    )
    assert (
        "dcoefficient is None: did you forget to compute it, or to return it?"
        in capsys.readouterr().out
    )
    assert not ex.check("sdlm_second_derivatives", _sdlm_weights_not_squared)
    out = capsys.readouterr().out
    assert "  right: h_weight, h_bias; wrong: h_x\n" in out


def test_a_function_without_return_gets_the_hint(capsys):
    def forgot(x, coefficient, bias, dy):
        s2_backward(x, coefficient, bias, dy)  # computed, never returned

    assert not ex.check("s2_backward", forgot)
    assert "your function returned None: did you forget `return`?" in capsys.readouterr().out


def test_a_scalar_output_is_reported_as_a_number(capsys):
    assert not ex.check(
        "loss9_gradient", lambda y, labels, j: (0.0, loss9_gradient(y, labels, j)[1])
    )
    out = capsys.readouterr().out
    assert re.search(r"E: 1 of 1 values wrong.*\n    expected \S+, got 0\n", out), out


def test_training_step_report_shows_the_changes(capsys):
    """training_step is compared by the parameters' changes, and its report shows them."""
    assert not ex.check("training_step", _training_step_unchanged, cases=1)
    out = capsys.readouterr().out
    assert "F6.bias (compared by its change from the old value)" in out
    assert re.search(r"index\s+expected change\s+your change\n", out), out
    worst = next(line for line in out.splitlines() if line.endswith("<- worst"))
    expected, actual = re.match(r"\s+o=\d+\s+(\S+)\s+(\S+)", worst).groups()
    assert float(expected) != 0 and float(actual) == 0  # the change, not the value
    assert "hint: your parameters did not change: did you apply w <- w - lr * dE/dw" in out


# ---- results in a lower precision -------------------------------------------------------------


def _cast(value, dtype):
    """Floating-point arrays and numbers (also inside tuples and dicts) cast to ``dtype``."""
    if isinstance(value, dict):
        return {k: _cast(v, dtype) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_cast(v, dtype) for v in value)
    if isinstance(value, (float, np.floating)) or (
        isinstance(value, np.ndarray) and value.dtype.kind == "f"
    ):
        return np.asarray(value).astype(dtype)[()]
    return value


def _in(dtype, fn):
    """``fn`` computing in ``dtype``: its inputs and its results cast to it."""

    def lower(*args):
        with np.errstate(over="ignore", under="ignore"):
            return _cast(fn(*(_cast(a, dtype) for a in args)), dtype)

    return lower


FLOAT32_HINT = (
    "hint: your values are right to float32 precision; compute in float64 (the "
    "checker compares in float64)"
)


@pytest.mark.parametrize("name", ["s2_forward", "c3_forward", "training_step"])
def test_float32_result_fails_with_its_hint(name, capsys):
    assert not ex.check(name, _in(np.float32, SOLUTIONS[name]))
    out = capsys.readouterr().out
    assert "values wrong" in out
    assert FLOAT32_HINT in out, out


@pytest.mark.parametrize("name", ex.names())
def test_float32_result_passes_or_gets_its_hint(name, capsys):
    """Rounding to float32 passes where it stays within the tolerance, else it is named."""
    if not ex.check(name, _in(np.float32, SOLUTIONS[name])):
        assert FLOAT32_HINT in capsys.readouterr().out


def test_the_docs_say_which_exercises_pass_in_float32():
    """docs/exercises/README.md lists the exercises whose float32 solutions pass: exactly
    those that pass here (on 20 cases each)."""
    passing = [
        name
        for name in ex.names()
        if ex.check(name, _in(np.float32, SOLUTIONS[name]), cases=20, verbose=False)
    ]
    text = " ".join((DOCS / "README.md").read_text().split())
    said = re.search(r"computing every step in float32: (.*?) pass;", text).group(1)
    assert re.findall(r"`(\w+)`", said) == passing
    failing = re.search(r"pass; (.*?) fail", text).group(1)
    assert re.findall(r"`(\w+)`", failing) == [n for n in ex.names() if n not in passing]


def test_float16_result_fails_with_its_hint(capsys):
    assert not ex.check("s2_forward", _in(np.float16, s2_forward))
    assert (
        "hint: your values are right to float16 precision; compute in float64"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    "name, wrong, hint",
    [
        ("s2_forward", _s2_with(lambda x: _window_sum(x) / 4), "does not average"),
        ("sdlm_second_derivatives", _sdlm_slope_at_y, "slope is taken at the weighted sum a"),
        ("training_step", make_training_step(rbf_factor=1.0), "factor 2 is missing"),
    ],
    ids=["s2_forward", "sdlm", "training_step"],
)
def test_float32_mistake_gets_its_hint_and_the_precision(name, wrong, hint, capsys):
    assert not ex.check(name, _in(np.float32, wrong), cases=2)
    out = capsys.readouterr().out
    assert hint in out, out
    assert "Your values are also float32: compute in float64" in out
    assert "right to float32 precision" not in out


def test_float32_wrong_values_get_the_generic_hint(capsys):
    def s2_bias_subtracted(x, coefficient, bias):
        return squash(_maps(coefficient) * _window_sum(x) - _maps(bias))

    assert not ex.check("s2_forward", _in(np.float32, s2_bias_subtracted))
    out = capsys.readouterr().out
    assert "hint: " + ex.EXERCISES["s2_forward"].hint + " Your values are also float32" in out


def test_exceptions_are_reported_not_raised(capsys):
    def broken(x, coefficient, bias):
        raise ValueError("boom")

    assert not ex.check("s2_forward", broken)
    out = capsys.readouterr().out
    assert "s2_forward: FAIL on case 1 of 5" in out
    assert "your function raised ValueError: boom" in out
    assert "of broken" in out  # where it was raised


@pytest.mark.parametrize(
    "name, result, message",
    [
        ("s2_forward", lambda x, c, b: x, "y has shape"),
        (
            "s2_forward",
            lambda x, c, b: None,
            "your function returned None: did you forget `return`?",
        ),
        ("s2_forward", lambda x, c, b: "y", "should be a NumPy array of numbers"),
        ("s2_backward", lambda x, c, b, dy: s2_backward(x, c, b, dy)[0], "expected a tuple of 3"),
        ("s2_backward", lambda x, c, b, dy: s2_backward(x, c, b, dy)[:2], "expected a tuple of 3"),
        ("rbf_output", lambda x, p: rbf_output(x, p).T, "expected (4, 10), that is (N, classes)"),
        (
            "training_step",
            lambda params, *args: {**params, "F6.bias": np.zeros(83)},
            "F6.bias has shape (83,); expected (84,)\n",
        ),
        ("squash", lambda a: np.full(a.shape, np.nan), "values wrong"),
        ("training_step", lambda *args: list(args[0].values()), "expected a dict"),
        (
            "training_step",
            lambda params, *args: {k: v for k, v in params.items() if k != "C1.bias"},
            "missing ['C1.bias']",
        ),
    ],
    ids=[
        "shape",
        "None",
        "str",
        "one-of-three",
        "two-of-three",
        "transposed",
        "training-shape",
        "nan",
        "list-not-dict",
        "missing-key",
    ],
)
def test_bad_results_fail_cleanly(name, result, message, capsys):
    assert not ex.check(name, result)
    out = capsys.readouterr().out
    assert f"{name}: FAIL" in out
    assert message in out, out


def test_inputs_are_private_copies(capsys):
    """A function that scribbles on its arguments cannot change what it is compared with."""

    def s2_scribbling(x, coefficient, bias, dy):
        result = s2_backward(x, coefficient, bias, dy)
        for arr in (x, coefficient, bias, dy):
            arr[...] = 0
        return result

    def step_scribbling(params, *args):
        new = SOLUTIONS["training_step"](params, *args)
        for arr in params.values():
            arr[...] = 7
        return new

    assert ex.check("s2_backward", s2_scribbling)
    assert ex.check("training_step", step_scribbling, cases=2)


def test_cases_depend_on_the_seed_alone():
    def recorded(seed):
        seen = []

        def spy(x, coefficient, bias):
            seen.append((x.copy(), coefficient.copy(), bias.copy()))
            return s2_forward(x, coefficient, bias)

        assert ex.check("s2_forward", spy, seed=seed, verbose=False)
        return seen

    first, again, other = recorded(3), recorded(3), recorded(4)
    assert len(first) == 5
    assert all(np.array_equal(a, b) for case, twin in zip(first, again) for a, b in zip(case, twin))
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(first, other))
    shapes = {x.shape for x, _, _ in first}
    assert len(shapes) >= 4  # shapes and batch sizes vary between cases


def test_verbose_false_prints_nothing(capsys):
    assert ex.check("squash", squash, verbose=False)
    assert not ex.check("squash", np.tanh, verbose=False)
    assert capsys.readouterr().out == ""


def test_cases_argument(capsys):
    assert ex.check("squash", squash, cases=1)
    assert ex.check("squash", squash, cases=8)
    assert capsys.readouterr().out == "squash: pass (1 case)\nsquash: pass (8 cases)\n"
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="cases"):
            ex.check("squash", squash, cases=bad)


def test_unknown_names_and_non_functions_are_refused():
    with pytest.raises(ValueError, match="unknown exercise 'pool'.*squash, squash_derivative"):
        ex.check("pool", squash)
    for call in (ex.starter, ex.describe):
        with pytest.raises(ValueError, match="unknown exercise"):
            call("pool")
    with pytest.raises(TypeError, match="fn must be a function"):
        ex.check("squash", 3)


def test_names_starter_describe():
    assert ex.names() == tuple(ex.EXERCISES)
    assert ex.names()[:2] == ("squash", "squash_derivative")
    for name in ex.names():
        text = ex.starter(name)
        assert f"def {name}(" in text and "raise NotImplementedError" in text
        assert ex.summary(name).startswith(f"{name}: ")
        page = ex.describe(name)  # the whole page: the formula, the shapes, the starter
        assert page == (PAGES / f"{name}.md").read_text()
        assert page.startswith("# Exercise ") and ex.starter(name) in page
        assert "## Shapes" in page or "shape" in page
    assert "\nReturns: a dict with keys F6.bias (84,), F6.weight (84, 120), " in ex.summary(
        "training_step"
    )
    assert ex.summary("s2_backward").endswith(
        "\nReturns: dx (N, maps, H, W), dcoefficient (maps,), dbias (maps,)"
    )


@pytest.mark.parametrize("name", ex.names())
def test_starter_fails_cleanly(name, capsys):
    namespace = {}
    exec(ex.starter(name), namespace)
    assert not ex.check(name, namespace[name])
    out = capsys.readouterr().out
    assert out == (
        f"{name}: not implemented yet: {name} raises NotImplementedError. Replace the "
        f"`raise NotImplementedError` line with your code (describe({name!r}) has the "
        f"formulas and shapes), then run the check again.\n"
    )
    assert "Traceback" not in out and "FAIL" not in out


def test_not_implemented_deeper_down_is_not_implemented_yet_too(capsys):
    def squash(a):
        return helper(a)

    def helper(a):
        raise NotImplementedError

    assert not ex.check("squash", squash)
    assert capsys.readouterr().out.startswith("squash: not implemented yet: squash raises")


def test_not_implemented_after_a_passing_case_is_still_reported(capsys):
    calls = []

    def squash(a):
        calls.append(1)
        if len(calls) > 1:
            raise NotImplementedError("the rest")
        return 1.7159 * np.tanh(2 * np.asarray(a) / 3)

    assert not ex.check("squash", squash)
    assert "not implemented yet" in capsys.readouterr().out and len(calls) == 2


def test_other_exceptions_are_still_failures_with_the_line(capsys):
    def squash(a):
        raise ValueError("oops")

    assert not ex.check("squash", squash)
    out = capsys.readouterr().out
    assert "squash: FAIL on case 1" in out and "your function raised ValueError: oops" in out


# ---- the pages --------------------------------------------------------------------------------


def _python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), re.S)


@pytest.mark.parametrize("name", ex.names())
def test_page_has_the_starter_and_the_check_call(name):
    page = PAGES / f"{name}.md"
    assert page.is_file(), f"no page for {name}"
    blocks = _python_blocks(page)
    assert ex.starter(name) in blocks, "the page's starter differs from starter(name)"
    calls = re.findall(r'lenet\.teach\.exercises\.check\("(\w+)", (\w+)\)', "\n".join(blocks))
    assert calls == [(name, name)]
    text = page.read_text()
    assert re.search(r"Section|Appendix", text)
    # no solution on the page: every function it defines is a starter that raises
    code = "\n".join(blocks)
    assert code.count("def ") == code.count("raise NotImplementedError") == 1


@pytest.mark.parametrize("name", ex.names())
def test_page_blocks_run_and_the_starter_fails(name, capsys):
    namespace = {}
    for block in _python_blocks(PAGES / f"{name}.md"):
        exec(compile(block, f"{name}.md", "exec"), namespace)
    assert not namespace["ok"]
    out = capsys.readouterr().out
    assert out.startswith(f"{name}: not implemented yet: {name} raises NotImplementedError")


#: engine functions that compute an exercise's answer: a page may name them only in its
#: closing "After you pass" section, not in the task
ANSWERS = {
    "loss9_gradient": ["rbf_discriminative"],
    "sdlm_second_derivatives": ["backward_second"],
    "training_step": ["optim.SGD", ".backward("],
    "maxpool_backward": ["subsample_backward", "Subsampling("],
    "softmax_cross_entropy_gradient": ["losses.softmax", "reference."],
}


@pytest.mark.parametrize("name", ex.names())
def test_page_task_does_not_point_at_the_answer(name):
    text = (PAGES / f"{name}.md").read_text()
    task, _, after = text.partition("## After you pass")
    for answer in ANSWERS.get(name, []) + ["lenet.engine._core", "lenet.engine.layers."]:
        assert answer not in task, f"{name}.md names {answer} before 'After you pass'"
    assert "\n## " not in after  # the section, if any, is the page's last


def test_training_step_page_names_the_initialisation_the_checker_uses():
    import inspect

    from lenet.teach.exercises import training_step

    assert 'init="lecun98-sqrt"' in inspect.getsource(training_step._training_case)
    assert '`lenet.LeNet5(init="lecun98-sqrt")` does' in (PAGES / "training_step.md").read_text()


def test_index_links_every_page_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # its blocks write a learner's file
    index = (DOCS / "README.md").read_text()
    links = re.findall(r"\]\(\.\./\.\./src/lenet/teach/exercises/(\w+)\.md\)", index)
    assert links == list(ex.names())
    namespace = {}
    for block in _python_blocks(DOCS / "README.md"):
        exec(compile(block, "README.md", "exec"), namespace)
