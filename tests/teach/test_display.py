"""Rich display in a notebook: Network, Layer and Trace as HTML (lenet.engine.display, _repr_html_).

The HTML is parsed back (html.parser) and its tables compared with what the objects hold: the
network's counts (and, for the paper's network, Section II.B's), a layer's explain() rows, a
trace's penalties, states and gradients, and its picture, which must draw the trace's own
states. The text display is unchanged."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import numpy as np
import pytest

import lenet
from lenet.engine import display
from lenet.engine.trace import Trace
from lenet.teach import viz

from conftest import paper_digits

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PAPER_PARAMETERS = {
    "C1": 156,
    "S2": 12,
    "C3": 1516,
    "S4": 32,
    "C5": 48120,
    "F6": 10164,
    "output": 0,
}
PAPER_CONNECTIONS = {
    "C1": 122304, "S2": 5880, "C3": 151600, "S4": 2000, "C5": 48120, "F6": 10164, "output": 840,
}  # fmt: skip


class Page(HTMLParser):
    """The tables (caption, rows of cell texts, which rows are bold) and images of HTML."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self.images: list[dict] = []
        self.paragraphs: list[str] = []
        self.pre: list[str] = []
        self._cell: list[str] | None = None
        self._where: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append({"caption": "", "rows": [], "bold": []})
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
            if "bold" in (attrs.get("style") or ""):
                self.tables[-1]["bold"].append(len(self.tables[-1]["rows"]) - 1)
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("caption", "p", "pre"):
            self._where, self._cell = tag, []
        elif tag == "img":
            self.images.append(attrs)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "caption":
            self.tables[-1]["caption"] = "".join(self._cell or [])
            self._cell = None
        elif tag in ("p", "pre") and self._cell is not None:
            (self.paragraphs if tag == "p" else self.pre).append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


# ---- the pieces -------------------------------------------------------------------------------


def test_text_is_escaped():
    page = Page(display.table(("a<b",), [("x & <y>",)], caption="1 < 2"))
    assert page.tables == [{"caption": "1 < 2", "rows": [["a<b"], ["x & <y>"]], "bold": []}]
    assert "<y>" not in display.paragraph("<y>") and "&lt;y&gt;" in display.preformatted("<y>")


def test_a_row_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="row 1 has 1 cells, the header 2"):
        display.table(("a", "b"), [(1, 2), (3,)])


def test_an_image_is_the_png_it_was_given():
    png = PNG_MAGIC + bytes(range(40))
    (img,) = Page(display.image(png, 'a "digit"')).images
    assert img["alt"] == 'a "digit"'
    assert base64.b64decode(img["src"].removeprefix("data:image/png;base64,")) == png


# ---- Network ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_paper_network_is_the_papers_table(dtype):
    net = lenet.LeNet5(dtype=dtype)
    (table,) = Page(net._repr_html_()).tables
    assert table["caption"] == f"LeNet5 (paper), input 1 x 32 x 32, {np.dtype(dtype)}"
    header, *rows = table["rows"]
    assert header == [
        "layer", "kind", "output", "trainable", "connections", "paper: trainable",
        "paper: connections",
    ]  # fmt: skip
    *layers, total = rows
    assert [r[0] for r in layers] == [layer.name for layer in net.layers]
    for row, described in zip(layers, net.describe()):
        assert number(row[3]) == described["parameters"] == PAPER_PARAMETERS[row[0]]
        assert number(row[4]) == described["connections"] == PAPER_CONNECTIONS[row[0]]
        assert number(row[5]) == PAPER_PARAMETERS[row[0]]
        assert number(row[6]) == PAPER_CONNECTIONS[row[0]]
        assert row[2] == " x ".join(map(str, described["output_shape"]))
    assert total[0] == "total" and [number(c) for c in total[3:]] == [60000, 340908] * 2
    assert table["bold"] == [len(rows)]  # the total


@pytest.mark.parametrize(
    "net",
    [
        lenet.LeNet5.modern(),
        lenet.LeNet5.modern(input_size=32, in_channels=3),
        lenet.Network([lenet.FullConnection(4, 3, name="hidden")], (1, 2, 2)),
    ],
    ids=["modern-28", "modern-3x32", "custom"],
)
def test_other_networks_have_no_paper_columns(net):
    (table,) = Page(net._repr_html_()).tables
    header, *rows = table["rows"]
    assert header == ["layer", "kind", "output", "trainable", "connections"]
    assert number(rows[-1][3]) == net.num_parameters()
    assert [r[0] for r in rows[:-1]] == [layer.name for layer in net.layers]


