"""Pictures of a network and its training, after the paper's figures (needs matplotlib).

    pip install ".[plot]"          # from a checkout of lenet
    pip install "lenet[plot]"      # from a package index

    >>> from lenet import viz                                  # doctest: +SKIP
    >>> fig = viz.feature_maps(net, x_test[7], label=y_test[7])  # doctest: +SKIP
    >>> fig.savefig("digit-7.png")                             # doctest: +SKIP

Every function returns a ``matplotlib.figure.Figure`` built directly (not through
``pyplot``), so no window opens, no global state changes, and ``fig.savefig`` writes the file
with matplotlib's Agg renderer whatever backend is configured:

* ``feature_maps(net, image)``: every layer's states for one digit, C1 ... F6 and the output
  (Section II.B's Figure 2, made real for that digit); ``trace_figure(trace)`` draws the
  states a ``net.trace(x)`` holds, as they are;
* ``trace_gradients(trace)``: each layer's states beside dE/d(states), for a digit traced
  with its label (back-propagation, layer by layer);
* ``kernels(net)``: the learned 5x5 kernels of C1 and of C3, laid out as Table I;
* ``prototypes(net)``: the ten 7x12 RBF parameter vectors (Figure 3);
* ``training_curves(history)``: training and test error per pass (Figure 5);
* ``state_limit(values, activation)``: the half-range of the colour scale of a layer's states,
  which the studio's page draws with too;
* ``curvature_by_pass(records)``: per layer and pass, the saturation, h_kk and SDLM's capped
  step sizes that a pass starts from (Appendix C);
* ``misclassified(images, labels, predicted)``: the test digits the network gets wrong, each
  titled "true->predicted" (Figure 8);
* ``confusion_matrix(confusion)``: counts of (true, predicted) classes.

For a terminal without a display, ``as_text`` draws any 2-D array with characters and
``feature_maps_text`` (``trace_text`` for a trace) prints a digit and small versions of its
feature maps; these need only NumPy. The command line writes the same pictures: ``lenet
inspect`` and ``lenet figures``.

Each image panel is an Axes whose label (``ax.get_label()``) says what it shows, for instance
``"C1:3"`` (map 3 of C1), ``"C3:7<-2"`` (the kernel from S2 map 2 to C3 map 7) or
``"prototype:4"``, so that programs can find the panels of a figure.
"""

from __future__ import annotations

import io
import json
import math
import operator
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from ..engine.layers import Convolution, RBFOutput
from ..engine.losses import softmax
from ..paper import BITMAP_COLUMNS, BITMAP_ROWS, SQUASH_A, rbf_prototypes
from ..run.archive import read_archive

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..engine.network import Network
    from ..engine.trace import Trace

__all__ = [
    "RAMP",
    "as_text",
    "confusion_matrix",
    "curvature_by_pass",
    "feature_maps",
    "feature_maps_text",
    "kernels",
    "misclassified",
    "prototypes",
    "require_matplotlib",
    "save_png",
    "png_bytes",
    "state_limit",
    "trace_figure",
    "trace_gradients",
    "trace_text",
    "training_curves",
]

#: Characters from the lowest value to the highest, for ``as_text``.
RAMP = " .:-=+*#%@"
#: Resolution of the PNG files (dots per inch); figure sizes are given in inches.
DPI = 100
#: Colour maps: states and weights change sign, so a diverging map centred on 0 (blue
#: negative, white 0, red positive); the RBF prototypes are drawn with it too, on F6's scale,
#: since F6's states are compared with them; the input digit in ink on paper.
STATE_CMAP = "RdBu_r"
INK_CMAP = "gray_r"
#: What to type for the plotting extra, from a checkout and from a package index.
INSTALL_PLOT = (
    'pip install ".[plot]" in a checkout of lenet, or pip install "lenet[plot]" '
    "from a package index (either adds matplotlib >= 3.5.3)"
)
#: Panels per row in ``feature_maps`` (C3 and S4's 16 maps fill one row).
_ROW_PANELS = 16


def require_matplotlib() -> type:
    """The ``matplotlib.figure.Figure`` class; ImportError naming the extra when it is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            f"lenet's pictures need matplotlib, which is not installed: {INSTALL_PLOT}"
        ) from exc
    return Figure


def _figure(width: float, height: float, constrained: bool = True) -> Figure:
    # constrained layout keeps titles and labels of the many small panels from overlapping
    return require_matplotlib()(
        figsize=(width, height), dpi=DPI, layout="constrained" if constrained else None
    )


def save_png(fig: Figure, path: str | os.PathLike) -> Path:
    """Write `fig` to `path` as a PNG (with the Agg renderer) and return the path."""
    path = Path(path)
    fig.savefig(path, format="png", dpi=DPI)
    return path


def png_bytes(fig: Figure) -> bytes:
    """`fig` as the bytes of a PNG file (with the Agg renderer), as ``save_png`` writes it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


# ---- helpers --------------------------------------------------------------------------------


def _grid_shape(n: int, columns: int | None = None) -> tuple[int, int]:
    """(rows, columns) of a grid for n values: 84 as the 12x7 F6 bitmap, else near square
    (120 -> 10 x 12)."""
    if columns is None:
        if n == BITMAP_ROWS * BITMAP_COLUMNS:
            return BITMAP_ROWS, BITMAP_COLUMNS
        columns = math.ceil(math.sqrt(n))
        while columns < n and n % columns:  # a divisor when one is near, so no cell is empty
            columns += 1
            if columns > 2 * math.sqrt(n):
                columns = math.ceil(math.sqrt(n))
                break
    return math.ceil(n / columns), columns


def _as_grid(values: np.ndarray, columns: int | None = None) -> np.ndarray:
    """A vector as a 2-D grid (row-major); cells past the end are NaN (drawn blank)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    rows, cols = _grid_shape(values.size, columns)
    grid = np.full(rows * cols, np.nan)
    grid[: values.size] = values
    return grid.reshape(rows, cols)


def state_limit(values: np.ndarray, activation: str | None) -> float:
    """The colour scale's half-range for a layer's states: the range of the squashing function,
    +-1.7159, after the paper's f (so every layer of the paper's network shares one scale and
    saturation shows), else the states' largest magnitude."""
    if activation == "scaled_tanh":
        return SQUASH_A
    largest = float(np.nanmax(np.abs(values))) if np.size(values) else 0.0
    return largest if math.isfinite(largest) and largest > 0 else 1.0


