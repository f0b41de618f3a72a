"""The pictures (lenet.teach.viz) and the commands that write them (lenet inspect, lenet figures).

Every figure is rendered with matplotlib's Agg renderer from a small untrained network and
synthetic digits, and checked for the panels it should have. The command-line tests read the
real MNIST test set, from the MNIST files the test suite reads (conftest.MNIST)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

import lenet
from lenet.cli import main
from lenet.paper import rbf_prototypes
from lenet.run.checkpoint import save_checkpoint
from lenet.run.training import Recipe

from conftest import MNIST, needs_mnist, paper_digits

pytest.importorskip("matplotlib")

from matplotlib.colors import to_rgba  # noqa: E402

from lenet.teach import viz  # noqa: E402  (after the skip: the pictures need matplotlib)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def paper_net():
    return lenet.LeNet5(seed=0)


@pytest.fixture(scope="module")
def modern_net():
    return lenet.LeNet5.modern(input_size=32, seed=0)


@pytest.fixture(scope="module")
def digits():
    """Ten 32x32 digits drawn from the prototypes, preprocessed as Section III.A says."""
    return paper_digits(np.float32), np.arange(10)


def panels(fig, prefix: str) -> list:
    """The axes whose label starts with prefix ("C1:" -> C1's maps)."""
    return [ax for ax in fig.axes if ax.get_label().startswith(prefix)]


def image_of(ax) -> np.ndarray:
    (image,) = ax.get_images()
    return np.asarray(image.get_array())


def suptitle(fig) -> str:
    """The suptitle of a figure or subfigure, "" when it has none."""
    if hasattr(fig, "get_suptitle"):  # matplotlib 3.8 and later
        return fig.get_suptitle()
    text = fig._suptitle  # earlier: the Text itself, None until suptitle() is called
    return "" if text is None else text.get_text()


def titles(fig) -> str:
    """Every title and heading of a figure and its subfigures, as one text."""
    texts = []

    def collect(f):
        texts.append(suptitle(f))
        texts.extend(t.get_text() for t in f.texts)
        for sub in getattr(f, "subfigs", []):
            collect(sub)

    collect(fig)
    texts += [ax.get_title() for ax in fig.axes]
    return "\n".join(texts)


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, path
    assert len(data) > 5000, path  # a picture, not an empty canvas


# ---- feature maps (Figure 2) --------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["paper", "modern"])
def test_feature_maps_show_every_layer(variant, paper_net, modern_net, digits):
    net = paper_net if variant == "paper" else modern_net
    x, y = digits
    fig = viz.feature_maps(net, x[3], label=y[3])
    expected = {
        "input:": (1, (32, 32)),
        "C1:": (6, (28, 28)),
        "S2:": (6, (14, 14)),
        "C3:": (16, (10, 10)),
        "S4:": (16, (5, 5)),
    }
    for prefix, (count, shape) in expected.items():
        found = panels(fig, prefix)
        assert len(found) == count, prefix
        assert all(image_of(ax).shape == shape for ax in found), prefix
    trace = net.trace(x[3])
    for k, ax in enumerate(panels(fig, "C3:")):  # map k of C3, as computed
        np.testing.assert_allclose(image_of(ax), trace["C3"][0, k], rtol=1e-6)
    assert image_of(panels(fig, "C5")[0]).shape == (10, 12)  # 120 states
    f6 = image_of(panels(fig, "F6")[0])
    assert f6.shape == (12, 7)  # the bitmap the RBF units compare with (Figure 3)
    np.testing.assert_allclose(f6.reshape(-1), trace["F6"][0], rtol=1e-6)
    text = titles(fig)
    for heading in (
        "input  1 @ 32x32",
        "C1  6 @ 28x28",
        "S2  6 @ 14x14",
        "C3  16 @ 10x10",
        "S4  16 @ 5x5",
        "C5  120 @ 1x1",
        "F6  84",
    ):
        assert heading in text
    (out_ax,) = panels(fig, "output")
    bars = out_ax.patches[:10]
    heights = np.array([bar.get_height() for bar in bars])
    predicted = int(net.predict(x[3:4])[0])
    assert f"predicted {predicted}" in text and "label 3" in text
    red = to_rgba("tab:red")
    assert [k for k, bar in enumerate(bars) if bar.get_facecolor() == red] == [predicted]
    if variant == "paper":
        np.testing.assert_allclose(heights, trace["output"][0], rtol=1e-6)  # the penalties
        assert predicted == int(np.argmin(heights))
        proto = image_of(panels(fig, "prototype")[0])
        np.testing.assert_array_equal(proto.reshape(-1), rbf_prototypes()[predicted])
    else:
        assert not panels(fig, "prototype")  # logits: no prototypes
        assert heights.sum() == pytest.approx(1)  # softmax
        assert predicted == int(np.argmax(heights))


def test_feature_maps_show_the_true_prototype_beside_the_predicted_one(paper_net, digits):
    x, y = digits
    predicted = [int(p) for p in paper_net.predict(x)]
    wrong = next(d for d in range(10) if predicted[d] != d)  # an untrained net errs
    fig = viz.feature_maps(paper_net, x[wrong], label=wrong)
    shown = {ax.get_label(): image_of(ax).reshape(-1) for ax in panels(fig, "prototype")}
    assert set(shown) == {"prototype", "prototype:true"}
    np.testing.assert_array_equal(shown["prototype"], rbf_prototypes()[predicted[wrong]])
    np.testing.assert_array_equal(shown["prototype:true"], rbf_prototypes()[wrong])
    text = titles(fig)
    assert f"prototype of {predicted[wrong]} (predicted)" in text
    assert f"prototype of {wrong} (true)" in text
    for label in (None, predicted[wrong]):  # no label, or the right one: one prototype
        fig = viz.feature_maps(paper_net, x[wrong], label=label)
        assert [ax.get_label() for ax in panels(fig, "prototype")] == ["prototype"]
    lines = viz.feature_maps_text(paper_net, x[wrong], label=wrong)
    assert f"prototype {predicted[wrong]} (predicted)" in lines
    assert f"prototype {wrong} (true)" in lines


def _colours(ax):
    (image,) = ax.get_images()
    return image.get_cmap().name, image.get_clim()


def test_feature_maps_carry_the_squashing_range_as_their_scale(paper_net, digits):
    x, y = digits
    fig = viz.feature_maps(paper_net, x[3], label=y[3])
    (scale,) = panels(fig, "scale")
    assert scale.get_xlim() == pytest.approx((-1.7159, 1.7159))
    assert "squashing" in titles(fig) and "1.7159" in titles(fig)
    # every state panel and the prototype share that scale and colours
    for prefix in ("C1:", "S2:", "C3:", "S4:", "C5", "F6", "prototype"):
        for ax in panels(fig, prefix):
            name, clim = _colours(ax)
            assert name == viz.STATE_CMAP and clim == pytest.approx((-1.7159, 1.7159)), prefix


def test_feature_maps_of_the_modern_net_give_each_layers_scale(modern_net, digits):
    x, _ = digits
    fig = viz.feature_maps(modern_net, x[3])
    text = titles(fig)
    for name in ("C1", "S2", "C3", "S4", "C5", "F6"):
        limit = _colours(panels(fig, name)[0])[1][1]
        assert f"{name}  " in text and f"+-{limit:.3g}" in text, name
    assert "own" in text and panels(fig, "scale")


def test_prototypes_are_drawn_in_one_colour_scheme(paper_net, digits):
    x, y = digits
    in_feature_maps = _colours(
        panels(viz.feature_maps(paper_net, x[3], label=y[3]), "prototype")[0]
    )
    for ax in panels(viz.prototypes(paper_net), "prototype:"):
        assert _colours(ax) == in_feature_maps


def test_a_one_pass_run_has_its_points_marked():
    lines = curves(viz.training_curves(HISTORY[:1]))
    assert len(lines) == 3
    for label, line in lines.items():
        assert line.get_marker() not in ("", "None", None) and line.get_markersize() >= 6, label
        assert len(line.get_xdata()) == 1
    (ax,) = panels(viz.training_curves(HISTORY[:1]), "curves")
    low, high = ax.get_xlim()
    assert low < 1 < high and high - low >= 1


def test_feature_maps_take_one_image(paper_net, digits):
    x, _ = digits
    with pytest.raises(ValueError, match="one image"):
        viz.feature_maps(paper_net, x[:2])
    with pytest.raises(ValueError, match="32x32"):
        viz.feature_maps(paper_net, np.zeros((28, 28)))


@pytest.mark.parametrize("variant", ["paper", "modern"])
def test_the_label_must_be_one_of_the_classes(variant, paper_net, modern_net, digits):
    net = paper_net if variant == "paper" else modern_net
    x, _ = digits
    for draw in (viz.feature_maps, viz.feature_maps_text):
        for bad, shown in (
            (-1, "-1"),
            (10, "10"),
            (12, "12"),
            (np.int64(-3), "-3"),
            (3.5, "3.5"),
            ("3", "'3'"),
            (True, "True"),
        ):
            message = (
                rf"^label must be a class from 0 to 9 \(the network has 10 outputs\), "
                rf"got {shown}$"
            )
            with pytest.raises(ValueError, match=message):
                draw(net, x[4], label=bad)
    # the largest class is a label like the others, and NumPy integers are integers
    fig = viz.feature_maps(net, x[4], label=np.int64(9))
    predicted = int(net.predict(x[4:5])[0])
    assert "label 9" in titles(fig)
    (out_ax,) = panels(fig, "output")
    outlined = [bar for bar in out_ax.patches[10:] if not bar.get_fill()]
    assert [bar.get_x() + bar.get_width() / 2 for bar in outlined] == (
        [] if predicted == 9 else [9]
    )
    assert (
        viz.feature_maps_text(net, x[4], label=0)
        .split("\n")[0]
        .endswith(f"label 0, predicted {predicted}")
    )


# ---- kernels (Table I) --------------------------------------------------------------------------


def test_kernels_lay_c3_out_as_table_i(paper_net):
    fig = viz.kernels(paper_net)
    c1 = panels(fig, "C1:")
    assert len(c1) == 6 and all(image_of(ax).shape == (5, 5) for ax in c1)
    cells = panels(fig, "C3:")
    assert len(cells) == 96  # 6 S2 maps x 16 C3 maps
    drawn = {ax.get_label() for ax in cells if ax.get_images()}
    table = paper_net.C3.connection_table
    assert len(drawn) == 60  # Table I's 60 kernels; the 36 other cells are blank
    assert drawn == {f"C3:{k}<-{s}" for k in range(16) for s in range(6) if table[k, s]}
    weight = paper_net.C3.params["weight"]
    where = {}  # (S2 map, C3 map) -> the panel's place in the figure
    for ax in cells:
        k, s = map(int, ax.get_label()[3:].split("<-"))
        spec = ax.get_subplotspec()  # Table I's layout: row s (S2 map), column k (C3 map)
        assert (spec.rowspan.start, spec.colspan.start) == (s, k), ax.get_label()
        where[s, k] = ax.get_position()  # in figure coordinates
        if ax.get_images():
            np.testing.assert_allclose(image_of(ax), weight[k, s])
    # in the figure too (the panels' centres: an image keeps its aspect, a blank cell fills its
    # slot): each row below the one before, each column right of the one before
    x = np.array([[(where[s, k].x0 + where[s, k].x1) / 2 for k in range(16)] for s in range(6)])
    y = np.array([[(where[s, k].y0 + where[s, k].y1) / 2 for k in range(16)] for s in range(6)])
    assert np.allclose(x, x[:1]) and np.all(np.diff(x[0]) > 0)
    assert np.allclose(y, y[:, :1]) and np.all(np.diff(y[:, 0]) < 0)
    for k, ax in enumerate(c1):  # C1: one row, map k in column k
        assert ax.get_label() == f"C1:{k}"
        spec = ax.get_subplotspec()
        assert (spec.rowspan.start, spec.colspan.start) == (0, k)
    assert all(c1[k].get_position().x0 < c1[k + 1].get_position().x0 for k in range(5))
    assert "Table I" in titles(fig)


def test_kernels_of_the_modern_net_are_all_connected(modern_net):
    fig = viz.kernels(modern_net)
    assert len(panels(fig, "C1:")) == 6
    assert sum(bool(ax.get_images()) for ax in panels(fig, "C3:")) == 96


def test_kernels_need_convolutions_named_c1_and_c3():
    one_layer = lenet.Network([lenet.Convolution(1, 4, 5, name="C1")], (1, 32, 32))
    renamed = lenet.Network(
        [lenet.Convolution(1, 6, 5, name="A"), lenet.Convolution(6, 16, 5, name="B")], (1, 32, 32)
    )
    for net, layers in (
        (one_layer, "C1 (Convolution)"),
        (renamed, "A (Convolution), B (Convolution)"),
    ):
        with pytest.raises(
            ValueError,
            match=r"^kernels\(\) needs a network with convolution "
            r"layers named C1 and C3, like lenet\.LeNet5 and "
            rf"LeNet5\.modern\(\); this one's layers are {re.escape(layers)}$",
        ):
            viz.kernels(net)


# ---- prototypes (Figure 3) ----------------------------------------------------------------------


def test_prototypes_are_ten_7x12_bitmaps(paper_net, modern_net):
    for fig in (viz.prototypes(paper_net), viz.prototypes()):
        shown = panels(fig, "prototype:")
        assert [ax.get_title() for ax in shown] == [str(d) for d in range(10)]
        for d, ax in enumerate(shown):
            assert image_of(ax).shape == (12, 7)
            np.testing.assert_array_equal(image_of(ax).reshape(-1), rbf_prototypes()[d])
    with pytest.raises(ValueError, match="RBF"):
        viz.prototypes(modern_net)


# ---- training curves (Figure 5) -----------------------------------------------------------------

HISTORY = [
    {
        "pass": p,
        "lr": 1e-4,
        "train_loss": 1.0 / p,
        "running_train_error": 0.05 / p,
        "train_error": 0.03 / p,
        "test_error": 0.02 + 0.01 / p,
        "seconds": 1.0,
    }
    for p in range(1, 6)
]


def curves(fig) -> dict:
    (ax,) = panels(fig, "curves")
    return {line.get_label(): line for line in ax.get_lines()}


def test_training_curves_draw_train_and_test_error_per_pass(tmp_path, paper_net):
    lines = curves(viz.training_curves(HISTORY))
    train, test = lines["training error after the pass"], lines["test error after the pass"]
    for line, key in ((train, "train_error"), (test, "test_error")):
        np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4, 5])
        np.testing.assert_allclose(line.get_ydata(), [100 * r[key] for r in HISTORY])
    assert "training error during the pass (running)" in lines
    assert "the paper: 0.95 % test error" in curves(viz.training_curves(HISTORY, 0.0095))

    # the same from a log file, a run folder, a checkpoint and its state; interrupted passes
    # and blank lines are left out
    run = tmp_path / "run"
    run.mkdir()
    log = run / "log.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in HISTORY) + "\n")
    path = save_checkpoint(
        tmp_path / "checkpoint.npz",
        paper_net,
        {},
        {},
        {"history": HISTORY + [{"pass": 6, "interrupted": True, "step": 9}]},
    )
    state = lenet.run.checkpoint.read_checkpoint(path)
    for source in (log, run, str(log), path, state, state["progress"]):
        line = curves(viz.training_curves(source))["test error after the pass"]
        np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4, 5])


