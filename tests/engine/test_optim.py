"""Optimisers: SDLM's curvature pass against a brute-force Gauss-Newton diagonal, the update
rules against their formulas, C3's gaps, and state round trips."""

from __future__ import annotations

import numpy as np
import pytest

import lenet
from lenet.engine.optim import SGD, Adam, RMSprop
from lenet.engine.sdlm import SDLM
from lenet.paper import ETA_SCHEDULE as PAPER_ETA_SCHEDULE


def two_layer_rbf_net(seed: int) -> lenet.Network:
    """x (6) -> F1 (5, scaled tanh) -> F2 (4, scaled tanh) -> RBF (3 prototypes of +-1)."""
    rng = np.random.default_rng(seed)
    net = lenet.Network(
        [
            lenet.FullConnection(6, 5, name="F1", dtype=np.float64),
            lenet.FullConnection(5, 4, name="F2", dtype=np.float64),
            lenet.RBFOutput(rng.choice([-1.0, 1.0], size=(3, 4)), dtype=np.float64),
        ],
        input_shape=(1, 2, 3),
        dtype=np.float64,
    )
    net.parameters[:] = rng.uniform(-0.8, 0.8, net.parameters.shape)
    return net


def brute_force_gauss_newton_diagonal(net: lenet.Network, x: np.ndarray, eps=1e-6) -> np.ndarray:
    """sum over patterns of 2 sum_j (d s_j / d w_k)^2 / N, s the states feeding the RBF units:
    the Gauss-Newton diagonal of equation (8), whose Hessian in s is 2 I. The Jacobian is taken
    by central differences in float64, one parameter at a time."""

    def states(params):
        keep = net.parameters.copy()
        net.parameters[:] = params
        trace = net.trace(x)
        net.parameters[:] = keep
        return trace[net.layers[-2].name].reshape(len(x), -1)

    base = net.parameters.copy()
    h = np.zeros_like(base)
    for k in range(base.size):
        up, down = base.copy(), base.copy()
        up[k] += eps
        down[k] -= eps
        jac = (states(up) - states(down)) / (2 * eps)  # (N, states)
        h[k] = 2 * np.sum(jac**2) / len(x)
    return h


@pytest.mark.parametrize("seed,batch", [(0, 1), (1, 5), (2, 17)])
def test_curvature_equals_the_gauss_newton_diagonal_where_the_rule_is_exact(seed, batch):
    """With two layers and no shared weights every weight reaches the RBF units through one
    unit, so the paper's diagonal back-propagation (Appendix C) drops no term: its h_kk must
    be the exact Gauss-Newton diagonal."""
    net = two_layer_rbf_net(seed)
    rng = np.random.default_rng(seed + 10)
    x = rng.standard_normal((batch, 1, 2, 3))
    labels = rng.integers(0, 3, batch)
    h = net.estimate_curvature(x, labels).copy()
    expected = brute_force_gauss_newton_diagonal(net, x)
    np.testing.assert_allclose(h, expected, rtol=1e-7, atol=1e-10)


def test_curvature_of_lenet5_is_nonnegative_and_zero_in_the_gaps():
    net = lenet.LeNet5(seed=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.1, 1.175, (20, 1, 32, 32))
    h = net.estimate_curvature(x, rng.integers(0, 10, 20))
    assert np.all(h >= 0)
    assert not np.any(h[~net.parameter_mask])
    assert np.all(h[net.parameter_mask & (np.arange(h.size) >= net._offsets["C1"][1])] >= 0)
    # F6's biases: 2 f'(a)^2, f' = A S (1 - tanh^2): between 0 and 2 (A S)^2
    bias = net.F6.curvature["bias"]
    assert np.all((bias > 0) & (bias <= 2 * (1.7159 * 2 / 3) ** 2 + 1e-12))


def test_curvature_is_the_mean_over_patterns():
    net = two_layer_rbf_net(3)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 1, 2, 3))
    labels = rng.integers(0, 3, 4)
    together = net.estimate_curvature(x, labels).copy()
    one_by_one = np.mean(
        [net.estimate_curvature(x[i : i + 1], labels[i : i + 1]).copy() for i in range(4)], axis=0
    )
    np.testing.assert_allclose(together, one_by_one, rtol=1e-12)


def test_sdlm_step_sizes_and_update():
    net = lenet.LeNet5(seed=0, dtype=np.float64)
    rng = np.random.default_rng(1)
    x = rng.uniform(-0.1, 1.175, (8, 1, 32, 32))
    y = rng.integers(0, 10, 8)
    opt = SDLM(net)
    opt.start_pass(5, (x, y))  # pass 6: eta = 0.0001
    assert opt.lr == PAPER_ETA_SCHEDULE[5] == 1e-4
    h = net.curvature.copy()
    expected = np.where(net.parameter_mask, 1e-4 / (0.02 + h), 0)
    np.testing.assert_allclose(opt.step_sizes, expected, rtol=1e-12)
    low, high = opt.effective_rates()
    assert 0 < low <= high <= 1e-4 / 0.02
    out = net.forward(x[:1])
    _, grad = lenet.losses.rbf_penalty(out, y[:1])
    net.backward(grad)
    before, g = net.parameters.copy(), net.gradients.copy()
    opt.step()
    np.testing.assert_allclose(net.parameters, before - expected * g, rtol=1e-12, atol=1e-15)


def test_paper_schedule():
    assert len(PAPER_ETA_SCHEDULE) == 20
    assert PAPER_ETA_SCHEDULE[:2] == (5e-4, 5e-4)
    assert PAPER_ETA_SCHEDULE[2:5] == (2e-4,) * 3
    assert PAPER_ETA_SCHEDULE[5:8] == (1e-4,) * 3
    assert PAPER_ETA_SCHEDULE[8:12] == (5e-5,) * 4
    assert PAPER_ETA_SCHEDULE[12:] == (1e-5,) * 8


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


def test_sdlm_needs_patterns():
    with pytest.raises(ValueError, match="patterns"):
        SDLM(lenet.LeNet5()).start_pass(0)


def test_learning_rate_decays_per_pass():
    opt = Adam(lenet.LeNet5(), lr=0.01, lr_decay=0.5)
    for epoch, expected in enumerate([0.01, 0.005, 0.0025]):
        opt.start_pass(epoch)
        assert opt.lr == pytest.approx(expected)
