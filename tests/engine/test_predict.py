"""Each network knows its input: ``Network.preprocessing``, and ``predict``/``predict_proba`` on
raw uint8 digits through it, the same answers as on the digits preprocessed by hand."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

import lenet
from lenet.engine.inputs import PREPROCESSING

from conftest import needs_mnist


def _digits(rng, n=6):
    """Digit-like uint8 pixels: dark fields with a bright square of ink each."""
    x = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i in range(n):
        r, c = rng.integers(4, 16, 2)
        x[i, r : r + 8, c : c + 6] = 255
    return x


def test_each_network_names_its_preprocessing():
    assert lenet.Network.preprocessing is None  # a custom stack: unknown
    assert lenet.LeNet5().preprocessing == "paper"
    assert lenet.LeNet5.modern().preprocessing == "raw"  # the seed recipe's
    assert lenet.LeNet5.modern(preprocessing="unit").preprocessing == "unit"
    assert lenet.LeNet5(preprocessing="unit").preprocessing == "unit"
    layers = [lenet.FullConnection(4, 3, name="F"), lenet.FullConnection(3, 2, name="G")]
    assert lenet.Network(layers, (1, 2, 2)).preprocessing is None
    assert lenet.Network(layers, (1, 2, 2), preprocessing="unit").preprocessing == "unit"
    for bad in ("Paper", "none", 3):
        with pytest.raises(ValueError, match="preprocessing must be one of 'paper'"):
            lenet.LeNet5.modern(preprocessing=bad)


def test_preprocessing_survives_copies():
    net = lenet.LeNet5.modern(preprocessing="unit")
    assert copy.deepcopy(net).preprocessing == "unit"
    assert pickle.loads(pickle.dumps(net)).preprocessing == "unit"


@pytest.mark.parametrize(
    "make, scheme",
    [
        (lambda: lenet.LeNet5(seed=3), "paper"),
        (lambda: lenet.LeNet5.modern(seed=3), "raw"),
        (lambda: lenet.LeNet5.modern(seed=3, preprocessing="unit"), "unit"),
        (lambda: lenet.LeNet5(seed=3, dtype=np.float64), "paper"),
    ],
)
def test_predict_on_raw_digits_equals_predict_on_preprocessed_ones(rng, make, scheme):
    net = make()
    raw = _digits(rng)
    prepared = lenet.preprocess(raw, scheme, net.dtype)
    assert net.preprocessing == scheme
    assert np.array_equal(net.prepare(raw), prepared)
    assert np.array_equal(net.predict(raw), net.predict(prepared))
    assert np.array_equal(net.predict_proba(raw), net.predict_proba(prepared))
    # one digit (28, 28) is a batch of one
    assert np.array_equal(net.predict(raw[2]), net.predict(prepared[2:3]))
    assert net.predict(raw[2]).shape == (1,)
    assert np.array_equal(net.predict_proba(raw[2]), net.predict_proba(prepared[2:3]))
    # (N, 1, 28, 28) too
    assert np.array_equal(net.predict(raw[:, None]), net.predict(prepared))


def test_the_scheme_is_the_networks_own(rng):
    """Changing net.preprocessing changes what predict feeds the network."""
    net = lenet.LeNet5.modern(seed=1)
    raw = _digits(rng, 20)
    net.preprocessing = "unit"
    unit = net.predict_proba(raw)
    assert np.array_equal(unit, net.predict_proba(lenet.preprocess(raw, "unit")))
    net.preprocessing = "raw"
    assert not np.array_equal(unit, net.predict_proba(raw))


def test_predict_refuses_what_it_cannot_read(rng):
    net = lenet.LeNet5()
    raw = _digits(rng, 2)
    with pytest.raises(ValueError) as bad:
        net.predict(raw[:, :27])
    message = str(bad.value)
    assert "images" in message and "(N, 28, 28)" in message and "(2, 27, 28)" in message
    with pytest.raises(ValueError, match=r"\(N, 28, 28\).*got shape \(2, 3, 28, 28\)"):
        net.predict(np.zeros((2, 3, 28, 28), np.uint8))
    with pytest.raises(TypeError, match="uint8.*got dtype int64"):
        net.predict(raw.astype(np.int64))
    with pytest.raises(TypeError, match="uint8.*got dtype bool"):
        net.predict_proba(raw > 0)
    paper = lenet.LeNet5(seed=4)
    custom = lenet.Network(list(lenet.LeNet5().layers), (1, 32, 32))
    custom.parameters[...] = paper.parameters
    with pytest.raises(ValueError, match="does not know its preprocessing"):
        custom.predict(raw)
    custom.preprocessing = "paper"  # told: it reads them
    assert np.array_equal(custom.predict_proba(raw), paper.predict_proba(raw))
    net.preprocessing = "sharpened"
    with pytest.raises(ValueError, match="preprocessing must be one of"):
        net.predict(raw)


def test_a_colour_network_takes_its_own_raw_size(rng):
    net = lenet.LeNet5.modern(in_channels=3, input_size=32, seed=2)
    raw = rng.integers(0, 256, (4, 3, 32, 32)).astype(np.uint8)
    assert np.array_equal(net.predict(raw), net.predict(raw.astype(np.float32)))
    assert np.array_equal(net.predict(raw[1]), net.predict(raw[1:2].astype(np.float32)))
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\).*got shape \(4, 3, 28, 28\)"):
        net.predict(raw[:, :, :28, :28])


def test_float_input_keeps_working_as_before(rng):
    net = lenet.LeNet5(seed=1)
    x = rng.uniform(-0.1, 1.175, (3, 1, 32, 32)).astype(np.float32)
    assert np.array_equal(net.predict(x), net.classify(net.forward(x)))
    with pytest.raises(ValueError, match="28x28.*lenet.preprocess"):
        net.predict(rng.uniform(0, 1, (2, 28, 28)))


@needs_mnist
@pytest.mark.parametrize("model", ["paper", "modern"])
def test_shipped_networks_read_mnist_digits_as_stored(model):
    from conftest import MNIST

    _, (x_test, y_test) = lenet.data.load_mnist(root=MNIST, download=False)
    net = lenet.pretrained(model)
    recipe = lenet.run.pretrained.shipped(model).recipe
    assert net.preprocessing == recipe.preprocessing
    assert recipe.preprocessing in PREPROCESSING
    raw = x_test[:500]
    predicted = net.predict(raw)
    assert np.array_equal(predicted, net.predict(lenet.preprocess(raw, recipe.preprocessing)))
    assert np.mean(predicted == y_test[:500]) > 0.97


def test_raw_digits_bring_no_warning_that_they_look_unprepared(rng):
    """predict made them by the network's own preprocessing: even a paper network told to read
    raw pixels (0..255, far outside the paper's range) gets no InputWarning from them."""
    net = lenet.LeNet5(seed=1, preprocessing="raw")
    raw = rng.integers(0, 256, (3, 32, 32)).astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.predict(raw)
        lenet.LeNet5(seed=1).predict(_digits(rng))
    with pytest.warns(lenet.InputWarning):  # the same values as floats: it cannot tell
        net.predict(raw[:, None].astype(np.float32))
