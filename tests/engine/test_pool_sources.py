"""Subsampling maps that read a chosen input map (``sources``; LeNet-4's S2, "8 subsampling maps
connected in pairs to each first-layer feature map"): the kernels against lenet.reference over
random shapes and sources, an input map's gradient as the sum of its readers', the checks, the
layer's counts and gradients, and a small network's fused path against its per-layer path and
the reference, on 1 and 2 threads."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lenet
from lenet import reference as R
from lenet.engine import _core, fused, sdlm
from lenet.engine.losses import Loss, loss_for
from lenet.engine.optim import SGD
from lenet.engine.sdlm import SDLM
from lenet.reference_network import network_backward, network_forward

from conftest import DTYPE_IDS, DTYPES, assert_close

MODES = ["paper", "average", "max"]
PAIRS = lenet.paper.LENET4_S2_SOURCES  # LeNet-4's S2


def _case(rng, n, in_maps, h, w, sources, dtype):
    out_maps = len(sources)
    x = rng.standard_normal((n, in_maps, h, w)).astype(dtype)
    coefficient = rng.uniform(-0.6, 0.6, out_maps).astype(dtype)
    bias = rng.uniform(-0.6, 0.6, out_maps).astype(dtype)
    d_out = rng.standard_normal((n, out_maps, h // 2, w // 2)).astype(dtype)
    return x, coefficient, bias, d_out


def _compare(x, coefficient, bias, d_out, mode, sources, dtype):
    got = _core.subsample_forward(x, coefficient, bias, mode, sources)
    assert got.shape == (x.shape[0], len(sources), x.shape[2] // 2, x.shape[3] // 2)
    assert_close(got, R.subsample_forward(x, coefficient, bias, mode, sources), dtype, what="a")
    got = _core.subsample_backward(x, d_out, coefficient, mode, sources)
    want = R.subsample_backward(x, d_out, coefficient, mode, sources)
    for g, e, what in zip(got, want, ("d_x", "d_coefficient", "d_bias")):
        if e is None:
            assert g is None and mode != "paper"
        else:
            assert_close(g, e, dtype, what=what)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "shape,sources",
    [
        ((2, 4, 24, 24), PAIRS),
        ((3, 4, 7, 9), PAIRS),
        ((2, 3, 6, 6), (2, 2, 2)),  # one map read three times, two never
        ((1, 5, 4, 5), (4, 0, 3)),
        ((64, 1, 2, 3), (0, 0)),
    ],
    ids=str,
)
def test_sources_match_reference(rng, shape, sources, mode, dtype):
    n, c, h, w = shape
    _compare(*_case(rng, n, c, h, w, sources, dtype), mode, sources, dtype)


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(1, 3),
    in_maps=st.integers(1, 5),
    h=st.integers(2, 9),
    w=st.integers(2, 9),
    picks=st.lists(st.integers(0, 2**16), min_size=1, max_size=9),
    mode=st.sampled_from(MODES),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_shapes_and_sources_match_reference(n, in_maps, h, w, picks, mode, dtype, seed):
    sources = tuple(p % in_maps for p in picks)
    rng = np.random.default_rng(seed)
    _compare(*_case(rng, n, in_maps, h, w, sources, dtype), mode, sources, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("mode", MODES)
def test_identity_sources_give_the_one_to_one_bits(rng, mode, dtype):
    """sources (0, 1, ..., C-1) take the table path of the kernels; they must give the bits of
    None (no table), which is what LeNet-5's S2 and S4 run."""
    x, coefficient, bias, d_out = _case(rng, 3, 5, 9, 8, range(5), dtype)
    same = tuple(range(5))
    a = _core.subsample_forward(x, coefficient, bias, mode)
    assert np.array_equal(a, _core.subsample_forward(x, coefficient, bias, mode, same))
    for g, e in zip(
        _core.subsample_backward(x, d_out, coefficient, mode),
        _core.subsample_backward(x, d_out, coefficient, mode, same),
    ):
        assert (g is None and e is None) or np.array_equal(g, e)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_a_map_read_twice_gets_the_sum_of_both_gradients_and_an_unread_map_zero(rng, dtype):
    x, coefficient, bias, d_out = _case(rng, 2, 3, 6, 7, (1, 1), dtype)
    a = _core.subsample_forward(x, coefficient, bias, "paper", (1, 1))
    for m in (0, 1):  # each output map is map 1 subsampled with its own coefficient and bias
        own = _core.subsample_forward(x[:, 1:2], coefficient[m : m + 1], bias[m : m + 1])
        assert np.array_equal(a[:, m : m + 1], own)
    d_x, d_c, d_b = _core.subsample_backward(x, d_out, coefficient, "paper", (1, 1))
    first, c0, b0 = _core.subsample_backward(x[:, 1:2], d_out[:, :1], coefficient[:1])
    second, c1, b1 = _core.subsample_backward(x[:, 1:2], d_out[:, 1:], coefficient[1:])
    assert np.array_equal(d_x[:, 1:2], first + second)  # added in the order of the output maps
    assert np.all(d_x[:, 0] == 0) and np.all(d_x[:, 2] == 0)
    assert np.array_equal(d_c, np.concatenate([c0, c1]))
    assert np.array_equal(d_b, np.concatenate([b0, b1]))
    for mode in ("average", "max"):  # no parameters: two readers give twice one's gradient
        one, _, _ = _core.subsample_backward(x, d_out[:, :1], mode=mode, sources=(2,))
        two, _, _ = _core.subsample_backward(
            x, np.repeat(d_out[:, :1], 2, 1), mode=mode, sources=(2, 2)
        )
        assert np.array_equal(two, one + one) and np.all(two[:, :2] == 0)