def test_training_curves_need_a_finished_pass(tmp_path, paper_net):
    with pytest.raises(ValueError, match="no finished pass"):
        viz.training_curves([])
    with pytest.raises(ValueError, match="no finished pass"):
        viz.training_curves([{"pass": 1, "interrupted": True, "step": 3}])
    path = save_checkpoint(tmp_path / "checkpoint.npz", paper_net, {}, {}, {"history": []})
    with pytest.raises(ValueError, match="no finished pass"):
        viz.training_curves(path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="neither log.jsonl nor checkpoint.npz"):
        viz.training_curves(empty)
    (tmp_path / "bad.jsonl").write_text("{\n")
    with pytest.raises(ValueError, match="line 1"):
        viz.training_curves(tmp_path / "bad.jsonl")


# ---- misclassified digits (Figure 8) and the confusion matrix -----------------------------------


def test_misclassified_shows_each_error_with_true_and_predicted(digits):
    x, y = digits
    predicted = y.copy()
    predicted[[1, 4, 8]] = [7, 9, 3]
    fig = viz.misclassified(x, y, predicted)
    shown = panels(fig, "misclassified:")
    assert [ax.get_label() for ax in shown] == [
        "misclassified:1",
        "misclassified:4",
        "misclassified:8",
    ]
    assert [ax.get_title() for ax in shown] == ["1\u21927", "4\u21929", "8\u21923"]
    assert image_of(shown[0]).shape == (32, 32)
    assert "3 of 10 digits misclassified" in titles(fig)

    capped = viz.misclassified(x[:, 0], y, (y + 1) % 10, max_digits=4, columns=3)  # (N, H, W)
    assert len(panels(capped, "misclassified:")) == 4
    assert "10 of 10" in titles(capped) and "the first 4 shown" in titles(capped)

    none = viz.misclassified(x, y, y)
    assert not panels(none, "misclassified:")
    with pytest.raises(ValueError, match="agree"):
        viz.misclassified(x, y[:5], y)


