"""When a network is unsure (lenet.run.rejection): the margin of its answer over the runner-up,
the threshold under which the answer is unsure, how a threshold is chosen for a target share
rejected, and the trade-off table."""

from __future__ import annotations

import numpy as np
import pytest

import lenet
from lenet.run.rejection import RULES, choose, margin, rule_of, tradeoff, unsure


def test_the_margin_is_the_answers_lead_over_the_runner_up():
    penalties = np.array([[3.0, 0.5, 9.0, 2.0], [4.0, 4.0, 1.0, 7.0]])
    assert margin(penalties, "penalty-gap").tolist() == [1.5, 3.0]
    logits = np.array([[3.0, 0.5, 9.0, 2.0], [4.0, 4.0, 1.0, 7.0]])
    assert margin(logits, "logit-gap").tolist() == [6.0, 3.0]
    # one output alone, and a tie: no lead at all
    assert margin([2.0, 2.0, 5.0], "penalty-gap") == 0.0
    assert margin([2.0, 5.0, 5.0], "logit-gap") == 0.0
    # the order of the classes does not matter
    rng = np.random.default_rng(0)
    out = rng.uniform(0, 50, (20, 10))
    for rule in RULES:
        assert np.array_equal(margin(out, rule), margin(out[:, rng.permutation(10)], rule))


def test_unsure_is_a_margin_below_the_threshold():
    penalties = np.array([[0.4, 30.0, 40.0], [6.0, 7.5, 30.0], [1.0, 3.0, 9.0]])
    assert unsure(penalties, 2.0).tolist() == [False, True, False]  # a margin of 2 is not below
    assert unsure(penalties, 2.01).tolist() == [False, True, True]
    assert not unsure(penalties, 0.0).any()
    assert unsure([5.0, 1.0, 4.5], 1.0, "logit-gap")  # logits: 5 leads 4.5 by 0.5


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: margin([1.0], "penalty-gap"), "classes >= 2"),
        (lambda: margin(np.zeros((2, 3, 4)), "penalty-gap"), r"\(N, classes\)"),
        (lambda: margin([1.0, 2.0], "probability"), "rule must be one of penalty-gap, logit-gap"),
        (lambda: unsure([1.0, 2.0], -1.0), "threshold must be a finite number >= 0"),
        (lambda: unsure([1.0, 2.0], float("nan")), "threshold must be a finite number >= 0"),
        (lambda: choose([1.0, 2.0], 1.0), r"most_rejected must be in \[0, 1\)"),
        (lambda: choose([], 0.1), "margins given"),
        (lambda: tradeoff([1.0, 2.0], [True], [0.5]), "alike"),
    ],
)
def test_bad_arguments_are_refused_saying_why(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_rule_fits_the_networks_output():
    assert rule_of(lenet.LeNet5(seed=0)) == "penalty-gap"
    assert rule_of(lenet.LeNet5.modern(seed=0)) == "logit-gap"


@pytest.mark.parametrize("most_rejected", [0.0, 0.01, 0.02, 0.05, 0.5])
def test_the_chosen_threshold_is_the_largest_that_keeps_to_the_target(most_rejected):
    margins = np.random.default_rng(1).exponential(20.0, 1000)
    t = choose(margins, most_rejected)
    assert t == round(t, 2)
    assert np.sum(margins < t) <= most_rejected * len(margins)
    assert np.sum(margins < t + 0.01) > most_rejected * len(margins)  # one step more is too many


def test_the_tradeoff_counts_what_each_threshold_rejects_and_leaves_wrong():
    margins = np.array([0.5, 1.0, 2.0, 3.0, 10.0, 20.0])
    correct = np.array([False, True, False, True, True, False])
    rows = tradeoff(margins, correct, [0.0, 1.0, 2.5, 25.0])
    assert [r["rejected"] for r in rows] == [0, 1, 3, 6]
    assert [r["errors_accepted"] for r in rows] == [3, 2, 1, 0]
    assert rows[0]["error_accepted"] == 0.5 and rows[2]["error_accepted"] == 1 / 3
    assert rows[3]["error_accepted"] == 0.0  # nothing accepted: no error among it
    assert all(r["images"] == 6 for r in rows)
