"""The exercises' cases cover the whole domain: saturation and large |a|, float32 where the
exercise takes it, odd and 1-sized shapes, a batch of one. For every exercise, a wrong answer
that is right on the narrower domain the cases used to stay in (shown here on such inputs) now
fails; and the near misses get their own hints: a constant of f typed in rounded (S = 0.6667,
A = 1.716, A S = 1.1439), Table I typed into c3_forward instead of read from its argument.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from test_exercises import (
    SOLUTIONS,
    _correlate,
    _maps,
    _window_sum,
    make_training_step,
    rbf_backward,
    rbf_output,
    squash,
    squash_derivative,
)

import lenet.teach.exercises as ex
from lenet.engine.lenet5 import LeNet5

import modern_solutions

A, S = 1.7159, 2.0 / 3.0
DOCS = Path(__file__).resolve().parents[2] / "docs" / "exercises"


def _cases(name, seed=0, count=5):
    exercise = ex.EXERCISES[name]
    return [exercise.make_case(np.random.default_rng((seed, i)), i) for i in range(count)]


# ---- wrong answers that are right on a narrower domain ----------------------------------------


def _squash_by_exp(a):
    """tanh written with exponentials: e^(2 S a) overflows from |a| = 532 on (NaN)."""
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(2 * S * a)
        return A * (e - 1) / (e + 1)


def _slope_zero_beyond(limit):
    """f' taken as 0 where "f is saturated", |a| > limit: the issue's example for 4."""

    def slope(a):
        return np.where(np.abs(a) > limit, 0.0, squash_derivative(a))

    return slope


def _squash_flat_beyond(limit):
    """f taken as +-A where "f is saturated", |a| > limit."""

    def f(a):
        return np.where(np.abs(a) > limit, np.sign(a) * A, squash(a))

    return f


def _s2_forward_flat(x, coefficient, bias):
    return _squash_flat_beyond(5.0)(_maps(coefficient) * _window_sum(x) + _maps(bias))


def _s2_backward_flat(x, coefficient, bias, dy):
    s = _window_sum(x)
    da = dy * _slope_zero_beyond(5.0)(_maps(coefficient) * s + _maps(bias))
    dx = np.repeat(np.repeat(_maps(coefficient) * da, 2, axis=2), 2, axis=3)
    return dx, (da * s).sum(axis=(0, 2, 3)), da.sum(axis=(0, 2, 3))


def _c3_flat(x, weight, bias, connection_table):
    return _squash_flat_beyond(9.0)(_correlate(x, weight, connection_table) + _maps(bias))


def _rbf_output_squeezed(x, prototypes):
    return rbf_output(x, prototypes).squeeze()  # a batch of one, or one class, loses an axis


def _rbf_backward_squeezed(x, prototypes, dy):
    return rbf_backward(x, prototypes, dy).squeeze()


def _loss9_ten_classes(y, labels, j):
    n = y.shape[0]
    e = np.exp(-y)
    denominator = np.exp(-j) + e.sum(axis=1)
    loss = np.mean(y[np.arange(n), labels] + np.log(denominator))
    return loss, (np.eye(10)[labels] - e / denominator[:, None]) / n  # ten classes typed in


def _sdlm_flat(x, weight, bias, h_y):
    h_a = h_y * _slope_zero_beyond(4.5)(x @ weight.T + bias) ** 2
    return h_a @ weight**2, h_a.T @ x**2, h_a.sum(axis=0)


def _maxpool_isclose(x, dy):
    """The first input "equal" to the window's maximum by np.isclose: a near tie goes to the
    first of the near-equal inputs, not to the largest."""
    windows = modern_solutions._windows(x)
    top = windows.max(axis=-1, keepdims=True)
    first = np.argmax(np.isclose(windows, top), axis=-1)
    return modern_solutions._unwindows((np.arange(4) == first[..., None]) * dy[..., None], x.shape)


def _ce_batch_shift(z, labels):
    """The batch's largest logit subtracted, not each row's: a row far below it underflows."""
    n = z.shape[0]
    shifted = z - z.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.exp(shifted)
        p = e / e.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(e.sum(axis=1)) - shifted[np.arange(n), labels])
    return loss, (p - np.eye(z.shape[1])[labels]) / n


def _rng():
    return np.random.default_rng(7)


def _narrow_s2(r):
    """S2 as the cases used to draw it: coefficients in +-0.8, biases in +-0.5 (|a| < 6)."""
    x = r.uniform(-A, A, (2, 6, 8, 8))
    return x, r.uniform(-0.8, 0.8, 6), r.uniform(-0.5, 0.5, 6)


def _narrow_c3(r):
    """C3 as the cases used to draw it: kernels in +-0.3 (|a| < 9 on these inputs)."""
    return (
        r.uniform(-A, A, (2, 6, 10, 10)),
        r.uniform(-0.3, 0.3, (16, 6, 5, 5)),
        r.uniform(-0.3, 0.3, 16),
        r.random((16, 6)) < 0.5,
    )


def _narrow_sdlm(r):
    limit = 2.4 / np.sqrt(120)
    return (
        r.uniform(-A, A, (3, 120)),
        r.uniform(-limit, limit, (84, 120)),
        r.uniform(-limit, limit, 84),
        r.uniform(0, 2, (3, 84)),
    )


def _narrow_training(r):
    return ex.EXERCISES["training_step"].make_case(r, 0)  # an even case: the old network


def _narrow_pool(r):
    return r.uniform(-2, 2, (2, 4, 8, 6)), r.standard_normal((2, 4, 4, 3))


def _narrow_ce(r):
    return r.normal(0, 3, (5, 10)), r.integers(0, 10, 5)


#: exercise -> (a wrong answer, arguments of the narrower domain on which it is right, what it
#: gets wrong and, when the checker names it, words of its hint)
DOMAIN = {
    "squash": (_squash_by_exp, lambda r: (r.uniform(-4, 4, 200),), "NaN or inf"),
    "squash_derivative": (
        _slope_zero_beyond(4.0),
        lambda r: (r.uniform(-4, 4, 200),),
        "right for every |a| below",
    ),
    "s2_forward": (_s2_forward_flat, _narrow_s2, None),
    "s2_backward": (
        _s2_backward_flat,
        lambda r: (*_narrow_s2(r), r.standard_normal((2, 6, 4, 4))),
        None,
    ),
    "c3_forward": (_c3_flat, _narrow_c3, None),
    "rbf_output": (
        _rbf_output_squeezed,
        lambda r: (r.uniform(-A, A, (3, 84)), r.choice([-1.0, 1.0], (10, 84))),
        "y has shape",
    ),
    "rbf_backward": (
        _rbf_backward_squeezed,
        lambda r: (
            r.uniform(-A, A, (3, 84)),
            r.choice([-1.0, 1.0], (10, 84)),
            r.standard_normal((3, 10)),
        ),
        "dx has shape",
    ),
    "loss9_gradient": (
        _loss9_ten_classes,
        lambda r: (r.uniform(0, 8, (4, 10)), r.integers(0, 10, 4), 2.0),
        None,
    ),
    "sdlm_second_derivatives": (_sdlm_flat, _narrow_sdlm, None),
    "training_step": (
        make_training_step(squash_derivative=_slope_zero_beyond(9.0)),
        lambda r: tuple(_narrow_training(r).values()),
        None,
    ),
    "maxpool_backward": (_maxpool_isclose, _narrow_pool, None),
    "softmax_cross_entropy_gradient": (_ce_batch_shift, _narrow_ce, None),
}


def _same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return np.asarray(a).shape == np.asarray(b).shape and np.allclose(a, b, rtol=1e-12, atol=0)


def test_every_exercise_has_a_domain_limited_wrong_answer():
    assert set(DOMAIN) == set(ex.names())


@pytest.mark.parametrize("name", list(DOMAIN))
def test_the_wrong_answer_is_right_on_the_narrower_domain(name):
    wrong, narrow, _ = DOMAIN[name]
    args = narrow(_rng())
    assert _same(wrong(*args), SOLUTIONS[name](*args))


@pytest.mark.parametrize("name", list(DOMAIN))
def test_the_cases_reach_beyond_it_and_the_wrong_answer_fails(name, capsys):
    wrong, _, hint = DOMAIN[name]
    result = ex.check(name, wrong)
    out = capsys.readouterr().out
    assert not result, out
    assert f"{name}: FAIL on case " in out
    if hint:
        assert hint in out, out


def test_the_issues_example_fails_with_a_hint_on_large_a(capsys):
    """A squash_derivative wrong for every |a| > 4 (the cases used to stay in [-4, 4])."""
    assert not ex.check("squash_derivative", _slope_zero_beyond(4.0))
    out = capsys.readouterr().out
    assert re.search(
        r"hint: your values are right for every \|a\| below \S+ and wrong for \d+ values from "
        r"\|a\| = \S+ on: f'\(a\) = A S \(1 - tanh\(S a\)\^2\) for every a",
        out,
    ), out
    slope = ex.EXERCISES["squash_derivative"].solve({"a": np.array([6.0, 12.0])})["slope"]
    assert f"f'(6) = {slope[0]:.2g}, f'(12) = {slope[1]:.2g}".replace("e-07", "e-7") in out


# ---- what the cases hold ----------------------------------------------------------------------


def _float32_inputs(name):
    return any(
        isinstance(v, np.ndarray) and v.dtype == np.float32
        for case in _cases(name)
        for v in case.values()
    )


def test_float32_inputs_are_in_exactly_the_exercises_that_take_float32():
    """The exercises whose float32 answers pass (docs/exercises/README.md lists them, and
    test_exercises checks the list) get some cases in float32; the others none."""
    text = " ".join((DOCS / "README.md").read_text().split())
    said = re.search(r"computing every step in float32: (.*?) pass;", text).group(1)
    assert [n for n in ex.names() if _float32_inputs(n)] == re.findall(r"`(\w+)`", said)


@pytest.mark.parametrize("name", ["squash", "squash_derivative"])
def test_every_squash_case_mixes_the_regions_of_f(name):
    cases = _cases(name, seed=3, count=10)
    assert cases[0]["a"].tolist()[:7] == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]  # f(+-1) = +-1
    for case in cases:
        size = np.abs(case["a"].astype(float))
        assert (size < 4).any() and ((size > 4) & (size < 20)).any() and (size > 20).any()
    assert max(float(np.abs(case["a"]).max()) for case in cases) > 532  # e^(2 S a) overflows
    shapes = {case["a"].shape for case in cases}
    assert any(1 in shape for shape in shapes) and any(len(shape) == 4 for shape in shapes)


def _weighted_sums(name, case):
    from lenet.engine import _core

    if name == "s2_forward":
        return _core.subsample_forward(case["x"], case["coefficient"], case["bias"], "paper")
    if name == "c3_forward":
        return _core.conv_forward(case["x"], case["weight"], case["bias"], case["connection_table"])
    return _core.dense_forward(case["x"], case["weight"], case["bias"])


@pytest.mark.parametrize("name", ["s2_forward", "c3_forward", "sdlm_second_derivatives"])
def test_the_layer_cases_reach_saturation_a_batch_of_one_and_odd_shapes(name):
    cases = _cases(name)
    largest = [float(np.abs(_weighted_sums(name, c)).max()) for c in cases]
    assert max(largest) > 12
    for c in cases:  # every case but a tiny one mixes the working range and saturation
        a = np.abs(_weighted_sums(name, c))
        if a.size > 8:
            assert (a < 2).any() and (a > 6).any(), name
    assert any(c["x"].shape[0] == 1 for c in cases)
    shapes = [c["x"].shape[1:] for c in cases]
    if name != "sdlm_second_derivatives":
        outputs = [_weighted_sums(name, c).shape[2:] for c in cases]
        assert any(h != w for h, w in outputs) and any(h % 2 or w % 2 for h, w in outputs)
        assert any(1 in shape for shape in outputs)
    else:
        assert any(1 in c["weight"].shape for c in cases)
    assert len(set(shapes)) >= 3


def test_the_other_cases_hold_a_batch_of_one_and_their_own_extremes():
    for name in ("rbf_output", "loss9_gradient", "maxpool_backward"):
        assert any(len(c[next(iter(c))]) == 1 for c in _cases(name)), name
    assert any(c["prototypes"].shape[0] == 1 for c in _cases("rbf_output"))
    assert any(c["prototypes"].shape[1] == 1 for c in _cases("rbf_output"))
    loss9 = _cases("loss9_gradient")
    assert {c["y"].shape[1] for c in loss9} > {10}
    assert max(float(c["y"].max()) for c in loss9) > 500
    ce = _cases("softmax_cross_entropy_gradient")
    assert any(np.ptp(c["z"].max(axis=1)) > 1500 for c in ce)  # rows far apart
    largest = []  # each training case's largest |a| in any layer
    for case in _cases("training_step"):
        net = LeNet5(dtype=np.float64)
        net.load_state_dict(case["params"])
        x = case["image"][None]
        for layer in net.layers[:-1]:
            x = layer.forward(x)
        largest.append(max(float(np.abs(layer.a).max()) for layer in net.layers[:-1]))
    assert max(largest) > 12 and min(largest) < 9  # saturated networks, and the usual ones


def test_the_maxpool_cases_hold_near_ties_that_float32_keeps():
    x = _cases("maxpool_backward")[4]["x"]
    windows = modern_solutions._windows(x)
    top = windows.max(axis=-1, keepdims=True)
    near = (np.isclose(windows, top) & (windows != top)).any(axis=-1)
    assert near.any()  # a largest input by a few ulps
    close = windows[near]
    assert np.array_equal(close.astype(np.float32).astype(float), close)


# ---- hints for the near misses -------------------------------------------------------------


#: (exercise, an answer with a constant typed in rounded, words of its hint)
ROUNDED = [
    (
        "squash",
        lambda a: A * np.tanh(0.6667 * a),
        "match 1.7159 tanh(0.6667 a): S is 2/3 exactly (write 2 / 3); 0.6667 is off by 3.3e-05.",
    ),
    (
        "squash",
        lambda a: 1.716 * np.tanh(2 / 3 * a),
        "match 1.716 tanh(2/3 a): A is 1.7159 (Appendix A); 1.716 is off by 1.0e-04.",
    ),
    ("squash", lambda a: A * np.tanh(0.67 * a), "0.67 is off by 3.3e-03"),
    (
        "squash_derivative",
        lambda a: 1.1439 * (1 - np.tanh(S * a) ** 2),
        "match 1.1439 (1 - tanh(2/3 a)^2): A S is 1.7159 x 2/3 = 1.143933...; 1.1439 is off "
        "by 3.3e-05.",
    ),
    (
        "squash_derivative",
        lambda a: A * 0.6667 * (1 - np.tanh(0.6667 * a) ** 2),
        "match 1.7159 x 0.6667 (1 - tanh(0.6667 a)^2): S is 2/3 exactly",
    ),
    (
        "squash_derivative",
        lambda a: A * S * (1 - np.tanh(0.667 * a) ** 2),
        "match 1.7159 x 2/3 (1 - tanh(0.667 a)^2): S is 2/3 exactly (write 2 / 3); 0.667 is off",
    ),
]


@pytest.mark.parametrize("name, fn, words", ROUNDED)
def test_a_rounded_constant_is_named(name, fn, words, capsys):
    assert not ex.check(name, fn)
    out = capsys.readouterr().out
    assert words in out, out
    assert "f(1) = 1" not in out  # which a rounded S satisfies to 4e-5


def test_the_rounded_constant_hints_say_so_for_float32_inputs_too(capsys):
    assert not ex.check("squash", lambda a: A * np.tanh(0.6667 * a), seed=1)
    assert "0.6667 is off by 3.3e-05" in capsys.readouterr().out


def _c3_with_table_i(x, weight, bias, connection_table):
    from lenet.paper import connection_table_i

    return squash(_correlate(x, weight, connection_table_i()) + _maps(bias))


def test_table_i_typed_in_is_named(capsys):
    """The first two cases use Table I; the third gives another table, and the hint says the
    function ignores its argument."""
    result = ex.check("c3_forward", _c3_with_table_i)
    out = capsys.readouterr().out
    assert result.passed == 2 and not result
    assert "FAIL on case 3 of 5" in out
    assert "hint: your function ignores connection_table: its values match Table I typed" in out
