"""The independent scorer of Figure 9's study (``lenet.reference_network.figure9_forward``,
``reference_input``, ``checkpoint_penalties``) against the engine: the same input as the
engine's preprocessing, the same penalties within float32 rounding, the same classes."""

from __future__ import annotations

import numpy as np
import pytest

from lenet.data import load_mnist
from lenet.engine.inputs import preprocess
from lenet.engine.lenet5 import build_network
from lenet.reference_network import (
    ARCHITECTURES,
    checkpoint_penalties,
    figure9_forward,
    network_errors,
    reference_input,
)
from lenet.run.checkpoint import save_checkpoint

from conftest import MNIST, needs_mnist

MODELS = ["paper", "lenet1", "lenet4", "fc-300", "fc-1000", "fc-300-100", "fc-500-150"]


def _engine_network(model: str, seed: int = 3):
    """An untrained network whose outputs differ from digit to digit: started in
    +-2.4/sqrt(F_i) (after one short pass from the default start, several of them still answer
    one class for every digit, which would leave the classes untested)."""
    return build_network({"model": model, "seed": seed, "init": "lecun98-sqrt"})


def test_every_network_of_figure9_has_a_reference():
    assert sorted(ARCHITECTURES) == sorted(MODELS)


@pytest.mark.parametrize("scheme", ["paper", "paper-28", "lenet1"])
def test_the_reference_input_is_the_engines_within_float32_rounding(scheme):
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    images[:5] = 0
    images[5:10] = 255
    images[10:20, 4:24, 4:24] = rng.integers(0, 256, (10, 20, 20), dtype=np.uint8)
    images[10:20, :4] = images[10:20, 24:] = 0  # a digit in its 20x20 box, as MNIST's
    ours, engine = reference_input(images, scheme), preprocess(images, scheme)
    assert ours.dtype == np.float64 and ours.shape == engine.shape
    # one float32 rounding apart: each pixel value the same (the steps are 0.005 apart)
    assert np.abs(ours - engine).max() <= 1e-7
    if scheme == "lenet1":  # the 16x16 digit: nothing left outside its 16x16 box
        field = ours[10:20, 0]
        assert np.all(field[:, :6] == -0.1) and np.all(field[:, 22:] == -0.1)
        assert np.any(field[:, 6:22, 6:22] > -0.1)


@needs_mnist
def test_the_reference_input_of_every_mnist_test_digit_is_the_engines():
    _, (x, _) = load_mnist(MNIST.parent, download=False)
    for scheme in ("paper-28", "lenet1"):
        assert np.abs(reference_input(x, scheme) - preprocess(x, scheme)).max() <= 1e-7


@needs_mnist
@pytest.mark.parametrize("model", MODELS)
def test_the_reference_forward_is_the_engines(model, tmp_path):
    """300 MNIST test digits: the penalties within float32 rounding, the classes the same on
    all but at most one (a near tie may round either way); and the same through a checkpoint
    file read by np.load."""
    net = _engine_network(model)
    _, (x, _) = load_mnist(MNIST.parent, download=False)
    scheme = ARCHITECTURES[model][0]
    x = x[:300]
    engine = net.infer(preprocess(x, scheme)).astype(np.float64)
    ours = figure9_forward(model, net.state_dict(), reference_input(x, scheme))
    assert ours.shape == (300, 10)
    scale = np.abs(ours).max()
    assert np.abs(ours - engine).max() <= 1e-5 * scale, model
    assert np.sum(ours.argmin(axis=1) != engine.argmin(axis=1)) <= 1
    assert ours.std(axis=0).min() > 1e-2 * scale  # each penalty depends on the digit
    assert len(set(ours.argmin(axis=1))) >= 3  # and so does the class
    save_checkpoint(tmp_path / "checkpoint.npz", net, config={"preprocessing": scheme})
    read_model, penalties = checkpoint_penalties(tmp_path, x)
    assert read_model == model and np.array_equal(penalties, ours)


@pytest.mark.parametrize("model", ["fc-300", "modern"])
def test_network_errors_counts_the_wrong_answers_as_the_engine_classifies(model):
    """An RBF output answers by its smallest penalty, another by its largest output; 600
    inputs, so the count runs over two batches of 500."""
    net = _engine_network(model)
    x = np.random.default_rng(7).uniform(-0.1, 1.175, (600, *net.input_shape))
    labels = net.classify(net.infer(x.astype(np.float32)))
    wrong = np.arange(3, 600, 16)  # 38 labels changed, in both batches
    labels[wrong] = (labels[wrong] + 1) % 10
    assert network_errors(net, x, labels) == len(wrong)


def test_the_scorer_refuses_what_it_does_not_know(tmp_path):
    net = build_network({"model": "fc-300", "seed": 0})
    state = net.state_dict()
    with pytest.raises(ValueError, match="no reference for model 'modern'"):
        figure9_forward("modern", state, np.zeros((1, 1, 28, 28)))
    with pytest.raises(ValueError, match="keys it has no use for"):
        figure9_forward(
            "fc-300", {**state, "H2.weight": state["H1.weight"]}, np.zeros((1, 1, 28, 28))
        )
    with pytest.raises(ValueError, match="hold no 'H1.bias'"):
        figure9_forward("fc-300", {"H1.weight": state["H1.weight"]}, np.zeros((1, 1, 28, 28)))
    save_checkpoint(tmp_path / "checkpoint.npz", net, config={"preprocessing": "raw"})
    with pytest.raises(ValueError, match="trained on preprocessing 'raw'"):
        checkpoint_penalties(tmp_path, np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        reference_input(np.zeros((1, 28, 28)), "paper")
