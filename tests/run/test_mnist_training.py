"""A short, honest training run on real MNIST digits (read from the shared datasets folder):
a few thousand images, one pass, fixed seed; the error on held-out test digits must fall far
below chance (90 %). Skipped where the MNIST files are not beside the project."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import lenet
from lenet.data import load_mnist
from lenet.engine.inputs import preprocess
from lenet.run.training import RECIPES, Recipe, train

from conftest import MNIST, needs_mnist

pytestmark = needs_mnist


@pytest.fixture(scope="module")
def mnist():
    (x_train, y_train), (x_test, y_test) = load_mnist(root=MNIST, download=False)
    return (
        x_train[:4000],
        y_train[:4000].astype(np.int64),
        x_test[:1000],
        y_test[:1000].astype(np.int64),
    )


def test_paper_network_learns_digits_in_one_pass(mnist):
    x_train, y_train, x_test, y_test = mnist
    net = lenet.LeNet5(seed=0)
    recipe = replace(RECIPES["paper"], passes=1)
    history = train(
        net,
        (preprocess(x_train), y_train),
        (preprocess(x_test), y_test),
        recipe,
        progress=False,
        echo=None,
    )
    assert history[-1]["test_error"] < 0.15, history


def test_modern_network_learns_digits_in_one_pass(mnist):
    x_train, y_train, x_test, y_test = mnist
    net = lenet.LeNet5.modern(seed=0, activation="relu")
    recipe = Recipe(
        model="modern",
        activation="relu",
        preprocessing="unit",
        optimizer="adam",
        loss="cross-entropy",
        batch_size=16,
        passes=1,
    )
    history = train(
        net,
        (preprocess(x_train, "unit"), y_train),
        (preprocess(x_test, "unit"), y_test),
        recipe,
        progress=False,
        echo=None,
    )
    assert history[-1]["test_error"] < 0.15, history