def test_confusion_matrix_writes_every_count(rng):
    counts = rng.integers(0, 30, (10, 10)) + np.diag(rng.integers(500, 1200, 10))
    fig = viz.confusion_matrix(counts)
    (ax,) = panels(fig, "confusion")
    cells = [int(t.get_text()) for t in ax.texts]
    assert len(cells) == 100 and sum(cells) == counts.sum()
    assert np.array_equal(np.array(cells).reshape(10, 10), counts)  # rows true, columns predicted
    errors = counts.sum() - np.trace(counts)
    assert f"{errors:,} errors in {counts.sum():,}" in ax.get_title()
    for bad in (np.ones((3, 4), int), np.ones((3, 3)), -np.ones((3, 3), int)):
        with pytest.raises(ValueError, match="square matrix of counts"):
            viz.confusion_matrix(bad)


# ---- every figure renders to a PNG --------------------------------------------------------------


def test_every_figure_renders_to_png(tmp_path, paper_net, modern_net, digits):
    x, y = digits
    predicted = paper_net.predict(x)
    evaluation = lenet.evaluate(paper_net, x, y)
    figures = {
        "feature-maps": viz.feature_maps(paper_net, x[0], 0),
        "feature-maps-modern": viz.feature_maps(modern_net, x[0], 0),
        "kernels": viz.kernels(paper_net),
        "prototypes": viz.prototypes(paper_net),
        "training-curves": viz.training_curves(HISTORY, 0.0095),
        "misclassified": viz.misclassified(x, y, predicted),
        "confusion-matrix": viz.confusion_matrix(evaluation["confusion"]),
    }
    for name, fig in figures.items():
        path = viz.save_png(fig, tmp_path / f"{name}.png")
        assert path == tmp_path / f"{name}.png"
        assert_png(path)


