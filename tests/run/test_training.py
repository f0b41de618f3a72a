"""The training loop on tiny synthetic data: history and logs, Ctrl-C and resume to the same
bits, clear errors before training starts, and the run object (lenet.run.session) advanced by
any number of patterns giving the bits and records of lenet.train. Run folders and checkpoints
have their own tests (test_runs.py, test_checkpoint.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import lenet
import lenet.run.training as train_module
from lenet.data.distortions import DistortedCopies, distortion_ranges
from lenet.run.checkpoint import read_checkpoint
from lenet.run.session import COPIES_KEY, TrainingRun, pass_generator
from lenet.run.training import Recipe, network_for, train

from conftest import StopAfter, tiny_data

RECIPES = {
    "paper-sdlm": Recipe(passes=2, curvature_patterns=16),
    "paper-sgd-batch4": Recipe(passes=2, optimizer="sgd", lr=0.01, batch_size=4),
    "modern-adam-batch8": Recipe(
        model="modern",
        pooling="max",
        activation="relu",
        optimizer="adam",
        loss="cross-entropy",
        batch_size=8,
        passes=2,
    ),
}


def make_net(recipe):
    return network_for(recipe, (1, 32, 32))  # tiny_data's images


@pytest.mark.parametrize("name", list(RECIPES))
def test_history_log_and_checkpoint(tmp_path, name):
    recipe = RECIPES[name]
    net = make_net(recipe)
    history = train(
        net, tiny_data(), tiny_data(16, seed=1), recipe, out=tmp_path, progress=False, echo=None
    )
    assert [h["pass"] for h in history] == [1, 2]
    for h in history:
        assert set(h) >= {"pass", "lr", "train_loss", "train_error", "test_error", "seconds"}
        assert 0 <= h["train_error"] <= 1 and np.isfinite(h["train_loss"])
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [line["pass"] for line in lines] == [1, 2]
    assert json.loads((tmp_path / "config.json").read_text())["optimizer"] == recipe.optimizer
    with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as saved:
        assert np.array_equal(saved["C1.weight"], net.C1.params["weight"])
        assert any(k.startswith("optimizer/") for k in saved.files)
    loaded = lenet.load_checkpoint(tmp_path / "checkpoint.npz")
    assert np.array_equal(loaded.parameters, net.parameters)
    assert read_checkpoint(tmp_path)["progress"]["epoch"] == 2


def test_training_learns_a_simple_task(tmp_path):
    x, y = tiny_data(200)
    net = lenet.LeNet5(seed=0)
    history = train(
        net,
        (x, y),
        tiny_data(100, seed=5),
        Recipe(passes=3, optimizer="sgd", lr=0.002),
        progress=False,
        echo=None,
    )
    assert history[-1]["test_error"] < 0.1  # chance is 0.5


#: The recipes, and the paper's with new distortions every pass or its fixed distorted set:
#: every random choice is a function of the seed alone, so all of them resume to the same bits.
RESUMED = {
    **RECIPES,
    "paper-sdlm-distorted": replace(RECIPES["paper-sdlm"], distort=True),
    "paper-sdlm-fixed-copies": replace(RECIPES["paper-sdlm"], distort=True, distort_copies=3),
    "paper-sdlm-all-copies": replace(
        RECIPES["paper-sdlm"], distort=True, distort_copies=2, distort_all=True
    ),
}


@pytest.mark.parametrize("name", list(RESUMED))
@pytest.mark.parametrize(
    "stop_at,fused", [(1, False), (5, False), (9, False), (1, True), (2, True), (3, True)]
)
def test_interrupt_and_resume_give_the_same_bits(tmp_path, monkeypatch, name, stop_at, fused):
    """Interrupted (at the stop_at-th look for Ctrl-C: per step layer by layer, per chunk of
    steps on the fused path) and resumed, a run ends with the bits of an uninterrupted one."""
    recipe = RESUMED[name]
    data, test = tiny_data(), tiny_data(16, seed=1)
    straight = make_net(recipe)
    train(straight, data, test, recipe, out=tmp_path / "a", progress=False, echo=None)

    interrupted = make_net(recipe)
    with monkeypatch.context() as m:
        m.setattr(train_module, "StopOnInterrupt", StopAfter(stop_at))
        history = train(
            interrupted,
            data,
            test,
            recipe,
            out=tmp_path / "b",
            progress=False,
            echo=None,
            fused=fused,
        )
    assert history[-1]["interrupted"]
    assert not np.array_equal(interrupted.parameters, straight.parameters)
    resumed = make_net(recipe)
    history = train(
        resumed,
        data,
        test,
        recipe,
        out=tmp_path / "b",
        resume=True,
        progress=False,
        echo=None,
        fused=fused,
    )
    assert np.array_equal(resumed.parameters, straight.parameters)
    a, b = read_checkpoint(tmp_path / "a"), read_checkpoint(tmp_path / "b")
    for key in a["optimizer"]:
        assert np.array_equal(a["optimizer"][key], b["optimizer"][key]), key
    assert [h["test_error"] for h in a["progress"]["history"]] == [
        h["test_error"] for h in b["progress"]["history"]
    ]


def test_loss_must_fit_the_output_layer():
    with pytest.raises(ValueError, match="loss cross-entropy does not fit the paper model"):
        Recipe(passes=1, loss="cross-entropy")
    with pytest.raises(ValueError, match="loss penalty does not fit the modern model"):
        Recipe(model="modern", passes=1, optimizer="adam", loss="penalty")
    recipe = Recipe(passes=1)
    recipe.loss = "cross-entropy"  # changed after it was made: train checks again
    with pytest.raises(ValueError, match="does not fit"):
        train(lenet.LeNet5(), tiny_data(), recipe=recipe, progress=False, echo=None)
    with pytest.raises(ValueError, match="needs RBF penalties"):
        lenet.losses.check_loss(lenet.LeNet5.modern(input_size=32), "penalty")


def test_evaluate_counts():
    net = lenet.LeNet5(seed=0)
    x, y = tiny_data(30)
    result = lenet.evaluate(net, x, y)
    assert result["confusion"].sum() == 30
    assert result["confusion"].shape == (10, 10)
    assert result["error"] == pytest.approx(np.mean(result["predicted"] != y))
    assert np.array_equal(result["confusion"].sum(axis=1)[:2], np.bincount(y, minlength=2))


def test_recipe_must_fit_the_network():
    with pytest.raises(ValueError, match="recipe is for the 'paper' model"):
        train(
            lenet.LeNet5.modern(input_size=32),
            tiny_data(),
            recipe=Recipe(optimizer="adam"),
            progress=False,
            echo=None,
        )


def test_limit_trains_on_the_first_images(tmp_path):
    history = train(
        lenet.LeNet5(),
        tiny_data(),
        recipe=Recipe(passes=1, optimizer="sgd", lr=0.01, limit=10),
        out=tmp_path,
        progress=False,
        echo=None,
    )
    assert read_checkpoint(tmp_path)["progress"]["run"]["images"] == 10
    assert history[-1]["pass"] == 1


def test_evaluate_refuses_bad_labels_and_marks_absent_classes():
    net = lenet.LeNet5(seed=0)
    x, y = tiny_data(10)
    with pytest.raises(ValueError, match="labels in"):
        lenet.evaluate(net, x, np.full(10, 10))
    with pytest.raises(ValueError, match="labels in"):
        lenet.evaluate(net, x, np.full(10, -1))
    result = lenet.evaluate(net, x, y)
    assert np.isnan(result["per_class_error"][5])  # no image of class 5


def test_the_fixed_set_and_the_strength_change_what_is_shown():
    """distort_copies and distort_strength reach the pass: each gives other bits, and the same
    recipe twice the same."""
    data = tiny_data()

    def trained(**changes):
        recipe = Recipe(passes=2, distort=True, curvature_patterns=10, **changes)
        net = make_net(recipe)
        train(net, data, None, recipe, progress=False, echo=None)
        return net.parameters

    fresh, fixed, full = trained(), trained(distort_copies=9), trained(distort_strength=1.0)
    assert np.array_equal(fixed, trained(distort_copies=9))
    assert not np.array_equal(fresh, fixed) and not np.array_equal(fresh, full)


@pytest.mark.parametrize("copies", [1, 3])
@pytest.mark.parametrize("fused", [False, True])
def test_distort_all_trains_on_the_whole_enlarged_set(tmp_path, copies, fused):
    """With distort_all a pass is over every version of every image: the bits of a run without
    distortions on the enlarged set made beforehand; the train error stays the originals'."""
    (x, y), test = tiny_data(), tiny_data(16, seed=1)
    recipe = replace(RECIPES["paper-sdlm"], distort=True, distort_copies=copies, distort_all=True)
    net = make_net(recipe)
    history = train(net, (x, y), test, recipe, out=tmp_path, progress=False, echo=None, fused=fused)
    made = DistortedCopies(len(x), copies, pass_generator(0, COPIES_KEY), distortion_ranges(0.5))
    whole = (made.every_version(x), np.tile(y, copies + 1))
    plain = make_net(RECIPES["paper-sdlm"])
    train(plain, whole, test, RECIPES["paper-sdlm"], progress=False, echo=None, fused=fused)
    assert np.array_equal(net.parameters, plain.parameters)
    assert read_checkpoint(tmp_path)["progress"]["step"] == 0  # the passes ended
    assert history[-1]["train_error"] == lenet.evaluate(net, x, y)["error"]


