"""SDLM's curvature and step sizes in one C call (lenet_network_curvature,
lenet_sdlm_step_sizes) against the layer-by-layer pass: the same bits, for the paper's and the
modern network, float32 and float64, any thread count; and the trace and gradients calls
against the layers' caches."""

from __future__ import annotations

import numpy as np
import pytest

import lenet
from lenet.engine import fused, sdlm
from lenet.engine.lenet5 import LeNet5
from lenet.engine.losses import loss_for


def _net(model, dtype):
    return LeNet5(dtype=dtype) if model == "paper" else LeNet5.modern(dtype=dtype)


def _same_bits(a, b):
    return a.dtype == b.dtype and np.array_equal(a.view(np.uint8), b.view(np.uint8))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("model", ["paper", "modern"])
def test_fused_curvature_and_step_sizes_equal_the_layer_by_layer_pass(model, dtype, threads):
    rng = np.random.default_rng(1)
    net = _net(model, dtype)
    x = rng.standard_normal((40, *net.input_shape))
    labels = rng.integers(0, 10, 40)
    before = lenet.get_num_threads()
    lenet.set_num_threads(threads)
    try:
        by_layer = sdlm._layer_curvature(net, x, labels).copy()
        one_call = sdlm._fused_curvature(net, x, labels).copy()
        assert _same_bits(by_layer, one_call)
        assert _same_bits(sdlm.estimate_curvature(net, x, labels), one_call)  # the one used
        opt = sdlm.SDLM(net, (5e-4,), mu=0.5)
        opt.start_pass(0, (x, labels))
        expected = np.asarray(5e-4 / (0.5 + by_layer), net.dtype) * opt._mask
        if dtype == np.float32:  # NumPy's rule: the Python numbers rounded to float32 first
            expected = np.float32(5e-4) / (np.float32(0.5) + by_layer) * opt._mask
        assert _same_bits(opt.step_sizes, expected.astype(net.dtype))
    finally:
        lenet.set_num_threads(before)
    assert all(layer.y is None for layer in net.layers)  # caches released, as layer by layer


@pytest.mark.parametrize("model", ["paper", "modern"])
def test_trace_and_gradients_equal_the_layers_caches(model):
    rng = np.random.default_rng(2)
    net = _net(model, np.float32)
    x = rng.standard_normal((5, *net.input_shape))
    labels = rng.integers(0, 10, 5)
    out = net.forward(x)
    for layer, (a, y) in zip(net.layers, fused.trace(net, x)):
        assert _same_bits(layer.a.reshape(a.shape), a) and _same_bits(layer.y.reshape(y.shape), y)
    e, grad = loss_for(net)(out, labels)
    net.backward(grad)
    by_layer = net.gradients.copy()
    e2, per_layer = fused.gradients(net, x, labels)
    assert e == e2 and _same_bits(by_layer, net.gradients)
    assert len(per_layer) == len(net.layers)


def test_curvature_needs_patterns():
    net = LeNet5()
    with pytest.raises(ValueError, match="at least one pattern"):
        sdlm.estimate_curvature(net, np.zeros((0, 1, 32, 32)), [])