def test_the_text_display_is_unchanged():
    net = lenet.LeNet5()
    assert repr(net) == "LeNet5(C1, S2, C3, S4, C5, F6, output; dtype=float32)"
    assert repr(net.C3) == "Convolution(name='C3', activation='scaled_tanh', dtype=float32)"
    assert net.summary().splitlines()[0] == "LeNet5 (paper), input 1 x 32 x 32, float32"


# ---- Layer ------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["paper", "modern"])
def test_a_layer_is_its_explanation_with_the_formula(variant):
    net = lenet.LeNet5() if variant == "paper" else lenet.LeNet5.modern()
    for layer in net.layers:
        (table,) = Page(layer._repr_html_()).tables
        assert table["caption"] == layer.title() == layer.explain().splitlines()[0]
        assert [tuple(row) for row in table["rows"]] == layer.explanation()
        assert table["rows"][0] == ["computes", layer.formula()]


def test_explain_is_the_explanation_as_text():
    for layer in lenet.LeNet5().layers:
        lines = layer.explain().splitlines()[1:]
        texts = [line for _, text in layer.explanation() for line in text.splitlines()]
        assert [line[15:] for line in lines] == texts
        labels = [line[2:14].strip() for line in lines if line[2:14].strip()]
        assert labels == [what for what, _ in layer.explanation()]
    c3 = dict(lenet.LeNet5().C3.explanation())
    assert "900 fixed at 0 by the connection table" in c3["parameters"]


# ---- Trace ------------------------------------------------------------------------------------


def digits(n):
    return paper_digits(np.float32)[:n]


def test_a_trace_shows_the_maps_the_prediction_and_the_penalties():
    net = lenet.LeNet5(seed=1)
    x = digits(3)
    trace = net.trace(x, label=[0, 1, 2])
    page = Page(trace._repr_html_())
    predicted = net.predict(x)
    assert page.paragraphs[0].startswith(
        f"LeNet5 (paper) traced on 3 images; the first is shown: label 0, predicted {predicted[0]}."
    )
    assert f"Loss equation (8): E = {trace.loss:.6g} (the batch mean)" in page.paragraphs[0]
    (img,) = page.images
    png = base64.b64decode(img["src"].removeprefix("data:image/png;base64,"))
    assert png.startswith(PNG_MAGIC) and f"predicted {predicted[0]}" in img["alt"]
    output, states, batch = page.tables
    header, *rows = output["rows"]
    assert header[:2] == ["class", "penalty y_i"]
    np.testing.assert_allclose([float(r[1]) for r in rows], trace["output"][0], atol=6e-5)
    assert output["bold"] == [1 + predicted[0]] and rows[predicted[0]][2] == "predicted"
    if predicted[0] != 0:
        assert rows[0][2] == "true class"
    header, *rows = states["rows"]
    assert header == ["layer", "shape", "min", "max", "mean |y|", "rms dE/dy"]
    assert [r[0] for r in rows] == list(trace)
    for row, (name, arr) in zip(rows, trace.items()):
        assert np.isclose(float(row[3]), arr[0].max(), rtol=1e-3)
        g = trace.state_gradients[name][0]
        assert np.isclose(float(row[5]), np.sqrt(np.mean(g**2)), rtol=1e-3)
    assert batch["rows"][1:] == [[str(i), str(i), str(p)] for i, p in enumerate(predicted)]


def test_a_trace_of_the_modern_network_shows_its_softmax():
    net = lenet.LeNet5.modern(seed=2)
    x = np.random.default_rng(0).uniform(0, 1, (1, 1, 28, 28))
    trace = net.trace(x)
    page = Page(trace._repr_html_())
    assert "Loss" not in page.paragraphs[0]
    output, states = page.tables
    header, *rows = output["rows"]
    assert header[:3] == ["class", "logit z_i", "softmax p_i"]
    p = lenet.losses.softmax(trace["output"][0])
    np.testing.assert_allclose([float(r[2]) for r in rows], p, atol=6e-5)
    assert output["bold"] == [1 + int(np.argmax(p))]
    assert "rms dE/dy" not in states["rows"][0]