def _activation(net: Network, name: str) -> str | None:
    layer = {layer.name: layer for layer in net.layers}.get(name)
    return getattr(layer, "activation", None)


def _bare(ax: Any, label: str | None = None) -> None:
    """An axes without ticks (an image panel); `label` names it for programs."""
    ax.set_xticks([])
    ax.set_yticks([])
    if label is not None:
        ax.set_label(label)


def _show(
    ax: Any,
    image: np.ndarray,
    cmap: str,
    limit: float | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Any:
    if limit is not None:
        vmin, vmax = -limit, limit
    return ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")


def _each(made: Any) -> list[Any]:
    """The subfigures or axes matplotlib made, as a list (it returns one alone, unwrapped)."""
    return list(np.ravel(made)) if isinstance(made, np.ndarray) else [made]


def _prototypes_of(net: Network) -> np.ndarray:
    """The RBF output layer's fixed prototypes (classes, features)."""
    output = net.layers[-1]
    assert isinstance(output, RBFOutput)
    return np.asarray(output.prototypes)


def _single_image(net: Network, image: ArrayLike) -> dict[str, np.ndarray]:
    trace = net.trace(image)
    if trace["input"].shape[0] != 1:
        raise ValueError(f"image must be one image, got a batch of {trace['input'].shape[0]}")
    return {name: arr[0] for name, arr in trace.items()}


def _shape_text(shape: tuple[int, ...]) -> str:
    """(6, 28, 28) -> '6 @ 28x28', as the paper writes layer sizes; (84,) -> '84'."""
    if len(shape) == 3:
        return f"{shape[0]} @ {shape[1]}x{shape[2]}"
    return " x ".join(map(str, shape))


def _check_label(label: Any, classes: int) -> int | None:
    """The true class `label` as an int (None when not given); ValueError unless it is an
    integer from 0 to classes - 1, the network's output size."""
    if label is None:
        return None
    try:
        value = None if isinstance(label, (bool, np.bool_)) else operator.index(label)
    except TypeError:
        value = None
    if value is None or not 0 <= value < classes:
        raise ValueError(
            f"label must be a class from 0 to {classes - 1} (the network has "
            f"{classes} outputs), got {label if value is None else value!r}"
        )
    return value


def _output_scores(net: Network, out: np.ndarray) -> tuple[bool, np.ndarray, int]:
    """(RBF?, what to draw, predicted class): RBF penalties as they are, logits as softmax
    probabilities."""
    rbf = isinstance(net.layers[-1], RBFOutput)
    predicted = int(net.classify(out[None])[0])
    if rbf:
        return True, out.astype(np.float64), predicted
    return False, softmax(out.astype(np.float64)), predicted


# ---- Figure 2: the feature maps of one digit ---------------------------------------------------


def feature_maps(
    net: Network, image: ArrayLike, label: int | None = None, title: str | None = None
) -> Figure:
    """Every layer's states for one image: Figure 2 of the paper, computed for that digit.

    From ``net.trace(image)``: the input; each map of C1, S2, C3 and S4 as a small image; the
    120 states of C5 (each a 1x1 map) as a 10x12 grid; the 84 states of F6 as the 7x12 bitmap
    they are compared with (Section II.B, Figure 3), beside the RBF prototype of the predicted
    class (and of the true class, when `label` is given and differs); and the output as a bar
    chart: the ten RBF penalties, the smallest (the prediction)
    highlighted, or for a network with logits (``LeNet5.modern()``) their softmax, the largest
    highlighted. Each block is titled with the layer's name and shape ("C1  6 @ 28x28").
    `title` says what the image is ("MNIST test image 7"); the label (when given) and the
    prediction follow it. `label` is the image's true class, an integer from 0 to the number of
    outputs less one (ValueError otherwise).

    States are drawn blue (negative) to red (positive) on a symmetric scale: the range of the
    squashing function f, +-1.7159 (Appendix A), for the layers it follows (all of the paper's
    network, so saturated units look alike in every layer), else the layer's largest
    magnitude (given in its title). A colour bar gives the scale. The prototypes are drawn
    on F6's scale, so that F6's states and the bitmaps they are compared with read alike. The
    input is drawn as ink on paper.
    Panels are labelled "input:0", "C1:0" ... "C1:5", ..., "C5", "F6", "prototype" (of the
    predicted class), "prototype:true" (of the true class), "scale" and "output".
    """
    return _maps_figure(net, _single_image(net, image), label, title)


def trace_figure(
    trace: Trace, sample: int = 0, label: int | None = None, title: str | None = None
) -> Figure:
    """``feature_maps`` for a trace that ``net.trace(x)`` returned: the states it holds for
    image ``sample`` of its batch, drawn as they are (not computed again), with the network
    that made it (``trace.network``) for the layers' squashing and the RBF prototypes. The
    label is the trace's own (``net.trace(x, label=...)``) unless ``label`` is given."""
    net, states, label = _trace_sample(trace, sample, label)
    return _maps_figure(net, states, label, title)


def _trace_sample(
    trace: Trace, sample: int, label: int | None
) -> tuple[Network, dict[str, np.ndarray], int | None]:
    """The network, one image's states and its label, from a trace."""
    net = getattr(trace, "network", None)
    if net is None or "input" not in trace:
        raise TypeError(f"trace must be what net.trace(x) returns, got {type(trace).__name__}")
    n = trace["input"].shape[0]
    try:
        index = None if isinstance(sample, (bool, np.bool_)) else operator.index(sample)
    except TypeError:
        index = None
    if index is None or not -n <= index < n:
        raise ValueError(f"sample must be an image of the trace, 0 to {n - 1}, got {sample!r}")
    if label is None and trace.labels is not None:
        label = int(trace.labels[index])
    states = {name: arr[index] for name, arr in trace.items() if not name.endswith(".a")}
    return net, states, label


def _maps_figure(
    net: Network, states: dict[str, np.ndarray], label: int | None, title: str | None
) -> Figure:
    names = list(states)
    out_name = names[-1]
    rbf, scores, predicted = _output_scores(net, states[out_name])
    label = _check_label(label, scores.size)

    # one block per layer: (name, kind, panels, grid columns); map layers become rows of
    # panels, vector layers (C5, F6) one panel each, the output a bar chart 4 panels wide
    blocks: list[tuple[str, str, int, int]] = []
    for name in names[:-1]:
        arr = states[name]
        if arr.ndim == 3 and arr.shape[1] * arr.shape[2] > 1:
            # the input's title is wider than one panel: give a single map two columns
            blocks.append(
                (
                    name,
                    "maps",
                    arr.shape[0],
                    min(max(arr.shape[0], 2 if name == "input" else 1), _ROW_PANELS),
                )
            )
        else:
            blocks.append((name, "vector", 1, 2))
            if arr.size == BITMAP_ROWS * BITMAP_COLUMNS and rbf:
                blocks.append(("prototype", "prototype", 1, 2))
                if label is not None and label != predicted:
                    blocks.append(("prototype:true", "prototype", 1, 2))
    blocks.append((out_name, "output", 1, 4))
    blocks.append(("scale", "scale", 1, 2))
    rows: list[list[tuple[str, str, int, int]]] = [[]]
    for block in blocks:  # greedy: as many layers side by side as fit in _ROW_PANELS columns
        if rows[-1] and sum(b[3] for b in rows[-1]) + block[3] > _ROW_PANELS:
            rows.append([])
        rows[-1].append(block)

    limits = {name: state_limit(states[name], _activation(net, name)) for name in names[1:-1]}
    shared = len(set(limits.values())) == 1  # the paper's network: one scale, +-1.7159

    def row_height(row: list[tuple[str, str, int, int]]) -> float:
        if any(kind != "maps" for _, kind, _, _ in row):
            return 2.6  # the 12x7 bitmaps and the bar chart need height
        return max(1.25 * math.ceil(n / cols) for _, _, n, cols in row)

    heights = [row_height(row) for row in rows]
    fig = _figure(16, sum(heights) + 0.8)
    heading = (
        (title or f"LeNet-5 ({net.variant}) on one digit")
        + (f": label {label}," if label is not None else ":")
        + f" predicted {predicted}"
    )
    fig.suptitle(heading + "  (blue < 0 < red)", fontsize=13)
    row_figs = _each(fig.subfigures(len(rows), 1, height_ratios=heights))
    for row, row_fig in zip(rows, row_figs):
        widths = [cols for _, _, _, cols in row]
        if sum(widths) < _ROW_PANELS:  # keep panels their size: pad the row with empty space
            widths.append(_ROW_PANELS - sum(widths))
        block_figs = _each(row_fig.subfigures(1, len(widths), width_ratios=widths))
        for (name, kind, n, cols), block_fig in zip(row, block_figs):
            if kind == "output":
                _output_bars(block_fig, out_name, rbf, scores, predicted, label)
            elif kind == "prototype":
                which, whose = (
                    (label, "true") if name == "prototype:true" else (predicted, "predicted")
                )
                proto = _prototypes_of(net)[which]
                ax = block_fig.subplots()
                _show(ax, proto.reshape(BITMAP_ROWS, BITMAP_COLUMNS), STATE_CMAP, limits[names[-2]])
                _bare(ax, name)
                block_fig.suptitle(f"prototype of {which} ({whose})\n7x12 bitmap, +-1", fontsize=10)
            elif kind == "scale":
                _scale_bar(block_fig, limits, shared)
            else:
                limit = limits.get(name, 1.0)
                _state_block(
                    block_fig,
                    name,
                    states[name],
                    n,
                    cols,
                    limit,
                    None if shared or name == "input" else limit,
                )
    return fig


def trace_gradients(trace: Trace, sample: int = 0, title: str | None = None) -> Figure:
    """Each layer's states beside the gradient of the loss with respect to them, for image
    ``sample`` of a trace made with a label (``net.trace(x, label=...)``): back-propagation
    seen layer by layer, from the output down to the input's pixels.

    One row per layer, "input" to the output: on the left its states (C1 ... F6 on the
    squashing function's range when the paper's f follows them, else their own largest
    magnitude), on the right dE/d(states) on its own symmetric scale, +-max |dE/dy|, given
    in the panel's title (gradients shrink or grow by orders of magnitude from layer to
    layer). Blue is negative, red positive. Panels are labelled "C1:0" ... for the states and
    "dE/dC1:0" ... for the gradients.
    """
    net, states, label = _trace_sample(trace, sample, None)
    if not trace.state_gradients:
        raise ValueError(
            "the trace holds no gradients: trace the image with its label, net.trace(x, label=...)"
        )
    index = operator.index(sample)
    gradients = {name: g[index] for name, g in trace.state_gradients.items()}
    names = [name for name in states if name in gradients]

    def map_rows(arr: np.ndarray) -> int:
        maps = arr.shape[0] if arr.ndim == 3 and arr.shape[1] * arr.shape[2] > 1 else 1
        return math.ceil(maps / _GRADIENT_COLUMNS)

    heights = [1.3 * map_rows(states[name]) + 0.5 for name in names]
    fig = _figure(16, sum(heights) + 0.8)
    heading = title or f"LeNet-5 ({net.variant}): states and dE/d(states) of one digit"
    loss = f", loss {trace.loss_name} E = {trace.loss:.4g}" if trace.loss is not None else ""
    fig.suptitle(f"{heading}: label {label}{loss}  (blue < 0 < red)", fontsize=13)
    for name, row_fig in zip(names, _each(fig.subfigures(len(names), 1, height_ratios=heights))):
        left, right = _each(row_fig.subfigures(1, 2))
        arr, grad = states[name], gradients[name]
        maps = arr.shape[0] if arr.ndim == 3 and arr.shape[1] * arr.shape[2] > 1 else 1
        cols = min(maps, _GRADIENT_COLUMNS)
        if name == "input" or name == names[-1]:
            limit = float(np.max(np.abs(arr))) or 1.0
            own: float | None = limit
        else:
            limit = state_limit(arr, _activation(net, name))
            own = None if math.isclose(limit, SQUASH_A) else limit
        _state_block(left, name, arr, maps, cols, limit, own)
        largest = float(np.max(np.abs(grad))) or 1.0
        _state_block(right, f"dE/d{name}", grad, maps, cols, largest, largest)
    return fig


#: Maps per line in ``trace_gradients`` (C3's and S4's 16 maps take two lines).
_GRADIENT_COLUMNS = 8


def _scale_bar(block_fig: Any, limits: dict, shared: bool) -> None:
    """The colour bar of the states: the squashing range when every layer shares it, else
    each layer's own half-range (named in its title) as -1 .. 1 of it."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    ax = block_fig.add_axes((0.08, 0.5, 0.84, 0.1))  # a thin bar, not the whole block
    ax.set_label("scale")
    limit = next(iter(limits.values())) if shared and limits else 1.0
    bar = block_fig.colorbar(
        ScalarMappable(Normalize(-limit, limit), STATE_CMAP), cax=ax, orientation="horizontal"
    )
    if shared:
        bar.set_ticks([-limit, 0, limit], labels=[f"{-limit:.5g}", "0", f"{limit:.5g}"])
        what = (
            "states f(a): the squashing\nrange of f, +-1.7159"
            if math.isclose(limit, SQUASH_A)
            else f"states, +-{limit:.3g}"
        )
    else:
        bar.set_ticks([-1, 0, 1], labels=["-max", "0", "+max"])
        what = "states: each layer's own\nscale, +-max (in its title)"
    bar.ax.tick_params(labelsize=8)
    block_fig.suptitle(f"colour scale\n{what}", fontsize=9)


def _state_block(
    block_fig: Any,
    name: str,
    arr: np.ndarray,
    n: int,
    cols: int,
    limit: float,
    own_scale: float | None = None,
) -> None:
    """One layer's states; `own_scale`, when the layers do not share one, goes in the title."""
    scale = f", +-{own_scale:.3g}" if own_scale is not None else ""
    if arr.ndim == 3 and arr.shape[1] * arr.shape[2] > 1:  # n maps
        cols = min(n, cols)  # a single map fills its block
        rows = math.ceil(n / cols)
        axes = np.atleast_1d(block_fig.subplots(rows, cols)).reshape(-1)
        for k, ax in enumerate(axes):
            _bare(ax)
            if k >= n:
                ax.set_axis_off()
                continue
            if name == "input":  # the digit as printed, dark ink on white, on its own scale
                _show(ax, arr[k], INK_CMAP, vmin=float(arr.min()), vmax=float(arr.max()))
            else:
                _show(ax, arr[k], STATE_CMAP, limit)
            ax.set_label(f"{name}:{k}")
            if n > 1:
                ax.set_title(str(k), fontsize=7, pad=2)
        block_fig.suptitle(f"{name}  {_shape_text(arr.shape)}{scale}", fontsize=10)
        return
    values = arr.reshape(-1)
    ax = block_fig.subplots()
    grid = _as_grid(values)
    _show(ax, grid, STATE_CMAP, limit)
    _bare(ax, name)
    what = (
        "as the 7x12 bitmap"
        if values.size == BITMAP_ROWS * BITMAP_COLUMNS
        else f"as {grid.shape[0]}x{grid.shape[1]}"
    )
    block_fig.suptitle(f"{name}  {_shape_text(arr.shape)}{scale}\n{what}", fontsize=10)


def _output_bars(
    block_fig: Any, name: str, rbf: bool, scores: np.ndarray, predicted: int, label: int | None
) -> None:
    ax = block_fig.subplots()
    ax.set_label(name)
    classes = np.arange(scores.size)
    colours = ["tab:red" if c == predicted else "0.65" for c in classes]
    bars = ax.bar(classes, scores, color=colours)
    # the values, so that a winning penalty near 0 (no visible bar) still reads
    ax.bar_label(
        bars, [f"{v:.2g}" if abs(v) < 10 else f"{v:.0f}" for v in scores], fontsize=7, padding=1
    )
    ax.set_xticks(classes)
    ax.tick_params(labelsize=8)
    ax.get_xticklabels()[predicted].set_color("tab:red")
    ax.get_xticklabels()[predicted].set_fontweight("bold")
    ax.margins(y=0.12)
    if label is not None and label != predicted:  # the true class, outlined
        ax.bar([label], [scores[label]], fill=False, edgecolor="black", linewidth=1.5)
    if rbf:
        ax.set_ylabel("penalty y_i", fontsize=9)
        block_fig.suptitle(
            f"{name}  {scores.size} RBF penalties\nsmallest wins: {predicted}", fontsize=10
        )
    else:
        ax.set_ylim(0, 1)
        ax.set_ylabel("softmax", fontsize=9)
        block_fig.suptitle(
            f"{name}  {scores.size} logits, softmax\nlargest wins: {predicted}", fontsize=10
        )
    ax.set_xlabel(
        "class" + ("  (outlined: true)" if label is not None and label != predicted else ""),
        fontsize=9,
    )


# ---- C1 and C3 kernels (Table I) ----------------------------------------------------------------


def kernels(net: Network) -> Figure:
    """The learned 5x5 kernels of C1 and C3 (Section II.B).

    C1: one kernel per map (a row per input channel). C3: a grid laid out as Table I, one row
    per S2 map and one column per C3 map; the cell of an S2 map that does not feed a C3 map is
    blank, so the 60 kernels of the paper's network show the table's pattern. Each layer has
    its own symmetric colour scale (blue negative, red positive; the colour bar gives it).
    Panels are labelled "C1:k" (or "C1:k<-c" for several input channels) and "C3:k<-s".
    ValueError for a network without convolution layers named C1 and C3.
    """
    layers = {layer.name: layer for layer in net.layers}
    if not all(isinstance(layers.get(name), Convolution) for name in ("C1", "C3")):
        raise ValueError(
            "kernels() needs a network with convolution layers named C1 and C3, "
            "like lenet.LeNet5 and LeNet5.modern(); this one's layers are "
            + ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in net.layers)
        )
    c1 = np.asarray(layers["C1"].params["weight"], dtype=np.float64)
    c3 = np.asarray(layers["C3"].params["weight"], dtype=np.float64)
    table = np.asarray(getattr(layers["C3"], "connection_table", np.ones(c3.shape[:2], bool)), bool)
    out3, in3, kh, kw = c3.shape
    out1, in1 = c1.shape[:2]
    # Placed by hand, in inches: a hundred small panels make constrained layout slow, and the
    # grid is regular. Top to bottom: heading, C1 (1.2" panels), C3 (0.7" cells), axis label.
    left, right, cell1, cell3 = 1.0, 1.4, 1.2, 0.7
    width = left + right + max(out3 * cell3, out1 * 1.7 * cell1)
    c1_height, c3_height = in1 * cell1 * 1.25, in3 * cell3
    height = 0.95 + c1_height + 0.25 + 0.55 + c3_height + 0.45
    fig = _figure(width, height, constrained=False)

    def y(inches_from_top: float) -> float:
        return 1 - inches_from_top / height

    fig.suptitle(f"Learned kernels of C1 and C3 ({kh}x{kw})", fontsize=13, y=y(0.15), va="top")
    centre = (left + (width - right)) / 2 / width
    fig.text(
        centre,
        y(0.5),
        f"C1: {out1} kernels on the " + ("input" if in1 == 1 else f"{in1} input channels"),
        ha="center",
        va="top",
        fontsize=11,
    )
    c1_top = 0.95
    c1_width = out1 * 1.7 * cell1
    c1_left = left + (width - left - right - c1_width) / 2
    grid = fig.add_gridspec(
        in1,
        out1,
        left=c1_left / width,
        right=(c1_left + c1_width) / width,
        top=y(c1_top),
        bottom=y(c1_top + c1_height - 0.25),
        wspace=0.7,
        hspace=0.3,
    )
    lim1 = float(np.abs(c1).max()) or 1.0
    for c in range(in1):
        for k in range(out1):
            ax = fig.add_subplot(grid[c, k])
            image = _show(ax, c1[k, c], STATE_CMAP, lim1)
            _bare(ax, f"C1:{k}" if in1 == 1 else f"C1:{k}<-{c}")
            if c == 0:
                ax.set_title(f"map {k}", fontsize=9)
            if k == 0 and in1 > 1:
                ax.set_ylabel(f"channel {c}", fontsize=9)
    bar = fig.add_axes(
        (
            (width - right + 0.45) / width,
            y(c1_top + c1_height - 0.3),
            0.12 / width,
            (c1_height - 0.4) / height,
        )
    )
    fig.colorbar(image, cax=bar)
    bar.tick_params(labelsize=8)

    c3_top = c1_top + c1_height + 0.25
    wiring = (
        "every S2 map to every C3 map" if table.all() else "wired as Table I (blank: no connection)"
    )
    fig.text(
        centre,
        y(c3_top),
        f"C3: {int(table.sum())} kernels, {wiring}",
        ha="center",
        va="top",
        fontsize=11,
    )
    c3_top += 0.55  # the heading, then the column numbers
    grid = fig.add_gridspec(
        in3,
        out3,
        left=left / width,
        right=1 - right / width,
        top=y(c3_top),
        bottom=y(c3_top + c3_height),
        wspace=0.12,
        hspace=0.12,
    )
    connected = c3[table]
    lim3 = (float(np.abs(connected).max()) if connected.size else 0.0) or 1.0
    image = None
    for s in range(in3):
        for k in range(out3):
            ax = fig.add_subplot(grid[s, k])
            _bare(ax, f"C3:{k}<-{s}")
            if table[k, s]:
                image = _show(ax, c3[k, s], STATE_CMAP, lim3)
            else:  # no connection in Table I: an empty cell, without a frame
                for spine in ax.spines.values():
                    spine.set_visible(False)
            if s == 0:
                ax.set_title(str(k), fontsize=9)
            if k == 0:
                ax.set_ylabel(str(s), fontsize=9, rotation=0, labelpad=8, va="center")
    if image is not None:
        bar = fig.add_axes(
            (
                (width - right + 0.45) / width,
                y(c3_top + c3_height),
                0.12 / width,
                c3_height / height,
            )
        )
        fig.colorbar(image, cax=bar)
        bar.tick_params(labelsize=8)
    fig.text(
        (left + (width - left - right) / 2) / width,
        y(c3_top + c3_height + 0.1),
        "C3 map",
        ha="center",
        va="top",
        fontsize=10,
    )
    fig.text(
        0.4 / width,
        y(c3_top + c3_height / 2),
        "S2 map",
        rotation=90,
        ha="center",
        va="center",
        fontsize=10,
    )
    return fig


