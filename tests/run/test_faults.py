"""Faults during training: a killed process, a full disk, a diverging run.

A training run must survive SIGKILL at any moment, including in the middle of writing a
checkpoint: the run folder always holds a loadable checkpoint (or none yet), and resuming ends
with bitwise the same weights as a run that was never interrupted. The child process is
``tests/run/train_child.py``.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import lenet
from lenet.run import checkpoint as ckpt
from lenet.run.training import Recipe, TrainingDiverged

from conftest import paper_digits
from train_child import EPOCHS

CHILD = Path(__file__).with_name("train_child.py")


def _child(out: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ)
    src = Path(lenet.__file__).resolve().parents[1]  # the lenet the tests import
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(out), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _finish(out: Path) -> np.ndarray:
    """Run the child in `out` to the end (resuming), return its final weights."""
    proc = _child(out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    return np.load(out / "final.npy")


@pytest.fixture(scope="module")
def uninterrupted_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("uninterrupted")
    _finish(out)
    return out


@pytest.fixture(scope="module")
def uninterrupted(uninterrupted_run) -> np.ndarray:
    return np.load(uninterrupted_run / "final.npy")


def _assert_loadable_or_absent(out: Path) -> int:
    """The folder's checkpoint loads (or there is none yet); returns the passes it holds."""
    if not (out / "checkpoint.npz").exists():
        return 0
    state = ckpt.read_checkpoint(out / "checkpoint.npz")
    assert np.all(np.isfinite(state["net"].parameters))
    history = state["progress"]["history"]
    log = (out / "log.jsonl").read_text().splitlines() if (out / "log.jsonl").exists() else []
    assert len(log) <= len(history)  # the log never runs ahead of the checkpoint
    return state["progress"]["epoch"]


@pytest.mark.parametrize("point", ["mid-write", "before-rename", "log-append"])
@pytest.mark.parametrize("save", [1, 3])
def test_sigkill_at_a_checkpoint_write_then_resume(tmp_path, uninterrupted, point, save):
    proc = _child(tmp_path, "--pause-at", point, "--on-save", str(save))
    deadline = time.monotonic() + 120
    while not (tmp_path / "paused").exists():
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline, "the child never reached the pause point"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (tmp_path / "paused").unlink()
    passes = _assert_loadable_or_absent(tmp_path)
    # the checkpoint in place is the last whole one: the one being written is not there
    expected = save if point == "log-append" else save - 1
    assert passes == expected
    np.testing.assert_array_equal(_finish(tmp_path), uninterrupted)
    assert not list(tmp_path.glob("*.tmp")), "a stale temporary file was left behind"
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == EPOCHS


def _passes_logged(out: Path) -> int:
    try:
        return len((out / "log.jsonl").read_text().splitlines())
    except FileNotFoundError:
        return 0


def test_sigkill_at_random_moments_then_resume(tmp_path, uninterrupted_run, uninterrupted):
    """Kill the run again and again, each time at a random moment of the pass after the one it
    has just finished (so that it moves on whatever the machine's speed), resuming each time,
    until it ends: every kill leaves a loadable folder, and the end is the same bits."""
    rng = np.random.default_rng(7)
    log = (uninterrupted_run / "log.jsonl").read_text().splitlines()
    pass_seconds = float(np.median([json.loads(line)["seconds"] for line in log]))
    kills = 0
    for _attempt in range(20):
        before = _passes_logged(tmp_path)
        proc = _child(tmp_path)
        while _passes_logged(tmp_path) == before and proc.poll() is None:
            time.sleep(0.005)
        try:
            proc.wait(timeout=rng.uniform(0.0, 1.5 * pass_seconds))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            _assert_loadable_or_absent(tmp_path)
            continue
        assert proc.returncode == 0, proc.communicate()[1].decode()
        break
    else:
        pytest.fail("the run never finished")
    assert kills >= 3, f"only {kills} kills landed before the run finished"
    np.testing.assert_array_equal(np.load(tmp_path / "final.npy"), uninterrupted)


# ---- a full disk ----------------------------------------------------------------------