# ---- text for a terminal ------------------------------------------------------------------------


def test_as_text_maps_values_onto_the_ramp():
    assert viz.as_text([[0.0, 1.0]]) == "  @@"  # two characters per value by default
    assert viz.as_text([[0.0, 1.0]], width=2) == " @"
    assert viz.as_text(np.linspace(0, 1, 10)[None], width=10) == viz.RAMP
    assert viz.as_text([[5.0, 5.0]], width=2) == "  "  # constant: the lowest character
    assert viz.as_text([[0.0, 1.0]], width=2, vmin=-1, vmax=1) == "+@"
    a = np.arange(64.0).reshape(8, 8)
    lines = viz.as_text(a, width=8).split("\n")
    assert len(lines) == 4 and all(len(s) == 8 for s in lines)  # rows halved: keeps the shape
    assert len(viz.as_text(a).split("\n")) == 8  # 16 characters wide, 8 lines
    for bad in (np.zeros(4), np.zeros((0, 3))):
        with pytest.raises(ValueError, match="2-D"):
            viz.as_text(bad)
    with pytest.raises(ValueError, match="width"):
        viz.as_text(a, width=0)


@pytest.mark.parametrize("variant", ["paper", "modern"])
def test_feature_maps_text_fits_a_terminal(variant, paper_net, modern_net, digits):
    net = paper_net if variant == "paper" else modern_net
    x, y = digits
    text = viz.feature_maps_text(net, x[2], label=2, title="test image 2")
    lines = text.split("\n")
    predicted = int(net.predict(x[2:3])[0])
    assert lines[0] == f"test image 2: label 2, predicted {predicted}"
    assert max(len(s) for s in lines) <= 80
    for heading in (
        "input  1 @ 32x32",
        "C1  6 @ 28x28",
        "S2  6 @ 14x14",
        "C3  16 @ 10x10",
        "S4  16 @ 5x5",
        "F6  84 as 7x12",
    ):
        assert heading in text
    marked = [s for s in lines if s.endswith("<- predicted")]
    assert len(marked) == 1 and marked[0].split()[0] == str(predicted)
    assert ("prototype" in text) == (variant == "paper")


