"""Boosted LeNet-4's training and combined network (lenet.run.boosting, lenet.run.boosted), on a
tiny budget: a pass on 1,500 images per net, 200 patterns for nets 2 and 3, LeNet-1 standing in
for LeNet-4 (the procedure does not depend on the network), MNIST from the shared folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lenet.data import load_mnist
from lenet.engine.family import family_network
from lenet.engine.inputs import Preprocessed
from lenet.run import boosting, training
from lenet.run.boosted import BoostedNetwork
from lenet.run.boosting import BoostingSettings, CandidateStream, choose_threshold, train_boosted
from lenet.run.checkpoint import read_checkpoint
from lenet.run.rejection import margin

from conftest import BOOSTING_TINY as TINY
from conftest import MNIST, StopAfter, needs_mnist
from conftest import run_boosted as run

pytestmark = needs_mnist


@pytest.fixture(scope="module")
def train_images():
    (x, y), _ = load_mnist(root=MNIST, download=False)
    return Preprocessed(x, "lenet1"), y.astype(np.int64)


def nets_of(out):
    return [read_checkpoint(out / f"net{k}")["net"] for k in (1, 2, 3)]


def patterns_of(out, k, train_images):
    x, y = train_images
    record = json.loads((out / "boosting.json").read_text())
    stream = CandidateStream(x[: TINY.images], TINY.seed, record["distortion_ranges"])
    with np.load(out / f"net{k}-patterns.npz") as saved:
        index, rounds = saved["index"], saved["round"]
    return stream.images(index, rounds), y[index], rounds, record


def test_net2_trains_on_patterns_half_of_which_net1_gets_wrong(boosted_run, train_images):
    out, record = boosted_run
    net1 = nets_of(out)[0]
    images, labels, rounds, _ = patterns_of(out, 2, train_images)
    wrong = net1.predict(images) != labels
    assert len(labels) == TINY.patterns and wrong.sum() == TINY.patterns // 2
    assert record["net2_patterns"]["wrong"] == record["net2_patterns"]["right"] == 100
    assert record["net2_patterns"]["examined"] <= TINY.candidates
    # what net 2 trained on is that set: its run folder counts its images
    assert read_checkpoint(out / "net2")["progress"]["run"]["images"] == TINY.patterns


def test_net3_trains_on_new_patterns_where_nets_1_and_2_disagree(boosted_run, train_images):
    out, record = boosted_run
    net1, net2, _ = nets_of(out)
    images, labels, _, _ = patterns_of(out, 3, train_images)
    assert len(labels) == TINY.patterns
    assert np.all(net1.predict(images) != net2.predict(images))
    # new: the stream goes on where net 2's filter stopped
    n2 = record["net2_patterns"]
    assert record["net3_patterns"]["first"] == n2["first"] + n2["examined"]


def test_net1_is_the_usual_run_of_its_recipe(boosted_run, train_images):
    out, _ = boosted_run
    x, y = train_images
    recipe = TINY.recipe(1, TINY.images)
    net = training.network_for(recipe, x.shape[1:])
    training.train(net, (x, y), None, recipe, progress=False, echo=None)
    assert np.array_equal(net.parameters, nets_of(out)[0].parameters)


def test_the_combined_answer_is_the_smallest_summed_penalty(boosted_run, train_images):
    out, _ = boosted_run
    nets = nets_of(out)
    x = np.asarray(train_images[0][50000:50300])
    summed = sum(np.asarray(net.infer(x), np.float64) for net in nets)
    always = BoostedNetwork(nets, float("inf"))
    outputs, full = always.answer(x)
    assert full.all() and np.array_equal(outputs, summed)
    assert np.array_equal(always.predict(x), np.argmin(summed, axis=1))
    raw = load_mnist(root=MNIST, download=False)[0][0][50000:50300]
    assert np.array_equal(always.predict(raw), np.argmin(summed, axis=1))  # raw digits too


def test_nets_2_and_3_run_only_where_net1_is_unsure(boosted_run, train_images):
    out, _ = boosted_run
    nets = nets_of(out)
    x = np.asarray(train_images[0][50000:50400])
    m = margin(np.asarray(nets[0].infer(x), np.float64), "penalty-gap")
    threshold = float(np.median(m))
    seen = []
    for net in nets[1:]:
        infer = net.infer
        net.infer = lambda images, batch=256, infer=infer: (
            seen.append(images.copy()) or infer(images, batch)
        )
    boosted = BoostedNetwork(nets, threshold)
    outputs, full = boosted.answer(x)
    unsure = m < threshold
    assert 0 < unsure.sum() < len(x) and np.array_equal(full, unsure)
    assert len(seen) == 2 and all(np.array_equal(s, x[unsure]) for s in seen)
    sure = ~unsure
    assert np.array_equal(np.argmin(outputs[sure], 1), nets[0].predict(x[sure]))
    assert boosted.cost(x) == 1 + 2 * unsure.mean()
    seen.clear()
    BoostedNetwork(nets, 0.0).answer(x)
    assert seen == []  # never unsure: nets 2 and 3 never run


def test_the_threshold_is_the_smallest_that_costs_no_validation_error():
    rng = np.random.default_rng(0)
    m = rng.exponential(5.0, 400)
    wrong_alone = rng.random(400) < 0.3 * np.exp(-m)
    wrong_full = wrong_alone & (rng.random(400) < 0.5)
    t = choose_threshold(m, wrong_alone, wrong_full)

    def errors(t):
        return int(np.sum(np.where(m < t, wrong_full, wrong_alone)))

    assert errors(t) <= wrong_full.sum() and t == round(t, 2)
    assert errors(t - 0.01) > wrong_full.sum() or t == 0


def test_the_record_holds_what_the_threshold_gives_on_the_validation_split(
    boosted_run, train_images
):
    out, record = boosted_run
    x, y = train_images
    boosted = BoostedNetwork.load(out)
    xv, yv = np.asarray(x[-TINY.validation :]), y[-TINY.validation :]
    outputs, full = boosted.answer(xv)
    val = record["validation"]
    assert boosted.threshold == record["threshold"]
    assert val["error"] == np.mean(boosted.classify(outputs) != yv) <= val["error_all_three"]
    assert val["cost"] == 1 + 2 * full.mean() == boosted.cost(xv)


def test_a_stopped_and_resumed_run_ends_with_the_same_bits(boosted_run, tmp_path, monkeypatch):
    out, record = boosted_run
    again = tmp_path / "again"
    monkeypatch.setattr(training, "StopOnInterrupt", StopAfter(1))  # Ctrl-C in every net's pass
    monkeypatch.setattr(boosting, "FILTER_BATCH", 64)  # the filters' batches do not matter
    walk, killed = CandidateStream.walk, []

    def walk_then_die(self, *args):  # a kill in the middle of net 3's filter, once
        for i, batch in enumerate(walk(self, *args)):
            if args[0] > 0 and i == 2 and not killed:
                killed.append(True)
                raise KeyboardInterrupt
            yield batch

    monkeypatch.setattr(CandidateStream, "walk", walk_then_die)
    stops = 0
    for attempt in range(20):
        try:
            result = run(again, TINY if attempt == 0 else None, resume=attempt > 0)
        except KeyboardInterrupt:
            stops += 1
            continue
        if not result.get("interrupted"):
            break
        stops += 1
    assert stops >= 4 and killed  # each net stopped once, and net 3's filter
    assert result == record
    for a, b in zip(nets_of(out), nets_of(again)):
        assert np.array_equal(a.parameters, b.parameters)
    for k in (2, 3):
        with (
            np.load(out / f"net{k}-patterns.npz") as p,
            np.load(again / f"net{k}-patterns.npz") as q,
        ):
            assert all(np.array_equal(p[key], q[key]) for key in ("index", "round"))


@pytest.mark.parametrize(
    "settings, message",
    [
        (BoostingSettings(patterns=1), "patterns must be a whole number >= 2"),
        (BoostingSettings(model="lenet5"), "model must be one of"),
        (BoostingSettings(validation=0), "validation must be a whole number >= 1"),
        (BoostingSettings(candidates=0), "candidates must be a whole number >= 1"),
        (BoostingSettings(model="lenet1", images=59_600), "must fit, apart"),
    ],
)
def test_bad_settings_are_named(tmp_path, settings, message):
    with pytest.raises(ValueError, match=message):
        run(tmp_path / "run", settings)


def test_a_folder_holding_a_run_is_resumed_not_overwritten(boosted_run, tmp_path):
    out, _ = boosted_run
    with pytest.raises(ValueError, match="already holds a boosted run"):
        run(out)
    with pytest.raises(ValueError, match=r"other settings: seed \(0 then, 3 now\)"):
        train_boosted(out, BoostingSettings(**{**TINY.__dict__, "seed": 3}), resume=True)
    with pytest.raises(ValueError, match="holds no boosted run"):
        run(tmp_path, resume=True)


def test_boosted_lenet4_builds_from_three_lenet4s():
    nets = [family_network("lenet4", seed=s) for s in range(3)]
    boosted = BoostedNetwork(nets, 1.0)
    assert boosted.infer(np.zeros((2, 1, 32, 32), np.float32)).shape == (2, 10)