@pytest.mark.parametrize(
    "sources,message",
    [
        ((), "sources must name at least one input map"),
        ((0, 4), r"sources must hold input-map indices from 0 to 3 .* got 4"),
        ((-1,), r"sources must hold input-map indices from 0 to 3 .* got -1"),
        ((0, True), "sources must hold input-map indices .* got True"),
        ((0, 1.0), r"sources must hold input-map indices .* got 1\.0"),
        (3, "sources must be a sequence of input-map indices, got 3"),
        ("01", "sources must be a sequence of input-map indices"),
    ],
)
def test_bad_sources_are_refused_before_anything_is_made(sources, message):
    with pytest.raises(ValueError, match=message):
        lenet.Subsampling(4, "paper", sources=sources)
    x = np.zeros((1, 4, 4, 4))
    with pytest.raises(ValueError, match=message):
        _core.subsample_forward(x, np.ones(2), np.ones(2), "paper", sources)
    with pytest.raises(ValueError, match=message):
        _core.subsample_backward(x, np.zeros((1, 2, 2, 2)), np.ones(2), "paper", sources)


def test_parameters_per_output_map_are_checked():
    x = np.zeros((1, 4, 4, 4))
    with pytest.raises(ValueError, match=r"coefficient must have shape \(8,\)"):
        _core.subsample_forward(x, np.ones(4), np.ones(8), "paper", PAIRS)
    with pytest.raises(ValueError, match="d_out must have shape"):
        _core.subsample_backward(x, np.zeros((1, 4, 2, 2)), np.ones(8), "paper", PAIRS)


@pytest.mark.parametrize("mode", MODES)
def test_the_layer_counts_and_describes_its_output_maps(mode):
    layer = lenet.Subsampling(4, mode, sources=np.array(PAIRS), dtype=np.float64)
    assert layer.sources == PAIRS and layer.out_maps == 8 and layer.maps == 4
    assert layer.output_shape((4, 24, 24)) == (8, 12, 12)
    per_unit = 5 if mode == "paper" else 4  # 4 inputs (+ the bias)
    assert layer.connections((4, 24, 24)) == 8 * 12 * 12 * per_unit
    assert layer.num_parameters() == (16 if mode == "paper" else 0)
    assert "sources = (0, 0, 1, 1, 2, 2, 3, 3)" in layer.formula()
    assert "x[n,s,2r" in layer.formula() and "output (N, 8, H/2, W/2)" in layer.explain()
    plain = lenet.Subsampling(4, mode)
    assert plain.sources is None and "x[n,m,2r" in plain.formula()


@pytest.mark.parametrize("mode,activation", [("paper", "scaled_tanh"), ("average", "identity")])
def test_layer_gradcheck_with_sources(rng, mode, activation):
    layer = lenet.Subsampling(4, mode, activation=activation, dtype=np.float64, sources=PAIRS)
    layer.init_parameters(rng)
    assert lenet.gradcheck(layer, rng.standard_normal((2, 4, 7, 6))) < 1e-6


# ---- a small network with the option: C(1->4) S(4->8 pairs) C(8->16, a table) S(16) FC ----------