# ---- Figure 3: the RBF prototypes ---------------------------------------------------------------


def prototypes(net: Network | None = None) -> Figure:
    """The ten fixed parameter vectors of the RBF output units, each drawn as its 7x12 bitmap
    (+1 red ink, -1 blue background): the paper's Figure 3 (Section II.B).

    In the colours of ``feature_maps``, on F6's scale (the squashing range +-1.7159): the
    prototypes are what F6's states are compared with, so the two pictures read alike. From
    ``net.output.prototypes`` when a network with an RBF output is given, else the library's
    own (``lenet.paper.rbf_prototypes()``). Panels are labelled "prototype:i".
    """
    if net is None:
        protos = rbf_prototypes()
    elif isinstance(net.layers[-1], RBFOutput):
        protos = np.asarray(net.layers[-1].prototypes, dtype=np.float64)
    else:
        raise ValueError(
            f"this network's output layer {net.layers[-1].name!r} is not an RBF "
            f"layer: it has no prototypes (only the paper's LeNet-5 does)"
        )
    classes, features = protos.shape
    if features != BITMAP_ROWS * BITMAP_COLUMNS:
        raise ValueError(f"prototypes of {features} components are not 7x12 bitmaps")
    fig = _figure(1.0 * classes + 1.4, 2.8)
    fig.suptitle(
        "RBF prototypes: the 7x12 bitmap each output unit compares F6 with "
        "(+1 red, -1 blue, on F6's scale)",
        fontsize=12,
    )
    axes = _each(fig.subplots(1, classes))
    image: Any = None
    for i, ax in enumerate(axes):
        image = _show(ax, protos[i].reshape(BITMAP_ROWS, BITMAP_COLUMNS), STATE_CMAP, SQUASH_A)
        _bare(ax, f"prototype:{i}")
        # thin lines between the cells: a bitmap of 7x12 values, not a smooth picture
        ax.set_xticks(np.arange(-0.5, BITMAP_COLUMNS), minor=True)
        ax.set_yticks(np.arange(-0.5, BITMAP_ROWS), minor=True)
        ax.grid(which="minor", color="0.75", linewidth=0.4)
        ax.tick_params(which="minor", length=0)
        ax.set_title(str(i), fontsize=12)
    bar = fig.colorbar(image, ax=list(axes), shrink=0.8, aspect=15, pad=0.02)
    bar.set_ticks(
        [-SQUASH_A, -1, 0, 1, SQUASH_A],
        labels=[f"{-SQUASH_A:.5g}", "-1", "0", "1", f"{SQUASH_A:.5g}"],
    )
    bar.ax.tick_params(labelsize=8)
    return fig


