"""Figure 9's other networks (lenet.engine.family): their sizes against the paper's, their
tables, their output, their input, and the engine's rules (fused = per-layer, gradients)."""

import numpy as np
import pytest

import lenet
from lenet import paper
from lenet.engine import fused
from lenet.engine.family import FAMILY, family_network, place_code
from lenet.engine.gradcheck import gradcheck
from lenet.engine.inputs import Preprocessed, preprocess, shrink_digits
from lenet.engine.lenet5 import build_network, network_config
from lenet.engine.losses import Loss
from lenet.engine.sdlm import SDLM

#: (trainable parameters, connections without the code layer): what the paper gives (LeNet-1:
#: LeCun et al. 1990's 2,578 and 98,442; the fully connected nets: FIGURE9's sizes) or, for
#: LeNet-4 and 28x28-300-10, the arithmetic of the reading documented in lenet.engine.family
SIZES = {
    "lenet1": (2_578, 98_442),
    "lenet4": (50_698, 262_306),
    "fc-300": (238_510, 238_510),
    "fc-1000": (795_010, 795_010),
    "fc-300-100": (266_610, 266_610),
    "fc-500-150": (469_160, 469_160),
}


def connections(net) -> int:
    """Connections up to the output units: the code layer is the loss, not the paper's count."""
    shapes = [net.input_shape, *net.output_shapes[:-1]]
    return sum(layer.connections(s) for layer, s in zip(net.layers, shapes) if layer.name != "code")


@pytest.mark.parametrize("model", list(FAMILY))
def test_sizes_are_the_papers(model):
    net = family_network(model)
    assert (net.num_parameters(), connections(net)) == SIZES[model]
    assert net.output_shapes[-1] == (10,)


@pytest.mark.parametrize("model", ["fc-1000", "fc-300-100", "fc-500-150", "lenet1", "lenet4"])
def test_sizes_round_to_figure_12(model):
    """Figure 12's memory in thousands of variables, where the paper's words fit (LeNet-4's 17
    thousand does not: lenet.engine.family says why)."""
    figure = paper.FIGURE9[model]["variables"]
    got = family_network(model).num_parameters() / 1000
    if model == "lenet4":
        assert got > 2.5 * figure  # the mismatch the docs report, kept visible
    else:
        assert abs(got - figure) <= 0.5


def test_lenet1_tables_are_two_modules_of_ten_links():
    table = paper.connection_table(paper.LENET1_H3, 4)
    assert table.sum() == 20
    assert not table[:6, 2:].any() and not table[6:, :2].any()


def test_lenet4_c3_reads_three_maps_each_and_each_s2_map_feeds_six():
    table = paper.connection_table(paper.LENET4_C3, 8)
    assert (table.sum(axis=1) == 3).all() and (table.sum(axis=0) == 6).all()
    c1_of = np.array(paper.LENET4_S2_SOURCES)
    for row in table:  # every C3 map sees what at least two C1 maps found
        assert len(set(c1_of[row])) >= 2


@pytest.mark.parametrize("classes", [2, 10])
def test_smallest_penalty_to_the_place_code_is_the_largest_output(classes):
    rng = np.random.default_rng(classes)
    x = rng.uniform(-1.7, 1.7, (500, classes))
    codes = place_code(classes)
    penalties = ((x[:, None, :] - codes[None]) ** 2).sum(-1)
    assert np.array_equal(penalties.argmin(1), x.argmax(1))


@pytest.mark.parametrize("model", list(FAMILY))
def test_configs_rebuild_the_network(model):
    net = family_network(model, seed=3)
    config = {**network_config(net), "seed": 3, "init": "eblearn"}
    again = build_network(config)
    assert type(again) is type(net) and again.variant == model
    assert np.array_equal(again.parameters, net.parameters)


def test_unknown_models_are_named():
    with pytest.raises(ValueError, match="'lenet2'"):
        family_network("lenet2")


@pytest.mark.parametrize("model", ["lenet1", "lenet4", "fc-300-100"])
def test_backward_matches_finite_differences(model):
    net = family_network(model, seed=1, dtype=np.float64)
    x = np.random.default_rng(0).uniform(-0.1, 1.175, (2, *net.input_shape))
    assert gradcheck(net, x, samples=40) < 1e-6


@pytest.mark.parametrize("model", ["lenet1", "lenet4", "fc-300"])
@pytest.mark.parametrize("batch", [1, 5])
def test_fused_training_is_the_per_layer_path_bitwise(model, batch, threads):
    rng = np.random.default_rng(2)
    digits = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    x = preprocess(digits, FAMILY[model][0].preprocessing)
    y = rng.integers(0, 10, 30)
    results = []
    for t, use_fused in ((1, False), (1, True), (2, True)):
        lenet.set_num_threads(t)
        net = family_network(model, seed=1)
        opt = SDLM(net, mu=0.5)
        opt.start_pass(0, (x[:10], y[:10]))
        if use_fused:
            fused.FusedTrainer(net, opt, batch, Loss("penalty")).run(x, y, np.arange(30))
        else:
            for lo in range(0, 30, batch):
                out = net.forward(x[lo : lo + batch])
                _, grad = Loss("penalty")(out, y[lo : lo + batch])
                net.backward(grad)
                opt.step()
        results.append(net.parameters.copy())
    assert np.array_equal(results[0], results[1]) and np.array_equal(results[1], results[2])


def test_lenet1_digits_are_16_pixels_centred():
    digits = np.zeros((1, 1, 28, 28), np.uint8)
    digits[0, 0, 4:24, 4:24] = 255  # MNIST's 20x20 box
    shrunk = shrink_digits(digits)[0, 0]
    rows, cols = np.nonzero(shrunk > 127)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (6, 21, 6, 21)  # 16 pixels
    assert np.array_equal(shrunk, shrunk[::-1, ::-1])  # still centred
    assert abs(int(shrunk.sum()) - 255 * 256) <= 255 * 4  # ink shrinks by (16/20)^2


def test_lenet1_input_is_shrunk_once_however_it_is_sliced():
    digits = np.random.default_rng(0).integers(0, 256, (6, 28, 28), dtype=np.uint8)
    x = Preprocessed(digits, "lenet1")
    assert x.shape == (6, 1, 28, 28)
    assert np.array_equal(np.asarray(x[2:5]), np.asarray(x)[2:5])
    wide = preprocess(digits, "lenet1", np.float64)
    assert np.array_equal(np.asarray(x.astype(np.float64)), wide)


def test_fully_connected_input_is_not_padded():
    digits = np.full((2, 28, 28), 255, np.uint8)
    x = preprocess(digits, "paper-28")
    assert x.shape == (2, 1, 28, 28) and np.all(x == np.float32(1.175))
