"""The command line, end to end: summary, train (progress, checkpoint, Ctrl-C, resume),
evaluate. Training uses a few hundred real MNIST digits from the shared datasets folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import lenet
from lenet.cli import main

from conftest import DATASETS, MNIST, needs_mnist, tiny_data


def run_cli(*args, timeout=300, env=None, **kwargs):
    env = env or {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "lenet.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kwargs,
    )


def test_summary_prints_the_paper_table(capsys):
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "60,000" in out and "340,908" in out
    # its last line says so exactly when the build is serial
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("lenet was built without OpenMP") == (not lenet.openmp_enabled())


def test_a_serial_build_says_so_in_summary_and_in_trains_header(tmp_path, capsys, monkeypatch):
    """A serial build faked (tests/engine/test_serial_build.py), so that an OpenMP build
    shows the lines too; training itself is left out."""
    from lenet.cli import train as train_command
    from lenet.engine import threads

    monkeypatch.setattr(threads, "openmp_enabled", lambda: False)
    note = threads.serial_build_note()
    assert note is not None
    assert main(["summary"]) == 0
    assert capsys.readouterr().out.rstrip().splitlines()[-1] == note
    monkeypatch.setattr(train_command, "load_data", lambda *a, **k: (tiny_data(), tiny_data()))
    monkeypatch.setattr(train_command, "train", lambda *a, **k: [])
    before = lenet.get_num_threads()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert main(["train", "--out", str(tmp_path / "run"), "--threads", "2"]) == 0
    finally:
        monkeypatch.undo()  # the real build again, which takes its thread count back quietly
        lenet.set_num_threads(before)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("training paper LeNet-5 on mnist") and lines[1] == note
    assert not [w for w in caught if "OpenMP" in str(w.message)]  # said once, in the header


@needs_mnist
def test_train_then_evaluate(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--data",
            str(MNIST),
            "--limit",
            "300",
            "--epochs",
            "2",
            "--out",
            str(out),
            "--quiet",
            "--threads",
            "1",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "pass  1" in printed and "pass  2" in printed and "test error" in printed
    assert ("without OpenMP" in printed) == (not lenet.openmp_enabled())
    assert len((out / "log.jsonl").read_text().splitlines()) == 2
    with np.load(out / "checkpoint.npz", allow_pickle=False) as saved:
        assert saved["C3.weight"].shape == (16, 6, 5, 5)
    assert main(["evaluate", str(out), "--offline"]) == 0  # the run remembers its data folder
    printed = capsys.readouterr().out
    assert "test error" in printed and "confusion matrix" in printed
    rows = [line for line in printed.splitlines() if line[:3].strip().isdigit()]
    assert len(rows) == 10
    assert sum(int(v) for row in rows for v in row.split()[1:]) == 10000


@needs_mnist
def test_ctrl_c_writes_a_checkpoint_and_resume_finishes(tmp_path):
    out = tmp_path / "run"
    # enough steps that the pass is still running when the signal comes a second after start:
    # one pattern a step (about 3,000 a second on one thread), not SGD's default batch, which
    # on an idle machine finished the 40,000 patterns before the signal
    args = [
        "train",
        "--data",
        str(MNIST),
        "--limit",
        "20000",
        "--epochs",
        "1",
        "--out",
        str(out),
        "--optimizer",
        "sgd",
        "--lr",
        "0.001",
        "--batch-size",
        "1",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lenet.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as in a terminal: a test run started in the background ignores SIGINT, which its
        # children would inherit (and lenet train keeps ignoring, as a background job should)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    first = proc.stdout.readline()  # printed once the data are loaded, as training starts
    assert first.startswith("training"), (first, proc.stderr.read() if proc.poll() else "")
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout and "--resume" in stdout
    assert "SIGINT: stopping at the next step boundary" in stderr
    state = lenet.run.checkpoint.read_checkpoint(out)
    assert state["progress"]["epoch"] == 0 and 0 < state["progress"]["step"] < 20000
    done = run_cli("train", "--resume", str(out), "--quiet", "--offline")  # data from the run
    assert done.returncode == 0, done.stderr
    assert lenet.run.checkpoint.read_checkpoint(out)["progress"]["epoch"] == 1
    assert json.loads((out / "log.jsonl").read_text().splitlines()[-1])["pass"] == 1


def test_clear_errors(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    (tmp_path / "empty").mkdir()
    done = run_cli(
        "train", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--offline"
    )
    assert done.returncode == 2
    assert "train-images-idx3-ubyte" in done.stderr  # names the missing files
    done = run_cli("evaluate", str(blocker))
    assert done.returncode == 2 and "checkpoint" in done.stderr


def _user_env(tmp_path, **more):
    """A user's environment: LENET_DATA exported (to real data when the tests have it), a
    home and cache of their own, run from a folder of their own."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "LENET_DATA": str(DATASETS),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        **more,
    }


