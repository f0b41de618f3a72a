"""Looking inside a network: trace with gradients, and the layers' hooks at work in a network and
in training (the hooks themselves, and explain(), are in test_layers.py)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import lenet
from lenet.engine import losses
from lenet.engine.fused import NotFusable
from lenet.run.training import Recipe

from conftest import assert_close, paper_digits, reference_backward

LAYERS = ["C1", "S2", "C3", "S4", "C5", "F6", "output"]


def _nets(dtype=np.float64):
    return {
        "paper": lenet.LeNet5(seed=1, dtype=dtype),
        "modern": lenet.LeNet5.modern(input_size=32, seed=1, dtype=dtype),
    }


# ---- trace with gradients --------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant,loss",
    [("paper", None), ("paper", "penalty"), ("paper", "discriminative"), ("modern", None)],
)
@pytest.mark.parametrize("n", [1, 3])
def test_trace_gradients_match_the_reference(variant, loss, n):
    net = _nets()[variant]
    x = paper_digits()[:n]
    labels = np.arange(n) % 10
    trace = net.trace(x, label=labels, loss=loss)
    assert list(trace) == ["input", *LAYERS]
    assert list(trace.state_gradients) == ["input", *LAYERS]
    out = trace["output"]
    if variant == "modern":
        expected_loss, grad = losses.softmax_cross_entropy(out, labels)
    elif loss == "discriminative":
        expected_loss, grad = losses.rbf_discriminative(out, labels, 1.0)
    else:
        expected_loss, grad = losses.rbf_penalty(out, labels)
    assert trace.loss == pytest.approx(expected_loss, rel=1e-12)
    assert trace.loss_name == (loss or ("penalty" if variant == "paper" else "cross-entropy"))
    dx, grads = reference_backward(net, x, grad)
    assert_close(trace.state_gradients["input"], dx, np.float64, what="dE/dinput")
    assert_close(trace.state_gradients["output"], grad, np.float64, what="dE/doutput")
    assert list(trace.parameter_gradients) == list(net.state_dict())
    for key, expected in grads.items():
        assert_close(trace.parameter_gradients[key], expected, np.float64, what=key)
    for name in LAYERS:  # each state gradient has its state's shape
        assert trace.state_gradients[name].shape == trace[name].shape


def test_trace_gradients_agree_with_finite_differences():
    """dE/d(parameter) and dE/d(input) of the traced loss, against central differences."""
    net = lenet.LeNet5(seed=2, dtype=np.float64, init="lecun98-sqrt")
    x, label = paper_digits()[4:5], 4
    trace = net.trace(x, label=label)
    rng = np.random.default_rng(0)

    def loss_at(image):
        return losses.rbf_penalty(net.forward(image), np.array([label]))[0]

    eps = 1e-6
    for key in ["C1.weight", "S2.coefficient", "C3.weight", "C5.bias", "F6.weight"]:
        layer, pname = key.split(".")
        arr = getattr(net, layer).params[pname].reshape(-1)
        mask = getattr(net, layer).parameter_mask()[pname].reshape(-1)
        for i in rng.choice(np.flatnonzero(mask), 4, replace=False):
            keep = arr[i]
            arr[i] = keep + eps
            up = loss_at(x)
            arr[i] = keep - eps
            down = loss_at(x)
            arr[i] = keep
            numeric = (up - down) / (2 * eps)
            got = trace.parameter_gradients[key].reshape(-1)[i]
            assert got == pytest.approx(numeric, rel=1e-5, abs=1e-8), (key, i)
    for i in rng.choice(32 * 32, 4, replace=False):
        bump = np.zeros(32 * 32)
        bump[i] = eps
        bump = bump.reshape(1, 1, 32, 32)
        numeric = (loss_at(x + bump) - loss_at(x - bump)) / (2 * eps)
        got = trace.state_gradients["input"].reshape(-1)[i]
        assert got == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_trace_leaves_the_networks_gradients_alone():
    net = lenet.LeNet5(seed=0, dtype=np.float64)
    net.gradients[...] = np.arange(net.gradients.size)
    before = net.gradients.copy()
    trace = net.trace(paper_digits()[:1], label=0)
    np.testing.assert_array_equal(net.gradients, before)
    assert np.abs(trace.parameter_gradients["C1.weight"]).sum() > 0


def test_trace_arrays_are_copies():
    net = lenet.LeNet5(seed=0, dtype=np.float64)
    trace = net.trace(paper_digits()[:1], label=1)
    keep = {k: v.copy() for k, v in trace.state_gradients.items()}
    net.trace(paper_digits()[5:6], label=5)
    for key, value in keep.items():
        np.testing.assert_array_equal(trace.state_gradients[key], value)


def test_trace_without_label_has_no_gradients():
    trace = lenet.LeNet5().trace(paper_digits(np.float32)[:1], pre_activations=True)
    assert trace.loss is None and not trace.state_gradients and not trace.parameter_gradients
    assert list(trace)[:3] == ["input", "C1.a", "C1"]


@pytest.mark.parametrize(
    "label,message",
    [
        (10, "label must be a class in [0, 10)"),
        (-1, "in [0, 10)"),
        (2.5, "label must be"),
        ([1, 2], "label must be a class"),
    ],
)
def test_trace_refuses_bad_labels(label, message):
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        lenet.LeNet5().trace(paper_digits(np.float32)[:1], label=label)


def test_trace_refuses_a_loss_that_does_not_fit_the_output():
    with pytest.raises(ValueError, match="cross-entropy"):
        lenet.LeNet5().trace(paper_digits(np.float32)[:1], label=1, loss="cross-entropy")
    with pytest.raises(ValueError, match="logits"):
        lenet.LeNet5.modern(input_size=32).trace(
            paper_digits(np.float32)[:1], label=1, loss="penalty"
        )
    with pytest.raises(ValueError, match="give label too"):
        lenet.LeNet5().trace(paper_digits(np.float32)[:1], loss="penalty")
    with pytest.raises(ValueError, match="j is the constant of the discriminative loss"):
        lenet.LeNet5().trace(paper_digits(np.float32)[:1], label=1, j=5.0)
    with pytest.raises(ValueError, match="at least one"):
        lenet.LeNet5().trace(np.zeros((0, 1, 32, 32), np.float32), label=np.zeros(0, int))


def test_trace_copy_keeps_the_gradients():
    trace = lenet.LeNet5().trace(paper_digits(np.float32)[:1], label=1)
    for other in (trace.copy(), copy.copy(trace), copy.deepcopy(trace)):
        assert list(other) == list(trace) and other.loss == trace.loss
        assert list(other.state_gradients) == list(trace.state_gradients)
        assert list(other.parameter_gradients) == list(trace.parameter_gradients)


# ---- hooks -------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["paper", "modern"])
def test_forward_hooks_see_every_layer_in_order(variant):
    net = _nets(np.float32)[variant]
    seen = []
    handles = [
        layer.register_forward_hook(lambda layer, x, y: seen.append((layer.name, x.shape, y.shape)))
        for layer in net
    ]
    x = paper_digits(np.float32)[:2]
    out = net.forward(x)
    trace = net.trace(x)
    assert [name for name, _, _ in seen] == LAYERS * 2
    for name, _xs, ys in seen[: len(LAYERS)]:
        assert ys == trace[name].shape
    assert seen[0][1] == x.shape
    for handle in handles:
        handle.remove()
    net.forward(x)
    assert len(seen) == 2 * len(LAYERS)  # removed: not called again
    np.testing.assert_array_equal(out, net.forward(x))


def test_backward_hooks_see_the_gradients():
    net = lenet.LeNet5(seed=0, dtype=np.float64)
    got = {}

    def watch(layer, dy, dx):
        got[layer.name] = (dy.copy(), dx.copy(), layer.grads.get("weight", np.zeros(0)).copy())

    with net.C3.register_backward_hook(watch), net.output.register_backward_hook(watch):
        trace = net.trace(paper_digits()[:1], label=3)
    np.testing.assert_array_equal(got["C3"][0], trace.state_gradients["C3"])
    np.testing.assert_array_equal(got["C3"][1], trace.state_gradients["S2"])
    np.testing.assert_array_equal(got["C3"][2], trace.parameter_gradients["C3.weight"])
    np.testing.assert_array_equal(got["output"][1], trace.state_gradients["F6"])
    assert not net.C3.has_hooks and not net.output.has_hooks  # the with-blocks removed them


def test_hooks_run_inside_training_and_inference():
    """A hooked network trains layer by layer (the fused C path would skip the hooks), to the
    same bits as the fused path."""
    x = paper_digits(np.float32)
    y = np.arange(10)
    recipe = Recipe(passes=1, init="lecun98-sqrt", mu=0.5, curvature_patterns=10)
    hooked, plain = lenet.LeNet5(seed=3), lenet.LeNet5(seed=3)
    forward_calls, backward_calls = [], []
    hooked.F6.register_forward_hook(lambda layer, a, b: forward_calls.append(a.shape[0]))
    hooked.C1.register_backward_hook(lambda layer, a, b: backward_calls.append(b.shape[0]))
    lenet.train(hooked, (x, y), recipe=recipe, progress=False, echo=None)
    lenet.train(plain, (x, y), recipe=recipe, progress=False, echo=None)
    np.testing.assert_array_equal(hooked.parameters, plain.parameters)
    assert backward_calls == [1] * 10  # one backward per pattern (batch 1)
    assert sum(n for n in forward_calls) >= 10  # steps, curvature estimate, evaluation
    with pytest.raises(NotFusable, match="layers C1, F6 have hooks"):
        lenet.train(hooked, (x, y), recipe=recipe, progress=False, echo=None, fused=True)
    before = len(forward_calls)
    hooked.infer(x)
    assert len(forward_calls) == before + 1
