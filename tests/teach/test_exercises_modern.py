"""The modern network's two exercises, maxpool_backward and softmax_cross_entropy_gradient: what
is particular to them. (That their NumPy solutions pass and each known mistake fails with its
hint is tested with the other exercises', in test_exercises.py, from modern_solutions.py.)

- max pooling: the tie rule the page states is the engine's, and PyTorch's; the cases hold ties
  of two, three and four inputs, odd sizes and a batch of one;
- softmax cross-entropy: a softmax that does not shift passes the small logits and fails the
  large ones with a hint that says why; the cases reach the overflow and the underflow.
"""

from __future__ import annotations

import numpy as np
import pytest

import lenet.teach.exercises as ex
from lenet.engine import _core

from modern_solutions import (
    _ce_naive,
    _softmax_naive,
    maxpool_backward,
    softmax_cross_entropy_gradient,
)

MODERN = ("maxpool_backward", "softmax_cross_entropy_gradient")


def _cases(name, count=5, seed=0):
    exercise = ex.EXERCISES[name]
    return [exercise.make_case(np.random.default_rng((seed, i)), i) for i in range(count)]


def test_the_modern_exercises_come_after_the_papers():
    assert ex.GROUPS["modern"] == MODERN
    assert ex.names() == ex.GROUPS["paper"] + ex.GROUPS["modern"]
    assert ex.GROUPS["paper"][0] == "squash" and ex.GROUPS["paper"][-1] == "training_step"
    for name in MODERN:
        assert "not in the paper" in ex.summary(name)


# ---- max pooling ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "window, winner",
    [
        ([[1, 1], [1, 1]], (0, 0)),  # a four-way tie: the top-left
        ([[0, 2], [2, 0]], (0, 1)),  # top-right before bottom-left
        ([[0, 0], [3, 3]], (1, 0)),
        ([[5, 0], [0, 7]], (1, 1)),
        ([[-1, -3], [-2, -1]], (0, 0)),
    ],
)
def test_a_tie_goes_to_the_first_largest_input_in_row_major_order(window, winner):
    """The rule the page and the hints state is the engine's (csrc/pool.c)."""
    x = np.array(window, float)[None, None]
    dx, _, _ = _core.subsample_backward(x, np.full((1, 1, 1, 1), 2.5), None, "max")
    expected = np.zeros((2, 2))
    expected[winner] = 2.5
    assert np.array_equal(dx[0, 0], expected)
    assert (
        ex.EXERCISES["maxpool_backward"]
        .solve({"x": x, "dy": np.full((1, 1, 1, 1), 2.5)})["dx"][0, 0]
        .tolist()
        == expected.tolist()
    )
    page = ex.describe("maxpool_backward")
    assert "first of the tied inputs in row-major order" in page
    assert "top-left (0, 0), top-right (0, 1),\nbottom-left (1, 0), bottom-right (1, 1)" in page


def test_the_tie_rule_is_pytorchs_too():
    """The page says PyTorch's max pooling (on the CPU) breaks ties the same way."""
    torch = pytest.importorskip("torch")
    for case in _cases("maxpool_backward"):
        x = torch.tensor(case["x"], requires_grad=True)
        torch.nn.functional.max_pool2d(x, 2).backward(torch.tensor(case["dy"]))
        engine = ex.EXERCISES["maxpool_backward"].solve(case)["dx"]
        assert np.array_equal(x.grad.numpy(), engine)