def _created(tmp_path):
    return sorted(
        str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.name not in ("home", "empty")
    )


@pytest.mark.parametrize(
    "options, words",
    [
        (["--epochs", "0"], "--epochs must be a whole number >= 1, got 0"),
        (["--passes", "0"], "--passes must be a whole number >= 1, got 0"),
        (["--epochs", "-3"], "--epochs must be a whole number >= 1, got -3"),
        (["--batch-size", "0"], "--batch-size must be a whole number >= 1, got 0"),
        (["--limit", "0"], "--limit must be a whole number >= 1"),
        (["--lr", "-1"], "--lr must be a number > 0"),
        (["--threads", "0"], "--threads must be a whole number >= 1"),
        (
            ["--model", "lenet1", "--activation", "relu"],
            "--activation applies only when --model is paper or modern",
        ),
        (
            ["--model", "fc-300", "--pooling", "average"],
            "--pooling applies only when --model is paper or modern",
        ),
        (
            ["--model", "lenet1", "--c3", "full"],
            "--c3 applies only when --model is paper or modern",
        ),
        (["--output", "linear"], "--loss penalty does not fit --output linear"),
        (
            ["--output", "rbf", "--loss", "cross-entropy"],
            "--loss cross-entropy does not fit --output rbf",
        ),
        (["--model", "modern", "--init", "lecun98"], "--init applies only when --model is paper"),
        (["--optimizer", "adam", "--mu", "0.1"], "--mu applies only when --optimizer is sdlm"),
        (["--momentum", "0.9"], "--momentum applies only when --optimizer is sgd"),
        (["--j", "10"], "--j applies only when --loss is discriminative"),
        (
            ["--model", "modern", "--loss", "penalty"],
            "--loss penalty does not fit the modern model",
        ),
        (["--recipe", "seed", "--model", "paper"], "--model paper does not fit --recipe seed"),
        (["--data", "/nonexistent/lenet-data"], "--data /nonexistent/lenet-data: no such folder"),
    ],
)
def test_options_are_checked_before_anything_is_made(tmp_path, options, words):
    """Each bad option is refused with its name as typed, before a header is printed, a run
    folder made or data read; nothing is left behind (run from an empty folder)."""
    done = run_cli("train", *options, "--offline", cwd=tmp_path, env=_user_env(tmp_path))
    assert done.returncode == 2, done
    assert done.stderr.startswith("lenet train: error: ") and words in done.stderr
    assert "training" not in done.stdout and done.stdout == ""
    assert _created(tmp_path) == []  # no runs/ folder, no cache folder


def test_a_data_folder_given_must_hold_the_data(tmp_path):
    """--data names the folder to read: one that does not hold MNIST is an error naming it,
    even with LENET_DATA pointing at real data, and no run or cache folder is left."""
    (tmp_path / "empty").mkdir()
    done = run_cli(
        "train",
        "--data",
        str(tmp_path / "empty"),
        "--limit",
        "100",
        "--epochs",
        "1",
        cwd=tmp_path,
        env=_user_env(tmp_path),
        timeout=60,
    )
    assert done.returncode == 2, done.stdout
    assert f"MNIST is not in the folder given (--data {tmp_path / 'empty'})" in done.stderr
    assert "train-images-idx3-ubyte" in done.stderr and "root=" not in done.stderr
    assert _created(tmp_path) == []