def test_the_picture_is_the_traces_own_states():
    pytest.importorskip("matplotlib")
    net = lenet.LeNet5(seed=1)
    trace = net.trace(digits(2))
    as_it_was = lenet.LeNet5(seed=1)
    net.init_parameters(7)  # the network changes after the trace: the picture must not
    fig = viz.trace_figure(trace, sample=1)
    for k in range(6):
        (ax,) = [a for a in fig.axes if a.get_label() == f"C1:{k}"]
        np.testing.assert_array_equal(np.asarray(ax.get_images()[0].get_array()), trace["C1"][1, k])
    assert fig._suptitle.get_text().startswith("LeNet-5 (paper) on one digit: predicted")
    assert viz.trace_text(trace, sample=1) == viz.feature_maps_text(as_it_was, digits(2)[1])
    assert viz.trace_text(trace, sample=1) != viz.feature_maps_text(net, digits(2)[1])


def test_without_matplotlib_the_trace_is_drawn_with_characters(monkeypatch):
    def missing():
        raise ImportError("lenet's pictures need matplotlib, which is not installed")

    monkeypatch.setattr(viz.figure, "require_matplotlib", missing)  # where the figures ask
    net = lenet.LeNet5()
    trace = net.trace(digits(1), label=3)
    page = Page(trace._repr_html_())
    assert page.images == [] and page.pre == [viz.trace_text(trace)]
    assert any("Pictures need matplotlib: pip install" in p for p in page.paragraphs)


def test_a_trace_with_pre_activations_and_its_copy_show_too():
    net = lenet.LeNet5()
    trace = net.trace(digits(1), pre_activations=True)
    copy = trace.copy()
    assert copy.network is net
    page = Page(copy._repr_html_())
    names = [r[0] for r in page.tables[1]["rows"][1:]]
    assert names == list(trace) and "C1.a" in names


def test_a_trace_made_by_hand_falls_back_to_the_dicts_display():
    trace = Trace()
    trace["input"] = np.zeros((1, 1, 32, 32))
    assert trace._repr_html_() is None
    assert repr(trace).startswith("Trace([('input', array(")


@pytest.mark.parametrize("sample", [2, -3, 1.0, True, "0"])
def test_a_sample_outside_the_trace_is_refused(sample):
    trace = lenet.LeNet5().trace(digits(2))
    with pytest.raises(
        ValueError,
        match=rf"sample must be an image of the trace, 0 to 1, got {re.escape(repr(sample))}",
    ):
        viz.trace_text(trace, sample=sample)


def test_something_else_than_a_trace_is_refused():
    with pytest.raises(TypeError, match="trace must be what net.trace\\(x\\) returns, got dict"):
        viz.trace_text({"input": np.zeros((1, 1, 32, 32))})


@pytest.mark.parametrize("variant", ["paper", "modern"])
def test_the_gradient_picture_is_the_traces_states_and_gradients(variant):
    pytest.importorskip("matplotlib")
    if variant == "paper":
        net, x = lenet.LeNet5(seed=2), digits(2)
    else:
        net = lenet.LeNet5.modern(seed=2)
        x = np.random.default_rng(0).uniform(0, 1, (2, 1, 28, 28)).astype(np.float32)
    trace = net.trace(x, label=[4, 7])
    fig = viz.trace_gradients(trace, sample=1)

    def drawn(label: str) -> np.ndarray:
        (ax,) = [a for a in fig.axes if a.get_label() == label]
        values = np.asarray(ax.get_images()[0].get_array(), dtype=np.float64).ravel()
        return values[~np.isnan(values)]  # a vector's grid is blank past its end

    for name in ("C1", "S4", "C5", "F6"):
        state, grad = trace[name][1], trace.state_gradients[name][1]
        if state.ndim == 3 and state.shape[1] * state.shape[2] > 1:  # maps, one panel each
            for k in range(state.shape[0]):
                np.testing.assert_array_equal(drawn(f"{name}:{k}"), state[k].ravel())
                np.testing.assert_array_equal(drawn(f"dE/d{name}:{k}"), grad[k].ravel())
        else:  # a vector, one panel
            np.testing.assert_array_equal(drawn(name), state.ravel())
            np.testing.assert_array_equal(drawn(f"dE/d{name}"), grad.ravel())
    assert "label 7" in fig._suptitle.get_text()


def test_the_gradient_picture_needs_a_label():
    pytest.importorskip("matplotlib")
    trace = lenet.LeNet5().trace(digits(1))
    with pytest.raises(ValueError, match=r"trace the image with its label"):
        viz.trace_gradients(trace)