def _tie_sizes(x):
    """How many inputs equal their window's maximum, for every window."""
    h, w = 2 * (x.shape[2] // 2), 2 * (x.shape[3] // 2)
    quads = [x[:, :, dr:h:2, dc:w:2] for dr in (0, 1) for dc in (0, 1)]
    top = np.maximum(np.maximum(quads[0], quads[1]), np.maximum(quads[2], quads[3]))
    return sum((q == top).astype(int) for q in quads)


def test_the_maxpool_cases_cover_ties_odd_sizes_and_a_batch_of_one():
    cases = _cases("maxpool_backward")
    ties = set().union(*(np.unique(_tie_sizes(c["x"])).tolist() for c in cases))
    assert ties == {1, 2, 3, 4}
    shapes = [c["x"].shape for c in cases]
    assert any(h % 2 for _, _, h, _ in shapes) and any(w % 2 for _, _, _, w in shapes)
    assert any(n == 1 for n, _, _, _ in shapes)
    assert (1, 1, 2, 2) in shapes  # a single window
    # the engine gives an odd last row or column no gradient, and every window exactly its dy
    for c in cases:
        dx = ex.EXERCISES["maxpool_backward"].solve(c)["dx"]
        h, w = 2 * c["dy"].shape[2], 2 * c["dy"].shape[3]
        assert not dx[:, :, h:].any() and not dx[:, :, :, w:].any()
        assert np.count_nonzero(dx) == np.count_nonzero(c["dy"])


def test_maxpool_ignoring_the_odd_last_row_gets_the_shape(capsys):
    def cropped(x, dy):
        h, w = 2 * dy.shape[2], 2 * dy.shape[3]
        return maxpool_backward(x[:, :, :h, :w], dy)

    assert not ex.check("maxpool_backward", cropped)
    out = capsys.readouterr().out
    assert "FAIL on case 3 of 5" in out  # the first odd-sized case
    assert "dx has shape (" in out and "that is (N, maps, H, W)" in out


# ---- softmax cross-entropy --------------------------------------------------------------------


def test_the_softmax_cases_reach_the_overflow_and_the_underflow():
    cases = _cases("softmax_cross_entropy_gradient")
    logits = [c["z"] for c in cases]
    assert any(z.max() > 709.79 for z in logits)  # e^z is inf
    assert any(z.max() < -745.14 for z in logits)  # e^z is 0 for every class of a row
    assert any(z.shape[0] == 1 for z in logits)
    assert {z.shape[1] for z in logits} == {10, 7, 2}
    # and the engine's answer stays finite and right there: the rows of dz sum to 0
    for c in cases:
        answer = ex.EXERCISES["softmax_cross_entropy_gradient"].solve(c)
        assert np.isfinite(answer["E"]) and answer["E"] >= 0
        assert np.allclose(answer["dz"].sum(axis=1), 0, atol=1e-15)


def test_the_naive_softmax_passes_small_logits_and_fails_large_ones_with_the_hint(capsys):
    name = "softmax_cross_entropy_gradient"
    assert ex.check(name, _ce_naive, cases=2)  # the first two cases: logits of a few units
    assert not ex.check(name, _ce_naive)
    out = capsys.readouterr().out
    assert "FAIL on case 3 of 5" in out
    assert "got nan" in out  # E, the first output compared
    assert "hint: your E is nan" in out and "log-sum-exp" in out
    assert ex.check(name, softmax_cross_entropy_gradient, cases=50)


def test_a_stable_loss_with_a_naive_softmax_gets_the_hint_on_dz(capsys):
    def naive_dz(z, labels):
        loss, _ = softmax_cross_entropy_gradient(z, labels)
        with np.errstate(over="ignore", invalid="ignore"):
            p = _softmax_naive(z)
        return loss, (p - np.eye(z.shape[1])[labels]) / z.shape[0]

    assert not ex.check("softmax_cross_entropy_gradient", naive_dz)
    out = capsys.readouterr().out
    assert "right: E; wrong: dz" in out
    assert "hint: your dz holds inf or NaN" in out and "inf / inf or 0 / 0" in out


def test_the_log_of_an_underflowed_probability_gets_the_hint(capsys):
    """Shifted right, but E taken as -log p: p[label] is 0 where the label's logit is far
    below the largest."""

    def log_of_p(z, labels):
        _, dz = softmax_cross_entropy_gradient(z, labels)
        m = z.max(axis=1, keepdims=True)
        p = np.exp(z - m) / np.exp(z - m).sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            return -np.log(p[np.arange(len(labels)), labels]).mean(), dz

    assert not ex.check("softmax_cross_entropy_gradient", log_of_p)
    out = capsys.readouterr().out
    assert "FAIL on case 4 of 5" in out  # logits over +-800
    assert "hint: your E is inf" in out and "underflows to 0" in out


def test_the_shifted_softmax_of_the_page_passes_every_case():
    """A softmax shifted by the row's maximum, as the page writes it, passes 100 cases."""
    assert ex.check(
        "softmax_cross_entropy_gradient", softmax_cross_entropy_gradient, cases=100, verbose=False
    )
    assert ex.check("maxpool_backward", maxpool_backward, cases=100, verbose=False)
