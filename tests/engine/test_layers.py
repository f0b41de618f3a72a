"""The layers one by one (lenet.engine.layers): construction and its errors, shapes, connection
counts and storage, hooks, explain() and the squashing table, and one unit computed by hand as
the studio shows it. The property checks run over every kind (``LAYER_CASES``); each kind's
kernels against the NumPy twin are in test_conv.py, test_pool.py, test_dense.py, test_rbf.py,
its second-derivative pass in test_sdlm.py."""

from __future__ import annotations

import copy
import itertools
import math
import pickle

import numpy as np
import pytest

import lenet
from lenet.engine import _core
from lenet.engine.layers import ACTIVATIONS, SQUASHING, Convolution, core_table

from conftest import LAYER_CASES, layer_case, paper_digits

# ---- construction ------------------------------------------------------------------------------


def test_layer_input_checks():
    with pytest.raises(ValueError, match=r"C.forward: x must have 2 input maps, got 3"):
        lenet.Convolution(2, 4, 3, name="C")(np.zeros((1, 3, 8, 8)))
    with pytest.raises(
        ValueError, match=r"C.forward: x must have 4 dimensions.*got shape \(3, 8, 8\)"
    ):
        lenet.Convolution(2, 4, 3, name="C")(np.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match=r"S.forward: x must have 6 maps, got 2"):
        lenet.Subsampling(6, name="S")(np.zeros((1, 2, 8, 8)))
    with pytest.raises(
        ValueError, match=r"F.forward: x must have shape \(N, 120\).*got \(2, 119\)"
    ):
        lenet.FullConnection(120, 84, name="F")(np.zeros((2, 119)))
    with pytest.raises(
        ValueError, match=r"output.forward: x must have shape \(N, 84\), got \(2, 83\)"
    ):
        lenet.RBFOutput()(np.zeros((2, 83)))


def test_layer_dtype_must_be_float32_or_float64():
    with pytest.raises(TypeError, match=r"dtype must be float32 or float64, got int32"):
        lenet.Convolution(1, 2, dtype=np.int32)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        lenet.RBFOutput(dtype="not a dtype")


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        (dict(in_maps=0, out_maps=2), r"in_maps must be a positive integer, got 0"),
        (dict(in_maps=1, out_maps=2.0), r"out_maps must be a positive integer, got 2.0"),
        (
            dict(in_maps=1, out_maps=2, kernel_size=0),
            r"kernel_size must be a positive integer, got 0",
        ),
        (
            dict(in_maps=1, out_maps=2, padding=-1),
            r"padding must be a non-negative integer, got -1",
        ),
    ],
)
def test_convolution_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        lenet.Convolution(**kwargs)


def test_connection_table_must_fit_and_feed_every_map():
    with pytest.raises(
        ValueError,
        match=r"connection_table must have shape \(out_maps, in_maps\) = "
        r"\(16, 6\), got \(6, 16\)",
    ):
        lenet.Convolution(6, 16, connection_table=np.ones((6, 16)))
    with pytest.raises(ValueError, match="connection_table: every output map needs at least one"):
        lenet.Convolution(6, 16, connection_table=np.zeros((16, 6)))


def test_unknown_activation_and_mode_names():
    with pytest.raises(ValueError, match=r"activation must be one of .*got 'softplus'"):
        lenet.Convolution(1, 2, activation="softplus")
    with pytest.raises(
        ValueError, match=r"mode must be one of 'paper', 'average', 'max', got 'median'"
    ):
        lenet.Subsampling(2, mode="median")


def test_connection_table_is_read_only():
    net = lenet.LeNet5()
    with pytest.raises(ValueError):
        net.C3.connection_table[0, 5] = True


@pytest.mark.parametrize("full", [True, False])
def test_the_core_gets_no_table_when_every_pair_is_connected(full):
    table = np.ones((4, 3), bool)
    table[2, 1] = full
    layer = Convolution(3, 4, 3, connection_table=table)
    assert (core_table(layer.connection_table) is None) == full
    assert (layer._table_for_core is None) == full
    if not full:
        np.testing.assert_array_equal(layer._table_for_core, table)


# ---- shapes, connections, storage (every kind) ---------------------------------------------------


