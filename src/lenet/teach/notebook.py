"""How a trace shows itself in a notebook: the first image's maps, prediction and penalties.

Every layer's maps for the trace's first image (``lenet.teach.viz.trace_figure``; drawn with
characters when matplotlib is not installed), the predicted class and the output's penalties,
and a table of each layer's states (and their gradients when traced with a label). Importing
this module makes it ``Trace.renderer``; ``import lenet`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine import display
from ..engine.layers import RBFOutput
from ..engine.losses import EQUATIONS, softmax
from ..engine.trace import Trace
from . import viz

if TYPE_CHECKING:
    from ..engine.network import Network

__all__ = ["trace_html"]

#: How many images of a batch the notebook display lists with their predicted class.
LISTED_IMAGES = 10


def trace_html(trace: Trace) -> str:
    """The trace's HTML for a notebook (``Trace._repr_html_``)."""
    assert trace.network is not None
    return display.block(*_html_parts(trace, trace.network))


def _html_parts(trace: Trace, net: Network) -> list[str]:
    n = trace["input"].shape[0]
    out_name = next(reversed(trace))
    out = trace[out_name]
    predicted = net.classify(out)
    rbf = isinstance(net.layers[-1], RBFOutput)
    label = None if trace.labels is None else int(trace.labels[0])
    heading = (
        f"{type(net).__name__} ({net.variant}) traced on {n} image{'s' if n != 1 else ''}"
        + (f"; the first is shown: label {label}," if label is not None else "; the first:")
        + f" predicted {int(predicted[0])}."
    )
    if trace.loss is not None and trace.loss_name is not None:
        mean = " (the batch mean)" if n > 1 else ""
        heading += f" Loss {EQUATIONS[trace.loss_name]}: E = {trace.loss:.6g}{mean}."
    parts = [display.paragraph(heading)]
    try:
        png = viz.png_bytes(viz.trace_figure(trace))
    except ImportError:
        parts.append(display.preformatted(viz.trace_text(trace)))
        parts.append(display.paragraph(f"Pictures need matplotlib: {viz.INSTALL_PLOT}."))
    else:
        parts.append(
            display.image(
                png,
                f"every layer's states for image 0, blue negative, red positive; predicted "
                f"{int(predicted[0])}",
            )
        )
    tables = [_output_table(out[0], rbf, int(predicted[0]), label), _states_table(trace)]
    if n > 1:
        shown = min(n, LISTED_IMAGES)
        rows = [
            (i, "" if trace.labels is None else int(trace.labels[i]), int(predicted[i]))
            for i in range(shown)
        ]
        more = f" (the first {shown} of {n})" if shown < n else ""
        tables.append(
            display.table(
                ("image", "label", "predicted"), rows, caption=f"the batch{more}", right=(0, 1, 2)
            )
        )
    parts.append(display.side_by_side(*tables))
    return parts


def _output_table(out: np.ndarray, rbf: bool, predicted: int, label: int | None) -> str:
    classes = range(out.size)
    if rbf:
        rows: list[tuple[Any, ...]] = [(c, f"{float(out[c]):.4f}") for c in classes]
        header: tuple[str, ...] = ("class", "penalty y_i")
        caption = "output: the RBF penalties of image 0, sum_j (x_j - w_ij)^2; the smallest wins"
    else:
        p = softmax(out)
        rows = [(c, f"{float(out[c]):.4f}", f"{float(p[c]):.4f}") for c in classes]
        header = ("class", "logit z_i", "softmax p_i")
        caption = "output: the logits of image 0 and their softmax; the largest wins"
    rows = [row + ("predicted" if c == predicted else "",) for c, row in zip(classes, rows)]
    if label is not None and label != predicted:
        rows[label] = rows[label][:-1] + ("true class",)
    return display.table(
        (*header, ""), rows, caption=caption, right=range(1, len(header)), bold_rows=(predicted,)
    )


def _states_table(trace: Trace) -> str:
    gradients = trace.state_gradients
    header: tuple[str, ...] = ("layer", "shape", "min", "max", "mean |y|")
    if gradients:
        header += ("rms dE/dy",)
    rows = []
    for name, states in trace.items():
        first = states[0]
        row: tuple[Any, ...] = (
            name,
            " x ".join(map(str, first.shape)),
            f"{float(first.min()):.4g}",
            f"{float(first.max()):.4g}",
            f"{float(np.abs(first).mean()):.4g}",
        )
        if gradients:
            g = gradients.get(name)
            row += ("" if g is None else f"{float(np.sqrt(np.mean(np.square(g[0])))):.4g}",)
        rows.append(row)
    what = " and the gradients of the loss" if gradients else ""
    return display.table(
        header, rows, caption=f"the states of image 0{what}", right=range(2, len(header))
    )


Trace.renderer = trace_html
