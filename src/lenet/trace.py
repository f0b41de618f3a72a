"""What ``Network.trace(x)`` returns: every layer's states for a batch, in Figure 2's order.

A ``Trace`` is an ordered mapping "input", "C1", ..., "output" of copies of the states (with
``pre_activations=True`` also "C1.a", ... the weighted sums). Traced with a label, it also
holds ``state_gradients`` (dE/d(states), "input" first), ``parameter_gradients``
("C1.weight" -> dE/d(weight), ...), the loss ``loss`` with its name ``loss_name``, and the
``labels``. ``network`` is the network that made it: its layers' squashing functions and
the RBF prototypes are what a picture of the trace needs.

In a notebook a trace shows itself (``_repr_html_``) as every layer's maps for its first image
(``lenet.viz.trace_figure``; drawn with characters when matplotlib is not installed), the
predicted class and the output's penalties, and a table of each layer's states (and their
gradients when traced with a label). Its text display is a dict's.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np

from . import display, viz
from .layers import RBFOutput
from .losses import EQUATIONS, softmax

if TYPE_CHECKING:
    from .model import Network

__all__ = ["Trace"]

#: How many images of a batch the notebook display lists with their predicted class.
LISTED_IMAGES = 10


class Trace(OrderedDict):
    """What ``Network.trace`` returns: layer name -> states, in order ("input", "C1", ...).

    With a label, also ``state_gradients`` (name -> dE/d(states), "input" first),
    ``parameter_gradients`` ("C1.weight" -> dE/d(weight), ...), ``loss`` (E), ``loss_name``
    and ``labels``; without one these are empty or None. ``network`` is the network that made
    the trace (None for a trace built by hand).
    """

    def __init__(self, network: Network | None = None) -> None:
        super().__init__()
        self.network = network
        self.state_gradients: OrderedDict[str, np.ndarray] = OrderedDict()
        self.parameter_gradients: OrderedDict[str, np.ndarray] = OrderedDict()
        self.loss: float | None = None
        self.loss_name: str | None = None
        self.labels: np.ndarray | None = None

    def copy(self) -> Trace:
        """A shallow copy that keeps the network, gradients, loss and labels too."""
        other = Trace(self.network)
        other.update(self)
        other.state_gradients = OrderedDict(self.state_gradients)
        other.parameter_gradients = OrderedDict(self.parameter_gradients)
        other.loss, other.loss_name, other.labels = self.loss, self.loss_name, self.labels
        return other

    def _repr_html_(self) -> str | None:
        """The trace in a notebook: the first image's maps, prediction and penalties."""
        if self.network is None or "input" not in self:
            return None  # the dict's text display
        return display.block(*_html_parts(self, self.network))


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