@pytest.mark.parametrize("case", LAYER_CASES)
def test_forward_gives_the_output_shape_and_keeps_a_and_y(case):
    layer, x = layer_case(case)
    y = layer.forward(x)
    assert y.shape == (len(x), *layer.output_shape(x.shape[1:]))
    assert layer.a is not None and layer.a.shape == y.shape
    np.testing.assert_array_equal(layer.x, x.reshape(layer.x.shape))
    assert layer.x.shape == x.shape and not layer.x.flags.writeable


def _depends(layer, x):
    """(unit, input) pairs of one sample where the unit's weighted sum moves when the input
    moves by 100: the layer's connections, found without reading its code."""
    layer.forward(x[:1])
    base = layer.a.copy()
    pairs = 0
    for j in range(x[0].size):
        moved = x[:1].copy()
        moved.reshape(-1)[j] += 100
        layer.forward(moved)
        pairs += int(np.count_nonzero(layer.a != base))
    return pairs


@pytest.mark.parametrize("case", [c for c in LAYER_CASES if "padded" not in c])
def test_connections_are_the_units_inputs_and_biases(case):
    """As the paper counts them (Section II.B): one connection for each input a unit reads,
    and one for its bias. (With padding a unit reads the zeros too: not counted here.)"""
    layer, x = layer_case(case)
    units = math.prod(layer.output_shape(x.shape[1:]))
    biases = units if "bias" in layer.params else 0
    assert layer.connections(x.shape[1:]) == _depends(layer, x) + biases


@pytest.mark.parametrize("case", LAYER_CASES)
def test_parameters_are_views_of_one_flat_buffer_and_bind_keeps_them(case):
    layer, _ = layer_case(case)
    sizes = {name: math.prod(shape) for name, shape in layer.param_shapes().items()}
    assert layer.num_stored_parameters() == sum(sizes.values())
    assert layer.num_parameters() == sum(int(m.sum()) for m in layer.parameter_mask().values())
    before = {name: arr.copy() for name, arr in layer.params.items()}
    flat = [np.zeros(layer.num_stored_parameters()) for _ in range(3)]
    layer.bind(*flat)
    for name, arr in layer.params.items():
        np.testing.assert_array_equal(arr, before[name])
        assert np.shares_memory(arr, flat[0]) and np.shares_memory(layer.grads[name], flat[1])
        assert np.shares_memory(layer.curvature[name], flat[2])
    flat[0][:] = 7  # writing the buffer writes the layer
    assert all((arr == 7).all() for arr in layer.params.values())


# ---- hooks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", LAYER_CASES)
def test_hooks_see_what_goes_in_and_out(case):
    layer, x = layer_case(case)
    seen = []
    forward = layer.register_forward_hook(lambda lay, a, b: seen.append(("f", lay, a, b)))
    with layer.register_backward_hook(lambda lay, a, b: seen.append(("b", lay, a, b))):
        y = layer.forward(x).copy()
        dy = np.ones_like(y)
        dx = layer.backward(dy)
    forward.remove()
    assert not layer.has_hooks
    (f, lay_f, x_seen, y_seen), (b, lay_b, dy_seen, dx_seen) = seen
    assert (f, b) == ("f", "b") and lay_f is lay_b is layer
    np.testing.assert_array_equal(x_seen, x)
    np.testing.assert_array_equal(y_seen, y)
    np.testing.assert_array_equal(dy_seen, dy)
    np.testing.assert_array_equal(dx_seen, dx)
    layer.forward(x)
    assert len(seen) == 2


def test_hook_arrays_are_read_only_and_hooks_must_return_none():
    net = lenet.LeNet5()
    x = paper_digits(np.float32)[:1]

    def scribble(layer, x, y):
        y[...] = 0

    with net.C1.register_forward_hook(scribble):
        with pytest.raises(ValueError, match="read-only"):
            net.forward(x)
    with net.S2.register_forward_hook(lambda layer, x, y: y * 2):
        with pytest.raises(TypeError, match="hooks watch and must return None"):
            net.forward(x)
    with pytest.raises(TypeError, match="hook must be callable"):
        net.C1.register_forward_hook("print")


