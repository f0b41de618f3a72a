"""The fused path's calls (network_plan, network_forward, network_workspace, network_train) at
the binding's boundary, driven by Hypothesis (the rules of the comparison: properties.py):
junk in every field of a network description, random batches, orders and values, and every
bad argument refused before any step; and what the properties found: numbers a plan used to
truncate or overflow, fractional orders and images in the parameters' memory."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lenet.engine import _core, fused
from lenet.engine.optim import SGD, Adam, RMSprop

from properties import (
    ERRORS,
    F32,
    F64,
    IGNORE_NUMPY_WARNINGS,
    IN_SHAPE,
    budget,
    converted,
    flags,
    handed,
    raises,
    small_network,
    values,
)

pytestmark = IGNORE_NUMPY_WARNINGS


SPEC_JUNK = [None, True, 1.5, -1, 0, 2**40, "3", (1, 2), [1, 2, 3, 4], np.float64(2.0)]


@budget(0.5)
@given(
    dtype=st.sampled_from([F32, F64]),
    variant=st.sampled_from(["rbf", "logits"]),
    layer=st.integers(0, 3),
    key=st.sampled_from(
        [
            "kind",
            "activation",
            "mode",
            "in_shape",
            "out_shape",
            "k",
            "pad",
            "table",
            "weight",
            "bias",
            "prototypes",
            "missing",
            "extra",
        ]
    ),
    junk=st.sampled_from(SPEC_JUNK),
)
def test_network_plan_refuses_broken_specs(dtype, variant, layer, key, junk):
    """One value of a network description replaced by junk: refused with an error naming the
    layer's place in the spec, or -- when the kernels can still run it safely (a value the layer
    does not use, an offset that still fits) -- planned and run."""
    net = small_network(dtype, variant)
    spec = [dict(d) for d in fused.layer_spec(net)]
    layer %= len(spec)
    if key == "missing":
        del spec[layer]["pad"]
    elif key == "extra":
        spec[layer]["stride"] = 1
    else:
        old = spec[layer][key]
        assume(not (type(old) is int and type(junk) is int and old == junk))
        spec[layer][key] = junk
    try:
        plan = _core.network_plan(spec, net.parameters)
    except ERRORS as exc:
        assert re.search(r"\bspec\b|spec\[\d+\]|last layer", str(exc)), str(exc)
        return
    x = np.random.default_rng(1).standard_normal((2,) + IN_SHAPE).astype(dtype)
    out = _core.network_forward(plan, net.parameters, x)
    assert out.shape[0] == 2 and out.dtype == dtype


@budget(0.5)
@given(
    data=st.data(),
    dtype=st.sampled_from([F32, F64]),
    variant=st.sampled_from(["rbf", "logits"]),
    n=st.integers(0, 6),
    batch=st.one_of(st.integers(1, 8), st.sampled_from([0, -1, 65537, 2.0, True, None])),
    count=st.integers(0, 9),
    vals=values(),
    optimizer=st.sampled_from(["sgd", "adam", "rmsprop"]),
    broken=st.sampled_from(
        [None] * 6 + ["order", "labels", "workspace", "loss", "overlap", "plan"]
    ),
)
def test_network_forward_and_train(data, dtype, variant, n, batch, count, vals, optimizer, broken):
    """network_forward gives the per-layer path's bits (for finite input; the fused kernels
    compute through NaN and Inf, the layers refuse them); network_train runs ceil(count / batch)
    steps unless a loss stops being finite; every bad argument is refused before any step."""
    net = small_network(dtype, variant)
    plan = fused._cached(net)[1]
    images = vals.array((n,) + IN_SHAPE, dtype)
    X = data.draw(handed(images))
    xs = converted(X, dtype)
    batch_ok = type(batch) is int and 1 <= batch <= 65536
    if not batch_ok:
        raises(
            ValueError,
            "batch_size must be an integer",
            _core.network_forward,
            plan,
            net.parameters,
            X,
            batch,
        )
        raises(
            ValueError,
            "batch_size must be an integer",
            _core.network_workspace,
            plan,
            net.parameters,
            batch,
        )
        return
    out = _core.network_forward(plan, net.parameters, X, batch)
    classes = 4 if variant == "rbf" else 5
    assert out.shape == (n, classes) and out.dtype == dtype
    if np.isfinite(xs).all():
        np.testing.assert_array_equal(out, net.forward(xs))

    labels = vals.rng.integers(0, classes, n)
    order = vals.rng.integers(0, n, count) if n else np.zeros(0, np.int64)
    loss = "penalty" if variant == "rbf" else "cross-entropy"
    opt = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}[optimizer](net, lr=0.01)
    workspace = _core.network_workspace(plan, net.parameters, batch)
    args = dict(
        spec=plan,
        params=net.parameters,
        grads=net.gradients,
        optimizer=opt.core_state(),
        images=X,
        labels=labels,
        order=order,
        batch_size=batch,
        loss=loss,
        workspace=workspace,
    )
    start = net.parameters.copy()
    if broken == "order":
        bad = data.draw(
            st.sampled_from(
                [order + n, order - n - 1, order + 0.5, order.reshape(-1, 1), order.astype(complex)]
            )
        )
        assume(bad.size)
        args["order"] = bad
        raises(ERRORS, "order must", _core.network_train, **args)
    elif broken == "labels":
        assume(n)
        args["labels"] = data.draw(
            st.sampled_from([labels + classes, labels[:-1], labels.astype(complex), labels - 0.5])
        )
        raises(ERRORS, "labels must", _core.network_train, **args)
    elif broken == "workspace":
        other = F32 if dtype == F64 else F64
        args["workspace"] = data.draw(
            st.sampled_from(
                [
                    workspace[:-1],
                    workspace.astype(other),
                    workspace.tolist(),
                    np.repeat(workspace, 2)[::2],
                ]
            )
        )
        raises(ValueError, "workspace must be", _core.network_train, **args)
    elif broken == "loss":
        args["loss"] = "cross-entropy" if variant == "rbf" else "penalty"
        raises(ValueError, "does not fit a network", _core.network_train, **args)
    elif broken == "overlap":
        size = n * int(np.prod(IN_SHAPE))
        target = data.draw(st.sampled_from(["images", "workspace", "grads"]))
        if target == "images":
            assume(0 < size <= net.parameters.size)
            args["images"] = net.parameters[:size].reshape((n,) + IN_SHAPE)
            raises(
                ValueError, "params must not share memory with images", _core.network_train, **args
            )
        elif target == "workspace":
            assume(size)
            args["workspace"] = np.zeros(workspace.size + size, dtype)
            args["images"] = args["workspace"][-size:].reshape((n,) + IN_SHAPE)
            raises(
                ValueError,
                "workspace must not share memory with images",
                _core.network_train,
                **args,
            )
        else:
            args["grads"] = net.parameters
            raises(ValueError, "must not share memory", _core.network_train, **args)
    elif broken == "plan":
        other = net.parameters.astype(F32 if dtype == F64 else F64)
        raises(ValueError, "spec was planned for", _core.network_forward, plan, other, xs)
        args["params"] = np.zeros(net.parameters.size + 1, dtype)
        args["grads"] = np.zeros(net.parameters.size + 1, dtype)
        raises(ValueError, "spec was planned for", _core.network_train, **args)
    if broken is not None:
        np.testing.assert_array_equal(net.parameters, start)  # refused before any step
        return
    steps, loss_sum, errors, diverged, updates = _core.network_train(**args)
    planned = -(-order.size // batch)
    assert updates == steps  # one update per step, from 0
    if diverged:  # a step's loss was not finite: it stopped before that step's update
        assert steps < planned
    else:
        assert steps == planned and np.isfinite(loss_sum) and 0 <= errors <= order.size
    if not flags(xs)["special"] and not flags(xs)["huge"]:
        assert not diverged
    if steps == 0:
        np.testing.assert_array_equal(net.parameters, start)


# ---- regressions: what the properties above found -----------------------------------------------


@pytest.mark.parametrize(
    "key,value,pattern",
    [
        ("k", 3.7, r"spec\[0\] k must be an integer from 1 to"),
        ("k", 2**40, r"spec\[0\] k must be an integer"),
        ("pad", 2**40, r"spec\[0\] pad must be an integer from 0 to"),
        ("pad", True, r"spec\[0\] pad must be an integer"),
        ("weight", 0.9, r"spec\[0\]: weight offset must be an integer"),
        ("in_shape", (2, 8.5, 8), r"spec\[0\] in_shape must be an integer"),
        ("in_shape", 8, r"spec\[0\] in_shape must be 3 positive sizes"),
        (
            "out_shape",
            (3, 2**31, 6),
            r"spec\[0\] out_shape must be an integer from 1 to 2147483647",
        ),
    ],
)
def test_plans_refuse_numbers_they_used_to_truncate_or_overflow(key, value, pattern):
    """Floats in a network description were truncated by int() (k = 3.7 ran a 3x3 kernel), and
    sizes beyond an int raised OverflowError; both are ValueErrors naming the place now."""
    net = small_network(F64, "rbf")
    spec = [dict(d) for d in fused.layer_spec(net)]
    spec[0][key] = value
    raises(ValueError, pattern, _core.network_plan, spec, net.parameters)


def test_training_refuses_fractional_order_and_shared_memory():
    """order = [0.5, 1.7] was truncated to [0, 1]; images in the parameters' memory (which the
    steps overwrite) were taken."""
    net = small_network(F64, "logits")
    plan = fused._cached(net)[1]
    opt = SGD(net, lr=0.01)
    args = dict(
        spec=plan,
        params=net.parameters,
        grads=net.gradients,
        optimizer=opt.core_state(),
        images=np.zeros((2,) + IN_SHAPE),
        labels=[0, 1],
        order=[0, 1],
        batch_size=1,
        loss="cross-entropy",
    )
    raises(
        TypeError,
        "order must be integers .* non-integral",
        _core.network_train,
        **{**args, "order": [0.5, 1.7]},
    )
    assert _core.network_train(**{**args, "order": [0.0, 1.0]})[0] == 2  # whole numbers do
    shared = net.parameters[:128].reshape((1,) + IN_SHAPE)
    raises(
        ValueError,
        "params must not share memory with images",
        _core.network_train,
        **{**args, "images": shared, "labels": [0], "order": [0]},
    )
    rbf = small_network(F64, "rbf")
    spec = [dict(d) for d in fused.layer_spec(rbf)]
    spec[-1]["prototypes"] = rbf.gradients[:24].reshape(4, 6)  # read while grads are written
    raises(
        ValueError,
        r"grads must not share memory with spec\[3\] prototypes",
        _core.network_train,
        **{
            **args,
            "spec": _core.network_plan(spec, rbf.parameters),
            "params": rbf.parameters,
            "grads": rbf.gradients,
            "optimizer": SGD(rbf, lr=0.01).core_state(),
            "loss": "penalty",
        },
    )
