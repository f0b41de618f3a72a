"""Optimisers: the update rules against their formulas, C3's gaps, and state round trips (SDLM's
curvature pass and step sizes are in test_sdlm.py)."""

from __future__ import annotations

import numpy as np
import pytest

import lenet
from lenet.engine.optim import SGD, Adam, RMSprop
from lenet.engine.sdlm import SDLM


def _gradients(net, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(net.gradients.shape) * net.parameter_mask


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_its_formula(momentum):
    net = lenet.LeNet5(seed=0, dtype=np.float64)
    opt = SGD(net, lr=0.05, momentum=momentum)
    w, v = net.parameters.copy(), np.zeros_like(net.parameters)
    for t in range(3):
        g = _gradients(net, t)
        net.gradients[:] = g
        opt.step()
        v = momentum * v - 0.05 * g
        w = w + v
    np.testing.assert_allclose(net.parameters, w, rtol=1e-12, atol=1e-15)


def test_rmsprop_matches_keras():
    net = lenet.LeNet5(seed=0, dtype=np.float64)
    opt = RMSprop(net)
    assert (opt.lr, opt.rho, opt.eps) == (0.001, 0.9, 1e-7)
    w, s = net.parameters.copy(), np.zeros_like(net.parameters)
    for t in range(3):
        g = _gradients(net, t)
        net.gradients[:] = g
        opt.step()
        s = 0.9 * s + 0.1 * g**2
        w = w - 0.001 * g / np.sqrt(s + 1e-7)  # Keras: eps inside the square root
    np.testing.assert_allclose(net.parameters, w, rtol=1e-12, atol=1e-15)


def test_adam_matches_its_formula():
    net = lenet.LeNet5(seed=0, dtype=np.float64)
    opt = Adam(net, lr=0.01)
    w, m, v = net.parameters.copy(), np.zeros_like(net.parameters), np.zeros_like(net.parameters)
    for t in range(1, 4):
        g = _gradients(net, t)
        net.gradients[:] = g
        opt.step()
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        w = w - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(net.parameters, w, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "make", [lambda n: SGD(n, 0.1, 0.9), lambda n: RMSprop(n), lambda n: Adam(n), lambda n: SDLM(n)]
)
def test_c3_gaps_stay_zero_under_every_optimiser(make):
    net = lenet.LeNet5(seed=0)
    opt = make(net)
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.1, 1.175, (4, 1, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, 4)
    opt.start_pass(0, (x, y))
    for i in range(4):
        _, grad = lenet.losses.rbf_penalty(net.forward(x[i : i + 1]), y[i : i + 1])
        net.backward(grad)
        net.gradients[~net.parameter_mask] = 1.0  # even if something wrote there, no step
        opt.step()
    gaps = ~net.C3.connection_table
    assert not np.any(net.C3.params["weight"][gaps])
    assert np.any(net.C3.params["weight"][~gaps])


@pytest.mark.parametrize(
    "make", [lambda n: SGD(n, 0.1, 0.9), lambda n: RMSprop(n), lambda n: Adam(n)]
)
def test_optimiser_state_round_trip(make):
    a, b = lenet.LeNet5(seed=0, dtype=np.float64), lenet.LeNet5(seed=0, dtype=np.float64)
    opt_a, opt_b = make(a), make(b)
    for t in range(2):
        a.gradients[:] = _gradients(a, t)
        opt_a.step()
    opt_b.load_state_dict(opt_a.state_dict())
    b.load_state_dict(a.state_dict())
    for net, opt in ((a, opt_a), (b, opt_b)):
        net.gradients[:] = _gradients(net, 7)
        opt.step()
    assert np.array_equal(a.parameters, b.parameters)


@pytest.mark.parametrize(
    "kwargs,error",
    [
        ({"lr": 0}, ValueError),
        ({"lr": -1}, ValueError),
        ({"lr": float("nan")}, ValueError),
        ({"lr": "0.1"}, TypeError),
        ({"momentum": 1.0}, ValueError),
    ],
)
def test_bad_hyperparameters(kwargs, error):
    with pytest.raises(error):
        SGD(lenet.LeNet5(), **kwargs)


def test_learning_rate_decays_per_pass():
    opt = Adam(lenet.LeNet5(), lr=0.01, lr_decay=0.5)
    for epoch, expected in enumerate([0.01, 0.005, 0.0025]):
        opt.start_pass(epoch)
        assert opt.lr == pytest.approx(expected)