# ---- Figure 5: training curves ------------------------------------------------------------------


def _read_history(source: Any) -> list[dict]:
    if isinstance(source, Mapping):  # read_checkpoint's dict, or its progress
        source = source.get("progress", source)
        if "history" not in source:
            raise ValueError("expected a checkpoint's state or progress, with a 'history'")
        return list(source["history"])
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            if (path / "log.jsonl").exists():
                path = path / "log.jsonl"
            elif not (path / "checkpoint.npz").exists():
                raise ValueError(f"{path} holds neither log.jsonl nor checkpoint.npz")
        if path.suffix == ".jsonl":
            records = []
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except ValueError:
                        raise ValueError(f"{path}, line {number}: not JSON") from None
            return records
        return list(read_archive(path)["progress"].get("history", []))
    if isinstance(source, Iterable):
        return list(source)
    raise TypeError(
        f"expected a history (list of per-pass dicts), a log.jsonl, a run folder or "
        f"a checkpoint, got {type(source).__name__}"
    )


def curvature_by_pass(
    records: Sequence[Mapping], validation_error: Sequence[float] | None = None, title: str = ""
) -> Figure:
    """What SDLM starts each pass from, layer by layer (Appendix C): three panels over the
    passes, measured on the pass's curvature patterns before its first step.

    * the share of each layer's states beyond +-1.5, where the squashing function is flat;
    * the median of h_kk over the layer's trainable parameters (log scale);
    * the share of its step sizes eps_k = eta / (mu + h_kk) within 10 % of the ceiling eta / mu,
      the parameters whose curvature has stopped counting.

    `records` are per-pass dicts {"pass", "eta", "layers": {name: {"saturated", "h" (the
    quantiles 0, 0.1, 0.5, 0.9, 1), "capped"}}}, as ``benchmarks/sdlm_study.py`` records them;
    with `validation_error` (fractions, one per pass, measured after it) a fourth panel.
    """
    if not records:
        raise ValueError("records must hold at least one pass")
    passes = np.array([r["pass"] for r in records])
    names = [n for n in records[0]["layers"] if records[0]["layers"][n]]
    panels = 4 if validation_error is not None else 3
    fig = _figure(4.2 * panels, 3.8)
    axes = _each(fig.subplots(1, panels))
    what = [
        ("saturated", "states beyond +-1.5 (share)", "linear"),
        ("h", "median h_kk", "log"),
        ("capped", "eps_k at the ceiling eta/mu (share)", "linear"),
    ]
    for ax, (key, label, scale) in zip(axes, what):
        for name in names:
            values = [r["layers"][name].get(key) for r in records]
            if all(v is None for v in values):
                continue
            # h holds quantiles (0, 0.1, 0.5, 0.9, 1): its median is the third
            ys = np.array(
                [np.nan if v is None else (v[2] if key == "h" else v) for v in values], np.float64
            )
            ax.plot(passes, ys, "o-", markersize=3, label=name)
        ax.set_yscale(scale)
        ax.set_xlabel("pass (measured before it)")
        ax.set_title(label, fontsize=10)
        ax.set_label(key)
        ax.legend(fontsize=7)
    if validation_error is not None:
        ax = axes[3]
        ax.plot(np.arange(1, len(validation_error) + 1), 100 * np.asarray(validation_error), "o-")
        ax.set_xlabel("pass (measured after it)")
        ax.set_title("validation error (%)", fontsize=10)
        ax.set_label("validation")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def training_curves(
    history: Sequence[Mapping] | Mapping | str | os.PathLike, paper_error: float | None = None
) -> Figure:
    """Training and test error (%) after each pass over the training set: Figure 5 of the paper
    (Section III.C), where the test error settles after about 10 passes.

    `history` is a list of per-pass records (``train()``'s return value, keys pass,
    train_error, test_error, ...), a ``log.jsonl``, a run folder, a checkpoint file, or a
    checkpoint's state (``read_checkpoint``'s dict). The training error measured after each
    pass is drawn solid; the one averaged on the fly during the pass (how the paper measures
    it), when the log has it, dashed. `paper_error` (a fraction, e.g. 0.0095) adds the paper's
    result as a dotted line. ValueError when there is no finished pass.
    """
    records = [
        r
        for r in _read_history(history)
        if isinstance(r, Mapping)
        and "pass" in r
        and not r.get("interrupted")
        and r.get("train_error") is not None
    ]
    if not records:
        raise ValueError("the training log holds no finished pass: nothing to draw")
    passes = np.array([r["pass"] for r in records])
    fig = _figure(8, 5)
    ax = fig.subplots()
    ax.set_label("curves")

    def percent(key: str) -> np.ndarray:
        return np.array(
            [100 * r[key] if r.get(key) is not None else np.nan for r in records], dtype=np.float64
        )

    train, test = percent("train_error"), percent("test_error")
    # every point marked, larger when there are few (one pass draws no line, only the points)
    size = 4 if len(passes) > 3 else 9
    if not np.all(np.isnan(percent("running_train_error"))):
        ax.plot(
            passes,
            percent("running_train_error"),
            "s--",
            color="tab:blue",
            alpha=0.55,
            markersize=size - 1,
            label="training error during the pass (running)",
        )
    ax.plot(
        passes,
        train,
        "o-",
        color="tab:blue",
        markersize=size,
        label="training error after the pass",
    )
    if not np.all(np.isnan(test)):
        ax.plot(
            passes, test, "o-", color="tab:red", markersize=size, label="test error after the pass"
        )
        last = int(np.flatnonzero(~np.isnan(test))[-1])
        ax.annotate(
            f"{test[last]:.2f} %",
            (passes[last], test[last]),
            xytext=(6, 6),
            textcoords="offset points",
            color="tab:red",
            fontsize=9,
        )
    if paper_error is not None:
        ax.axhline(
            100 * paper_error,
            linestyle=":",
            color="black",
            linewidth=1,
            label=f"the paper: {100 * paper_error:.2f} % test error",
        )
    ax.set_xlabel("pass over the training set")
    ax.set_ylabel("error rate (%)")
    ax.set_ylim(bottom=0)
    if len(passes) <= 25:  # every pass numbered, as in Figure 5
        ax.set_xticks(passes)
    if len(passes) == 1:  # a single point: centre it, with room on both sides
        ax.set_xlim(passes[0] - 1, passes[0] + 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    ax.set_title("Training and test error per pass", fontsize=12)
    return fig


# ---- Figure 8: the misclassified digits, and the confusion matrix -------------------------------


def misclassified(
    images: ArrayLike,
    labels: ArrayLike,
    predicted: ArrayLike,
    max_digits: int = 100,
    columns: int = 12,
) -> Figure:
    """The images whose predicted class differs from the label, each titled "true->predicted"
    as in the paper's Figure 8 (the 82 test digits that LeNet-5 trained with distortions got
    wrong; Section III.C).

    `images` (N, C, H, W) or (N, H, W), `labels` and `predicted` (N,) (``evaluate``'s
    "predicted"). The first `max_digits` errors are drawn, in the images' order, in rows of
    `columns`; ink is dark. Panels are labelled "misclassified:i", i the image's index.
    """
    x = np.asarray(images)
    y, p = np.asarray(labels).reshape(-1), np.asarray(predicted).reshape(-1)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or len(x) != len(y) or len(y) != len(p):
        raise ValueError(
            f"images (N, C, H, W) or (N, H, W), labels (N,) and predicted (N,) must "
            f"agree, got shapes {np.shape(images)}, {np.shape(labels)}, "
            f"{np.shape(predicted)}"
        )
    if (
        isinstance(max_digits, bool)
        or int(max_digits) != max_digits
        or max_digits < 1
        or isinstance(columns, bool)
        or int(columns) != columns
        or columns < 1
    ):
        raise ValueError(
            f"max_digits and columns must be positive integers, got {max_digits!r} and {columns!r}"
        )
    wrong = np.flatnonzero(y != p)
    shown = wrong[:max_digits]
    cols = max(1, min(columns, len(shown)))
    rows = max(1, math.ceil(len(shown) / cols))
    fig = _figure(max(6.0, 0.95 * cols + 0.4), 1.05 * rows + 0.8)
    heading = f"{len(wrong):,} of {len(y):,} digits misclassified (true\u2192predicted)"
    if len(shown) < len(wrong):
        heading += f"; the first {len(shown)} shown"
    fig.suptitle(heading, fontsize=12)
    if not len(shown):
        ax = fig.subplots()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no misclassified digits", ha="center", va="center", fontsize=12)
        return fig
    vmin, vmax = float(np.min(x[shown])), float(np.max(x[shown]))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).reshape(-1)
    for ax, i in zip(axes, shown):
        img = x[i]
        if img.shape[0] == 3:  # colour: channels last, scaled to 0..1
            ax.imshow(np.moveaxis((img - vmin) / ((vmax - vmin) or 1.0), 0, -1))
        else:
            _show(ax, img[0], INK_CMAP, vmin=vmin, vmax=vmax)
        _bare(ax, f"misclassified:{i}")
        ax.set_title(f"{y[i]}\u2192{p[i]}", fontsize=10, pad=2)
    for ax in axes[len(shown) :]:
        ax.set_axis_off()
    return fig