def test_a_failure_while_the_enlarged_set_is_made_leaves_no_folder(tmp_path, monkeypatch):
    def interrupted(self, x):
        raise KeyboardInterrupt

    monkeypatch.setattr(DistortedCopies, "every_version", interrupted)
    recipe = replace(RECIPES["paper-sdlm"], distort=True, distort_copies=2, distort_all=True)
    with pytest.raises(KeyboardInterrupt):
        train(make_net(recipe), tiny_data(), None, recipe, out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("change", [dict(distort_all=False), dict(distort_copies=3)])
def test_a_run_resumes_only_with_its_own_set(tmp_path, monkeypatch, change):
    """The images a pass shows are part of the run: resuming with other copies, or one version
    a pass instead of all, is refused by name (the images, counted, stay the originals)."""
    recipe = replace(RECIPES["paper-sdlm"], distort=True, distort_copies=2, distort_all=True)
    with monkeypatch.context() as m:
        m.setattr(train_module, "StopOnInterrupt", StopAfter(2))
        train(make_net(recipe), tiny_data(), None, recipe, out=tmp_path, progress=False, echo=None)
    assert read_checkpoint(tmp_path)["progress"]["run"]["images"] == len(tiny_data()[0])
    ((name, value),) = change.items()
    with pytest.raises(ValueError, match=f"cannot resume .* different {name} "):
        train(make_net(recipe), tiny_data(), None, replace(recipe, **change), out=tmp_path,
              resume=True, progress=False, echo=None)  # fmt: skip


def test_distort_all_needs_the_fixed_set():
    with pytest.raises(ValueError, match="distort_all shows every version .* at least 1, got 0"):
        Recipe(distort=True, distort_all=True)


@pytest.mark.parametrize("name", list(RECIPES))
@pytest.mark.parametrize("patterns", [1, 7, 100])
def test_a_run_advanced_by_any_number_of_patterns_is_lenet_train(tmp_path, name, patterns):
    """The studio advances the run a few patterns at a time, lenet.train a pass at a time: the
    same weights, bit for bit, and the same records but for the seconds."""
    recipe, data, test = RECIPES[name], tiny_data(), tiny_data(16, seed=1)
    whole = make_net(recipe)
    history = train(whole, data, test, recipe, out=tmp_path / "a", progress=False, echo=None)
    net = make_net(recipe)
    run = TrainingRun(net, data, test, recipe, out=tmp_path / "b")
    while run.epoch < recipe.passes:
        run.advance(patterns)
        if run.pass_done:
            run.end_pass()
    assert np.array_equal(net.parameters, whole.parameters)
    assert [r.keys() for r in run.history] == [r.keys() for r in history]
    for mine, theirs in zip(run.history, history):
        assert {k: v for k, v in mine.items() if k != "seconds"} == {
            k: v for k, v in theirs.items() if k != "seconds"
        }
    a = (tmp_path / "a" / "log.jsonl").read_text().splitlines()
    b = (tmp_path / "b" / "log.jsonl").read_text().splitlines()
    assert [json.loads(x).keys() for x in a] == [json.loads(x).keys() for x in b]