# ---- matplotlib stays optional ------------------------------------------------------------------


def run_python(script: str, tmp_path) -> subprocess.CompletedProcess:
    """script in a fresh interpreter, in tmp_path, importing this same lenet."""
    package_parent = str(Path(lenet.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "PYTHONPATH": path},
    )


def test_the_core_never_imports_matplotlib(tmp_path):
    done = run_python(
        """
import sys
import lenet, lenet.cli, lenet.teach.viz
lenet.cli.build_parser()
print(lenet.teach.viz.as_text([[0, 1]]))
assert "matplotlib" not in sys.modules, "matplotlib was imported"
""",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr


def test_a_missing_matplotlib_gives_a_clear_error(tmp_path):
    done = run_python(
        f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "matplotlib":
            raise ImportError("No module named " + repr(name))
sys.meta_path.insert(0, Block())
from lenet.teach import viz
try:
    viz.prototypes()
except ImportError as exc:
    print("viz:", exc)
from lenet.cli import main
print("exit", main(["figures", {str(tmp_path / "no-checkpoint")!r}, "--out", "figs"]))
""",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (
        'viz: lenet\'s pictures need matplotlib, which is not installed: pip install ".[plot]" '
        'in a checkout of lenet, or pip install "lenet[plot]" from a package index' in done.stdout
    )
    assert "exit 2" in done.stdout
    assert "lenet figures: error: " in done.stderr and 'pip install "lenet[plot]"' in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "figs").exists()  # checked before anything is read or written


# ---- the commands -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A run folder with an untrained paper network's checkpoint and a two-pass history, its
    recipe pointing at the MNIST files the test suite reads (conftest.MNIST)."""
    folder = tmp_path_factory.mktemp("run")
    save_checkpoint(
        folder / "checkpoint.npz",
        lenet.LeNet5(seed=0),
        {},
        asdict(Recipe(init="lecun98-sqrt", data=str(MNIST))),
        {"epoch": 2, "step": 0, "history": HISTORY[:2]},
    )
    return folder


@needs_mnist
def test_figures_writes_every_picture(run_folder, tmp_path, capsys):
    out = tmp_path / "figures" / "new"  # created, parents too
    assert (
        main(
            [
                "figures",
                str(run_folder),
                "--out",
                str(out),
                "--index",
                "7",
                "--max-digits",
                "12",
                "--offline",
            ]
        )
        == 0
    )
    names = [
        "test-image-7-feature-maps.png",
        "kernels.png",
        "prototypes.png",
        "training-curves.png",
        "misclassified.png",
        "confusion-matrix.png",
    ]
    assert capsys.readouterr().out.split() == [str(out / name) for name in names]
    for name in names:
        assert_png(out / name)


@needs_mnist
def test_figures_of_a_modern_net_without_history(tmp_path, capsys):
    save_checkpoint(
        tmp_path / "checkpoint.npz",
        lenet.LeNet5.modern(input_size=32),
        {},
        asdict(Recipe(model="modern", loss="cross-entropy", data=str(MNIST))),
        {"history": []},
    )
    out = tmp_path / "figs"
    assert (
        main(["figures", str(tmp_path), "--out", str(out), "--max-digits", "5", "--offline"]) == 0
    )
    printed = capsys.readouterr().out
    assert "prototypes.png: skipped" in printed and "training-curves.png: skipped" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "confusion-matrix.png",
        "kernels.png",
        "misclassified.png",
        "test-image-7-feature-maps.png",
    ]  # without --index: the tutorial's digit, image 7


@needs_mnist
def test_inspect_writes_the_digit_and_prints_text(run_folder, tmp_path, capsys):
    out = tmp_path / "digit"
    assert (
        main(["inspect", str(run_folder), "--index", "7", "--out", str(out), "--text", "--offline"])
        == 0
    )
    printed = capsys.readouterr().out
    assert printed.startswith("MNIST test image 7: label 9, predicted ")  # y_test[7] is 9
    assert "C1  6 @ 28x28" in printed and "<- predicted" in printed
    assert printed.rstrip().endswith(str(out / "test-image-7-feature-maps.png"))
    assert_png(out / "test-image-7-feature-maps.png")

    # no --out: the text only, nothing written
    assert main(["inspect", str(run_folder), "--index", "0", "--offline"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("MNIST test image 0: label 7") and "S4  16 @ 5x5" in printed
    assert max(len(line) for line in printed.splitlines()) <= 80

    # the training set; --out alone: a PNG and one line about the digit
    assert (
        main(
            [
                "inspect",
                str(run_folder),
                "--split",
                "train",
                "--index",
                "0",
                "--out",
                str(out),
                "--offline",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("MNIST train image 0: label 5, predicted ")
    assert printed[1:] == [str(out / "train-image-0-feature-maps.png")]

    # without --index: test image 7, the digit the tutorial follows
    assert main(["inspect", str(run_folder), "--offline"]) == 0
    assert capsys.readouterr().out.startswith("MNIST test image 7: label 9, predicted ")


@needs_mnist
def test_command_errors_are_clear(run_folder, tmp_path, capsys):
    assert main(["inspect", str(run_folder), "--index", "10000", "--offline"]) == 2
    err = capsys.readouterr().err
    assert "--index 10000 is out of range" in err and "0 to 9,999" in err
    assert (
        main(["figures", str(run_folder), "--out", str(tmp_path), "--index", "10000", "--offline"])
        == 2
    )
    assert "0 to 9,999" in capsys.readouterr().err
    assert main(["figures", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    assert "lenet figures: error:" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["figures", str(run_folder), "--out", str(blocker), "--offline"]) == 2
    assert "lenet figures: error:" in capsys.readouterr().err


def test_options_are_checked_before_any_data_are_read(tmp_path, capsys):
    # the checkpoint does not exist: each error is the option's, found before reading anything
    missing = str(tmp_path / "missing")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for argv, message in (
        (
            ["figures", missing, "--out", str(tmp_path / "figs"), "--max-digits", "0"],
            "lenet figures: error: --max-digits must be at least 1, got 0",
        ),
        (
            ["figures", missing, "--out", str(tmp_path / "figs"), "--index", "-1"],
            "lenet figures: error: --index -1 is out of range: images are numbered from 0",
        ),
        (
            ["figures", missing, "--out", str(blocker)],
            f"lenet figures: error: --out {blocker} is not a folder",
        ),
        (
            ["inspect", missing, "--index", "-2"],
            "lenet inspect: error: --index -2 is out of range: images are numbered from 0",
        ),
        (
            ["inspect", missing, "--out", str(blocker)],
            f"lenet inspect: error: --out {blocker} is not a folder",
        ),
    ):
        assert main(argv + ["--offline"]) == 2, argv
        assert capsys.readouterr().err.strip() == message
    assert not (tmp_path / "figs").exists()
    assert main(["figures", missing, "--out", str(tmp_path / "figs"), "--offline"]) == 2
    assert "missing" in capsys.readouterr().err  # the options are fine: now the checkpoint


def test_curvature_by_pass_draws_each_layers_measurements():
    v = viz
    records = [
        {
            "pass": p,
            "eta": 5e-4,
            "layers": {
                "C1": {"h": [0, 0, 2.0 / p, 0, 0], "capped": 0.0, "saturated": 0.1 * p},
                "C5": {"h": [0, 0, 1.0 / p**3, 0, 0], "capped": 0.2 * p, "saturated": 0.3 * p},
                "output": {},
            },
        }
        for p in (1, 2, 3)
    ]
    fig = v.curvature_by_pass(records, [0.03, 0.2, 0.1], "a study")
    by_label = {ax.get_label(): ax for ax in fig.axes}
    assert set(by_label) == {"saturated", "h", "capped", "validation"}
    (c1, c5) = by_label["h"].get_lines()
    np.testing.assert_allclose(c5.get_ydata(), [1.0, 1 / 8, 1 / 27])
    assert [t.get_text() for t in by_label["capped"].get_legend().get_texts()] == ["C1", "C5"]
    np.testing.assert_allclose(by_label["validation"].get_lines()[0].get_ydata(), [3, 20, 10])
    with pytest.raises(ValueError, match="at least one pass"):
        v.curvature_by_pass([])