def confusion_matrix(confusion: ArrayLike) -> Figure:
    """The confusion matrix (rows: true class, columns: predicted), every count written in its
    cell: ``evaluate``'s "confusion". The diagonal (correct) is grey; the off-diagonal cells,
    the errors, are shaded by count, so the few confusions stand out beside thousands of
    correct answers."""
    m = np.asarray(confusion)
    if (
        m.ndim != 2
        or m.shape[0] != m.shape[1]
        or m.dtype.kind not in "iu"
        or (m.size and m.min() < 0)
    ):
        raise ValueError(
            f"confusion must be a square matrix of counts, got {m.dtype} array of shape {m.shape}"
        )
    n = m.shape[0]
    total, correct = int(m.sum()), int(np.trace(m))
    off = np.where(np.eye(n, dtype=bool), np.nan, m.astype(np.float64))
    top = max(1.0, float(np.nanmax(off)) if n > 1 else 1.0)
    fig = _figure(0.55 * n + 2.2, 0.55 * n + 1.6)
    ax = fig.subplots()
    ax.set_label("confusion")
    ax.imshow(np.where(np.eye(n, dtype=bool), 1.0, np.nan), cmap="Greys", vmin=0, vmax=5)
    from matplotlib import colormaps

    # zero errors in white (below the scale), one error already visibly tinted
    ax.imshow(off, cmap=colormaps["Reds"].with_extremes(under="white"), vmin=0.5, vmax=top)
    for t in range(n):
        for q in range(n):
            v = int(m[t, q])
            dark = t != q and v > 0.6 * top
            ax.text(
                q,
                t,
                str(v),
                ha="center",
                va="center",
                fontsize=10 if v < 1000 else 9,
                color="white" if dark else ("0.7" if v == 0 else "black"),
            )
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    errors = total - correct
    ax.set_title(
        f"{errors:,} errors in {total:,}" + (f" ({100 * errors / total:.2f} %)" if total else ""),
        fontsize=12,
    )
    return fig


