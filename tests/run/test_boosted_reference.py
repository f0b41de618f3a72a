"""The independent scorer of boosted LeNet-4 (``lenet.reference_network.boosted_answer``)
against the engine's combined network (``lenet.run.boosted.BoostedNetwork``), on the tiny
boosted run of the boosting tests (LeNet-1 standing in for LeNet-4)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_figure9_study import _script

from lenet.data import load_mnist
from lenet.engine.inputs import preprocess
from lenet.reference_network import boosted_answer, checkpoint_penalties, penalty_gap
from lenet.run.boosted import BoostedNetwork
from lenet.run.rejection import margin

from conftest import MNIST, needs_mnist

pytestmark = needs_mnist


@pytest.fixture(scope="module")
def test_digits():
    _, (x, y) = load_mnist(root=MNIST, download=False)
    return x[:2000], y[:2000]


def test_the_scorers_combined_answer_and_cost_are_the_engines(boosted_run, test_digits):
    out, record = boosted_run
    digits, _ = test_digits
    scored = boosted_answer(out, digits)
    engine = BoostedNetwork.load(out)
    outputs, full = engine.answer(preprocess(digits, engine.preprocessing, engine.dtype))
    assert scored["model"] == "lenet1" and scored["threshold"] == record["threshold"]
    # a threshold that leaves some digits to net 1 and runs all three on others
    assert 0 < full.sum() < len(digits)
    assert np.array_equal(scored["full"], full)
    assert np.array_equal(scored["classes"], engine.classify(outputs))
    assert scored["cost"] == engine.cost(preprocess(digits, engine.preprocessing, engine.dtype))
    # the rule itself: net 1 alone where its gap reaches the threshold, else the smallest sum
    penalties = [checkpoint_penalties(out / f"net{k}", digits)[1] for k in (1, 2, 3)]
    alone = penalty_gap(penalties[0]) >= record["threshold"]
    wanted = np.where(alone, penalties[0].argmin(1), sum(penalties).argmin(1))
    assert np.array_equal(scored["classes"], wanted)
    assert np.array_equal(scored["net1"], penalties[0])


def test_the_studys_record_of_a_boosted_run(boosted_run, test_digits):
    out, record = boosted_run
    digits, labels = test_digits
    fields = _script().score_boosted(out, digits, labels)
    scored = boosted_answer(out, digits)
    assert fields["test_errors"] == np.sum(scored["classes"] != labels)
    assert fields["net1_test_errors"] == np.sum(scored["net1"].argmin(1) != labels)
    assert (fields["cost"], fields["threshold"]) == (scored["cost"], record["threshold"])
    # three LeNet-1s (standing in): their parameters, one net's connections times the cost
    assert fields["parameters"] == 3 * 2578
    assert fields["multiply_adds"] == round(scored["cost"] * 98_442)
    assert fields["boosting"] == record["settings"] and fields["passes"] == 1


def test_the_gap_is_the_engines_margin():
    rng = np.random.default_rng(1)
    p = rng.random((50, 10))
    assert np.allclose(penalty_gap(p), margin(p, "penalty-gap"), rtol=0, atol=1e-12)


def test_an_unfinished_run_is_refused(tmp_path):
    (tmp_path / "boosting.json").write_text(json.dumps({"threshold": None}))
    with pytest.raises(ValueError, match="not finished"):
        boosted_answer(tmp_path, np.zeros((1, 28, 28), np.uint8))