def test_not_found_messages_name_the_options(tmp_path):
    env = _user_env(tmp_path, LENET_DATA=str(tmp_path / "nothing-here"))
    done = run_cli("train", "--offline", cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 2
    assert "No download was attempted (--offline)" in done.stderr
    assert "download=False" not in done.stderr and "root=" not in done.stderr
    assert "--data DIR" in done.stderr
    assert _created(tmp_path) == []  # no empty run folder, no empty cache folder


@needs_mnist
def test_a_run_that_fails_leaves_no_run_folder(tmp_path):
    """A run that diverges in its first pass (ReLU with an absurd learning rate) fails with
    exit code 1 and leaves no folder without a checkpoint behind (`lenet evaluate` could not
    read it), nor the runs/ folder made for it."""
    done = run_cli(
        "train",
        "--data",
        str(MNIST),
        "--limit",
        "200",
        "--epochs",
        "1",
        "--model",
        "modern",
        "--activation",
        "relu",
        "--optimizer",
        "sgd",
        "--lr",
        "1e10",
        "--quiet",
        cwd=tmp_path,
        env=_user_env(tmp_path),
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "training diverged" in done.stderr
    assert _created(tmp_path) == []


@needs_mnist
def test_progress_lines_say_which_figures_are_running(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--data",
                str(MNIST),
                "--limit",
                "200",
                "--epochs",
                "1",
                "--out",
                str(tmp_path / "run"),
                "--quiet",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("pass  1"))
    assert "running: loss " in line and ", error " in line
    assert (
        line.index("running:")
        < line.index("after the pass: train error ")
        < line.index(", test error ")
    )


@needs_mnist
def test_a_run_at_chance_says_so_once(tmp_path, capsys):
    """The literal recipe sits at chance (about 90 % error) with finite losses: the run ends
    normally, but one warning line says so and points to the recipes."""
    assert (
        main(
            [
                "train",
                "--recipe",
                "literal",
                "--data",
                str(MNIST),
                "--limit",
                "1000",
                "--epochs",
                "2",
                "--out",
                str(tmp_path / "run"),
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    warnings = [x for x in printed.splitlines() if x.startswith("warning:")]
    assert len(warnings) == 1, printed
    assert "chance" in warnings[0] and "--recipe" in warnings[0] and "+-2.4/F_i" in warnings[0]


@needs_mnist
def test_resume_refuses_changed_options(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data",
                str(MNIST),
                "--limit",
                "50",
                "--epochs",
                "1",
                "--out",
                str(out),
                "--quiet",
                "--optimizer",
                "sgd",
                "--lr",
                "0.001",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--lr", "0.1"]) == 2
    assert "--lr" in capsys.readouterr().err
    assert main(["train", "--data", str(MNIST), "--limit", "50", "--out", str(out)]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--epochs", "2", "--quiet"]) == 0
    assert len((out / "log.jsonl").read_text().splitlines()) == 2


def _run_told_another_preprocessing(folder, config_says):
    """A run folder whose checkpoint's config names another preprocessing than the one its
    network was trained on (its identity): what the studio used to write."""
    recipe = lenet.Recipe(passes=1, optimizer="sgd", lr=0.01, limit=8)
    lenet.train(lenet.LeNet5(), tiny_data(8), recipe=recipe, out=folder, progress=False, echo=None)
    state = lenet.run.checkpoint.read_checkpoint(folder)
    lenet.save_checkpoint(
        folder / "checkpoint.npz",
        state["net"],
        state["optimizer"],
        {**state["config"], "preprocessing": config_says},
        state["progress"],
    )
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("command", [["evaluate"], ["train", "--resume"]])
def test_other_preprocessing_than_the_runs_is_refused_naming_both(tmp_path, capsys, command):
    folder = tmp_path / "run"
    before = _run_told_another_preprocessing(folder, "raw")
    assert main([*command, str(folder), "--offline"]) == 2
    out = capsys.readouterr()
    assert out.err.startswith(f"lenet {command[0]}: error: {folder}: cannot ")
    assert "preprocessing 'raw'" in out.err and "trained on preprocessing 'paper'" in out.err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing written


def test_help_and_train_do_not_load_the_studios_server():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from lenet.cli import main\n"
            "for argv in (['--help'], ['train', '--passes', '0']):\n"
            "    try:\n"
            "        main(argv)\n"
            "    except SystemExit:\n"
            "        pass\n"
            "assert 'http.server' not in sys.modules, 'http.server was imported'\n"
            "assert 'lenet.teach.studio' not in sys.modules, 'the studio was imported'\n",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