def test_a_hook_may_remove_itself():
    net = lenet.LeNet5()
    calls = []

    def once(layer, x, y):
        calls.append(layer.name)
        handle.remove()

    handle = net.F6.register_forward_hook(once)
    net.forward(paper_digits(np.float32)[:1])
    net.forward(paper_digits(np.float32)[:1])
    assert calls == ["F6"]


def test_copies_start_without_hooks():
    net = lenet.LeNet5()
    net.C1.register_forward_hook(lambda layer, x, y: None)
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert not other.C1.has_hooks
        other.forward(paper_digits(np.float32)[:1])
    assert net.C1.has_hooks


# ---- explain -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,must_have",
    [
        (
            "C1",
            [
                "1.7159 tanh(2/3 x a)",
                "(N, 1, 32, 32)",
                "(N, 6, 28, 28)",
                "weight (6, 1, 5, 5): 150",
                "122,304",
                "Section II.B (C1)",
            ],
        ),
        (
            "S2",
            [
                "coefficient[m]",
                "(N, 6, 14, 14)",
                "coefficient (6): 6",
                "5,880",
                "Section II.B (S2)",
            ],
        ),
        (
            "C3",
            [
                "connection table",
                "(N, 16, 10, 10)",
                "1,500 trainable (900 fixed at 0",
                "151,600",
                "Table I",
            ],
        ),
        ("S4", ["(N, 16, 5, 5)", "2,000", "Section II.B (S4)"]),
        ("C5", ["(N, 120, 1, 1)", "48,000", "Section II.B (C5)"]),
        ("F6", ["sum_i weight[o,i]", "(N, 84)", "weight (84, 120): 10,080", "Appendix A"]),
        (
            "output",
            [
                "prototypes[i,j])^2",
                "(N, 10)",
                "none trainable",
                "Figure 3",
                "equations (8) and (9)",
            ],
        ),
    ],
)
def test_explain_states_formula_shapes_parameters_and_place(name, must_have):
    text = getattr(lenet.LeNet5(), name).explain()
    for piece in must_have:
        assert piece in text, f"{piece!r} missing from\n{text}"
    assert "not as the paper builds it" not in text


def test_explain_names_the_modern_variants_departures():
    net = lenet.LeNet5.modern()
    assert "max pooling" in net.S2.explain()
    assert "swish squashing" in net.C1.explain() and "padding 2" in net.C1.explain()
    assert "not Table I" in net.C3.explain()
    assert "RBF units" in net.output.explain()
    assert net.explain().count("\n\n") == len(net.layers) - 1


def test_explain_for_a_layer_outside_a_network():
    text = lenet.Convolution(3, 4, 3).explain()
    assert "input (N, 3, H, W) -> output (N, 4, H-2, W-2)" in text
    assert "weight (4, 3, 3, 3): 108 trainable" in text


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_squashing_row_reads_the_one_table(activation):
    text = lenet.FullConnection(4, 3, activation).explain()
    assert SQUASHING[activation].text() in text
    assert "squashing" not in dict(lenet.RBFOutput().explanation())  # the RBF has no f


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_tables_numpy_squashing_is_the_cores(activation):
    a = np.linspace(-6, 6, 101)
    expected = _core.activation_forward(a, activation)
    np.testing.assert_allclose(SQUASHING[activation].function(a), expected, rtol=1e-12, atol=1e-15)
    assert "{a}" in SQUASHING[activation].template


# ---- one unit by hand (the studio) ---------------------------------------------------------------


@pytest.mark.parametrize("case", LAYER_CASES)
def test_a_unit_by_hand_is_the_engines_unit(case):
    """Every unit of the first sample, written out in NumPy, gives the engine's a and y."""
    layer, x = layer_case(case, seed=4)
    y = layer.forward(x)
    assert layer.a is not None
    for index in itertools.product(*map(range, y.shape[1:])):
        work = layer.unit_by_hand(x[0], index)
        assert work["kind"] in ("convolution", "subsampling", "full connection", "rbf")
        np.testing.assert_allclose(work["a"], layer.a[0][index], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(work["y"], y[0][index], rtol=1e-12, atol=1e-14)
        assert work["squashing_filled"] == SQUASHING[layer.activation].written(f"{work['a']:.4f}")