# ---- text, for a terminal -----------------------------------------------------------------------


def _resample(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """a averaged over a rows x cols grid of blocks (each output cell the mean of the input
    cells whose centres fall in it; the nearest one when none does)."""
    h, w = a.shape

    def bins(n: int, m: int) -> np.ndarray:
        centres = (np.arange(n) + 0.5) * m / n
        return np.minimum(centres.astype(int), m - 1)

    out = np.full((rows, cols), np.nan)
    rb, cb = bins(h, rows), bins(w, cols)
    sums = np.zeros((rows, cols))
    counts = np.zeros((rows, cols))
    np.add.at(sums, (rb[:, None], cb[None, :]), a)
    np.add.at(counts, (rb[:, None], cb[None, :]), 1)
    filled = counts > 0
    out[filled] = sums[filled] / counts[filled]
    if not filled.all():  # magnified: fill from the nearest input cell
        ri = np.minimum(((np.arange(rows) + 0.5) * h / rows).astype(int), h - 1)
        ci = np.minimum(((np.arange(cols) + 0.5) * w / cols).astype(int), w - 1)
        out[~filled] = a[np.ix_(ri, ci)][~filled]
    return out


def as_text(
    array2d: ArrayLike,
    width: int | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    ramp: str = RAMP,
) -> str:
    """A 2-D array drawn with characters, low values as ``ramp[0]`` (with ``RAMP``, a space) to
    high ones as ``ramp[-1]``, linearly between `vmin` and `vmax` (default: the array's min and
    max).

    `width` is the number of characters per line (default two per column); the rows are
    resampled to keep the picture's proportions, a character being about twice as tall as
    wide. Lines are joined with newlines, without a trailing one.
    """
    a = np.asarray(array2d, dtype=np.float64)
    if a.ndim != 2 or not a.size:
        raise ValueError(f"array2d must be a non-empty 2-D array, got shape {a.shape}")
    if not isinstance(ramp, str) or len(ramp) < 2:
        raise ValueError("ramp must be a string of at least two characters")
    h, w = a.shape
    if width is None:
        width = 2 * w
    if isinstance(width, bool) or int(width) != width or width < 1:
        raise ValueError(f"width must be a positive number of characters, got {width!r}")
    rows = max(1, round(h * width / w / 2))
    small = _resample(a, rows, int(width))
    finite = small[np.isfinite(small)]
    lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    scale = (small - lo) / (hi - lo) if hi > lo else np.zeros_like(small)
    index = np.clip(np.nan_to_num(scale, nan=0.0) * len(ramp), 0, len(ramp) - 1).astype(int)
    return "\n".join("".join(ramp[i] for i in line) for line in index)


def _side_by_side(blocks: Sequence[tuple[str, str]], max_width: int, gap: int = 2) -> str:
    """Text blocks (caption, picture) placed left to right, wrapping at max_width columns."""
    lines_out: list[str] = []
    line: list[tuple[str, list[str], int]] = []

    def flush() -> None:
        if not line:
            return
        height = max(len(b) for _, b, _ in line)
        captions = (" " * gap).join(c.ljust(w) for c, _, w in line)
        lines_out.append(captions.rstrip())
        for r in range(height):
            lines_out.append(
                (" " * gap).join((b[r] if r < len(b) else "").ljust(w) for _, b, w in line).rstrip()
            )
        line.clear()

    for caption, text in blocks:
        body = text.split("\n")
        w = max(len(caption), max(len(s) for s in body))
        if line and sum(x[2] for x in line) + gap * len(line) + w > max_width:
            flush()
        line.append((caption, body, w))
    flush()
    return "\n".join(lines_out)


def feature_maps_text(
    net: Network,
    image: ArrayLike,
    label: int | None = None,
    title: str | None = None,
    max_width: int = 80,
) -> str:
    """``feature_maps`` for a terminal: the input digit, small versions of the maps of C1, S2,
    C3 and S4 (each layer on one scale, its own min to max), F6 as its 7x12 bitmap beside the
    predicted class's prototype, and the output scores with the prediction marked, in lines of
    at most `max_width` characters. The first line is `title` (as in ``feature_maps``), the
    label (checked as there) and the prediction."""
    return _maps_text(net, _single_image(net, image), label, title, max_width)


def trace_text(
    trace: Trace,
    sample: int = 0,
    label: int | None = None,
    title: str | None = None,
    max_width: int = 80,
) -> str:
    """``feature_maps_text`` for a trace that ``net.trace(x)`` returned: its states for image
    ``sample``, as ``trace_figure`` draws them; needs only NumPy."""
    net, states, label = _trace_sample(trace, sample, label)
    return _maps_text(net, states, label, title, max_width)


def _maps_text(
    net: Network,
    states: dict[str, np.ndarray],
    label: int | None,
    title: str | None,
    max_width: int,
) -> str:
    names = list(states)
    out_name = names[-1]
    rbf, scores, predicted = _output_scores(net, states[out_name])
    label = _check_label(label, scores.size)
    parts = [
        (title or f"LeNet-5 ({net.variant})")
        + ":"
        + (f" label {label}," if label is not None else "")
        + f" predicted {predicted}",
        "",
    ]
    x = states["input"]
    parts.append(f"input  {_shape_text(x.shape)}")
    parts.append(
        as_text(x[0] if x.shape[0] == 1 else x.mean(axis=0), width=min(2 * x.shape[2], max_width))
    )
    for name in names[1:-1]:
        arr = states[name]
        lo, hi = float(arr.min()), float(arr.max())
        if arr.ndim == 3 and arr.shape[1] * arr.shape[2] > 1:
            n, _, w = arr.shape
            # six maps to a line (C3, S4) or three (C1, S2): sizes that keep a digit's shape
            per_line = 6 if n > 8 else 3
            chars = max(4, min(2 * w, (max_width - 2 * (per_line - 1)) // per_line))
            parts += ["", f"{name}  {_shape_text(arr.shape)}"]
            parts.append(
                _side_by_side(
                    [(str(k), as_text(arr[k], chars, lo, hi)) for k in range(n)], max_width
                )
            )
        elif arr.size == BITMAP_ROWS * BITMAP_COLUMNS:
            bitmap = arr.reshape(BITMAP_ROWS, BITMAP_COLUMNS)
            limit = state_limit(arr, _activation(net, name))  # as in feature_maps
            blocks = [(f"{name}  {arr.size} as 7x12", as_text(bitmap, 14, -limit, limit))]
            if rbf:  # on F6's scale, as feature_maps draws them
                shown = [(predicted, "predicted")] + (
                    [(label, "true")] if label is not None and label != predicted else []
                )
                for which, whose in shown:
                    proto = _prototypes_of(net)[which]
                    blocks.append(
                        (
                            f"prototype {which} ({whose})",
                            as_text(proto.reshape(BITMAP_ROWS, BITMAP_COLUMNS), 14, -limit, limit),
                        )
                    )
            parts += ["", _side_by_side(blocks, max_width, gap=4)]
        else:
            grid = _as_grid(arr)
            parts += [
                "",
                f"{name}  {_shape_text(arr.shape)} as {grid.shape[0]}x{grid.shape[1]}",
                as_text(grid, 2 * grid.shape[1], lo, hi),
            ]
    parts += [
        "",
        f"{out_name}  "
        + ("RBF penalties (smallest wins)" if rbf else "softmax of the logits (largest wins)"),
    ]
    top = float(scores.max()) or 1.0
    for c, s in enumerate(scores):
        bar = "#" * int(round(30 * s / top))
        mark = ("  <- predicted" if c == predicted else "") + (
            "  <- true" if label is not None and c == label and c != predicted else ""
        )
        parts.append(f"  {c}  {s:9.3f}  {bar}{mark}")
    return "\n".join(line.rstrip() for line in "\n".join(parts).split("\n"))
