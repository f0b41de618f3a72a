"""Honest checks (lenet._guard): while a learner's function runs under ``check``, lenet's own
answer to the exercise refuses to run, however it is reached (lenet.reference, a name imported
before the check, lenet.engine._core, a layer object, a network), and the check fails with
the refusal's message; outside that call everything works as before."""

from __future__ import annotations

import numpy as np
import pytest

import lenet
import lenet.reference
import lenet.teach.exercises as ex
from lenet import _guard
from lenet.engine import _core, losses, sdlm
from lenet.engine.layers import SQUASHING, Convolution, FullConnection, RBFOutput, Subsampling
from lenet.engine.network import Network
from lenet.reference import subsample_forward  # bound before any check: still guarded

F64 = np.float64


def _s2_layer(x, coefficient, bias):
    layer = Subsampling(x.shape[1], "paper", dtype=F64)
    layer.params["coefficient"][...] = coefficient
    layer.params["bias"][...] = bias
    layer.forward(x)
    return layer


def _s2_backward_by_layer(x, coefficient, bias, dy):
    layer = _s2_layer(x, coefficient, bias)
    dx = layer.backward(dy)
    return dx, layer.grads["coefficient"], layer.grads["bias"]


def _c3_by_layer(x, weight, bias, connection_table):
    layer = Convolution(6, 16, 5, connection_table=connection_table, dtype=F64)
    layer.params["weight"][...] = weight
    layer.params["bias"][...] = bias
    return layer.forward(x)


def _sdlm_by_layer(x, weight, bias, h_y):
    layer = FullConnection(weight.shape[1], weight.shape[0], dtype=F64)
    layer.params["weight"][...] = weight
    layer.params["bias"][...] = bias
    layer.forward(x)
    h_x = sdlm.backward_second(layer, h_y)
    return h_x, layer.curvature["weight"], layer.curvature["bias"]


def _training_step_by_the_engine(params, image, label, lr, prototypes, connection_table):
    case = dict(
        params=params,
        image=image,
        label=label,
        lr=lr,
        prototypes=prototypes,
        connection_table=connection_table,
    )
    return ex.EXERCISES["training_step"].solve(case)


#: exercise -> (an answer that calls lenet's own implementation, the function the message names)
CHEATS = {
    "squash": (
        lambda a: lenet.reference.activation_forward(a, "scaled_tanh"),
        "lenet.reference.activation_forward",
    ),
    "squash_derivative": (
        lambda a: _core.activation_derivative(a, "scaled_tanh"),
        "lenet.engine._core.activation_derivative",
    ),
    # the issue's example, with the name imported before the check
    "s2_forward": (
        lambda x, coefficient, bias: (
            1.7159 * np.tanh(2 / 3 * subsample_forward(x, coefficient, bias))
        ),
        "lenet.reference.subsample_forward",
    ),
    "s2_backward": (_s2_backward_by_layer, "lenet.engine._core.subsample_backward"),
    "c3_forward": (_c3_by_layer, "lenet.engine._core.conv_forward"),
    "rbf_output": (
        lambda x, prototypes: _core.rbf_forward(x, prototypes),
        "lenet.engine._core.rbf_forward",
    ),
    "rbf_backward": (
        lambda x, prototypes, dy: lenet.reference.rbf_backward(x, prototypes, dy),
        "lenet.reference.rbf_backward",
    ),
    "loss9_gradient": (
        lambda y, labels, j: losses.rbf_discriminative(y, labels, j),
        "lenet.engine._core.loss_rbf_discriminative",
    ),
    "sdlm_second_derivatives": (_sdlm_by_layer, "lenet.engine._core.dense_backward"),
    "training_step": (_training_step_by_the_engine, "lenet.engine._core."),
    "maxpool_backward": (
        lambda x, dy: lenet.reference.subsample_backward(x, dy, mode="max")[0],
        "lenet.reference.subsample_backward",
    ),
    "softmax_cross_entropy_gradient": (
        lambda z, labels: losses.softmax_cross_entropy(z, labels),
        "lenet.engine._core.loss_softmax_cross_entropy",
    ),
}