def _tiny_data():
    x = paper_digits(np.float32)
    return (x, np.arange(10)), (x, np.arange(10))


def test_the_disk_filling_up_mid_run_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    real_savez, calls = ckpt.np.savez, []

    def savez(f, **arrays):
        calls.append(1)
        if len(calls) == 2:
            f.write(b"PK\x03\x04 partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        real_savez(f, **arrays)

    monkeypatch.setattr(ckpt.np, "savez", savez)
    recipe = Recipe(passes=3, init="lecun98-sqrt", mu=0.5, curvature_patterns=10)
    with pytest.raises(OSError, match="No space left on device"):
        lenet.train(lenet.LeNet5(), *_tiny_data(), recipe, out=tmp_path, progress=False, echo=None)
    state = ckpt.read_checkpoint(tmp_path / "checkpoint.npz")
    assert state["progress"]["epoch"] == 1
    assert not list(tmp_path.glob("*.tmp"))
    one_pass = lenet.LeNet5()
    lenet.train(
        one_pass,
        *_tiny_data(),
        Recipe(**{**recipe.__dict__, "passes": 1}),
        progress=False,
        echo=None,
    )
    np.testing.assert_array_equal(state["net"].parameters, one_pass.parameters)


# ---- divergence ------------------------------------------------------------------------------


def _exploding_recipe() -> Recipe:
    # pass 1 at a sane rate, pass 2 at 1e6 times it: the weights blow up in pass 2
    return Recipe(
        model="modern",
        activation="relu",
        optimizer="sgd",
        loss="cross-entropy",
        lr=0.01,
        lr_decay=1e6,
        batch_size=2,
        passes=3,
    )


@pytest.mark.parametrize("fused", [True, False])
def test_divergence_names_pass_step_and_layer_and_keeps_the_last_good_checkpoint(tmp_path, fused):
    x = paper_digits(np.float32)
    data = (x, np.arange(10))
    net = lenet.LeNet5.modern(input_size=32, seed=0, activation="relu")
    with pytest.raises(TrainingDiverged) as caught:
        lenet.train(
            net,
            data,
            data,
            _exploding_recipe(),
            out=tmp_path,
            progress=False,
            echo=None,
            fused=fused,
        )
    message = str(caught.value)
    assert "in pass 2, step" in message
    assert "layer " in message and "NaN or Inf" in message
    assert "last good checkpoint, written after pass 1" in message
    state = ckpt.read_checkpoint(tmp_path / "checkpoint.npz")
    assert state["progress"]["epoch"] == 1 and np.all(np.isfinite(state["net"].parameters))
    reference = lenet.LeNet5.modern(input_size=32, seed=0, activation="relu")
    lenet.train(
        reference,
        data,
        data,
        Recipe(**{**_exploding_recipe().__dict__, "passes": 1}),
        progress=False,
        echo=None,
        fused=fused,
    )
    np.testing.assert_array_equal(state["net"].parameters, reference.parameters)
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 1


def test_non_finite_weights_are_traced_to_their_layer(tmp_path):
    """An update that writes NaN into C3 stops the run at the next step, naming C3's weights."""
    net = lenet.LeNet5(seed=0, init="lecun98-sqrt")
    recipe = Recipe(passes=1, optimizer="sgd", lr=0.01)
    optimizer = lenet.run.recipes.make_optimizer(net, recipe)
    real_step, steps = optimizer.step, []

    def step():
        real_step()
        steps.append(1)
        if len(steps) == 4:
            net.C3.params["weight"][0, 0, 0, 0] = np.nan

    optimizer.step = step  # an instance attribute: the fused path refuses it, runs per layer
    x = paper_digits(np.float32)
    with pytest.raises(
        TrainingDiverged,
        match=r"pass 1, step 5: layer C3: 1 of its 2400 weight "
        r"values are NaN or Inf",
    ):
        lenet.train(
            net,
            (x, np.arange(10)),
            recipe=recipe,
            optimizer=optimizer,
            out=tmp_path,
            progress=False,
            echo=None,
            fused=False,
        )
    assert not (tmp_path / "checkpoint.npz").exists()
