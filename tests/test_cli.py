"""The command line, end to end: summary, train (progress, checkpoint, Ctrl-C, resume),
evaluate. Training uses a few hundred real MNIST digits from the shared datasets folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

import lenet
from lenet.cli import main

from conftest import MNIST, needs_mnist


def run_cli(*args, timeout=300, **kwargs):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "lenet.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, **kwargs)


def test_summary_prints_the_paper_table(capsys):
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "60,000" in out and "340,908" in out


@needs_mnist
def test_train_then_evaluate(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--data", str(MNIST), "--limit", "300", "--epochs", "2", "--out",
                 str(out), "--quiet", "--threads", "1"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "pass  1" in printed and "pass  2" in printed and "test error" in printed
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
    # enough images that the pass is still running when the signal comes a second after start
    args = ["train", "--data", str(MNIST), "--limit", "40000", "--epochs", "1", "--out", str(out),
            "--optimizer", "sgd", "--lr", "0.001"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "lenet.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()  # printed once the data are loaded, as training starts
    assert first.startswith("training"), (first, proc.stderr.read() if proc.poll() else "")
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout and "--resume" in stdout
    assert "SIGINT: stopping at the next step boundary" in stderr
    state = lenet.checkpoint.read_checkpoint(out)
    assert state["progress"]["epoch"] == 0 and 0 < state["progress"]["step"] < 40000
    done = run_cli("train", "--resume", str(out), "--quiet", "--offline")  # data from the run
    assert done.returncode == 0, done.stderr
    assert lenet.checkpoint.read_checkpoint(out)["progress"]["epoch"] == 1
    assert json.loads((out / "log.jsonl").read_text().splitlines()[-1])["pass"] == 1


def test_clear_errors(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = run_cli("train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"),
                   "--offline")
    assert done.returncode == 2
    assert "train-images-idx3-ubyte" in done.stderr  # names the missing files
    done = run_cli("evaluate", str(blocker))
    assert done.returncode == 2 and "checkpoint" in done.stderr


@needs_mnist
def test_resume_refuses_changed_options(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", str(MNIST), "--limit", "50", "--epochs", "1", "--out",
                 str(out), "--quiet", "--optimizer", "sgd", "--lr", "0.001"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--lr", "0.1"]) == 2
    assert "--lr" in capsys.readouterr().err
    assert main(["train", "--data", str(MNIST), "--limit", "50", "--out", str(out)]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--epochs", "2", "--quiet"]) == 0
    assert len((out / "log.jsonl").read_text().splitlines()) == 2
