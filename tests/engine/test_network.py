"""LeNet-5 as a whole (Section II.B, Figure 2, Table I, Appendix A): the layer table, Table I,
initialisation, parameter storage, state dicts, trace, input handling, the modern variant,
the initial signal, whole-network gradients, and the command line."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import lenet
from lenet import reference as R
from lenet.cli import main
from lenet.engine.layers import DEFAULT_INIT, Convolution, FullConnection, RBFOutput, Subsampling

from conftest import (
    DTYPE_IDS,
    DTYPES,
    assert_close,
    paper_digits,
    reference_backward,
    reference_forward,
)

NAMES = ["C1", "S2", "C3", "S4", "C5", "F6", "output"]
PARAMETERS = [156, 12, 1516, 32, 48120, 10164, 0]
CONNECTIONS = [122304, 5880, 151600, 2000, 48120, 10164, 840]
OUTPUT_SHAPES = [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1), (84,), (10,)]
STATE_KEYS = [
    "C1.weight",
    "C1.bias",
    "S2.coefficient",
    "S2.bias",
    "C3.weight",
    "C3.bias",
    "S4.coefficient",
    "S4.bias",
    "C5.weight",
    "C5.bias",
    "F6.weight",
    "F6.bias",
]
LAYOUTS = {
    "C1.weight": (6, 1, 5, 5),
    "C1.bias": (6,),
    "S2.coefficient": (6,),
    "S2.bias": (6,),
    "C3.weight": (16, 6, 5, 5),
    "C3.bias": (16,),
    "S4.coefficient": (16,),
    "S4.bias": (16,),
    "C5.weight": (120, 16, 5, 5),
    "C5.bias": (120,),
    "F6.weight": (84, 120),
    "F6.bias": (84,),
}

# Table I of the paper, as LENET5.md lists it: row = C3 map (0-15), column = S2 map (0-5),
# X = the C3 map reads that S2 map.
TABLE_I = """
0   X X X . . .
1   . X X X . .
2   . . X X X .
3   . . . X X X
4   X . . . X X
5   X X . . . X
6   X X X X . .
7   . X X X X .
8   . . X X X X
9   X . . X X X
10  X X . . X X
11  X X X . . X
12  X X . X X .
13  . X X . X X
14  X . X X . X
15  X X X X X X
"""


def _paper_table() -> np.ndarray:
    rows = [line.split() for line in TABLE_I.strip().splitlines()]
    assert [int(row[0]) for row in rows] == list(range(16))
    return np.array([[cell == "X" for cell in row[1:]] for row in rows])  # (16, 6)


def _state_equal(a, b):
    return list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)


# ---- the layer table of Section II.B ----------------------------------------------------------


def test_describe_gives_the_papers_figures():
    rows = lenet.LeNet5().describe()
    assert [r["name"] for r in rows] == NAMES
    assert [r["parameters"] for r in rows] == PARAMETERS
    assert [r["connections"] for r in rows] == CONNECTIONS
    assert [tuple(r["output_shape"]) for r in rows] == OUTPUT_SHAPES
    assert sum(r["parameters"] for r in rows) == 60000
    assert sum(r["connections"] for r in rows) == 340908


def test_summary_text_shows_the_figures():
    text = lenet.LeNet5().summary()
    for name, p, c in zip(NAMES, PARAMETERS, CONNECTIONS):
        line = next(l for l in text.splitlines() if l.split() and l.split()[0] == name)
        assert f"{p:,}" in line and f"{c:,}" in line, line
    total = next(l for l in text.splitlines() if l.startswith("total"))
    assert "60,000" in total and "340,908" in total
    for shape in ("6 x 28 x 28", "16 x 10 x 10", "120 x 1 x 1"):
        assert shape in text


def test_num_parameters():
    net = lenet.LeNet5()
    assert net.num_parameters() == 60000
    assert int(net.parameter_mask.sum()) == 60000
    # C3 stores its 84 unconnected 5x5 kernels as zeros: 2,400 weights, 1,500 of them trainable
    assert net.parameters.size == 60000 + (96 - 60) * 25
    assert net.gradients.shape == net.parameters.shape


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_output_shapes_and_dtype(rng, dtype):
    net = lenet.LeNet5(dtype=dtype)
    x = rng.uniform(-0.1, 1.175, (3, 1, 32, 32))
    trace = net.trace(x)
    for name, shape in zip(NAMES, OUTPUT_SHAPES):
        assert trace[name].shape == (3, *shape), name
        assert trace[name].dtype == dtype
    out = net(x)
    assert out.shape == (3, 10) and out.dtype == dtype


def test_layers_by_name_and_in_order():
    net = lenet.LeNet5()
    assert [layer.name for layer in net.layers] == NAMES
    assert tuple(getattr(net, name) for name in NAMES) == tuple(net.layers)
    assert list(net) == list(net.layers) and len(net) == 7
    kinds = [
        Convolution,
        Subsampling,
        Convolution,
        Subsampling,
        Convolution,
        FullConnection,
        RBFOutput,
    ]
    assert all(isinstance(layer, kind) for layer, kind in zip(net.layers, kinds))
    assert all(layer.activation == "scaled_tanh" for layer in net.layers[:-1])
    assert net.S2.mode == net.S4.mode == "paper"
    assert net.C5.connection_table.all() and net.C5.kernel_size == 5


# ---- Table I ----------------------------------------------------------------------------------


def test_table_i_is_the_papers():
    table = _paper_table()
    assert table.shape == (16, 6)
    assert np.array_equal(lenet.LeNet5().C3.connection_table, table)
    assert np.array_equal(R.connection_table_i(), table)
    assert int(table.sum()) == 60
    counts = sorted(table.sum(axis=1).tolist())
    assert counts == [3] * 6 + [4] * 9 + [6]
    # maps 0-5 read three (cyclically) contiguous S2 maps, maps 6-11 four contiguous, maps
    # 12-14 four non-contiguous, map 15 all six
    for m in range(6):
        assert set(np.flatnonzero(table[m])) == {(m + d) % 6 for d in range(3)}
    for m in range(6, 12):
        assert set(np.flatnonzero(table[m])) == {(m - 6 + d) % 6 for d in range(4)}
    for m in range(12, 15):
        chosen = set(np.flatnonzero(table[m]))
        assert len(chosen) == 4
        assert all(chosen != {(s + d) % 6 for d in range(4)} for s in range(6))
    assert table[15].all()


def test_c3_unconnected_weights_are_zero_stay_zero_and_get_no_gradient(rng):
    net = lenet.LeNet5(seed=5, dtype=np.float64, init="lecun98")
    gaps = ~_paper_table()
    w = net.C3.params["weight"]
    assert np.all(w[gaps] == 0)
    assert np.all(w[~gaps] != 0)
    assert np.all(net.parameters[~net.parameter_mask] == 0)
    x = rng.uniform(-0.1, 1.175, (4, 1, 32, 32))
    before = net.parameters.copy()
    for _ in range(3):  # a few SGD steps
        out = net(x)
        net.backward(rng.standard_normal(out.shape))
        g = net.C3.grads["weight"]
        assert np.all(g[gaps] == 0)
        assert np.all(np.abs(g[~gaps]).sum(axis=(1, 2)) > 0)
        assert np.all(net.gradients[~net.parameter_mask] == 0)
        net.parameters -= 0.1 * net.gradients
    assert np.all(net.C3.params["weight"][gaps] == 0)
    assert not np.array_equal(net.parameters, before)  # the update did happen, through the views


# ---- initialisation (Appendix A) --------------------------------------------------------------


def _fan_in_limits(net):
    """{key: array of the +-2.4/F_i limit broadcast to the parameter's shape}."""
    f_c3 = 25 * _paper_table().sum(axis=1)
    assert sorted(set(f_c3.tolist())) == [75, 100, 150]
    per_map = {
        "C1": np.full(6, 25.0),
        "C3": f_c3.astype(float),
        "C5": np.full(120, 400.0),
        "F6": np.full(84, 120.0),
        "S2": np.full(6, 4.0),
        "S4": np.full(16, 4.0),
    }
    limits = {}
    for key, arr in net.state_dict().items():
        layer = key.split(".")[0]
        f = per_map[layer].reshape((-1,) + (1,) * (arr.ndim - 1))
        limits[key] = np.broadcast_to(2.4 / f, arr.shape)
    return limits


def test_default_initialisation_is_the_paper_recipes():
    """LeNet5() starts as the paper recipe does (+-1/sqrt(F_i), EBLearn's start), so that
    lenet.train(net, ...) with the default recipe trains; the literal Appendix A range stays
    init="lecun98"."""
    assert lenet.Recipe().init == DEFAULT_INIT == "eblearn"
    default, eblearn = lenet.LeNet5(seed=3), lenet.LeNet5(seed=3, init="eblearn")
    assert np.array_equal(default.parameters, eblearn.parameters)
    for other in ("lecun98", "lecun98-sqrt"):
        assert not np.array_equal(default.parameters, lenet.LeNet5(seed=3, init=other).parameters)


@pytest.mark.parametrize("init, scale", [("lecun98-sqrt", 2.4), ("eblearn", 1.0)])
@pytest.mark.parametrize("seed", [0, 7])
def test_square_root_starts_span_scale_over_sqrt_fan_in(init, scale, seed):
    """ "lecun98-sqrt" draws in +-2.4/sqrt(F_i), "eblearn" in +-1/sqrt(F_i) (EBLearn's MNIST
    demonstration): every parameter within its range, every tensor spread over it."""
    limits = _fan_in_limits(lenet.LeNet5(seed=seed, dtype=np.float64, init="lecun98"))
    state = lenet.LeNet5(seed=seed, dtype=np.float64, init=init).state_dict()
    ratios = {}
    for key, arr in state.items():
        ratios[key] = np.abs(arr) / (scale / np.sqrt(2.4 / limits[key]))
        assert np.all(ratios[key] <= 1), key
    for key in ("C1.weight", "C3.weight", "C5.weight", "F6.weight", "F6.bias"):
        assert ratios[key].max() > 0.8, key  # (the 6 to 120 biases of a layer: 0.8**6 is 26 %)
    subsampling = [ratios[f"{s}.{p}"] for s in ("S2", "S4") for p in ("coefficient", "bias")]
    assert np.concatenate(subsampling).max() > 0.8  # the 44 of them share the range 1/sqrt(4)


def test_eblearn_start_is_the_sqrt_start_scaled_by_1_over_2_4():
    """The same random draws, scaled: so the two starts differ in their range alone."""
    sqrt = lenet.LeNet5(seed=5, dtype=np.float64, init="lecun98-sqrt").parameters
    eblearn = lenet.LeNet5(seed=5, dtype=np.float64, init="eblearn").parameters
    np.testing.assert_allclose(eblearn, sqrt / 2.4, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_initial_weights_lie_within_fan_in_limits(seed):
    net = lenet.LeNet5(seed=seed, dtype=np.float64, init="lecun98")
    limits = _fan_in_limits(net)
    state = net.state_dict()
    for key, arr in state.items():
        assert np.all(np.abs(arr) <= limits[key]), key
    # ... and actually spread over the range
    for key in ("C1.weight", "C5.weight", "F6.weight"):
        ratio = np.abs(state[key]) / limits[key]
        assert ratio.max() > 0.8, key
        # centred: the mean is within 4 standard errors of 0 (std of U(-l, l) is l / sqrt(3))
        limit = limits[key].max()
        assert abs(state[key].mean()) < 4 * limit / np.sqrt(3 * state[key].size), key
    # the uniform distribution's std is limit / sqrt(3)
    c5 = state["C5.weight"]
    assert abs(c5.std() / (2.4 / 400 / np.sqrt(3)) - 1) < 0.02
    # each C3 map spreads over its own limit (75, 100 or 150 inputs)
    c3 = state["C3.weight"]
    for m, row in enumerate(_paper_table()):
        w = c3[m][row]
        assert np.abs(w).max() > 0.8 * 2.4 / (25 * row.sum()), m
    # the 44 subsampling parameters share the limit 2.4 / 4 = 0.6
    sub = np.concatenate(
        [state[k] for k in ("S2.coefficient", "S2.bias", "S4.coefficient", "S4.bias")]
    )
    assert np.abs(sub).max() > 0.8 * 0.6


def test_same_seed_same_parameters_different_seed_different():
    a = lenet.LeNet5(seed=11)
    b = lenet.LeNet5(seed=11)
    c = lenet.LeNet5(seed=12)
    assert np.array_equal(a.parameters, b.parameters)
    sa, sc = a.state_dict(), c.state_dict()
    assert all(not np.array_equal(sa[k], sc[k]) for k in sa)
    m1, m2 = lenet.LeNet5.modern(seed=4), lenet.LeNet5.modern(seed=4)
    assert np.array_equal(m1.parameters, m2.parameters)
    assert not np.array_equal(m1.parameters, lenet.LeNet5.modern(seed=5).parameters)


def test_float32_and_float64_nets_draw_the_same_values():
    a = lenet.LeNet5(seed=2, dtype=np.float32)
    b = lenet.LeNet5(seed=2, dtype=np.float64)
    assert np.array_equal(a.parameters, b.parameters.astype(np.float32))


# ---- parameter storage ------------------------------------------------------------------------


def test_parameter_layouts():
    net = lenet.LeNet5()
    shapes = {f"{l.name}.{k}": v.shape for l in net.layers for k, v in l.params.items()}
    assert shapes == LAYOUTS
    assert net.output.params == {} and net.output.grads == {}
    assert net.output.prototypes.shape == (10, 84)
    assert np.array_equal(net.output.prototypes, lenet.rbf_prototypes(np.float32))
    assert not net.output.prototypes.flags.writeable


def test_params_and_grads_are_views_of_the_flat_buffers(rng):
    net = lenet.LeNet5(seed=1, dtype=np.float64)
    x = rng.uniform(-0.1, 1.175, (2, 1, 32, 32))
    out0 = net(x).copy()
    for layer in net.layers:
        for key in layer.params:
            assert np.shares_memory(layer.params[key], net.parameters)
            assert np.shares_memory(layer.grads[key], net.gradients)
    offset = net.C1.num_stored_parameters()
    w = net.C1.params["weight"]
    w[0, 0, 2, 2] = 3.0
    assert net.parameters[12] == 3.0  # C1.weight comes first: (0,0,2,2) is element 12
    assert not np.array_equal(net(x), out0)
    net.parameters[offset] = 0.25  # S2.coefficient[0] comes right after C1
    assert net.S2.params["coefficient"][0] == 0.25
    # the flat gradient buffer is the concatenation of every layer's gradients
    net.backward(rng.standard_normal((2, 10)))
    flat = np.concatenate([g.reshape(-1) for l in net.layers for g in l.grads.values()])
    assert np.array_equal(flat, net.gradients)
    assert np.count_nonzero(net.gradients) > 50000


def test_backward_overwrites_gradients(rng):
    net = lenet.LeNet5(seed=1, dtype=np.float64)
    x = rng.uniform(-0.1, 1.175, (2, 1, 32, 32))
    dout = rng.standard_normal((2, 10))
    net(x)
    net.backward(dout)
    first = net.gradients.copy()
    net(x)
    net.backward(dout)
    assert np.array_equal(net.gradients, first)  # not accumulated


# ---- state_dict -------------------------------------------------------------------------------


def test_state_dict_round_trip(rng):
    net = lenet.LeNet5(seed=1)
    state = net.state_dict()
    assert list(state) == STATE_KEYS
    assert {k: v.shape for k, v in state.items()} == LAYOUTS
    for v in state.values():  # copies, not views
        assert not np.shares_memory(v, net.parameters)
    state["C1.bias"][0] = 99.0
    assert net.C1.params["bias"][0] != 99.0
    state["C1.bias"][0] = net.C1.params["bias"][0]
    other = lenet.LeNet5(seed=2)
    x = rng.uniform(-0.1, 1.175, (3, 1, 32, 32))
    assert not np.array_equal(other(x), net(x))
    other.load_state_dict(state)
    assert np.array_equal(other.parameters, net.parameters)
    assert np.array_equal(other(x), net(x))
    assert _state_equal(other.state_dict(), net.state_dict())


def test_state_dict_loads_across_dtypes(rng):
    net64 = lenet.LeNet5(seed=1, dtype=np.float64)
    net32 = lenet.LeNet5(seed=9, dtype=np.float32)
    net32.load_state_dict(net64.state_dict())
    assert np.array_equal(net32.parameters, net64.parameters.astype(np.float32))


def test_grad_dict_keys_and_values(rng):
    net = lenet.LeNet5(seed=1, dtype=np.float64)
    net(rng.uniform(-0.1, 1.175, (2, 1, 32, 32)))
    net.backward(rng.standard_normal((2, 10)))
    grads = net.grad_dict()
    assert list(grads) == list(net.state_dict()) == STATE_KEYS
    for key, g in grads.items():
        layer, name = key.split(".")
        assert g.shape == LAYOUTS[key]
        assert np.array_equal(g, getattr(net, layer).grads[name])
        assert not np.shares_memory(g, net.gradients)


def _broken_states(net):
    """(description, state, exception, pattern naming the key)."""
    good = net.state_dict()
    cases = []

    def variant(desc, exc, pattern, **changes):
        state = {k: v.copy() for k, v in good.items()}
        state["C1.weight"] = state["C1.weight"] + 1.0  # a valid change that must not land
        for key, value in changes.items():
            key = key.replace("__", ".")
            if value is None:
                del state[key]
            else:
                state[key] = value
        cases.append(pytest.param(state, exc, pattern, id=desc))

    variant("missing", ValueError, r"missing keys \['F6.bias'\]", F6__bias=None)
    extra = {k: v.copy() for k, v in good.items()}
    extra["C1.weight"] = extra["C1.weight"] + 1.0
    extra["F7.weight"] = np.zeros((10, 84))
    cases.append(pytest.param(extra, ValueError, r"unexpected keys \['F7.weight'\]", id="extra"))
    variant(
        "shape",
        ValueError,
        r"F6.weight.*shape \(84, 120\).*\(120, 84\)",
        F6__weight=np.zeros((120, 84)),
    )
    variant("strings", TypeError, r"F6.bias.*floating-point.*<U", F6__bias=np.array(["0.1"] * 84))
    variant(
        "complex", TypeError, r"C5.bias.*floating-point.*complex", C5__bias=np.zeros(120, complex)
    )
    variant("object", TypeError, r"S4.bias.*floating-point.*object", S4__bias=np.zeros(16, object))
    nan = good["F6.weight"].copy()
    nan[3, 4] = np.nan
    variant("nan", ValueError, r"F6.weight.*NaN", F6__weight=nan)
    inf = good["S2.coefficient"].copy()
    inf[1] = np.inf
    variant("inf", ValueError, r"S2.coefficient.*(NaN|Inf)", S2__coefficient=inf)
    c3 = good["C3.weight"].copy()
    c3[0, 5, 2, 2] = 0.01  # C3 map 0 does not read S2 map 5
    variant("c3-unconnected", ValueError, r"C3.weight.*unconnected", C3__weight=c3)
    return cases


@pytest.mark.parametrize("state,exc,pattern", _broken_states(lenet.LeNet5(seed=0)))
def test_load_state_dict_rejects_bad_states_and_changes_nothing(state, exc, pattern):
    net = lenet.LeNet5(seed=0)
    before = net.parameters.copy()
    with pytest.raises(exc, match=pattern):
        net.load_state_dict(state)
    assert np.array_equal(net.parameters, before)


def test_load_state_dict_rejects_values_float32_cannot_hold():
    """A finite float64 value beyond float32's range would be stored as inf in a float32 net."""
    net = lenet.LeNet5(seed=0, dtype=np.float32)
    state = lenet.LeNet5(seed=1, dtype=np.float64).state_dict()
    state["F6.bias"][0] = 1e39
    before = net.parameters.copy()
    with pytest.raises((ValueError, TypeError), match=r"F6.bias"):
        net.load_state_dict(state)
    assert np.isfinite(net.parameters).all()
    assert np.array_equal(net.parameters, before)


def test_load_state_dict_needs_a_mapping():
    with pytest.raises(TypeError, match="mapping"):
        lenet.LeNet5().load_state_dict([("C1.weight", np.zeros((6, 1, 5, 5)))])


# ---- trace ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_trace_is_the_layers_one_by_one(rng, dtype):
    net = lenet.LeNet5(seed=4, dtype=dtype)
    x = rng.uniform(-0.1, 1.175, (2, 1, 32, 32))
    trace = net.trace(x)
    assert list(trace) == ["input"] + NAMES
    assert np.array_equal(trace["input"], x.astype(dtype))
    out = x
    for name in NAMES:
        out = getattr(net, name)(out)
        assert np.array_equal(trace[name], out), name
    # the trace holds copies: another forward does not change it
    kept = {k: v.copy() for k, v in trace.items()}
    net(rng.uniform(-0.1, 1.175, (2, 1, 32, 32)))
    assert all(np.array_equal(kept[k], trace[k]) for k in kept)


def test_trace_arrays_do_not_alias_the_network(rng):
    net = lenet.LeNet5(seed=4, dtype=np.float64)
    x = rng.uniform(-0.1, 1.175, (2, 1, 32, 32))
    dout = rng.standard_normal((2, 10))
    net(x)
    expected = net.backward(dout).copy()
    trace = net.trace(x, pre_activations=True)
    for value in trace.values():
        value[...] = 0.0  # scribbling on the trace ...
    assert np.array_equal(net.backward(dout), expected)  # ... leaves backward's caches alone


def test_trace_with_pre_activations(rng):
    net = lenet.LeNet5(seed=4, dtype=np.float64)
    x = rng.uniform(-0.1, 1.175, (2, 1, 32, 32))
    trace = net.trace(x, pre_activations=True)
    expected = ["input"] + [k for n in NAMES for k in (f"{n}.a", n)]
    assert list(trace) == expected
    for name in NAMES[:-1]:  # y = f(a) with the paper's squashing
        assert_close(
            trace[name],
            R.activation_forward(trace[f"{name}.a"], "scaled_tanh"),
            np.float64,
            what=name,
        )
        assert not np.array_equal(trace[name], trace[f"{name}.a"])
    assert np.array_equal(trace["output.a"], trace["output"])  # the RBF output has no squashing
    plain = net.trace(x)
    assert all(np.array_equal(plain[k], trace[k]) for k in plain)


# ---- the whole network against lenet.reference -----------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("variant", ["paper", "modern"])
def test_network_forward_and_backward_match_reference(rng, dtype, variant):
    if variant == "paper":
        net = lenet.LeNet5(seed=6, dtype=dtype)
        x = rng.uniform(-0.1, 1.175, (3, 1, 32, 32)).astype(dtype)
    else:
        net = lenet.LeNet5.modern(seed=6, dtype=dtype)
        x = rng.uniform(0, 1, (3, 1, 28, 28)).astype(dtype)
    dout = rng.standard_normal((3, 10)).astype(dtype)
    out = net(x)
    dx = net.backward(dout)
    cache = reference_forward(net, x)
    assert_close(out, cache[-1][2].astype(dtype), dtype, what="output")
    e_dx, e_grads = reference_backward(net, x, dout)
    assert_close(dx, e_dx.astype(dtype), dtype, what="dx")
    grads = net.grad_dict()
    assert set(grads) == set(e_grads)
    for key, g in grads.items():
        assert_close(g, e_grads[key].astype(dtype), dtype, what=key)


# ---- inputs -----------------------------------------------------------------------------------


def test_forward_accepts_batches_single_images_and_bare_images(rng):
    net = lenet.LeNet5(seed=1)
    img = rng.uniform(-0.1, 1.175, (32, 32)).astype(np.float32)
    batch = net(img[None, None])
    assert batch.shape == (1, 10)
    assert np.array_equal(net(img[None]), batch)
    assert np.array_equal(net(img), batch)
    assert np.array_equal(net(img.tolist()), batch)  # nested lists too


def test_input_dtypes_are_converted(rng):
    net = lenet.LeNet5(seed=1, dtype=np.float32)
    pixels = rng.integers(0, 256, (2, 1, 32, 32)).astype(np.uint8)
    with pytest.warns(lenet.InputWarning):
        out = net(pixels)
    assert out.dtype == np.float32
    with pytest.warns(lenet.InputWarning):
        assert np.array_equal(out, net(pixels.astype(np.float32)))
    x64 = rng.uniform(-0.1, 1.175, (2, 1, 32, 32))
    assert np.array_equal(net(x64), net(x64.astype(np.float32)))
    keep = x64.copy()
    net(x64)
    assert np.array_equal(x64, keep)  # the caller's array is not modified


@pytest.mark.parametrize("call", ["forward", "infer", "predict", "predict_proba", "trace"])
def test_unprepared_images_get_a_warning_naming_preprocess(rng, call):
    """Pixels 0..255 (integers, or floats far outside -0.1..1.175) give wrong answers without
    an error (86 of 100 digits right instead of 100): they get a warning that points at the
    user's own line and names lenet.preprocess."""
    net = lenet.LeNet5(seed=1)
    pixels = rng.integers(0, 256, (3, 1, 32, 32)).astype(np.uint8)
    cases = [(pixels.astype(np.float32), "0 .. 255")]
    if not call.startswith("predict"):  # predict prepares uint8 pixels (test_predict.py)
        cases.insert(0, (pixels, "uint8 values"))
    for x, words in cases:
        with pytest.warns(lenet.InputWarning, match=words) as caught:
            getattr(net, call)(x)
        assert "lenet.preprocess" in str(caught[0].message)
        assert caught[0].filename == __file__  # the user's line, not lenet's
    prepared = rng.uniform(-0.1, 1.175, (3, 1, 32, 32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(net, call)(prepared)  # no warning for images in the paper's range
        getattr(net, call)(3 * prepared)  # nor for a little outside it
        # the modern variant (raw pixels in the seed's recipe) has no range to check
        lenet.LeNet5.modern(input_size=32).forward(255 * prepared)


def test_28x28_digits_are_refused_naming_preprocess(rng):
    with pytest.raises(ValueError, match=r"28x28.*lenet\.preprocess"):
        lenet.LeNet5().forward(rng.uniform(0, 1, (2, 28, 28)))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_non_contiguous_input(rng, dtype):
    net = lenet.LeNet5(seed=1, dtype=dtype)
    big = rng.uniform(-0.1, 1.175, (2, 1, 64, 64)).astype(dtype)
    strided = big[:, :, ::2, 1::2]
    assert not strided.flags.c_contiguous
    transposed = np.ascontiguousarray(np.transpose(big[:, :, :32, :32], (3, 2, 1, 0)))
    transposed = np.transpose(transposed, (3, 2, 1, 0))
    assert not transposed.flags.c_contiguous
    for view in (strided, transposed):
        out = net(view)
        dx = net.backward(np.ones((2, 10), dtype))
        grads = net.gradients.copy()
        copy = np.ascontiguousarray(view)
        assert np.array_equal(out, net(copy))
        assert np.array_equal(dx, net.backward(np.ones((2, 10), dtype)))
        assert np.array_equal(grads, net.gradients)


def test_backward_uses_the_input_that_forward_saw(rng):
    """A caller that reuses its input buffer (e.g. loads the next batch into it) between
    forward and backward must still get the gradients of the forward it ran."""
    net = lenet.LeNet5(seed=1)  # float32, and so is x: no conversion copy is needed
    x = rng.uniform(-0.1, 1.175, (2, 1, 32, 32)).astype(np.float32)
    dout = rng.standard_normal((2, 10)).astype(np.float32)
    net(x.copy())
    net.backward(dout)
    expected = net.grad_dict()
    net(x)
    x[...] = rng.uniform(-0.1, 1.175, x.shape)  # the buffer now holds the next batch
    net.backward(dout)
    got = net.grad_dict()
    assert np.array_equal(got["C1.weight"], expected["C1.weight"])


def test_backward_returns_the_batch_shape(rng):
    net = lenet.LeNet5(seed=1, dtype=np.float64)
    net(rng.uniform(-0.1, 1.175, (32, 32)))
    assert net.backward(np.ones((1, 10))).shape == (1, 1, 32, 32)


# ---- predictions and the modern variant --------------------------------------------------------


def test_paper_predictions(rng):
    net = lenet.LeNet5(seed=1, dtype=np.float64)
    x = rng.uniform(-0.1, 1.175, (5, 1, 32, 32))
    y = net(x)
    assert np.array_equal(net.predict(x), np.argmin(y, axis=1))
    p = net.predict_proba(x)
    assert p.shape == (5, 10)
    assert np.allclose(p.sum(axis=1), 1, rtol=0, atol=1e-14)
    assert_close(p, R.softmax(-y), np.float64)


def test_modern_parameter_counts():
    m = lenet.LeNet5.modern()
    assert m.num_parameters() == 61706
    assert [r["parameters"] for r in m.describe()] == [156, 0, 2416, 0, 48120, 10164, 850]
    assert m.input_shape == (1, 28, 28)
    assert m.C1.padding == 2 and m.C3.connection_table.all()
    assert m.S2.mode == "max" and m.C1.activation == "swish"
    assert isinstance(m.output, FullConnection) and m.output.activation == "identity"
    c = lenet.LeNet5.modern(3, 32)
    assert c.num_parameters() == 62006
    assert c.input_shape == (3, 32, 32) and c.C1.padding == 0
    assert [tuple(r["output_shape"]) for r in c.describe()] == [
        (6, 28, 28),
        (6, 14, 14),
        (16, 10, 10),
        (16, 5, 5),
        (120, 1, 1),
        (84,),
        (10,),
    ]


def test_modern_glorot_initialisation():
    m = lenet.LeNet5.modern(seed=0, dtype=np.float64)
    for layer, fan_in, fan_out in [
        (m.C1, 25, 150),
        (m.C3, 150, 400),
        (m.C5, 400, 3000),
        (m.F6, 120, 84),
        (m.output, 84, 10),
    ]:
        limit = np.sqrt(6 / (fan_in + fan_out))
        w = layer.params["weight"]
        assert np.abs(w).max() <= limit and np.abs(w).max() > 0.8 * limit, layer.name
        assert np.all(layer.params["bias"] == 0), layer.name


@pytest.mark.parametrize("in_channels,size", [(1, 28), (3, 32), (1, 32)])
def test_modern_forward_and_predictions(rng, in_channels, size):
    m = lenet.LeNet5.modern(in_channels, size, seed=1)
    x = rng.uniform(0, 1, (4, in_channels, size, size))
    logits = m(x)
    assert logits.shape == (4, 10) and logits.dtype == np.float32
    pred = m.predict(x)
    assert pred.shape == (4,) and np.array_equal(pred, np.argmax(logits, axis=1))
    p = m.predict_proba(x)
    assert p.shape == (4, 10) and np.all(p > 0)
    assert np.allclose(p.sum(axis=1), 1, rtol=0, atol=1e-12)
    assert_close(p, R.softmax(logits.astype(np.float64)), np.float64, check_dtype=False)


# ---- the initial signal (Section II.B: "check that the initial signal does not vanish") -------

# Measured on paper_digits() for seeds 0-5, as the mean over units of the std across the ten
# digit images (the part of each layer's state that depends on the input): C1 0.064-0.076,
# S2 0.058-0.094, C3 0.016-0.028, S4 0.014-0.025, C5 1.4e-3-2.5e-3, F6 2.0e-4-3.6e-4,
# output 2.8e-3-6.9e-3. Averaging the windows instead of summing them (coefficients / 4) gives
# 4x less from S2 on and about 16x less from S4 on: F6 1.3e-5-2.5e-5, output 1.8e-4-5.0e-4.
# The floors sit at about half the smallest measurement and, from S2 on, above what averaging
# gives (C1 comes before any subsampling).
SIGNAL_FLOORS = {
    "C1": 0.03,
    "S2": 0.03,
    "C3": 0.008,
    "S4": 0.006,
    "C5": 6e-4,
    "F6": 1e-4,
    "output": 1.5e-3,
}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_initial_signal_does_not_vanish(seed):
    x = paper_digits()
    assert x.min() == -0.1 and x.max() == 1.175
    net = lenet.LeNet5(seed=seed, dtype=np.float64, init="lecun98")
    trace = net.trace(x)
    for name, floor in SIGNAL_FLOORS.items():
        v = trace[name].reshape(10, -1)
        assert v.std() > floor, name  # overall
        assert v.std(axis=0).mean() > floor, name  # and driven by the input
    penalties = trace["output"]
    # every input's ten penalties differ from each other ...
    assert np.all(penalties.std(axis=1) > 0.1)
    # ... and depend on the input, far above float32's resolution at ~84 (about 1e-5):
    # the float32 net reproduces the input-dependent part of the penalties to 1 %
    centred = penalties - penalties.mean(axis=0)
    net32 = lenet.LeNet5(seed=seed, dtype=np.float32, init="lecun98")
    out32 = net32(x.astype(np.float32)).astype(np.float64)
    centred32 = out32 - out32.mean(axis=0)
    assert np.abs(centred32 - centred).max() < 0.01 * np.abs(centred).max()


def test_summed_windows_carry_more_signal_than_averaged_ones():
    x = paper_digits()
    net = lenet.LeNet5(seed=0, dtype=np.float64, init="lecun98")
    summed = net.trace(x)["F6"].std(axis=0).mean()
    net.S2.params["coefficient"][...] /= 4  # what averaging the 2x2 windows would give
    net.S4.params["coefficient"][...] /= 4
    averaged = net.trace(x)["F6"].std(axis=0).mean()
    assert summed > 8 * averaged
    assert averaged < SIGNAL_FLOORS["F6"] < summed


# ---- whole-network gradients ------------------------------------------------------------------


def _scaled_paper_net(seed, factor):
    net = lenet.LeNet5(seed=seed, dtype=np.float64, init="lecun98")
    for layer in net.layers:
        for key in ("weight", "coefficient"):
            if key in layer.params:
                layer.params[key][...] *= factor
    return net


def test_paper_network_gradcheck(threads):
    """lenet.gradcheck on the whole paper net at batch 2.

    At the Appendix-A initialisation the input-dependent signal is small (see above) while the
    RBF penalties sit near 84, so a finite difference of L = sum(y * r) loses most of its
    digits to rounding (measured 5e-5 to 1e-4 there, 1e-2 on some sampled entries). The
    gradients are checked where the network responds to its input like a trained one: weights
    and coefficients five times their initial values (F6 then varies by ~0.17 across digits).
    The initialisation point itself is covered exactly by
    test_network_forward_and_backward_match_reference.
    """
    lenet.set_num_threads(1)  # same bits as any count (test_determinism); steadier timing
    net = _scaled_paper_net(seed=0, factor=5)
    x = paper_digits()[[3, 8]]
    assert net.trace(x)["F6"].std(axis=0).mean() > 0.05
    err, details = lenet.gradcheck(net, x, samples=30, details=True)
    assert set(details) == set(STATE_KEYS) | {"input"}
    assert err < 1e-6, details


@pytest.mark.parametrize("seed", [0, 1])
def test_paper_network_gradcheck_at_initialisation(seed, threads):
    """The same check at the Appendix-A initialisation itself. The network is smooth (no max,
    no ReLU), so a larger step keeps the rounding of the ~84 penalties out of the finite
    differences (error ~ rounding / eps + eps^2): measured 2e-7 to 3e-7 with eps = 3e-4."""
    net = lenet.LeNet5(seed=seed, dtype=np.float64, init="lecun98")
    x = paper_digits()[[seed, 7]]
    err, details = lenet.gradcheck(net, x, samples=30, eps=3e-4, seed=seed, details=True)
    assert err < 1e-6, details


def test_modern_network_gradcheck(rng, threads):
    lenet.set_num_threads(1)
    m = lenet.LeNet5.modern(seed=0, dtype=np.float64)
    x = rng.uniform(0, 1, (2, 1, 28, 28))  # continuous values: no ties in the max pooling
    err, details = lenet.gradcheck(m, x, samples=30, details=True)
    assert len(details) == 11
    assert err < 1e-6, details


def test_gradcheck_needs_float64():
    with pytest.raises(ValueError, match="float64"):
        lenet.gradcheck(lenet.LeNet5(), np.zeros((1, 1, 32, 32)))


def test_gradcheck_restores_parameters(rng):
    net = lenet.LeNet5(seed=0, dtype=np.float64)
    before = net.parameters.copy()
    lenet.gradcheck(net, rng.uniform(-0.1, 1.175, (1, 1, 32, 32)), samples=3)
    assert np.array_equal(net.parameters, before)


# ---- the command line -------------------------------------------------------------------------


def test_cli_summary_prints_the_papers_table(capsys):
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    for name, p, c in zip(NAMES, PARAMETERS, CONNECTIONS):
        assert re.search(rf"^{name}\s.*\b{p:,}\s+{c:,}\s*$", out, re.M), name
    assert re.search(r"^total\s+60,000\s+340,908\s*$", out, re.M)


def test_cli_summary_modern(capsys):
    assert main(["summary", "--model", "modern"]) == 0
    out = capsys.readouterr().out
    assert "61,706" in out and "60,000" not in out
    assert main(["summary", "--model", "modern", "--in-channels", "3", "--input-size", "32"]) == 0
    assert "62,006" in capsys.readouterr().out


def test_cli_rejects_unknown_model(capsys):
    with pytest.raises(SystemExit) as info:
        main(["summary", "--model", "resnet"])
    assert info.value.code == 2
    assert "resnet" in capsys.readouterr().err


# ---- copies keep the flat buffers ------------------------------------------------------------


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_copies_keep_parameters_as_views_of_the_flat_buffers(how):
    import copy
    import pickle

    net = lenet.LeNet5(seed=3)
    twin = copy.deepcopy(net) if how == "deepcopy" else pickle.loads(pickle.dumps(net))
    assert np.array_equal(twin.parameters, net.parameters)
    x = paper_digits()[:2]
    assert np.array_equal(twin(x), net(x))
    twin.backward(np.ones((2, 10), np.float32))
    assert np.count_nonzero(twin.gradients) > 0  # gradients landed in the flat buffer
    assert np.array_equal(
        twin.gradients, np.concatenate([g.reshape(-1) for g in twin.grad_dict().values()])
    )
    twin.parameters[:] = 0  # and the layers see changes made through it
    assert not np.any(twin.C1.params["weight"])
    assert np.any(net.C1.params["weight"])  # the original is untouched


@pytest.mark.parametrize("name", ["backward", "parameters", "layers", "not an identifier", "3x"])
def test_layer_names_may_not_hide_network_attributes(name):
    layers = [
        lenet.FullConnection(4, 4, name="F"),
        lenet.FullConnection(4, 4, activation="identity", name=name),
    ]
    with pytest.raises(ValueError, match="layer name .* cannot be used"):
        lenet.Network(layers, (1, 2, 2))


def test_load_state_dict_refuses_integer_arrays():
    net = lenet.LeNet5()
    state = net.state_dict()
    state["F6.bias"] = np.zeros(84, np.int64)
    with pytest.raises(TypeError, match=r"F6.bias.*floating-point.*int64"):
        net.load_state_dict(state)


def test_load_state_dict_converts_the_other_precision():
    wide = lenet.LeNet5(seed=5, dtype=np.float64)
    net = lenet.LeNet5(seed=0)
    net.load_state_dict(wide.state_dict())
    assert net.parameters.dtype == np.float32
    assert np.array_equal(net.parameters, wide.parameters.astype(np.float32))
