"""Figure 2 made real: every layer's states for one digit (``feature_maps``, ``trace_figure``),
and each layer's states beside dE/d(states) (``trace_gradients``).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from ...paper import BITMAP_COLUMNS, BITMAP_ROWS, SQUASH_A
from .figure import INK_CMAP, STATE_CMAP, _bare, _each, _figure, _show
from .states import (
    _activation,
    _as_grid,
    _check_label,
    _output_scores,
    _prototypes_of,
    _shape_text,
    _single_image,
    _trace_sample,
    is_maps,
    state_limit,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ...engine.network import Network
    from ...engine.trace import Trace


#: Panels per row in ``feature_maps`` (C3 and S4's 16 maps fill one row).
_ROW_PANELS = 16


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


#: One block of ``feature_maps``: (name, kind, panels, grid columns); kind is "maps",
#: "vector", "prototype", "output" or "scale".
Block = tuple[str, str, int, int]


@dataclass(frozen=True)
class _Digit:
    """One digit's states and what the picture says of them: the output's scores and the
    prediction, the label, each layer's colour scale and whether they all share one."""

    net: Network
    states: dict[str, np.ndarray]
    rbf: bool
    scores: np.ndarray
    predicted: int
    label: int | None
    limits: dict[str, float]
    shared: bool


def _maps_figure(
    net: Network, states: dict[str, np.ndarray], label: int | None, title: str | None
) -> Figure:
    digit = _digit(net, states, label)
    rows = _rows(_blocks(digit))
    heights = [_row_height(row) for row in rows]
    fig = _figure(16, sum(heights) + 0.8)
    heading = (
        (title or f"LeNet-5 ({net.variant}) on one digit")
        + (f": label {digit.label}," if digit.label is not None else ":")
        + f" predicted {digit.predicted}"
    )
    fig.suptitle(heading + "  (blue < 0 < red)", fontsize=13)
    row_figs = _each(fig.subfigures(len(rows), 1, height_ratios=heights))
    for row, row_fig in zip(rows, row_figs):
        widths = [cols for _, _, _, cols in row]
        if sum(widths) < _ROW_PANELS:  # keep panels their size: pad the row with empty space
            widths.append(_ROW_PANELS - sum(widths))
        block_figs = _each(row_fig.subfigures(1, len(widths), width_ratios=widths))
        for block, block_fig in zip(row, block_figs):
            _draw_block(block_fig, block, digit)
    return fig


def _digit(net: Network, states: dict[str, np.ndarray], label: int | None) -> _Digit:
    """The states with the output read (scores, prediction), the label checked, and the colour
    scale of each layer between the input and the output."""
    names = list(states)
    rbf, scores, predicted = _output_scores(net, states[names[-1]])
    label = _check_label(label, scores.size)
    limits = {name: state_limit(states[name], _activation(net, name)) for name in names[1:-1]}
    shared = len(set(limits.values())) == 1  # the paper's network: one scale, +-1.7159
    return _Digit(net, states, rbf, scores, predicted, label, limits, shared)


def _blocks(digit: _Digit) -> list[Block]:
    """One block per layer: map layers become rows of panels, vector layers (C5, F6) one panel
    each (F6 beside the prototypes it is compared with), the output a bar chart 4 panels wide,
    then the colour scale."""
    names = list(digit.states)
    blocks: list[Block] = []
    for name in names[:-1]:
        arr = digit.states[name]
        if is_maps(arr.shape):
            # the input's title is wider than one panel: give a single map two columns
            columns = min(max(arr.shape[0], 2 if name == "input" else 1), _ROW_PANELS)
            blocks.append((name, "maps", arr.shape[0], columns))
        else:
            blocks.append((name, "vector", 1, 2))
            if arr.size == BITMAP_ROWS * BITMAP_COLUMNS and digit.rbf:
                blocks.append(("prototype", "prototype", 1, 2))
                if digit.label is not None and digit.label != digit.predicted:
                    blocks.append(("prototype:true", "prototype", 1, 2))
    blocks.append((names[-1], "output", 1, 4))
    blocks.append(("scale", "scale", 1, 2))
    return blocks


def _rows(blocks: list[Block]) -> list[list[Block]]:
    """The blocks in rows, greedily: as many layers side by side as fit in _ROW_PANELS columns."""
    rows: list[list[Block]] = [[]]
    for block in blocks:
        if rows[-1] and sum(b[3] for b in rows[-1]) + block[3] > _ROW_PANELS:
            rows.append([])
        rows[-1].append(block)
    return rows


def _row_height(row: list[Block]) -> float:
    if any(kind != "maps" for _, kind, _, _ in row):
        return 2.6  # the 12x7 bitmaps and the bar chart need height
    return max(1.25 * math.ceil(n / cols) for _, _, n, cols in row)


def _draw_block(block_fig: Any, block: Block, digit: _Digit) -> None:
    name, kind, n, cols = block
    if kind == "output":
        _output_bars(block_fig, name, digit.rbf, digit.scores, digit.predicted, digit.label)
    elif kind == "prototype":
        _prototype_block(block_fig, name, digit)
    elif kind == "scale":
        _scale_bar(block_fig, digit.limits, digit.shared)
    else:
        limit = digit.limits.get(name, 1.0)
        own = None if digit.shared or name == "input" else limit
        _state_block(block_fig, name, digit.states[name], n, cols, limit, own)


def _prototype_block(block_fig: Any, name: str, digit: _Digit) -> None:
    """The prototype of the predicted class (or of the true one), on F6's scale."""
    which, whose = (
        (digit.label, "true") if name == "prototype:true" else (digit.predicted, "predicted")
    )
    assert which is not None  # a true prototype is shown only with a label
    proto = _prototypes_of(digit.net)[which]
    f6 = list(digit.states)[-2]
    ax = block_fig.subplots()
    _show(ax, proto.reshape(BITMAP_ROWS, BITMAP_COLUMNS), STATE_CMAP, digit.limits[f6])
    _bare(ax, name)
    block_fig.suptitle(f"prototype of {which} ({whose})\n7x12 bitmap, +-1", fontsize=10)


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
        maps = arr.shape[0] if is_maps(arr.shape) else 1
        return math.ceil(maps / _GRADIENT_COLUMNS)

    heights = [1.3 * map_rows(states[name]) + 0.5 for name in names]
    fig = _figure(16, sum(heights) + 0.8)
    heading = title or f"LeNet-5 ({net.variant}): states and dE/d(states) of one digit"
    loss = f", loss {trace.loss_name} E = {trace.loss:.4g}" if trace.loss is not None else ""
    fig.suptitle(f"{heading}: label {label}{loss}  (blue < 0 < red)", fontsize=13)
    for name, row_fig in zip(names, _each(fig.subfigures(len(names), 1, height_ratios=heights))):
        left, right = _each(row_fig.subfigures(1, 2))
        arr, grad = states[name], gradients[name]
        maps = arr.shape[0] if is_maps(arr.shape) else 1
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
    if is_maps(arr.shape):  # n maps
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
