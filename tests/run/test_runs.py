"""Run folders (lenet.run.runs): checked before training (writable, room for checkpoints),
refused when they hold a run already, resumed only by the same run (its preprocessing
included, refused before anything is written), with a log that says what the checkpoint
holds."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import lenet
import lenet.run.training as train_module
from lenet.engine.inputs import Preprocessed
from lenet.run import checkpoint as ckpt
from lenet.run.training import Recipe, network_for, train

from conftest import StopAfter, paper_digits, tiny_data

RECIPE = Recipe(passes=2, optimizer="sgd", lr=0.01, batch_size=4)


def _tiny_data():
    x = paper_digits(np.float32)
    return (x, np.arange(10)), (x, np.arange(10))


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


def test_resumed_log_matches_the_uninterrupted_one(tmp_path, monkeypatch):
    recipe = RECIPE
    data, test = tiny_data(), tiny_data(16, seed=1)
    train(
        network_for(recipe, (1, 32, 32)),
        data,
        test,
        recipe,
        out=tmp_path / "a",
        progress=False,
        echo=None,
    )
    with monkeypatch.context() as m:
        m.setattr(train_module, "StopOnInterrupt", StopAfter(15))  # in pass 2
        train(
            network_for(recipe, (1, 32, 32)),
            data,
            test,
            recipe,
            out=tmp_path / "b",
            progress=False,
            echo=None,
            fused=False,
        )
    train(
        network_for(recipe, (1, 32, 32)),
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


def test_a_full_disk_is_refused_before_training(tmp_path, monkeypatch):
    class Usage:
        free = 100_000

    monkeypatch.setattr(lenet.run.runs.shutil, "disk_usage", lambda path: Usage)
    with pytest.raises(OSError, match=r"0\.1 MiB free, and the run needs about"):
        lenet.train(
            lenet.LeNet5(),
            *_tiny_data(),
            Recipe(passes=1),
            out=tmp_path / "run",
            progress=False,
            echo=None,
        )
    assert not (tmp_path / "run" / "checkpoint.npz").exists()


@pytest.mark.parametrize(
    "progress,message",
    [
        ({"epoch": "1", "step": 0}, "'epoch', a whole number"),
        ({"epoch": 1, "step": -3}, "'step', a whole number"),
        ({"epoch": 1, "step": 0, "partial": {"loss": "x"}}, "broken 'partial'"),
        ({"epoch": 1, "step": 0, "history": {"pass": 1}}, "'history' that is not a list"),
        ({"epoch": 1, "step": 0, "run": [1]}, "'run' that is not a record"),
    ],
)
def test_resume_refuses_a_damaged_progress_record(tmp_path, progress, message):
    net = lenet.LeNet5()
    ckpt.save_checkpoint(tmp_path / "checkpoint.npz", net, {}, {}, progress)
    with pytest.raises(ValueError, match=f"cannot resume from it: its meta/progress .*{message}"):
        lenet.train(
            net,
            *_tiny_data(),
            Recipe(passes=2),
            out=tmp_path,
            resume=True,
            progress=False,
            echo=None,
        )


@pytest.mark.parametrize("then, now", [("paper", "raw"), ("unit", "raw"), ("raw", "unit")])
def test_resume_with_other_preprocessing_is_refused_before_anything_is_written(tmp_path, then, now):
    """The run's preprocessing is part of its identity: resuming it with another is refused,
    naming both schemes, and leaves the folder as it was."""
    train(
        lenet.LeNet5(),
        tiny_data(),
        recipe=Recipe(passes=1, optimizer="sgd", lr=0.01, preprocessing=then),
        out=tmp_path,
        progress=False,
        echo=None,
    )
    assert ckpt.read_checkpoint(tmp_path)["progress"]["run"]["preprocessing"] == then
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    with pytest.raises(
        ValueError, match=f"preprocessing {now!r}.*trained on preprocessing {then!r}"
    ):
        train(
            lenet.LeNet5(),
            tiny_data(),
            recipe=Recipe(passes=2, optimizer="sgd", lr=0.01, preprocessing=now),
            out=tmp_path,
            resume=True,
            progress=False,
            echo=None,
        )
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()} == before


def test_a_run_written_before_its_identity_held_the_preprocessing_reads_it_from_its_config(
    tmp_path,
):
    recipe = Recipe(passes=1, optimizer="sgd", lr=0.01)
    train(lenet.LeNet5(), tiny_data(), recipe=recipe, out=tmp_path, progress=False, echo=None)
    state = ckpt.read_checkpoint(tmp_path)
    del state["progress"]["run"]["preprocessing"]
    ckpt.save_checkpoint(
        tmp_path / "checkpoint.npz",
        state["net"],
        state["optimizer"],
        state["config"],
        state["progress"],
    )
    with pytest.raises(ValueError, match="trained on preprocessing 'paper'"):
        train(
            lenet.LeNet5(),
            tiny_data(),
            recipe=replace(recipe, passes=2, preprocessing="unit"),
            out=tmp_path,
            resume=True,
            progress=False,
            echo=None,
        )


def test_pixels_preprocessed_otherwise_than_the_recipe_says_are_refused(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (8, 28, 28), dtype=np.uint8)
    with pytest.raises(ValueError, match="preprocessed as 'unit' but the recipe's .* 'paper'"):
        train(
            lenet.LeNet5(),
            (Preprocessed(pixels, "unit"), np.arange(8)),
            recipe=Recipe(passes=1),
            out=tmp_path / "run",
            progress=False,
            echo=None,
        )
    assert not (tmp_path / "run").exists()
