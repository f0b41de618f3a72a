"""SDLM (Appendix C, lenet.engine.sdlm): each kind's second-derivative rule against a brute-force
Gauss-Newton diagonal, the whole curvature pass against one, its mean over patterns, the step
sizes and the update, and the paper's schedule."""

from __future__ import annotations

import numpy as np
import pytest

import lenet
from lenet.engine.sdlm import SDLM
from lenet.paper import ETA_SCHEDULE as PAPER_ETA_SCHEDULE

from conftest import LAYER_CASES, layer_case

# ---- one layer: each kind's rule (Layer.backward_second) -----------------------------------------


def _jacobian_squares(layer, x, h, values):
    """sum over the batch and the outputs of h (dy/dv)^2 for each entry v of ``values`` (an
    array the layer reads: a parameter or the input x), by central differences."""
    out = np.zeros(values.shape)
    for k in np.ndindex(values.shape):
        keep = values[k]
        values[k] = keep + 1e-6
        up = layer.forward(x).copy()
        values[k] = keep - 1e-6
        down = layer.forward(x).copy()
        values[k] = keep
        out[k] = np.sum(h * ((up - down) / 2e-6) ** 2)
    return out


def _one_input_a_window(x):
    """x with three of each 2x2 window's four values set to 0: a subsampling unit's
    coefficient then multiplies one input, and Appendix C's rule, which drops the cross terms
    between the inputs sharing the coefficient, is exact."""
    n, maps, h, w = x.shape
    keep = np.random.default_rng(1).integers(0, 4, (n, maps, h // 2, w // 2))
    mask = np.zeros(x.shape, bool)
    for r, c in np.ndindex(2, 2):
        mask[:, :, r::2, c::2] = keep == 2 * r + c
    return x * mask


@pytest.mark.parametrize("case", [c for c in LAYER_CASES if c != "rbf output"])
@pytest.mark.parametrize("seed", [0, 1])
def test_each_kinds_rule_is_the_gauss_newton_diagonal(case, seed):
    """Given h_y = d2E/dy2 (>= 0), the Gauss-Newton diagonal of a layer is
    sum over outputs of h_y (dy/dv)^2, for every parameter v and every input. A layer's units
    each read a weight once, so the rule with squares (Appendix C) drops no term."""
    layer, x = layer_case(case, seed)
    if case.startswith("subsampling"):
        x = _one_input_a_window(x)
    h = np.random.default_rng(seed + 5).uniform(0.1, 2.0, layer.forward(x).shape)
    expected = {name: _jacobian_squares(layer, x, h, p) for name, p in layer.params.items()}
    expected_x = np.stack(
        [_jacobian_squares(layer, x[i : i + 1], h[i : i + 1], x[i : i + 1]) for i in range(len(x))]
    ).reshape(x.shape)
    layer.forward(x)
    hx = layer.backward_second(h)
    np.testing.assert_allclose(hx, expected_x, rtol=1e-6, atol=1e-9)
    for name, values in expected.items():
        np.testing.assert_allclose(layer.curvature[name], values, rtol=1e-6, atol=1e-9)


def test_the_rbf_rule_is_the_penaltys_second_derivative():
    """The RBF layer starts the pass (equation (8)): d2/dx_j2 of sum_i h_i y_i is 2 sum_i h_i,
    exactly (y_i is quadratic in x)."""
    layer, x = layer_case("rbf output")
    h = np.random.default_rng(2).uniform(0, 1, layer.forward(x).shape)

    def energy(z):
        return np.sum(h * layer.forward(z))

    expected = np.zeros(x.shape)
    for k in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[k] += 1e-3
        down[k] -= 1e-3
        expected[k] = (energy(up) - 2 * energy(x) + energy(down)) / 1e-6
    layer.forward(x)
    np.testing.assert_allclose(layer.backward_second(h), expected, rtol=1e-6)


@pytest.mark.parametrize("case", LAYER_CASES)
def test_backward_second_needs_a_forward_and_h_of_ys_shape(case):
    layer, x = layer_case(case)
    with pytest.raises(RuntimeError, match=r"backward_second: call forward first"):
        layer.backward_second(np.ones((2, 1)))
    y = layer.forward(x)
    with pytest.raises(ValueError, match=r"h_y must have the forward output's shape"):
        layer.backward_second(np.ones((3, *y.shape[1:])))
    assert layer.backward_second(np.zeros_like(y)).shape == x.shape


def test_a_kind_without_a_rule_is_refused():
    class Doubling(lenet.Layer):
        def output_shape(self, input_shape):
            return input_shape

        def _forward(self, x):
            return 2 * x

    layer = Doubling("D", "identity", np.float64)
    layer.forward(np.ones((1, 3)))
    with pytest.raises(TypeError, match="SDLM has no second-derivative rule for a Doubling"):
        lenet.sdlm.backward_second(layer, np.ones((1, 3)))


# ---- a network: the curvature pass (estimate_curvature) ------------------------------------------


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


# ---- the optimiser: step sizes and schedule -------------------------------------------------


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


def test_sdlm_needs_patterns():
    with pytest.raises(ValueError, match="patterns"):
        SDLM(lenet.LeNet5()).start_pass(0)