def small_net(dtype=np.float64, seed=0, mode="paper"):
    rng = np.random.default_rng(seed)
    table = rng.random((16, 8)) < 0.4
    table[np.arange(16), np.arange(16) % 8] = True  # every map reads at least one
    activation = "scaled_tanh" if mode == "paper" else "identity"
    net = lenet.Network(
        [
            lenet.Convolution(1, 4, 5, name="C1", dtype=dtype),
            lenet.Subsampling(4, mode, activation, name="S2", dtype=dtype, sources=PAIRS),
            lenet.Convolution(8, 16, 3, connection_table=table, name="C3", dtype=dtype),
            lenet.Subsampling(16, mode, activation, name="S4", dtype=dtype),
            lenet.FullConnection(64, 10, "identity", name="F5", dtype=dtype),
        ],
        input_shape=(1, 16, 16),
        dtype=dtype,
    )
    for layer in net.layers:
        layer.init_parameters(rng, "lecun98-sqrt")
    return net


def test_the_small_network_counts_and_runs_in_c():
    net = small_net()
    rows = {r["name"]: r for r in net.describe()}
    assert rows["S2"]["output_shape"] == (8, 6, 6) and rows["S2"]["parameters"] == 16
    assert rows["S2"]["connections"] == 8 * 6 * 6 * 5
    assert fused.supports(net)
    spec = fused.layer_spec(net)[1]
    assert spec["out_shape"] == (8, 6, 6)
    np.testing.assert_array_equal(spec["table"].argmax(axis=1), PAIRS)
    assert "S2" in net.summary()


@pytest.mark.parametrize("mode", MODES)
def test_the_small_network_matches_the_reference(rng, mode):
    net = small_net(mode=mode)
    x = rng.uniform(-0.1, 1.175, (3, 1, 16, 16))
    out = net.forward(x)
    np.testing.assert_allclose(out, network_forward(net, x)[-1][2], rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    dx = net.backward(dout)
    want_dx, want = network_backward(net, x, dout)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-10, atol=1e-12)
    for name, g in want.items():
        layer, key = name.split(".")
        np.testing.assert_allclose(getattr(net, layer).grads[key], g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("mode", MODES)
def test_fused_forward_and_curvature_are_the_per_layer_bits_on_1_and_2_threads(
    rng, mode, dtype, threads
):
    net = small_net(dtype, mode=mode)
    x = rng.uniform(-0.1, 1.175, (37, 1, 16, 16)).astype(dtype)
    labels = rng.integers(0, 10, 37)
    results = []
    for t in (1, 2):
        lenet.set_num_threads(t)
        out = net.forward(x)
        assert np.array_equal(fused.forward(net, x, 16), out)
        by_layer = sdlm._layer_curvature(net, x, labels).copy()
        assert np.array_equal(sdlm._fused_curvature(net, x, labels), by_layer)
        results.append((out, by_layer))
    assert all(np.array_equal(a, b) for a, b in zip(*results))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("opt,batch", [("sdlm", 1), ("sgd", 4)])
def test_fused_training_is_the_per_layer_bits_on_1_and_2_threads(rng, opt, batch, dtype, threads):
    x = rng.uniform(-0.1, 1.175, (24, 1, 16, 16)).astype(dtype)
    y = rng.integers(0, 10, 24)
    loss = Loss("cross-entropy")
    finals = []
    for t in (1, 2):
        lenet.set_num_threads(t)
        a, b = small_net(dtype, seed=3), small_net(dtype, seed=3)
        if opt == "sdlm":
            oa, ob = SDLM(a, mu=0.5), SDLM(b, mu=0.5)
            oa.start_pass(0, (x[:10], y[:10]))
            ob.start_pass(0, (x[:10], y[:10]))
            assert np.array_equal(oa.step_sizes, ob.step_sizes)
        else:
            oa, ob = SGD(a, lr=0.01, momentum=0.9), SGD(b, lr=0.01, momentum=0.9)
        for lo in range(0, len(x), batch):
            out = a.forward(x[lo : lo + batch])
            _, grad = loss_for(a)(out, y[lo : lo + batch])
            a.backward(grad)
            oa.step()
        steps, _, _, diverged = fused.FusedTrainer(b, ob, batch, loss).run(x, y, np.arange(24))
        assert (steps, diverged) == (len(x) // batch, False)
        assert np.array_equal(a.parameters, b.parameters)
        assert not np.array_equal(a.parameters, small_net(dtype, seed=3).parameters)
        finals.append(b.parameters.copy())
    assert np.array_equal(finals[0], finals[1])


def test_a_subsampling_table_must_connect_each_output_map_to_one_input_map():
    net = small_net()
    spec = fused.layer_spec(net)
    spec[1] = dict(spec[1], table=np.ones((8, 4), np.uint8))
    with pytest.raises(ValueError, match="exactly one input map"):
        _core.network_plan(spec, net.parameters)
    spec[1] = dict(spec[1], table=None)  # 8 output maps need their sources
    with pytest.raises(ValueError, match="2x2 subsampling of"):
        _core.network_plan(spec, net.parameters)