def test_every_exercise_names_its_answer_and_has_a_cheat():
    assert set(CHEATS) == set(ex.names())
    kernels = {name for name in dir(_core) if not name.startswith("_")}
    kernels |= {n for n in lenet.reference.__all__ if callable(getattr(lenet.reference, n))}
    for name, exercise in ex.EXERCISES.items():
        assert exercise.answer, f"{name} names no lenet function as its answer"
        for kernel in exercise.answer:
            assert kernel == _guard.EVERY or kernel in kernels, (name, kernel)


@pytest.mark.parametrize("name", list(CHEATS))
def test_an_answer_calling_lenet_fails_with_the_refusal(name, capsys):
    cheat, function = CHEATS[name]
    assert not ex.check(name, cheat)
    out = capsys.readouterr().out
    assert f"{name}: FAIL on case 1" in out
    assert "write this one yourself" in out
    assert f"your function called {function}" in out
    assert f"the exercise {name!r}" in out
    assert "your function raised" not in out
    assert not _guard.BLOCKED  # the check closed its block


def test_the_issues_example_through_the_module_attribute(capsys):
    def s2_forward(x, coefficient, bias):
        return 1.7159 * np.tanh(2 / 3 * lenet.reference.subsample_forward(x, coefficient, bias))

    assert not ex.check("s2_forward", s2_forward)
    assert "lenet.reference.subsample_forward" in capsys.readouterr().out


def test_a_caught_refusal_still_fails(capsys):
    def sneaky(a):
        try:
            return _core.activation_forward(a, "scaled_tanh")
        except Exception:
            return 1.7159 * np.tanh(2 / 3 * a)

    assert not ex.check("squash", sneaky)
    assert "write this one yourself" in capsys.readouterr().out


def test_a_whole_network_is_out_of_reach_in_every_check(capsys):
    """A network of the RBF layer alone computes rbf_output's answer on the fused path."""

    def rbf_by_network(x, prototypes):
        net = Network([RBFOutput(prototypes=prototypes, dtype=F64)], (x.shape[1], 1, 1), F64)
        return net.infer(x.reshape(len(x), -1, 1, 1))

    assert not ex.check("rbf_output", rbf_by_network)
    assert "lenet.engine._core.network_forward" in capsys.readouterr().out


def test_the_squashing_table_is_out_of_reach_in_squash(capsys):
    assert not ex.check("squash", SQUASHING["scaled_tanh"].function)
    assert "SQUASHING" in capsys.readouterr().out


def test_other_exercises_functions_stay_usable(capsys):
    """Only the exercise's own answer is blocked: s2_forward may squash with lenet's f."""

    def s2_forward(x, coefficient, bias):
        n, m, h, w = x.shape
        x = x[:, :, : h // 2 * 2, : w // 2 * 2]
        sums = x[:, :, ::2, ::2] + x[:, :, 1::2, ::2] + x[:, :, ::2, 1::2] + x[:, :, 1::2, 1::2]
        a = coefficient[None, :, None, None] * sums + bias[None, :, None, None]
        return lenet.reference.activation_forward(a, "scaled_tanh")

    assert ex.check("s2_forward", s2_forward), capsys.readouterr().out


def test_outside_a_check_nothing_is_blocked():
    x = np.ones((1, 2, 4, 4))
    with pytest.raises(_guard.WriteItYourself):
        with _guard.blocking("s2_forward", ["subsample_forward"]):
            _core.subsample_forward(x, np.ones(2), np.zeros(2))
    assert not _guard.BLOCKED
    assert _core.subsample_forward(x, np.ones(2), np.zeros(2)).shape == (1, 2, 2, 2)
    assert subsample_forward(x, np.ones(2), np.zeros(2)).shape == (1, 2, 2, 2)


def test_the_refusal_names_the_exercise_and_the_function():
    with _guard.blocking("rbf_output", ["rbf_forward"]) as refused:
        with pytest.raises(_guard.WriteItYourself) as caught:
            lenet.reference.rbf_forward(np.zeros((1, 3)), np.ones((2, 3)))
    assert caught.value.exercise == "rbf_output"
    assert caught.value.function == "lenet.reference.rbf_forward"
    assert refused == [caught.value]
    assert ex.WriteItYourself is _guard.WriteItYourself
