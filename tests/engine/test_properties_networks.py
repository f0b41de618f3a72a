"""Every layer class on its own, and LeNet5 and LeNet5.modern whole (forward, backward, infer,
trace), driven by Hypothesis (the rules of the comparison: properties.py): random shapes,
dtypes, layouts, values and activations, each layer checked against lenet.reference at its
own input."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import lenet
from lenet import reference as R
from lenet.engine import _core
from lenet.engine.layers import Convolution, FullConnection, RBFOutput, Subsampling
from lenet.engine.sdlm import backward_second

from properties import (
    ERRORS,
    F32,
    F64,
    IGNORE_NUMPY_WARNINGS,
    LAYOUTS,
    budget,
    check,
    f64,
    flags,
    handed,
    present,
    quiet,
    raises,
    ref_conv_backward,
    ref_conv_forward,
    values,
)

pytestmark = IGNORE_NUMPY_WARNINGS


# ---- layers -------------------------------------------------------------------------------------


def ref_layer_forward(layer, x):
    """(a, y) of `layer` for the input x, by lenet.reference, in float64."""
    x = f64(x)
    p = {k: f64(v) for k, v in layer.params.items()}
    if isinstance(layer, Convolution):
        a = ref_conv_forward(x, p["weight"], p["bias"], layer._table_for_core, layer.padding)
    elif isinstance(layer, Subsampling):
        a = R.subsample_forward(x, p.get("coefficient"), p.get("bias"), layer.mode)
    elif isinstance(layer, FullConnection):
        a = R.dense_forward(x.reshape(x.shape[0], layer.in_features), p["weight"], p["bias"])
    else:
        a = R.rbf_forward(x, f64(layer.prototypes))
    return a, R.activation_forward(a, layer.activation)


def ref_layer_backward(layer, x, a, dy):
    """(dx, {name: gradient}) of `layer` at its input x and sums a, for dy, by the reference."""
    x, a, dy = f64(x), f64(a), f64(dy)
    p = {k: f64(v) for k, v in layer.params.items()}
    da = R.activation_backward(a, dy, layer.activation)
    if isinstance(layer, Convolution):
        dx, dw, db = ref_conv_backward(x, p["weight"], da, layer._table_for_core, layer.padding)
        return dx, {"weight": dw, "bias": db}
    if isinstance(layer, Subsampling):
        dx, dc, db = R.subsample_backward(x, da, p.get("coefficient"), layer.mode)
        return dx, ({"coefficient": dc, "bias": db} if layer.mode == "paper" else {})
    if isinstance(layer, FullConnection):
        dx, dw, db = R.dense_backward(x.reshape(x.shape[0], layer.in_features), p["weight"], da)
        return dx.reshape(x.shape), {"weight": dw, "bias": db}
    return R.rbf_backward(x, f64(layer.prototypes), da), {}


def check_layer(layer, x, fl, what, dy=None, dx=None):
    """The layer's last forward (its sums layer.a and states layer.y for the input x) and, with
    dy, its backward (dx and layer.grads) against the reference, at the layer's own cached input
    and sums: so each layer is checked on its own (and max pooling's ties are decided alike)."""
    dtype = layer.dtype
    e_a, _ = quiet(ref_layer_forward, layer, x)
    check(layer.a, e_a.astype(dtype), dtype, f"{what} a", spurious_nan=True, **fl)
    e_y = quiet(R.activation_forward, f64(layer.a), layer.activation).astype(dtype)
    check(layer.y, e_y, dtype, f"{what} y")
    if dy is None:
        return
    e_dx, e_grads = quiet(ref_layer_backward, layer, layer._x.reshape(np.shape(x)), layer.a, dy)
    check(dx, e_dx.astype(dtype), dtype, f"{what} dx", spurious_nan=True, **fl)
    for name, e in e_grads.items():
        check(layer.grads[name], e.astype(dtype), dtype, f"{what} d{name}", spurious_nan=True, **fl)


def _layer_input(data, vals, shape, dtype):
    """The input as a caller might pass it, and its values in the layer's dtype (None when the
    layer must refuse it)."""
    x = vals.array(shape, dtype, scale=1.5)
    layout = data.draw(st.sampled_from(LAYOUTS + ("float64", "float32")))
    with np.errstate(over="ignore"):
        X = x.astype(layout) if layout in ("float64", "float32") else present(x, layout)
        xs = np.asarray(X).astype(dtype)
    return X, xs


@budget(0.5)
@given(
    data=st.data(),
    kind=st.sampled_from(["conv", "paper", "average", "max", "dense", "rbf"]),
    n=st.integers(0, 3),
    maps=st.integers(1, 3),
    out_maps=st.integers(1, 3),
    k=st.integers(1, 5),
    padding=st.integers(0, 2),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    activation=st.sampled_from(_core.ACTIVATIONS),
    dtype=st.sampled_from([F32, F64]),
    vals=values(),
    table_density=st.sampled_from([None, 0.2, 0.6]),
)
def test_layers(
    data, kind, n, maps, out_maps, k, padding, h, w, activation, dtype, vals, table_density
):
    rng = vals.rng
    if kind == "conv":
        table = None if table_density is None else rng.random((out_maps, maps)) < table_density
        if table is not None and not table.any(axis=1).all():
            raises(
                ValueError,
                "connection_table: every output map needs",
                Convolution,
                maps,
                out_maps,
                k,
                padding,
                table,
            )
            table[:, 0] = True
        layer = Convolution(maps, out_maps, k, padding, table, activation, dtype, name="C")
        shape = (n, maps, h, w)
    elif kind == "dense":
        layer = FullConnection(maps * h, out_maps, activation, dtype, name="F")
        shape = data.draw(st.sampled_from([(n, maps * h), (n, maps, h), (n, h, maps, 1)]))
    elif kind == "rbf":
        protos = np.sign(rng.standard_normal((out_maps + 1, maps * h)))
        layer = RBFOutput(protos, dtype, name="R")
        shape = (n, maps * h)
    else:
        layer = Subsampling(maps, kind, activation, dtype, name="S")
        shape = (n, maps, h, w)
    layer.init_parameters(rng, data.draw(st.sampled_from(["lecun98", "lecun98-sqrt", "glorot"])))
    X, xs = _layer_input(data, vals, shape, dtype)
    where = f"{layer.name}.forward"
    if not np.isfinite(xs).all():
        raises(ValueError, rf"{where}: x contains \d+ non-finite", layer.forward, X)
        return
    too_small = (kind == "conv" and (k > h + 2 * padding or k > w + 2 * padding)) or (
        kind in ("paper", "average", "max") and (h < 2 or w < 2)
    )
    if too_small:
        raises(ValueError, "kernel is larger than the padded input|at least 2x2", layer.forward, X)
        return
    y = layer.forward(X)
    assert y.dtype == dtype and y.flags.c_contiguous and y is layer.y
    check_layer(layer, xs, flags(xs), kind)
    dy = vals.array(y.shape, dtype)
    if not np.isfinite(dy).all():
        raises(
            ValueError, rf"{layer.name}.backward: dy contains \d+ non-finite", layer.backward, dy
        )
        return
    bad = data.draw(st.sampled_from([None, None, None, "shape", "dtype"]))
    if bad == "shape":
        raises(
            ValueError,
            "dy must have the forward output's shape",
            layer.backward,
            np.zeros(y.shape + (1,)),
        )
    elif bad == "dtype":
        raises(TypeError, "dy must hold real numbers", layer.backward, dy.astype(complex))
    DY = data.draw(handed(dy))
    dx = layer.backward(DY)
    assert dx.shape == np.shape(X) and dx.dtype == dtype
    ds = np.asarray(DY).astype(dtype)
    check_layer(layer, xs, flags(xs, ds), kind, ds, dx)
    # backward_second checks its h_y as backward checks dy
    h_y = np.abs(vals.array(y.shape, dtype, plain=True))
    assert np.shape(backward_second(layer, h_y)) == np.shape(X)
    if h_y.size:
        h_y.flat[0] = np.nan
        raises(
            ValueError,
            rf"{layer.name}.backward_second: h_y contains 1 non-finite",
            backward_second,
            layer,
            h_y,
        )
    raises(TypeError, "h_y must hold real numbers", backward_second, layer, h_y.astype(complex))


# ---- whole networks -----------------------------------------------------------------------------

NETWORKS = {}


def network(variant, dtype):
    """One network per variant and dtype for the whole module: the tests only read it (trace
    leaves its gradients as they were, backward overwrites them)."""
    key = (variant, dtype)
    if key not in NETWORKS:
        if variant == "paper":
            net = lenet.LeNet5(seed=1, dtype=dtype)
        else:
            _, activation, pooling, size, channels = variant.split("-")
            net = lenet.LeNet5.modern(
                int(channels),
                int(size),
                seed=1,
                dtype=dtype,
                activation=activation,
                pooling=pooling,
            )
        NETWORKS[key] = net
    return NETWORKS[key]


VARIANTS = [
    "paper",
    "modern-swish-max-28-1",
    "modern-relu-average-32-3",
    "modern-scaled_tanh-paper-28-2",
    "modern-sigmoid-max-32-1",
]


class Recorder:
    """Backward hooks that keep every layer's (dy, dx)."""

    def __init__(self, net):
        self.seen = {}
        self.handles = [layer.register_backward_hook(self) for layer in net.layers]

    def __call__(self, layer, dy, dx):
        self.seen[layer.name] = (dy.copy(), dx.copy())

    def remove(self):
        for handle in self.handles:
            handle.remove()


@budget(0.2)
@given(
    data=st.data(),
    variant=st.sampled_from(VARIANTS),
    n=st.sampled_from([0, 1, 1, 2, 3]),
    dtype=st.sampled_from([F32, F64]),
    vals=values(),
    single=st.booleans(),
)
def test_networks(data, variant, n, dtype, vals, single):
    net = network(variant, dtype)
    c, h, w = net.input_shape
    shape = (c, h, w) if single else (n, c, h, w)
    if single and c == 1 and data.draw(st.booleans()):
        shape = (h, w)
    X, xs = _layer_input(data, vals, shape, dtype)
    xs = xs.reshape((-1, c, h, w))
    n = xs.shape[0]
    if not np.isfinite(xs).all():
        for call in (net.forward, net.infer, net.trace, net.predict):
            raises(ValueError, r"x contains \d+ non-finite", call, X)
        return
    broken = data.draw(st.sampled_from([None] * 4 + ["shape", "dtype", "ragged"]))
    if broken == "shape":
        raises(
            ValueError,
            rf"x must have shape \(N, {c}, {h}, {w}\)",
            net.forward,
            np.zeros((n, c, h + 1, w)),
        )
    elif broken == "dtype":
        raises(TypeError, "x must hold real numbers", net.infer, np.zeros(shape, complex))
    elif broken == "ragged":
        raises(ERRORS, "x must", net.forward, [[0.0] * w, [0.0] * (w - 1)])

    fl = flags(xs)
    out = net.forward(X)
    assert out.shape == (n, 10) and out.dtype == dtype
    # forward, layer by layer: each layer against the reference at its own input
    x_in = xs
    for layer in net.layers:
        check_layer(layer, x_in, fl, f"{variant} {layer.name}")
        x_in = layer.y
    # the fused path gives the same bits
    np.testing.assert_array_equal(net.infer(X, batch_size=data.draw(st.integers(1, 4))), out)

    dout = vals.array(out.shape, dtype, plain=True)
    recorder = Recorder(net)
    try:
        dx = net.backward(dout)
    finally:
        recorder.remove()
    assert dx.shape == xs.shape and dx.dtype == dtype
    if n == 0:
        assert not net.gradients.any()  # a sum over no samples
    x_in = xs
    for layer in net.layers:
        dy, dx_layer = recorder.seen[layer.name]
        check_layer(layer, x_in, fl, f"{variant} {layer.name}", dy, dx_layer)
        x_in = layer.y

    # trace: the same states, and gradients of the loss that leave net.gradients alone
    kept = net.gradients.copy()
    if n == 0:
        raises(ValueError, "x holds no image", net.trace, X, np.zeros(0, int))
        assert len(net.trace(X)) == len(net.layers) + 1
        return
    labels = vals.rng.integers(0, 10, n)
    trace = net.trace(X, labels if n > 1 or not single else int(labels[0]))
    np.testing.assert_array_equal(trace["output"], out)
    np.testing.assert_array_equal(net.gradients, kept)
    rbf = isinstance(net.layers[-1], RBFOutput)
    loss, grad = (_core.loss_rbf_penalty if rbf else _core.loss_softmax_cross_entropy)(out, labels)
    assert trace.loss == loss or (np.isnan(loss) and np.isnan(trace.loss))
    if np.isfinite(grad).all():  # (backward refuses a NaN that overflowed logits give)
        np.testing.assert_array_equal(trace.state_gradients["input"], net.backward(grad))
