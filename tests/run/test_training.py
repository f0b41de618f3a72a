"""The training loop on tiny synthetic data: history and logs, checkpoints (atomic, readable
without pickle), Ctrl-C and resume to the same bits, clear errors before training starts."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import lenet
import lenet.run.training as train_module
from lenet.run.checkpoint import read_checkpoint, save_checkpoint
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


def test_a_failed_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch):
    net = lenet.LeNet5(seed=0)
    path = save_checkpoint(tmp_path / "checkpoint.npz", net, {}, {}, {"epoch": 1})
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    net.parameters[:] = 0
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, net, {}, {}, {"epoch": 2})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]  # no temporary left


def test_damaged_checkpoints_are_refused_with_the_file_named(tmp_path):
    bad = tmp_path / "checkpoint.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="checkpoint.npz"):
        lenet.load_checkpoint(bad)
    np.savez(bad, **{"C1.weight": np.zeros((6, 1, 5, 5))})
    with pytest.raises(ValueError, match="meta/config"):
        lenet.load_checkpoint(bad)
    net = lenet.LeNet5()
    path = save_checkpoint(tmp_path / "other.npz", net, {}, {}, {})
    with np.load(path) as data:
        arrays = dict(data)
    arrays["F6.weight"] = np.zeros((3, 3))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="F6.weight"):
        lenet.load_checkpoint(path)


def test_pickled_checkpoints_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, **{"meta/config": np.array([{"model": "paper"}], dtype=object)})
    with pytest.raises(ValueError, match="evil.npz"):
        lenet.load_checkpoint(path)


def test_unwritable_output_folder_fails_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(OSError, match="cannot write checkpoints"):
        train(
            lenet.LeNet5(),
            tiny_data(),
            recipe=Recipe(passes=1),
            out=blocker / "run",
            progress=False,
            echo=None,
        )


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


def test_resumed_log_matches_the_uninterrupted_one(tmp_path, monkeypatch):
    recipe = RECIPES["paper-sgd-batch4"]
    data, test = tiny_data(), tiny_data(16, seed=1)
    train(make_net(recipe), data, test, recipe, out=tmp_path / "a", progress=False, echo=None)
    with monkeypatch.context() as m:
        m.setattr(train_module, "StopOnInterrupt", StopAfter(15))  # in pass 2
        train(
            make_net(recipe),
            data,
            test,
            recipe,
            out=tmp_path / "b",
            progress=False,
            echo=None,
            fused=False,
        )
    train(
        make_net(recipe),
        data,
        test,
        recipe,
        out=tmp_path / "b",
        resume=True,
        progress=False,
        echo=None,
    )
    a = [json.loads(x) for x in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    b = [json.loads(x) for x in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert [r["pass"] for r in b] == [1, 2]
    assert [r["test_error"] for r in a] == [r["test_error"] for r in b]


def test_resume_refuses_a_different_run(tmp_path):
    recipe = Recipe(passes=1, optimizer="sgd", lr=0.01)
    train(lenet.LeNet5(), tiny_data(), recipe=recipe, out=tmp_path, progress=False, echo=None)
    for changed in (dict(batch_size=2), dict(seed=1), dict(limit=20)):
        with pytest.raises(ValueError, match="cannot resume"):
            train(
                lenet.LeNet5(),
                tiny_data(),
                recipe=replace(recipe, passes=2, **changed),
                out=tmp_path,
                resume=True,
                progress=False,
                echo=None,
            )
    with pytest.raises(ValueError, match="already holds a run"):
        train(lenet.LeNet5(), tiny_data(), recipe=recipe, out=tmp_path, progress=False, echo=None)
    with pytest.raises(ValueError, match="resume needs out"):
        train(lenet.LeNet5(), tiny_data(), recipe=recipe, resume=True, progress=False, echo=None)


def test_recipe_must_fit_the_network():
    with pytest.raises(ValueError, match="recipe is for the 'paper' model"):
        train(
            lenet.LeNet5.modern(input_size=32),
            tiny_data(),
            recipe=Recipe(optimizer="adam"),
            progress=False,
            echo=None,
        )


def test_checkpoint_describes_the_trained_network(tmp_path):
    net = lenet.LeNet5.modern(input_size=32, activation="relu")
    recipe = Recipe(
        model="modern", optimizer="adam", loss="cross-entropy", batch_size=16, passes=1
    )  # the recipe's own activation field says "swish"
    train(net, tiny_data(), recipe=recipe, out=tmp_path, progress=False, echo=None)
    loaded = lenet.load_checkpoint(tmp_path)
    assert loaded.C1.activation == "relu"
    x = tiny_data(4, seed=3)[0]
    assert np.array_equal(loaded.forward(x), net.forward(x))


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


def test_only_networks_a_config_describes_are_checkpointed(tmp_path):
    """A custom stack of layers cannot be rebuilt from a config: saving it is refused at once,
    and so is training it into a run folder, before any pass (not only when read back)."""
    custom = lenet.Network(
        [
            lenet.Convolution(1, 6, 5, name="C1"),
            lenet.Subsampling(6, name="S2"),
            lenet.Convolution(6, 16, 5, name="C3"),
            lenet.Subsampling(16, name="S4"),
            lenet.Convolution(16, 120, 5, name="C5"),
            lenet.FullConnection(120, 84, name="F6"),
            lenet.RBFOutput(name="output"),
        ],
        (1, 32, 32),
    )
    assert custom.variant == "custom"
    with pytest.raises(ValueError, match="custom Network"):
        save_checkpoint(tmp_path / "c.npz", custom)
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="custom Network"):
        train(
            custom,
            tiny_data(),
            recipe=Recipe(passes=1),
            out=tmp_path / "run",
            progress=False,
            echo=None,
        )
    assert not (tmp_path / "run").exists()
    history = train(custom, tiny_data(8), recipe=Recipe(passes=1), progress=False, echo=None)
    assert len(history) == 1  # without a run folder it trains
    for net in (lenet.LeNet5(), lenet.LeNet5.modern(input_size=32, activation="relu")):
        rebuilt = lenet.engine.lenet5.build_network(lenet.engine.lenet5.network_config(net))
        assert rebuilt.variant == net.variant and rebuilt.summary() == net.summary()


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
