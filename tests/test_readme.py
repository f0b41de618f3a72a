"""The README's examples run as written (so the first thing a newcomer tries works), and its
Python training snippet trains: the library's defaults are the paper recipe's."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

import lenet.data

from conftest import MNIST, needs_mnist

README = Path(__file__).resolve().parents[1] / "README.md"


def test_first_look_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README has no Python example"
    exec(compile(blocks[0], "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "340,908" in printed  # the summary's connection total
    assert "output  (1, 10)" in printed


@needs_mnist
def test_training_snippet_trains(capsys, monkeypatch):
    """The README's Python training snippet, run as written but on the first 5,000 training
    images and 2,000 test images: the defaults (LeNet5(), no recipe) must train to under
    6 % test error (the paper recipe gives 3.9 % there; the literal one sits at chance)."""
    blocks = [
        b
        for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
        if "lenet.train(" in b
    ]
    assert len(blocks) == 1, "the README should have one Python training snippet"
    (x_train, y_train), (x_test, y_test) = lenet.data.load_mnist(root=MNIST, download=False)
    subset = ((x_train[:5000], y_train[:5000]), (x_test[:2000], y_test[:2000]))
    monkeypatch.setattr(lenet.data, "load_mnist", lambda *args, **kwargs: subset)
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    history = namespace["history"]
    assert len(history) == 20 and history[-1]["test_error"] < 0.06, history[-1]
    assert np.isfinite(history[-1]["train_loss"])
    assert "warning" not in capsys.readouterr().out
